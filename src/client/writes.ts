/**
 * The single-key write methods: the storage commands (set, add, replace, append, prepend, cas), over
 * the engine's request facade (validation, protocol choice and noreply there; one `Effect.async` (Effect 4: `Effect.callback`) per
 * request here). Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { commands } from "../engine/commands.js"
import type { MemcachedError } from "../MemcachedError.js"
import type { StorageCommand } from "../protocol/client.js"
import { rejected, toMemcachedError } from "./completion.js"
import type { ClientContext } from "./context.js"
import { ttlSeconds } from "./decode.js"
import type { MemcachedClient, StoreOptions, Value } from "./models.js"
import { callback } from "../edition.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStores = (
  ctx: ClientContext
): Pick<MemcachedClient, "set" | "add" | "replace" | "append" | "prepend" | "cas"> => {
  const { requests, retrying, timeoutOf } = ctx
  const store = (command: StorageCommand) => {
    const row = commands[command]
    return (
      key: string,
      value: Value,
      options: StoreOptions | undefined,
      cas?: bigint
    ): Effect.Effect<void, MemcachedError> => {
      const timeout = timeoutOf(options)
      const flags = options?.flags ?? 0
      const ttl = options?.ttl === undefined ? undefined : ttlSeconds(options.ttl)
      if (options?.noreply === true) {
        return Effect.suspend(() => {
          const e = requests.store(command, key, value, flags, ttl, cas, true, timeout, undefined!)
          return e === undefined ? Effect.void : Effect.fail(toMemcachedError(e))
        })
      }
      return retrying(
        row,
        callback<void, MemcachedError>((resume) =>
          rejected(resume, requests.store(command, key, value, flags, ttl, cas, false, timeout, resume))
        )
      )
    }
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
