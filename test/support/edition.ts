/**
 * What the shared test files (packages/effect4/editions.json) need that Effect 3 and Effect 4 spell
 * differently, in this edition's (Effect 3's) spelling. The Effect 4 package has a module of the same
 * name and exports (packages/effect4/test/support/edition.ts).
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type { RunningFiber } from "../../src/edition.js"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import type * as Duration from "effect/Duration"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as RateLimiterModule from "@effect/experimental/RateLimiter"
import type * as MemcachedClient from "../../src/MemcachedClient.js"

/** A pure outcome of this edition (`Either` in Effect 3) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Either.Either<A, E>): Effect.Effect<A, E> => outcome

// ---------------------------------------------------------------------------------------------
// Outcomes, streams and the client (ValueCodec, TypedStore and their support)
// ---------------------------------------------------------------------------------------------

/** A successful outcome of this edition (`Either.right`), to compare results with. */
export const succeed: <A>(value: A) => Either.Either<A, never> = Either.right

/** Whether an outcome of this edition failed (`Either.isLeft`). */
export const isFailure = <A, E>(outcome: Either.Either<A, E>): boolean => Either.isLeft(outcome)

/** Whether an outcome of this edition succeeded (`Either.isRight`). */
export const isSuccess = <A, E>(outcome: Either.Either<A, E>): boolean => Either.isRight(outcome)

/** The value of a successful outcome; throws (failing the test) when it failed. */
export const successOf = <A, E>(outcome: Either.Either<A, E>): A => Either.getOrThrow(outcome)

/** The error of a failed outcome; throws (failing the test) when it succeeded. */
export const failureOf = <A, E>(outcome: Either.Either<A, E>): E => {
  if (Either.isLeft(outcome)) return outcome.left
  throw new Error(`expected a failure, got a success: ${String(outcome.right)}`)
}

/** Every element of a finite stream, in order, as an array (Effect 3 collects a `Chunk`). */
export const collect = <A, E, R>(stream: Stream.Stream<A, E, R>): Effect.Effect<ReadonlyArray<A>, E, R> =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** The client service's type (Effect 3: the `MemcachedClient` interface). */
export type Client = MemcachedClient.MemcachedClient

/** A layer built by a scoped effect, its resources released with the layer (`Layer.unwrapScoped`). */
export const unwrapScoped = <A, E1, R1, E, R>(
  effect: Effect.Effect<Layer.Layer<A, E1, R1>, E, R>
): Layer.Layer<A, E | E1, R1 | Exclude<R, Scope.Scope>> => Layer.unwrapScoped(effect)

// ---------------------------------------------------------------------------------------------
// Cache-aside, namespaces, Keyv, Promise facade (session 4, D2)
// ---------------------------------------------------------------------------------------------

/** The layer built by `effect` (`Layer.unwrapEffect` in Effect 3). */
export const unwrapLayer = <A, E1, R1, E, R>(
  effect: Effect.Effect<Layer.Layer<A, E1, R1>, E, R>
): Layer.Layer<A, E | E1, R1 | Exclude<R, Scope.Scope>> => Layer.unwrapScoped(effect)

/** Runs `effect` in a child fiber of the current one (`Effect.fork` in Effect 3). */
export const forkChild = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Fiber.Fiber<A, E>, never, R> =>
  Effect.fork(effect)

/** Whether `fiber` has ended. Never fails. */
export const isDone = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<boolean> =>
  Effect.map(Fiber.poll(fiber), Option.isSome)

/** Moves the TestClock forward by `duration`. */
export const adjustClock = (duration: Duration.DurationInput): Effect.Effect<void> => TestClock.adjust(duration)

/** This edition's name, and the test folder of the other edition (whose shared files are its copies). */
export const edition = {
  name: "Effect 3",
  otherName: "Effect 4",
  otherTestDir: path.join(import.meta.dirname, "..", "..", "packages", "effect4", "test")
} as const

/** What a Promise call rejects with when its layer's configuration is invalid (a `ConfigError`). */
export const configErrorShape: Readonly<Record<string, unknown>> = { _op: "InvalidData" }

// --- Rate limiter, TestClock, scoped layers (test/MemcachedRateLimiter.test.ts) ---------------------------

/** This edition's RateLimiter module (`@effect/experimental/RateLimiter` in Effect 3). */
export * as RateLimiter from "@effect/experimental/RateLimiter"

/** This edition's TestClock module (`effect/TestClock` in Effect 3). */
export * as TestClock from "effect/TestClock"

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

// --- Managed and discovery drivers (test/support/managedEdition.ts, discoveryEdition.ts; session 4, F1) ---

/** The test services of a runtime with TestClock (`TestContext.TestContext` in Effect 3). */
export const testClockLayer: Layer.Layer<never> = TestContext.TestContext as Layer.Layer<never>

/**
 * `effect` with every log line, at every level, given to `sink` as `message [annotations]`
 * (`Logger.replace` of the default logger and `Logger.withMinimumLogLevel(LogLevel.All)` in Effect 3).
 */
export const collectLogs = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  sink: (line: string) => void
): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.provide(Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations, message }) => sink(`${String(message)} ${JSON.stringify([...annotations])}`))
    )),
    Logger.withMinimumLogLevel(LogLevel.All)
  )

// --- Telemetry driver (test/Telemetry.test.ts; session 4, F1) ----------------------------------------------

/** Runs effects in the services of a built layer, as Promises of their exits or as forked fibers. */
export interface LayerRunner {
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<Exit.Exit<A, E>>
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => RunningFiber
}

/**
 * `layer` built in the current scope, and a runner of effects in what it provides (Effect 3: a `Runtime`
 * from `Layer.toRuntime`, since a tracer is installed in the layer's fiber refs). Fails as `layer` fails.
 */
export const layerRunner = <E>(layer: Layer.Layer<never, E>): Effect.Effect<LayerRunner, E, Scope.Scope> =>
  Effect.map(Layer.toRuntime(layer), (runtime) => ({
    run: (effect) => Runtime.runPromiseExit(runtime)(effect),
    fork: (effect) => Runtime.runFork(runtime)(effect)
  }))
