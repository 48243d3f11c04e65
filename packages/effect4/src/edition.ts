/**
 * The Effect 4 spellings of what Effect 3 and Effect 4 name differently: the shared modules (listed in
 * editions.json) import these, and the root's src/edition.ts has the same exports in Effect 3's
 * spelling. Internal: not exported from the package's index or subpaths. One function per spelling
 * difference, not a compatibility layer.
 *
 * @since 0.1.0
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"

// --- Outcomes, durations, streams (Bulk, the integrations, the bench driver) ---------------------------

/**
 * What a `DurationInput` is called in this edition (`Duration.Input`).
 *
 * @since 0.1.0
 * @internal
 */
export type DurationInput = Duration.Input

/**
 * A success or a failure as a value: `Result` in Effect 4.
 *
 * @since 0.1.0
 * @internal
 */
export type Outcome<A, E> = Result.Result<A, E>

/**
 * Runs `effect` and returns its success or failure as an {@link Outcome} (`Effect.result`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.result(effect)

/**
 * A successful {@link Outcome} (`Result.succeed`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const succeedOutcome = <A, E = never>(value: A): Outcome<A, E> => Result.succeed(value)

/**
 * A failed {@link Outcome} (`Result.fail`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const failOutcome = <E, A = never>(error: E): Outcome<A, E> => Result.fail(error)

/**
 * Whether an {@link Outcome} is a success (`Result.isSuccess`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const isSuccess = <A, E>(o: Outcome<A, E>): boolean => Result.isSuccess(o)

/**
 * Folds an {@link Outcome} (`Result.match`). Never fails (unless a branch throws).
 *
 * @since 0.1.0
 * @internal
 */
export const matchOutcome = <A, E, B, C = B>(
  o: Outcome<A, E>,
  cases: { readonly onSuccess: (a: A) => B; readonly onFailure: (e: E) => C }
): B | C => Result.match(o, cases)

/**
 * `Option.some(a)` unless `a` is `null` or `undefined` (`Option.fromNullishOr`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const fromNullable = <A>(a: A): Option.Option<NonNullable<A>> => Option.fromNullishOr(a)

/**
 * Flattens a stream of iterables into a stream of their elements (`Stream.flattenIterable`). Never
 * fails beyond the stream's own failure.
 *
 * @since 0.1.0
 * @internal
 */
export const flattenIterables = <A, E, R>(self: Stream.Stream<Iterable<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.flattenIterable(self)
