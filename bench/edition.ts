/**
 * The Effect 3 spellings the bench's shared Effect driver and floor (packages/effect4/editions.json
 * `bench`) need; packages/effect4/bench/edition.ts has the same exports for Effect 4. Plain aliases, so
 * the measured code path is the edition's own.
 */
import { Effect, type Fiber } from "effect"

/** This edition's name for a callback-resumed effect (`Effect.async`), as shown in settings lines. */
export const callbackName = "Effect.async"

/** A callback-resumed effect: `Effect.async` in Effect 3. */
export const callback: typeof Effect.async = Effect.async

/** Forks a fiber with no parent (`Effect.forkDaemon` in Effect 3). */
export const forkDetached: typeof Effect.forkDaemon = Effect.forkDaemon

/** The fiber a detached fork returns (`Fiber.RuntimeFiber` in Effect 3). */
export type DetachedFiber<A, E = never> = Fiber.RuntimeFiber<A, E>
