/**
 * What the shared test files (editions.json) need that Effect 3 and Effect 4 spell differently, in this
 * edition's (Effect 4's) spelling; the root's test/support/edition.ts has the same exports for Effect 3.
 */
import * as path from "node:path"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"

/** A pure outcome of this edition (`Result` in Effect 4) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Result.Result<A, E>): Effect.Effect<A, E> => Effect.fromResult(outcome)

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
