/**
 * What the shared sources (packages/effect4/editions.json) need that Effect 3 and Effect 4 spell
 * differently, in this edition's (Effect 3's) spelling. The Effect 4 package has a module of the same name
 * and exports (packages/effect4/src/edition.ts). Internal: not exported from the package. One function or
 * type per spelling difference, grouped in titled sections by the modules that use them.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

// ---------------------------------------------------------------------------------------------
// Outcomes, schemas and streams (ValueCodec, TypedStore)
// ---------------------------------------------------------------------------------------------

/**
 * A synchronous outcome: a success with an `A` or a failure with an `E` (`Either<A, E>` in Effect 3,
 * itself an `Effect` that fails with `E`). Never fails: it is a value.
 */
export type Outcome<A, E> = Either.Either<A, E>

/** A successful {@link Outcome} (`Either.right`). Never fails. */
export const succeed: <A>(value: A) => Outcome<A, never> = Either.right

/** A failed {@link Outcome} (`Either.left`). Never fails. */
export const fail: <E>(error: E) => Outcome<never, E> = Either.left

/** Maps the success of an {@link Outcome} (`Either.map`); `f` must not throw. Never fails. */
export const map = <A, E, B>(self: Outcome<A, E>, f: (a: A) => B): Outcome<B, E> => Either.map(self, f)

/** Chains an {@link Outcome} on its success (`Either.flatMap`). Fails as `self` or `f` fails. */
export const flatMap = <A, E, B, E2>(self: Outcome<A, E>, f: (a: A) => Outcome<B, E2>): Outcome<B, E | E2> =>
  Either.flatMap(self, f)

/** Maps the failure of an {@link Outcome} (`Either.mapLeft`); `f` must not throw. Never fails. */
export const mapError = <A, E, E2>(self: Outcome<A, E>, f: (e: E) => E2): Outcome<A, E2> => Either.mapLeft(self, f)

/** Folds an {@link Outcome} (`Either.match`): `onSuccess` or `onFailure`, whichever applies. Never fails. */
export const match = <A, E, B, C>(
  self: Outcome<A, E>,
  onSuccess: (a: A) => B,
  onFailure: (e: E) => C
): B | C => Either.isRight(self) ? onSuccess(self.right) : onFailure(self.left)

/** An {@link Outcome} as an `Effect` (in Effect 3 an `Either` already is one); fails with its failure. */
export const fromOutcome = <A, E>(self: Outcome<A, E>): Effect.Effect<A, E> => self

/** Runs `effect` and captures its typed failure as an {@link Outcome} (`Effect.either`). Never fails. */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.either(effect)

/** A schema the value codecs accept: an Effect 3 `Schema<A, I>` that needs no services. */
export type AnySchema = Schema.Schema<any, any, never>

/** The decoded (application) type of an {@link AnySchema}. */
export type SchemaType<S extends AnySchema> = Schema.Schema.Type<S>

/** A schema's failure to encode or decode (Effect 3: a `ParseError`). */
export type SchemaError = ParseResult.ParseError

/**
 * A schema's JSON side: `encode` turns a value into what `JSON.stringify` takes, `decode` checks and turns
 * what `JSON.parse` returned into a value (`Schema.encodeEither` / `Schema.decodeUnknownEither`: in Effect
 * 3 a schema's encoded side is its JSON form). Both fail with a {@link SchemaError}, never throw.
 */
export const schemaJson = <S extends AnySchema>(schema: S): {
  readonly encode: (value: SchemaType<S>) => Outcome<unknown, SchemaError>
  readonly decode: (json: unknown) => Outcome<SchemaType<S>, SchemaError>
} => ({ encode: Schema.encodeEither(schema), decode: Schema.decodeUnknownEither(schema) })

/** The readable text of a {@link SchemaError} (`TreeFormatter`: the path and what was expected). */
export const schemaErrorMessage = (error: SchemaError): string => ParseResult.TreeFormatter.formatErrorSync(error)

/**
 * Flattens a stream of iterables into a stream of their elements, in order (`Stream.flattenIterables`).
 * Fails as `self` fails.
 */
export const flattenIterables = <A, E, R>(self: Stream.Stream<Iterable<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.flattenIterables(self)
