/**
 * The Effect 3 spellings of what Effect 3 and Effect 4 name differently: the shared modules (listed in
 * packages/effect4/editions.json) import these, and packages/effect4/src/edition.ts has the same exports
 * in Effect 4's spelling. Internal: not exported from the package's index or subpaths. One function per
 * spelling difference, not a compatibility layer.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

// --- Outcomes, durations, streams (Bulk, the integrations, the bench driver) ---------------------------

/**
 * What a `DurationInput` is called in this edition (`Duration.DurationInput`).
 *
 * @since 0.1.0
 * @internal
 */
export type DurationInput = Duration.DurationInput

/**
 * A success or a failure as a value: `Either` (Right = success, Left = failure) in Effect 3.
 *
 * @since 0.1.0
 * @internal
 */
export type Outcome<A, E> = Either.Either<A, E>

/**
 * Runs `effect` and returns its success or failure as an {@link Outcome} (`Effect.either`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.either(effect)

/**
 * A successful {@link Outcome} (`Either.right`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const succeedOutcome = <A, E = never>(value: A): Outcome<A, E> => Either.right(value)

/**
 * A failed {@link Outcome} (`Either.left`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const failOutcome = <E, A = never>(error: E): Outcome<A, E> => Either.left(error)

/**
 * Whether an {@link Outcome} is a success (`Either.isRight`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const isSuccess = <A, E>(o: Outcome<A, E>): boolean => Either.isRight(o)

/**
 * Folds an {@link Outcome} (`Either.match`). Never fails (unless a branch throws).
 *
 * @since 0.1.0
 * @internal
 */
export const matchOutcome = <A, E, B, C = B>(
  o: Outcome<A, E>,
  cases: { readonly onSuccess: (a: A) => B; readonly onFailure: (e: E) => C }
): B | C => Either.match(o, { onRight: cases.onSuccess, onLeft: cases.onFailure })

/**
 * `Option.some(a)` unless `a` is `null` or `undefined` (`Option.fromNullable`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const fromNullable = <A>(a: A): Option.Option<NonNullable<A>> => Option.fromNullable(a)

/**
 * Flattens a stream of iterables into a stream of their elements (`Stream.flattenIterables`). Never
 * fails beyond the stream's own failure.
 *
 * @since 0.1.0
 * @internal
 */
export const flattenIterables = <A, E, R>(self: Stream.Stream<Iterable<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.flattenIterables(self)
