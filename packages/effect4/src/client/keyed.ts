/**
 * The single-key commands without a value: delete, touch, incr, decr (noreply where the protocol has it).
 * Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Slot } from "../../../../src/engine/connection.js"
import { toExptime, validateKey } from "../Key.js"
import type { CallOptions, MemcachedClient } from "./models.js"
import { type MemcachedError, MemcachedInputError } from "../MemcachedError.js"
import { encodeDelete, encodeIncrDecr, encodeTouch } from "../../../../src/protocol/client.js"
import { encodeMetaArithmetic, encodeMetaDelete, encodeMetaTouch } from "../../../../src/protocol/meta.js"
import { U64_MAX } from "../../../../src/protocol/limits.js"
import { commandFor, type CommandRow, commands } from "../../../../src/engine/commands.js"
import type { ClientContext } from "./context.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeKeyCommands = (ctx: ClientContext): Pick<MemcachedClient, "delete" | "touch" | "incr" | "decr"> => {
  const { timers, retrying, submit, poolOf, timeoutOf } = ctx
  const simple = <A>(
    key: string,
    options: (CallOptions & { readonly noreply?: boolean | undefined }) | undefined,
    head: (meta: boolean) => string | MemcachedInputError,
    row: CommandRow
  ): Effect.Effect<A, MemcachedError> => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const pool = poolOf(key)
        const meta = pool.protocol === "meta"
        const h = head(meta)
        if (typeof h !== "string") return Effect.fail(h)
        pool.connection().send(new Slot(commandFor(row, meta), h, undefined, key, timeout))
        return Effect.void as Effect.Effect<any>
      })
    }
    return retrying(
      row,
      Effect.callback<A, MemcachedError>((resume) => {
        const pool = poolOf(key)
        const meta = pool.protocol === "meta"
        const h = head(meta)
        if (typeof h !== "string") return resume(Exit.fail(h))
        submit(pool, commandFor(row, meta), h, undefined, key, timeout, resume)
      })
    )
  }

  const delta = (command: "incr" | "decr") => (key: string, d: number | bigint, options?: CallOptions) => {
    let big: bigint
    if (typeof d === "bigint") big = d
    else if (Number.isSafeInteger(d)) big = BigInt(d)
    else big = -1n
    if (big < 0n || big > U64_MAX) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "InvalidArgument",
          message: `${command} delta must be an unsigned 64-bit integer, got ${d}`,
          key
        })
      )
    }
    return simple<bigint>(
      key,
      options,
      (meta) =>
        meta
          ? encodeMetaArithmetic(key, { mode: command, delta: big, value: true })
          : encodeIncrDecr(command, key, big),
      commands[command]
    )
  }
  return {
    delete: (key, options) =>
      simple<void>(key, options, (meta) => (meta ? encodeMetaDelete(key) : encodeDelete(key)), commands.delete),
    touch: (key, ttl, options) =>
      simple<void>(key, options, (meta) => {
        const exptime = toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return exptime
        return meta ? encodeMetaTouch(key, exptime) : encodeTouch(key, exptime)
      }, commands.touch),
    incr: delta("incr"),
    decr: delta("decr")
  }
}
