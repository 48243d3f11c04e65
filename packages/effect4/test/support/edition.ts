/**
 * What the shared test files (editions.json) need that Effect 3 and Effect 4 spell differently, in this
 * edition's (Effect 4's) spelling; the root's test/support/edition.ts has the same exports for Effect 3.
 */
import * as Effect from "effect/Effect"
import type * as Result from "effect/Result"

/** A pure outcome of this edition (`Result` in Effect 4) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Result.Result<A, E>): Effect.Effect<A, E> => Effect.fromResult(outcome)

// --- Rate limiter, TestClock, scoped layers (test/MemcachedRateLimiter.test.ts) ---------------------------

import * as Layer from "effect/Layer"
import type * as RateLimiterModule from "effect/persistence/RateLimiter"

/** This edition's RateLimiter module (`effect/persistence/RateLimiter` in Effect 4). */
export * as RateLimiter from "effect/persistence/RateLimiter"

/** This edition's TestClock module (`effect/testing/TestClock` in Effect 4). */
export * as TestClock from "effect/testing/TestClock"

/** A layer built by a scoped effect (`Layer.unwrap` in Effect 4, which scopes it). */
export const unwrapScoped: typeof Layer.unwrap = Layer.unwrap

/** The `RateLimitExceeded` a consume failed with; fails the test for any other reason. */
export const exceededOf = (e: RateLimiterModule.RateLimiterError): RateLimiterModule.RateLimitExceeded => {
  if (e.reason._tag !== "RateLimitExceeded") throw new Error(`expected RateLimitExceeded, got ${e.reason._tag}`)
  return e.reason
}

/** The cause of the `RateLimitStoreError` a consume failed with; fails the test for any other reason. */
export const storeErrorCause = (e: RateLimiterModule.RateLimiterError): unknown => {
  if (e.reason._tag !== "RateLimitStoreError") throw new Error(`expected RateLimitStoreError, got ${e.reason._tag}`)
  return e.reason.cause
}

/** Forks a child fiber of the current one (`Effect.forkChild` in Effect 4). */
export const fork: typeof Effect.forkChild = Effect.forkChild
