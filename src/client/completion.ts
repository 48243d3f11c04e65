/**
 * The Effect side of the engine's completion seam: engine failures (plain data) become the typed
 * `MemcachedError`s, and a request's slot completes its `Effect.async` with one `Exit`: an optional
 * read's hit as `Option.some` once, its miss as one shared `Exit`, `void` as the shared `Exit.void`
 * (the same allocations per request as resuming directly). Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { isOptional } from "../engine/commands.js"
import type { Edition } from "../engine/requests.js"
import { type Command, Slot } from "../engine/connection.js"
import type { EngineError } from "../engine/types.js"
import { toMemcachedError } from "./errors.js"

export { toMemcachedError } from "./errors.js"

const exitNone = Exit.succeed(Option.none())

/**
 * The `Exit` of a finisher's success value that is not optional (`undefined` is the shared `Exit.void`).
 *
 * @since 0.1.0
 * @category conversions
 */
export const successExit = (value: unknown): Exit.Exit<any, never> =>
  value === undefined ? Exit.void : Exit.succeed(value)

/**
 * The `Exit` of an optional read's result: `undefined` (a miss) is one shared `Exit` of `None`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const optionExit = (value: unknown): Exit.Exit<Option.Option<any>, never> =>
  value === undefined ? exitNone : Exit.succeed(Option.some(value))

/**
 * Resumes with the success `value` through an effect that drops its reference once the fiber has read
 * it: for the large results (a multi-get's map, a bulk write's results). Effect 3 queues a resumption
 * as a small message object made at one object literal; V8 may pretenure that literal's allocation site
 * for the rest of a process (measured: about one Effect 3 process in four on the multi-get bench, floor
 * included), and then each message, stale in old space until the next full GC, keeps what it points to
 * alive through every scavenge: with `Exit.succeed(map)` the whole map and its values are copied and
 * promoted (6× the promoted bytes, 2× the CPU per key). Through this thunk a stale message holds only a
 * cleared variable.
 *
 * @since 0.2.0
 * @category constructors
 */
export const resumeReleasing = <A, E>(resume: (effect: Effect.Effect<A, E>) => void, value: A): void => {
  let held: A | undefined = value
  resume(Effect.sync(() => {
    const taken = held as A
    held = undefined
    return taken
  }))
}

/**
 * A slot that is its own completion: it resumes the request's `Effect.async` / `Effect.callback` (register function
 * of one parameter, no canceler) with the reply's `Exit` (an optional read's per {@link optionExit}).
 *
 * @since 0.1.0
 * @category models
 */
export class ResumeSlot extends Slot {
  constructor(
    command: Command,
    head: string,
    data: Uint8Array | undefined,
    key: string,
    timeout: number,
    private readonly resume: Resume
  ) {
    super(command, head, data, key, timeout)
    this.done = this
  }
  succeed(value: unknown): void {
    this.resume(isOptional(this.command) ? optionExit(value) : successExit(value))
  }
  fail(error: EngineError): void {
    this.resume(Exit.fail(toMemcachedError(error)))
  }
}

/**
 * The resume callback of an `Effect.async` (Effect 3) / `Effect.callback` (Effect 4) register function.
 *
 * @since 0.1.0
 * @category models
 */
export type Resume = (effect: Effect.Effect<any, any>) => void

/**
 * This edition's side of the engine's request facade: {@link ResumeSlot}s, late failures resumed
 * with the typed error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const effectEdition: Edition<Resume> = {
  slot: (command, head, data, key, timeout, resume) => new ResumeSlot(command, head, data, key, timeout, resume),
  fail: (resume, error) => resume(Exit.fail(toMemcachedError(error)))
}

/**
 * Resumes with the typed error when the facade rejected the request synchronously (`error` set).
 *
 * @since 0.1.0
 * @category combinators
 */
export const rejected = (resume: Resume, error: EngineError | undefined): void => {
  if (error !== undefined) resume(Exit.fail(toMemcachedError(error)))
}
