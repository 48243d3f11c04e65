/**
 * The Effect 4 spellings the bench's shared Effect driver and floor (editions.json `bench`) need; the
 * root's bench/edition.ts has the same exports for Effect 3. Plain aliases, so the measured code path is
 * the edition's own.
 */
import { Effect, type Fiber } from "effect"

/** This edition's name for a callback-resumed effect (`Effect.callback`), as shown in settings lines. */
export const callbackName = "Effect.callback"

/** A callback-resumed effect: `Effect.callback` in Effect 4. */
export const callback: typeof Effect.callback = Effect.callback

/** Forks a fiber with no parent (`Effect.forkDetach` in Effect 4). */
export const forkDetached: typeof Effect.forkDetach = Effect.forkDetach

/** The fiber a detached fork returns (`Fiber.Fiber` in Effect 4). */
export type DetachedFiber<A, E = never> = Fiber.Fiber<A, E>
