/**
 * The read methods: get, gets, getString, getMany, gat, gats (text or meta per server; single-key text gets may auto-batch).
 * Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { Slot } from "../../../../src/engine/connection.js"
import { chunkGroups, groupByServer } from "../../../../src/engine/cluster.js"
import { type Ttl, toExptime, validateKey } from "../Key.js"
import type { CallOptions, CasItem, Item, MemcachedClient } from "./models.js"
import { type MemcachedReadError } from "../MemcachedError.js"
import { encodeGat, encodeGet } from "../../../../src/protocol/client.js"
import { encodeMetaGetItem, encodeMetaGetMany } from "../../../../src/protocol/meta.js"
import { commands, utf8Decoder } from "../../../../src/engine/commands.js"
import { exitCompletion } from "./request.js"
import type { ClientContext } from "./context.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReads = (
  ctx: ClientContext
): Pick<MemcachedClient, "get" | "gets" | "getString" | "getMany" | "gat" | "gats"> => {
  const { pools, settings, timers, retrying, submit, serverFor, poolOf, timeoutOf, proxyRejects } = ctx
  const oneKey: [string] = [""]
  const retrieve = (command: "get" | "gets") => (key: string, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = options === undefined ? settings.timeout : timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const cas = command === "gets"
    const row = commands[command]
    return retrying(
      row,
      Effect.callback<Option.Option<Item>, MemcachedReadError>((resume) => {
        const pool = poolOf(key)
        if (pool.protocol === "meta") {
          submit(pool, row.meta, encodeMetaGetItem(key, cas), undefined, key, timeout, resume)
        } else {
          // One reused one-key array (encodeGet reads it synchronously): no allocation on the hot path.
          oneKey[0] = key
          submit(pool, row.text, encodeGet(command, oneKey), undefined, key, timeout, resume)
        }
      })
    )
  }
  const get = retrieve("get")
  // The gets finisher fails a hit without a CAS unique (withCas), so every item has one.
  const gets = retrieve("gets") as (
    key: string,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>

  const gat = (command: "gat" | "gats") => (key: string, ttl: Ttl, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    return Effect.suspend(() => {
      const exptime = toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return Effect.fail(exptime)
      const row = commands[command]
      return retrying(
        row,
        Effect.callback<Option.Option<Item>, MemcachedReadError>((resume) => {
          const pool = poolOf(key)
          // In auto mode the probe tells a text-only proxy (which closes the connection on gat) apart.
          pool.whenKnown(() => {
            const rejected = proxyRejects(pool, command, key)
            if (rejected !== undefined) return resume(Exit.fail(rejected))
            if (pool.protocol === "meta") {
              submit(
                pool,
                row.meta,
                encodeMetaGetItem(key, command === "gats", exptime as number),
                undefined,
                key,
                timeout,
                resume
              )
            } else {
              submit(pool, row.text, encodeGat(command, exptime as number, [key]), undefined, key, timeout, resume)
            }
          })
        })
      )
    })
  }

  const CAS = { cas: true } as const
  const NO_CAS = { cas: false } as const
  const getMany = (
    keysIn: Iterable<string>,
    options?: CallOptions & { readonly cas?: boolean | undefined }
  ): Effect.Effect<ReadonlyMap<string, Item>, MemcachedReadError> => {
    const unique = Array.from(new Set(keysIn))
    for (const key of unique) {
      const invalidKey = validateKey(key)
      if (invalidKey !== undefined) return Effect.fail(invalidKey)
    }
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    if (unique.length === 0) return Effect.succeed(new Map())
    const command = options?.cas === true ? "gets" : "get"
    const batches = chunkGroups(groupByServer(unique, (k) => k, serverFor, false), settings.maxKeysPerGet)
    // Meta: one quiet `mg <key> k v f q` per key and one `mn` (a Barrier slot). Hits come back in
    // request order (misses are silent) and each carries its key, which is checked.
    const metaOptions = command === "gets" ? CAS : NO_CAS
    return Effect.callback<ReadonlyMap<string, Item>, MemcachedReadError>((resume) => {
      const out = new Map<string, Item>()
      let pending = batches.length
      let done = false
      const onBatch = exitCompletion((effect) => {
        if (done) return
        const exit = effect as Exit.Exit<Array<string | Item>, MemcachedReadError>
        if (exit._tag === "Failure") {
          done = true
          return resume(Exit.failCause(exit.cause))
        }
        const flat = exit.value
        for (let i = 0; i < flat.length; i += 2) out.set(flat[i] as string, flat[i + 1] as Item)
        if (--pending === 0) {
          done = true
          resume(Exit.succeed(out))
        }
      })
      for (const [s, keys] of batches) {
        const pool = pools[s]!
        let slot: Slot
        if (pool.protocol === "meta") {
          slot = new Slot(commands.getMany.meta, encodeMetaGetMany(keys, metaOptions), undefined, keys[0]!, timeout)
        } else {
          slot = new Slot(commands.getMany.text, encodeGet(command, keys), undefined, keys[0]!, timeout)
        }
        slot.keys = keys
        slot.done = onBatch
        pool.connection().enqueue(slot)
      }
    })
  }
  return {
    get,
    gets,
    getString: (key, options) => Effect.map(get(key, options), Option.map((item) => utf8Decoder.decode(item.value))),
    getMany,
    gat: gat("gat"),
    gats: gat("gats") as MemcachedClient["gats"]
  }
}
