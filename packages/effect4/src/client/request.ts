/**
 * The Effect 4 side of the engine's completion seam: one `Effect.callback` per request, whose slot is
 * its own completion (no Deferred, no fiber per request). Engine failures and the finishers' plain error
 * data become the typed `MemcachedError`s here. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type Command, Slot } from "../../../../src/engine/connection.js"
import type { ServerPool } from "../../../../src/engine/pool.js"
import { type ConnectionReason, EngineError, type ProtocolReason } from "../../../../src/engine/types.js"
import { commands } from "../../../../src/client/commands.js"
import {
  type MemcachedError,
  MemcachedConnectionError,
  MemcachedInputError,
  MemcachedProtocolError,
  MemcachedServerError,
  MemcachedStoreError
} from "../MemcachedError.js"

/**
 * The typed error of whatever a request failed with: an engine failure, a finisher's plain error data
 * (`{ _tag, reason, … }`), or an error that is already typed. Never throws.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toMemcachedError = (e: unknown): MemcachedError => {
  if (e instanceof EngineError) {
    return e.kind === "Connection"
      ? new MemcachedConnectionError(
        e.cause === undefined
          ? { reason: e.reason as ConnectionReason, server: e.server, message: e.message }
          : { reason: e.reason as ConnectionReason, server: e.server, message: e.message, cause: e.cause }
      )
      : new MemcachedProtocolError({ reason: e.reason as ProtocolReason, message: e.message, server: e.server })
  }
  if (
    e instanceof MemcachedInputError || e instanceof MemcachedStoreError || e instanceof MemcachedServerError ||
    e instanceof MemcachedConnectionError || e instanceof MemcachedProtocolError
  ) return e
  const data = e as { readonly _tag?: string; readonly [k: string]: any }
  switch (data._tag) {
    case "MemcachedStoreError":
      return new MemcachedStoreError({ reason: data.reason, key: data.key, command: data.command })
    case "MemcachedServerError":
      return new MemcachedServerError({ reason: data.reason, message: data.message, server: data.server })
    case "MemcachedInputError":
      return new MemcachedInputError(
        data.key === undefined
          ? { reason: data.reason, message: data.message }
          : { reason: data.reason, message: data.message, key: data.key }
      )
    case "MemcachedConnectionError":
      return new MemcachedConnectionError({ reason: data.reason, message: data.message, server: data.server })
    case "MemcachedProtocolError":
      return new MemcachedProtocolError({ reason: data.reason, message: data.message, server: data.server })
  }
  return new MemcachedProtocolError({ reason: "Unexpected", message: `unexpected failure: ${String(e)}` })
}

/** How a finisher's plain success becomes the method's value. */
export type Shape = "value" | "option"

const exitNone: Exit.Exit<Option.Option<never>> = Exit.succeed(Option.none())

/**
 * The `Exit` of a finisher's plain success: as is (`undefined` shares `Exit.void`), or as an `Option`
 * where `undefined` is a miss.
 *
 * @since 0.1.0
 * @category conversions
 */
export const successExit = (value: unknown, shape: Shape): Exit.Exit<any> => {
  if (shape === "value") return value === undefined ? Exit.void : Exit.succeed(value)
  if (value === undefined) return exitNone
  // A finisher may still hand back an Option of its own Effect edition: read it structurally.
  const tagged = value as { readonly _tag?: unknown; readonly value?: unknown }
  if (tagged._tag === "None") return exitNone
  return Exit.succeed(Option.some(tagged._tag === "Some" ? tagged.value : value))
}

/** The commands whose result is an `Option` (a miss is `undefined` from the finisher). */
const optionCommands: ReadonlySet<Command> = new Set<Command>(
  [commands.get, commands.gets, commands.gat, commands.gats, commands.metaGet, commands.metaDebug].flatMap((row) =>
    [row.text, row.meta].filter((c): c is Command => c !== undefined)
  )
)

/**
 * How the result of `command` is shaped for the caller.
 *
 * @since 0.1.0
 * @category conversions
 */
export const shapeOf = (command: Command): Shape => (optionCommands.has(command) ? "option" : "value")

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
    private readonly shape: Shape,
    private readonly resume: (effect: Effect.Effect<any, any>) => void
  ) {
    super(command, head, data, key, timeout)
    this.done = this
  }
  succeed(value: unknown): void {
    this.resume(successExit(value, this.shape))
  }
  fail(error: unknown): void {
    this.resume(Exit.fail(toMemcachedError(error)))
  }
}

/**
 * Enqueues one request on a connection of `pool`; `resume` gets its `Exit`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const submit = (
  pool: ServerPool,
  command: Command,
  head: string,
  data: Uint8Array | undefined,
  key: string,
  timeout: number,
  resume: (effect: Effect.Effect<any, any>) => void
): Slot => {
  const slot = new ResumeSlot(command, head, data, key, timeout, shapeOf(command), resume)
  pool.connection().enqueue(slot)
  return slot
}

/**
 * The signature of {@link submit}.
 *
 * @since 0.1.0
 * @category models
 */
export type Submit = typeof submit

/**
 * A completion that hands a request's outcome to `onExit` (bulk and batched requests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const exitCompletion = (onExit: (exit: Exit.Exit<any, MemcachedError>) => void) => ({
  succeed: (value: unknown) => onExit(successExit(value, "value")),
  fail: (error: unknown) => onExit(Exit.fail(toMemcachedError(error)))
})

/**
 * One request as an Effect: `register` runs when the effect runs, with the resume of its one
 * `Effect.callback`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = <A, E>(register: (resume: (effect: Effect.Effect<A, E>) => void) => void): Effect.Effect<A, E> =>
  Effect.callback<A, E>(register)
