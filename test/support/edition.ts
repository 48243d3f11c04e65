/**
 * What the shared test files (packages/effect4/editions.json) need that Effect 3 and Effect 4 spell
 * differently, in this edition's (Effect 3's) spelling. The Effect 4 package has a module of the same
 * name and exports (packages/effect4/test/support/edition.ts).
 */
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"

/** A pure outcome of this edition (`Either` in Effect 3) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Either.Either<A, E>): Effect.Effect<A, E> => outcome

// --- Rate limiter, TestClock, scoped layers (test/MemcachedRateLimiter.test.ts) ---------------------------

import * as Layer from "effect/Layer"
import type * as RateLimiterModule from "@effect/experimental/RateLimiter"

/** This edition's RateLimiter module (`@effect/experimental/RateLimiter` in Effect 3). */
export * as RateLimiter from "@effect/experimental/RateLimiter"

/** This edition's TestClock module (`effect/TestClock` in Effect 3). */
export * as TestClock from "effect/TestClock"

/** A layer built by a scoped effect (`Layer.unwrapScoped` in Effect 3). */
export const unwrapScoped: typeof Layer.unwrapScoped = Layer.unwrapScoped

/** The `RateLimitExceeded` a consume failed with; fails the test for any other reason. */
export const exceededOf = (e: RateLimiterModule.RateLimiterError): RateLimiterModule.RateLimitExceeded => {
  if (e.reason !== "Exceeded") throw new Error(`expected RateLimitExceeded, got ${e.reason}`)
  return e as RateLimiterModule.RateLimitExceeded
}

/** The cause of the `RateLimitStoreError` a consume failed with; fails the test for any other reason. */
export const storeErrorCause = (e: RateLimiterModule.RateLimiterError): unknown => {
  if (e.reason !== "StoreError") throw new Error(`expected RateLimitStoreError, got ${e.reason}`)
  return (e as RateLimiterModule.RateLimitStoreError).cause
}

/** Forks a child fiber of the current one (`Effect.fork` in Effect 3). */
export const fork: typeof Effect.fork = Effect.fork
