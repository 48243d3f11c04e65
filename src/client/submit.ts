/**
 * The one place a request is handed to a connection: a `Slot` built from the command, resumed by the
 * caller's `Effect.async` resume, enqueued on the pool's connection. Shared by the client's methods
 * and the meta methods.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { Command, Slot } from "../engine/connection.js"
import type { ServerPool } from "../engine/pool.js"
import { ResumeSlot } from "./completion.js"

/**
 * Enqueues `head` (and `data`) for `key` on a connection of `pool`; `resume` gets the command's
 * finished reply, or the connection's typed failure (`MemcachedConnectionError`, `MemcachedProtocolError`).
 * The command's finisher decides the error type the caller sees (e.g. reads never get a store error).
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
  const slot = new ResumeSlot(command, head, data, key, timeout, resume)
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
