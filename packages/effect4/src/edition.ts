/**
 * What the shared sources (editions.json) need that Effect 3 and Effect 4 spell differently, in this
 * edition's (Effect 4's) spelling; the root's src/edition.ts has the same exports for Effect 3. Internal:
 * not exported from the package. One function or type per spelling difference, grouped in titled sections
 * by the modules that use them.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

// ---------------------------------------------------------------------------------------------
// Outcomes, schemas and streams (ValueCodec, TypedStore)
// ---------------------------------------------------------------------------------------------

/**
 * A synchronous outcome: a success with an `A` or a failure with an `E` (`Result<A, E>` in Effect 4; not
 * an `Effect`, see {@link fromOutcome}). Never fails: it is a value.
 */
export type Outcome<A, E> = Result.Result<A, E>

/** A successful {@link Outcome} (`Result.succeed`). Never fails. */
export const succeed: <A>(value: A) => Outcome<A, never> = Result.succeed

/** A failed {@link Outcome} (`Result.fail`). Never fails. */
export const fail: <E>(error: E) => Outcome<never, E> = Result.fail

/** Maps the success of an {@link Outcome} (`Result.map`); `f` must not throw. Never fails. */
export const map = <A, E, B>(self: Outcome<A, E>, f: (a: A) => B): Outcome<B, E> => Result.map(self, f)

/** Chains an {@link Outcome} on its success (`Result.flatMap`). Fails as `self` or `f` fails. */
export const flatMap = <A, E, B, E2>(self: Outcome<A, E>, f: (a: A) => Outcome<B, E2>): Outcome<B, E | E2> =>
  Result.flatMap(self, f)

/** Maps the failure of an {@link Outcome} (`Result.mapError`); `f` must not throw. Never fails. */
export const mapError = <A, E, E2>(self: Outcome<A, E>, f: (e: E) => E2): Outcome<A, E2> => Result.mapError(self, f)

/** Folds an {@link Outcome} (`Result.match`): `onSuccess` or `onFailure`, whichever applies. Never fails. */
export const match = <A, E, B, C>(
  self: Outcome<A, E>,
  onSuccess: (a: A) => B,
  onFailure: (e: E) => C
): B | C => Result.isSuccess(self) ? onSuccess(self.success) : onFailure(self.failure)

/** An {@link Outcome} as an `Effect` (`Effect.fromResult`); fails with its failure. */
export const fromOutcome = <A, E>(self: Outcome<A, E>): Effect.Effect<A, E> => Effect.fromResult(self)

/** Runs `effect` and captures its typed failure as an {@link Outcome} (`Effect.result`). Never fails. */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.result(effect)

/** A schema the value codecs accept: any Schema 4 codec that needs no services to encode or decode. */
export type AnySchema = Schema.Codec<any, any, never, never>

/** The decoded (application) type of an {@link AnySchema}. */
export type SchemaType<S extends AnySchema> = S["Type"]

/** A schema's failure to encode or decode (Effect 4: a `SchemaError`). */
export type SchemaError = Schema.SchemaError

/**
 * A schema's JSON side: `encode` turns a value into what `JSON.stringify` takes, `decode` checks and turns
 * what `JSON.parse` returned into a value. Through `Schema.toCodecJson`, Effect 4's canonical JSON form, so
 * types without a JSON encoding of their own (`Schema.Date`, `Schema.BigInt`, `Schema.Option`, ...) are
 * stored as their canonical JSON (`Schema.encodeResult` / `Schema.decodeUnknownResult`). Both fail with a
 * {@link SchemaError}, never throw.
 */
export const schemaJson = <S extends AnySchema>(schema: S): {
  readonly encode: (value: SchemaType<S>) => Outcome<unknown, SchemaError>
  readonly decode: (json: unknown) => Outcome<SchemaType<S>, SchemaError>
} => {
  const serializer = Schema.toCodecJson(schema)
  return { encode: Schema.encodeResult(serializer), decode: Schema.decodeUnknownResult(serializer) }
}

/** The readable text of a {@link SchemaError} (its message: the path and what was expected). */
export const schemaErrorMessage = (error: SchemaError): string => error.message

/**
 * Flattens a stream of iterables into a stream of their elements, in order (`Stream.flattenIterable`).
 * Fails as `self` fails.
 */
export const flattenIterables = <A, E, R>(self: Stream.Stream<Iterable<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.flattenIterable(self)
