/**
 * What the shared test files (editions.json) need that Effect 3 and Effect 4 spell differently, in this
 * edition's (Effect 4's) spelling; the root's test/support/edition.ts has the same exports for Effect 3.
 */
import * as Effect from "effect/Effect"
import type * as Result from "effect/Result"

/** A pure outcome of this edition (`Result` in Effect 4) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Result.Result<A, E>): Effect.Effect<A, E> => Effect.fromResult(outcome)
