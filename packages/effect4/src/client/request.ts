/**
 * The Effect 4 side of the engine's completion seam: one `Effect.callback` per request, whose slot is
 * its own completion (no Deferred, no fiber per request); the facade's `EngineError`s become the typed
 * `MemcachedError`s here. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type Command, Slot } from "../../../../src/engine/connection.js"
import { isOptional } from "../../../../src/engine/commands.js"
import type { Edition } from "../../../../src/engine/requests.js"
import type {
  ConnectionReason,
  EngineError,
  InputReason,
  ProtocolReason,
  ServerReason,
  StoreReason
} from "../../../../src/engine/types.js"
import {
  type MemcachedError,
  MemcachedConnectionError,
  MemcachedInputError,
  MemcachedProtocolError,
  MemcachedServerError,
  MemcachedStoreError
} from "../MemcachedError.js"

/**
 * The typed error of an engine failure: each kind to its class, with the same reason. Never throws.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toMemcachedError = (e: EngineError): MemcachedError => {
  switch (e.kind) {
    case "Connection":
      return new MemcachedConnectionError(
        e.cause === undefined
          ? { reason: e.reason as ConnectionReason, server: e.server, message: e.message }
          : { reason: e.reason as ConnectionReason, server: e.server, message: e.message, cause: e.cause }
      )
    case "Protocol":
      return new MemcachedProtocolError({ reason: e.reason as ProtocolReason, message: e.message, server: e.server })
    case "Store":
      return new MemcachedStoreError({ reason: e.reason as StoreReason, key: e.key!, command: e.command! })
    case "Server":
      return new MemcachedServerError({ reason: e.reason as ServerReason, message: e.message, server: e.server })
    case "Input":
      return new MemcachedInputError(
        e.key === undefined
          ? { reason: e.reason as InputReason, message: e.message }
          : { reason: e.reason as InputReason, message: e.message, key: e.key }
      )
  }
}

const exitNone: Exit.Exit<Option.Option<never>> = Exit.succeed(Option.none())

/**
 * The `Exit` of a finisher's success that is not optional (`undefined` is the shared `Exit.void`).
 *
 * @since 0.1.0
 * @category conversions
 */
export const successExit = (value: unknown): Exit.Exit<any> => value === undefined ? Exit.void : Exit.succeed(value)

/**
 * The `Exit` of an optional read's result: a hit as `Option.some` once, a miss (`undefined`) as one
 * shared `Exit` of `None`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const optionExit = (value: unknown): Exit.Exit<Option.Option<any>> =>
  value === undefined ? exitNone : Exit.succeed(Option.some(value))

/**
 * A slot that is its own completion: it resumes the request's `Effect.callback` once with the reply's
 * `Exit`.
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
    this.resume(isOptional(this.command) ? optionExit(value) : successExit(value))
  }
  fail(error: EngineError): void {
    this.resume(Exit.fail(toMemcachedError(error)))
  }
}

/**
 * The resume callback of an `Effect.callback` register function.
 *
 * @since 0.1.0
 * @category models
 */
export type Resume = (effect: Effect.Effect<any, any>) => void

/**
 * The Effect 4 edition for the engine's request facade: {@link ResumeSlot}s, late failures resumed
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
