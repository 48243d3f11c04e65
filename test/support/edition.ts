/**
 * What the shared test files (packages/effect4/editions.json) need that Effect 3 and Effect 4 spell
 * differently, in this edition's (Effect 3's) spelling. The Effect 4 package has a module of the same
 * name and exports (packages/effect4/test/support/edition.ts).
 */
import * as path from "node:path"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

/** A pure outcome of this edition (`Either` in Effect 3) as an Effect that fails with its error. */
export const fromOutcome = <A, E>(outcome: Either.Either<A, E>): Effect.Effect<A, E> => outcome

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
