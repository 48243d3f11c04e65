/**
 * The client's bulk writes (`setMany`, `deleteMany`, `touchMany`): pipelined per-key requests on text
 * servers, quiet `ms`/`md` batches closed by `mn` on meta servers (failures tied to their key by `k`),
 * one `Effect.async` per call. Each key's outcome is reported; the call never fails as a whole.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import { groupByServer } from "../engine/cluster.js"
import { type Command, Slot, type Timers } from "../engine/connection.js"
import type { ServerPool, Settings } from "../engine/pool.js"
import type { Router } from "../engine/router.js"
import { type Ttl, toExptime, validateKey } from "../Key.js"
import type { CallOptions, StoreOptions, Value, WriteResult } from "../MemcachedClient.js"
import { type MemcachedError, MemcachedInputError, MemcachedStoreError } from "../MemcachedError.js"
import { encodeDelete, encodeStorageHeader, encodeTouch, type Reply } from "../protocol/client.js"
import { encodeMetaDelete, encodeMetaSetHeader } from "../protocol/meta.js"
import { commands, failure, metaFailure, toBytes, U32_MAX } from "./commands.js"

/**
 * What the bulk writes need of the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface BulkContext {
  readonly router: Router
  readonly pools: ReadonlyArray<ServerPool>
  readonly settings: Settings
  readonly timers: Timers
  readonly timeoutOf: (options: CallOptions | undefined) => number | MemcachedInputError
}

/**
 * Builds the bulk writes over the client's router and pools. They never fail as a whole: an invalid
 * key, TTL, flags or timeout is that key's `Left(MemcachedInputError)`, before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBulkWrites = ({ pools, router, settings, timeoutOf, timers }: BulkContext) => {
  interface BulkItem {
    readonly key: string
    /** The text-protocol request: header, data, and how its reply maps to a result. */
    readonly text: readonly [string, Uint8Array | undefined, Command]
    /** The quiet meta request (header, data), or undefined when the command has no quiet form. */
    readonly meta: readonly [string, Uint8Array | undefined] | undefined
    /** The non-quiet meta request, when `meta` is undefined. */
    readonly metaLoud: readonly [string, Uint8Array | undefined, Command] | undefined
  }
  const QUIET_BATCH_KEYS = 100
  const QUIET_BATCH_BYTES = 1024 * 1024
  const LARGE_IN_BATCH = 256 * 1024
  const CRLF_BYTES = Buffer.from("\r\n")

  /** Sends every item, pipelined, and collects one result per key; see `setMany`. */
  const bulk = (
    items: ReadonlyArray<BulkItem | readonly [string, MemcachedError]>,
    command: string,
    timeout: number
  ): Effect.Effect<ReadonlyMap<string, WriteResult>> =>
    Effect.async<ReadonlyMap<string, WriteResult>>((resume) => {
      const results = new Map<string, WriteResult>()
      const valid: Array<BulkItem> = []
      for (const item of items) {
        if (Array.isArray(item)) results.set(item[0] as string, Either.left(item[1] as MemcachedError))
        else valid.push(item as BulkItem)
      }
      const byPool = groupByServer(valid, (b) => b.key, router.route, false)
      let pending = 1
      const settle = () => {
        if (--pending === 0) resume(Exit.succeed(results))
      }
      const send = (pool: ServerPool, slot: Slot, onExit: (exit: Exit.Exit<any, MemcachedError>) => void) => {
        pending++
        slot.resume = (effect) => {
          onExit(effect as Exit.Exit<any, MemcachedError>)
          settle()
        }
        pool.connection().enqueue(slot)
      }
      for (const [s, group] of byPool) {
        const pool = pools[s]!
        if (pool.protocol !== "meta") {
          for (const item of group) {
            const [head, data, command] = item.text
            send(pool, new Slot(command, head, data, item.key, timeout), (exit) => {
              results.set(item.key, exit._tag === "Success" ? Either.right(undefined) : Either.left(Cause.squash(exit.cause) as MemcachedError))
            })
          }
          continue
        }
        let i = 0
        while (i < group.length) {
          const batch: Array<BulkItem> = []
          const parts: Array<Uint8Array> = []
          let bytes = 0
          for (; i < group.length && batch.length < QUIET_BATCH_KEYS && bytes < QUIET_BATCH_BYTES; i++) {
            const item = group[i]!
            if (item.meta === undefined) {
              const [head, data, command] = item.metaLoud!
              send(pool, new Slot(command, head, data, item.key, timeout), (exit) => {
                results.set(item.key, exit._tag === "Success" ? Either.right(undefined) : Either.left(Cause.squash(exit.cause) as MemcachedError))
              })
              continue
            }
            const [head, data] = item.meta
            parts.push(Buffer.from(head, "utf8"))
            bytes += head.length
            if (data !== undefined) {
              parts.push(data, CRLF_BYTES)
              bytes += data.length + 2
            }
            batch.push(item)
          }
          if (batch.length === 0) continue
          parts.push(Buffer.from("mn"))
          // The whole batch rides in the slot's data; the connection appends the final CRLF.
          const slot = new Slot(commands.quietBatch.meta, "", Buffer.concat(parts), batch[0]!.key, timeout)
          send(pool, slot, (exit) => {
            if (exit._tag === "Failure") {
              const error = Cause.squash(exit.cause) as MemcachedError
              for (const item of batch) results.set(item.key, Either.left(error))
              return
            }
            const keys = new Map(batch.map((item) => [item.key, item] as const))
            let unattributed: MemcachedError | undefined = undefined
            for (const r of exit.value as Array<Reply>) {
              if (r._tag === "Meta") {
                const token = r.flag("k")
                const key = token === undefined ? undefined : Buffer.from(token, "latin1").toString("utf8")
                const code = r.code
                if (key !== undefined && keys.has(key) && (code === "NS" || code === "EX" || code === "NF" || code === "EN")) {
                  results.set(key, Either.left(Cause.squash((metaFailure(slot, r, command) as Exit.Failure<never, MemcachedError>).cause) as MemcachedError))
                  continue
                }
              }
              const f = failure(slot, r, command)
              unattributed = Cause.squash((f as Exit.Failure<never, MemcachedError>).cause) as MemcachedError
            }
            for (const item of batch) {
              if (results.has(item.key)) {
                const r = results.get(item.key)!
                if (Either.isLeft(r) && r.left._tag === "MemcachedStoreError") {
                  results.set(item.key, Either.left(new MemcachedStoreError({ reason: r.left.reason, key: item.key, command })))
                }
                continue
              }
              results.set(item.key, unattributed === undefined ? Either.right(undefined) : Either.left(unattributed))
            }
          })
        }
      }
      settle()
    })

  const bulkKey = (key: string): MemcachedError | undefined => validateKey(key)

  const setMany = (entries: Iterable<readonly [string, Value]>, options?: StoreOptions) =>
    Effect.suspend(() => {
      const timeout = timeoutOf(options)
      const flags = options?.flags ?? 0
      const exptime = toExptime(options?.ttl, timers.now())
      const items: Array<BulkItem | readonly [string, MemcachedError]> = []
      for (const [key, value] of entries) {
        const problem = typeof timeout !== "number"
          ? timeout
          : typeof exptime !== "number"
          ? exptime
          : !Number.isInteger(flags) || flags < 0 || flags > U32_MAX
          ? new MemcachedInputError({ reason: "InvalidArgument", message: `flags must be a 32-bit unsigned integer, got ${flags}`, key })
          : bulkKey(key)
        if (problem !== undefined) {
          items.push([key, problem])
          continue
        }
        const data = toBytes(value)
        // A large value may hit the server's item size limit, whose SERVER_ERROR names no key: it goes
        // alone, not quiet, so its outcome is its own.
        const large = data.length >= LARGE_IN_BATCH
        items.push({
          key,
          text: [encodeStorageHeader("set", key, flags, exptime as number, data.length), data, commands.set.text],
          meta: large ? undefined : [encodeMetaSetHeader(key, data.length, { flags, ttl: exptime as number, quiet: true, returnKey: true }), data],
          metaLoud: large ? [encodeMetaSetHeader(key, data.length, { flags, ttl: exptime as number }), data, commands.set.meta] : undefined
        })
      }
      return bulk(items, "set", typeof timeout === "number" ? timeout : settings.timeout)
    })

  const deleteMany = (keys: Iterable<string>, options?: CallOptions) =>
    Effect.suspend(() => {
      const timeout = timeoutOf(options)
      const items: Array<BulkItem | readonly [string, MemcachedError]> = []
      for (const key of new Set(keys)) {
        const problem = typeof timeout !== "number" ? timeout : bulkKey(key)
        if (problem !== undefined) {
          items.push([key, problem])
          continue
        }
        items.push({
          key,
          text: [encodeDelete(key), undefined, commands.delete.text],
          meta: [encodeMetaDelete(key, { quiet: true, returnKey: true }), undefined],
          metaLoud: undefined
        })
      }
      return bulk(items, "delete", typeof timeout === "number" ? timeout : settings.timeout)
    })

  const touchMany = (keys: Iterable<string>, ttl: Ttl, options?: CallOptions) =>
    Effect.suspend(() => {
      const timeout = timeoutOf(options)
      const exptime = toExptime(ttl, timers.now())
      const items: Array<BulkItem | readonly [string, MemcachedError]> = []
      for (const key of new Set(keys)) {
        const problem = typeof timeout !== "number" ? timeout : typeof exptime !== "number" ? exptime : bulkKey(key)
        if (problem !== undefined) {
          items.push([key, problem])
          continue
        }
        // Quiet `mg` hides misses too, so touches are not quiet: `HD` or `EN` for each key.
        items.push({
          key,
          text: [encodeTouch(key, exptime as number), undefined, commands.touch.text],
          meta: undefined,
          metaLoud: [`mg ${key} T${exptime as number}\r\n`, undefined, commands.touch.meta]
        })
      }
      return bulk(items, "touch", typeof timeout === "number" ? timeout : settings.timeout)
    })
  return { setMany, deleteMany, touchMany }
}
