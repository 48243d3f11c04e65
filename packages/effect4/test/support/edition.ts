/**
 * What the shared test files (editions.json) need that Effect 3 and Effect 4 spell differently, in this
 * edition's (Effect 4's) spelling; the root's test/support/edition.ts has the same exports for Effect 3.
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type { RunningFiber } from "../../src/edition.js"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import type * as Duration from "effect/Duration"
import type * as Fiber from "effect/Fiber"
import * as TestClock from "effect/testing/TestClock"
import type * as RateLimiterModule from "effect/persistence/RateLimiter"
import type * as MemcachedClient from "../../src/MemcachedClient.js"

/** A pure outcome of this edition (`Result` in Effect 4) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Result.Result<A, E>): Effect.Effect<A, E> => Effect.fromResult(outcome)

// ---------------------------------------------------------------------------------------------
// Outcomes, streams and the client (ValueCodec, TypedStore and their support)
// ---------------------------------------------------------------------------------------------

/** A successful outcome of this edition (`Result.succeed`), to compare results with. */
export const succeed: <A>(value: A) => Result.Result<A, never> = Result.succeed

/** Whether an outcome of this edition failed (`Result.isFailure`). */
export const isFailure = <A, E>(outcome: Result.Result<A, E>): boolean => Result.isFailure(outcome)

/** Whether an outcome of this edition succeeded (`Result.isSuccess`). */
export const isSuccess = <A, E>(outcome: Result.Result<A, E>): boolean => Result.isSuccess(outcome)

/** The value of a successful outcome; throws (failing the test) when it failed. */
export const successOf = <A, E>(outcome: Result.Result<A, E>): A => Result.getOrThrow(outcome)

/** The error of a failed outcome; throws (failing the test) when it succeeded. */
export const failureOf = <A, E>(outcome: Result.Result<A, E>): E => {
  if (Result.isFailure(outcome)) return outcome.failure
  throw new Error(`expected a failure, got a success: ${String(outcome.success)}`)
}

/** Every element of a finite stream, in order, as an array (Effect 4 collects an array). */
export const collect = <A, E, R>(stream: Stream.Stream<A, E, R>): Effect.Effect<ReadonlyArray<A>, E, R> =>
  Stream.runCollect(stream)

/** The client service's type (Effect 4: `MemcachedClient.Service`). */
export type Client = MemcachedClient.Service

/** A layer built by a scoped effect, its resources released with the layer (`Layer.unwrap`). */
export const unwrapScoped = <A, E1, R1, E, R>(
  effect: Effect.Effect<Layer.Layer<A, E1, R1>, E, R>
): Layer.Layer<A, E | E1, R1 | Exclude<R, Scope.Scope>> => Layer.unwrap(effect)

// ---------------------------------------------------------------------------------------------
// Cache-aside, namespaces, Keyv, Promise facade (session 4, D2)
// ---------------------------------------------------------------------------------------------

/** The layer built by `effect` (`Layer.unwrap` in Effect 4). */
export const unwrapLayer = <A, E1, R1, E, R>(
  effect: Effect.Effect<Layer.Layer<A, E1, R1>, E, R>
): Layer.Layer<A, E | E1, R1 | Exclude<R, Scope.Scope>> => Layer.unwrap(effect)

/** Runs `effect` in a child fiber of the current one (`Effect.forkChild` in Effect 4). */
export const forkChild = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Fiber.Fiber<A, E>, never, R> =>
  Effect.forkChild(effect)

/** Whether `fiber` has ended. Never fails. */
export const isDone = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<boolean> =>
  Effect.sync(() => fiber.pollUnsafe() !== undefined)

/** Moves the TestClock forward by `duration`. */
export const adjustClock = (duration: Duration.Input): Effect.Effect<void> => TestClock.adjust(duration)

/** This edition's name, and the test folder of the other edition (whose shared files are the originals). */
export const edition = {
  name: "Effect 4",
  otherName: "Effect 3",
  otherTestDir: path.join(import.meta.dirname, "..", "..", "..", "..", "test")
} as const

/** What a Promise call rejects with when its layer's configuration is invalid (a `ConfigError`). */
export const configErrorShape: Readonly<Record<string, unknown>> = { _tag: "ConfigError" }

// --- Rate limiter, TestClock, scoped layers (test/MemcachedRateLimiter.test.ts) ---------------------------

/** This edition's RateLimiter module (`effect/persistence/RateLimiter` in Effect 4). */
export * as RateLimiter from "effect/persistence/RateLimiter"

/** This edition's TestClock module (`effect/testing/TestClock` in Effect 4). */
export * as TestClock from "effect/testing/TestClock"

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

// --- Managed and discovery drivers (test/support/managedEdition.ts, discoveryEdition.ts; session 4, F1) ---

/** The test services of a runtime with TestClock (`TestClock.layer()` in Effect 4). */
export const testClockLayer: Layer.Layer<never> = TestClock.layer()

/**
 * `effect` with every log line, at every level, given to `sink` as `message {annotations}`
 * (`Logger.layer` and `References.MinimumLogLevel` "All" in Effect 4).
 */
export const collectLogs = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  sink: (line: string) => void
): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.provide(Logger.layer([
      Logger.make(({ fiber, message }) =>
        sink(`${String(message)} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
      )
    ])),
    Effect.provideService(References.MinimumLogLevel, "All")
  )

// --- Telemetry driver (test/Telemetry.test.ts; session 4, F1) ----------------------------------------------

/** Runs effects in the services of a built layer, as Promises of their exits or as forked fibers. */
export interface LayerRunner {
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<Exit.Exit<A, E>>
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => RunningFiber
}

/**
 * `layer` built in the current scope, and a runner of effects in the services it provides
 * (`Layer.build`, then `Effect.provideContext`). Fails as `layer` fails.
 */
export const layerRunner = <E>(layer: Layer.Layer<never, E>): Effect.Effect<LayerRunner, E, Scope.Scope> =>
  Effect.map(Layer.build(layer), (services) => ({
    run: (effect) => Effect.runPromiseExit(Effect.provideContext(effect, services)),
    fork: (effect) => Effect.runFork(Effect.provideContext(effect, services))
  }))
