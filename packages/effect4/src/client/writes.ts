/**
 * The single-key write methods: the storage commands (set, add, replace, append, prepend, cas) with their validation and noreply.
 * Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Slot } from "../../../../src/engine/connection.js"
import { toExptime, validateKey } from "../Key.js"
import type { MemcachedClient, StoreOptions, Value } from "./models.js"
import { type MemcachedError, MemcachedInputError } from "../MemcachedError.js"
import { encodeStorageHeader, type StorageCommand } from "../../../../src/protocol/client.js"
import { encodeMetaSetHeader } from "../../../../src/protocol/meta.js"
import { U64_MAX } from "../../../../src/protocol/limits.js"
import { commandFor, commands, storeModes, toBytes, U32_MAX } from "../../../../src/engine/commands.js"
import type { ClientContext } from "./context.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStores = (
  ctx: ClientContext
): Pick<MemcachedClient, "set" | "add" | "replace" | "append" | "prepend" | "cas"> => {
  const { settings, timers, retrying, submit, poolOf, timeoutOf } = ctx
  const store = (command: StorageCommand) =>
  (
    key: string,
    value: Value,
    options: StoreOptions | undefined,
    cas?: bigint
  ): Effect.Effect<void, MemcachedError> => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const flags = options?.flags ?? 0
    if (!Number.isInteger(flags) || flags < 0 || flags > U32_MAX) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "InvalidArgument",
          message: `flags must be a 32-bit unsigned integer, got ${flags}`,
          key
        })
      )
    }
    if (cas !== undefined && (cas < 0n || cas > U64_MAX)) {
      return Effect.fail(
        new MemcachedInputError({ reason: "InvalidArgument", message: `invalid CAS unique ${cas}`, key })
      )
    }
    if (typeof value !== "string" && !(value instanceof Uint8Array)) {
      return Effect.fail(
        new MemcachedInputError({ reason: "InvalidValue", message: "value must be a Uint8Array or a string", key })
      )
    }
    const data = toBytes(value)
    if (data.length > settings.maxValueSize) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "ValueTooLarge",
          message: `value of ${data.length} bytes exceeds maxValueSize ${settings.maxValueSize}`,
          key
        })
      )
    }
    const ttl = options?.ttl
    const row = commands[command]
    const head = (meta: boolean, exptime: number): string =>
      meta
        ? encodeMetaSetHeader(key, data.length, { flags, ttl: exptime, mode: storeModes[command], compareCas: cas })
        : encodeStorageHeader(command, key, flags, exptime, data.length, cas)
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const exptime = toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        const pool = poolOf(key)
        const meta = pool.protocol === "meta"
        pool.connection().send(new Slot(commandFor(row, meta), head(meta, exptime), data, key, timeout))
        return Effect.void
      })
    }
    return retrying(
      row,
      Effect.callback<void, MemcachedError>((resume) => {
        const exptime = ttl === undefined ? 0 : toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return resume(Exit.fail(exptime))
        const pool = poolOf(key)
        const meta = pool.protocol === "meta"
        submit(pool, commandFor(row, meta), head(meta, exptime), data, key, timeout, resume)
      })
    )
  }
  const set = store("set")
  const add = store("add")
  const replace = store("replace")
  const append = store("append")
  const prepend = store("prepend")
  const casStore = store("cas")
  return {
    set: (key, value, options) => set(key, value, options),
    add: (key, value, options) => add(key, value, options),
    replace: (key, value, options) => replace(key, value, options),
    append: (key, value, options) => append(key, value, options),
    prepend: (key, value, options) => prepend(key, value, options),
    cas: (key, value, cas, options) => casStore(key, value, options, cas)
  }
}
