/**
 * The Effect side of the engine's completion seam: engine failures (plain data) become the typed
 * `MemcachedError`s, and a request's slot completes its `Effect.async` with one `Exit`, reusing the
 * shared `Exit`s for `void` and `None` (the same allocations per request as resuming directly).
 * Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type Command, Slot } from "../engine/connection.js"
import { type ConnectionReason, EngineError, type ProtocolReason } from "../engine/types.js"
import { type MemcachedError, MemcachedConnectionError, MemcachedProtocolError } from "../MemcachedError.js"

/**
 * The typed error of an engine failure. Never throws.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toMemcachedError = (e: EngineError): MemcachedConnectionError | MemcachedProtocolError =>
  e.kind === "Connection"
    ? new MemcachedConnectionError(
      e.cause === undefined
        ? { reason: e.reason as ConnectionReason, server: e.server, message: e.message }
        : { reason: e.reason as ConnectionReason, server: e.server, message: e.message, cause: e.cause }
    )
    : new MemcachedProtocolError({ reason: e.reason as ProtocolReason, message: e.message, server: e.server })

/**
 * What a completion's `fail` got, as the caller's error: engine failures converted, the finishers'
 * typed errors as they are.
 *
 * @since 0.1.0
 * @category conversions
 */
export const edgeError = (e: unknown): unknown => (e instanceof EngineError ? toMemcachedError(e) : e)

const exitNone = Exit.succeed(Option.none())

/**
 * The `Exit` of a finisher's success value (`undefined` and `None` share one each).
 *
 * @since 0.1.0
 * @category conversions
 */
export const successExit = (value: unknown): Exit.Exit<any, never> =>
  value === undefined ? Exit.void : value === Option.none() ? exitNone : Exit.succeed(value)

/**
 * A slot that is its own completion: it resumes the request's `Effect.async` (register function of
 * one parameter, no canceler) with the reply's `Exit`.
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
    private readonly resume: (effect: Effect.Effect<any, any>) => void
  ) {
    super(command, head, data, key, timeout)
    this.done = this
  }
  succeed(value: unknown): void {
    this.resume(successExit(value))
  }
  fail(error: unknown): void {
    this.resume(Exit.fail(edgeError(error)))
  }
}

/**
 * A completion that hands the request's outcome to `onExit` as an `Exit` (bulk and batched requests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const exitCompletion = (onExit: (exit: Exit.Exit<any, MemcachedError>) => void) => ({
  succeed: (value: unknown) => onExit(successExit(value)),
  fail: (error: unknown) => onExit(Exit.fail(edgeError(error) as MemcachedError))
})
