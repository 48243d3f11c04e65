/**
 * The client's bulk writes (`setMany`, `deleteMany`, `touchMany`): pipelined per-key requests on text
 * servers, quiet `ms`/`md` batches closed by `mn` on meta servers (failures tied to their key by `k`),
 * one `Effect.async` per call. Each key's outcome is reported; the call never fails as a whole.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Exit from "effect/Exit"
import { groupByServer } from "../../../../src/engine/cluster.js"
import { type Command, Slot, type Timers } from "../../../../src/engine/connection.js"
import type { ServerPool, Settings } from "../../../../src/engine/pool.js"
import type { Router } from "../../../../src/engine/router.js"
import { type Ttl, toExptime, validateKey } from "../Key.js"
import type { CallOptions, StoreOptions, Value, WriteResult } from "./models.js"
import { type MemcachedError, MemcachedInputError, MemcachedStoreError } from "../MemcachedError.js"
import { encodeDelete, encodeStorageHeader, encodeTouch, type Reply } from "../../../../src/protocol/client.js"
import { encodeMetaDelete, encodeMetaSetHeader, encodeMetaTouch } from "../../../../src/protocol/meta.js"
import { commands, failure, metaFailure, toBytes, U32_MAX } from "../../../../src/engine/commands.js"
import { exitCompletion, toMemcachedError } from "./request.js"

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

/** One key's write: its text, quiet meta and loud meta forms. */
interface BulkItem {
  readonly key: string
  /** The text-protocol request: header, data, and how its reply maps to a result. */
  readonly text: readonly [string, Uint8Array | undefined, Command]
  /** The quiet meta request (header, data), or undefined when the command has no quiet form. */
  readonly meta: readonly [string, Uint8Array | undefined] | undefined
  /** The non-quiet meta request, when `meta` is undefined. */
  readonly metaLoud: readonly [string, Uint8Array | undefined, Command] | undefined
}
/** A valid item, or a key with the input error it fails with (nothing sent for it). */
type BulkEntry = BulkItem | readonly [string, MemcachedError]

const QUIET_BATCH_KEYS = 100
const QUIET_BATCH_BYTES = 1024 * 1024
const LARGE_IN_BATCH = 256 * 1024
const CRLF_BYTES = Buffer.from("\r\n")

/** The error a failed exit carries. */
const squashed = (exit: Exit.Exit<any, MemcachedError>): MemcachedError =>
  Cause.squash((exit as Exit.Failure<never, MemcachedError>).cause) as MemcachedError

/** One bulk call in flight: its results and the count of requests still pending. */
interface Run {
  readonly results: Map<string, WriteResult>
  readonly timeout: number
  readonly command: string
  /** Enqueues `slot` on `pool`; `onExit` sees its outcome before the call may settle. */
  readonly send: (pool: ServerPool, slot: Slot, onExit: (exit: Exit.Exit<any, MemcachedError>) => void) => void
}

/** Sends one item alone (not quiet); its own reply is its result. */
const sendOne = (
  run: Run,
  pool: ServerPool,
  item: BulkItem,
  request: readonly [string, Uint8Array | undefined, Command]
) => {
  const [head, data, command] = request
  run.send(pool, new Slot(command, head, data, item.key, run.timeout), (exit) => {
    run.results.set(item.key, exit._tag === "Success" ? Result.succeed(undefined) : Result.fail(squashed(exit)))
  })
}

/**
 * The results of a quiet batch: a failure reply whose `k` names a key of the batch is that key's;
 * anything else (no key, another code) fails every key not already answered.
 */
const settleQuietBatch = (
  run: Run,
  slot: Slot,
  batch: ReadonlyArray<BulkItem>,
  exit: Exit.Exit<any, MemcachedError>
) => {
  const { command, results } = run
  if (exit._tag === "Failure") {
    const error = squashed(exit)
    for (const item of batch) results.set(item.key, Result.fail(error))
    return
  }
  const keys = new Set(batch.map((item) => item.key))
  let unattributed: MemcachedError | undefined = undefined
  for (const r of exit.value as Array<Reply>) {
    if (r._tag === "Meta") {
      const token = r.flag("k")
      const key = token === undefined ? undefined : Buffer.from(token, "latin1").toString("utf8")
      const code = r.code
      if (key !== undefined && keys.has(key) && (code === "NS" || code === "EX" || code === "NF" || code === "EN")) {
        results.set(key, Result.fail(toMemcachedError(metaFailure(slot, r, command))))
        continue
      }
    }
    unattributed = toMemcachedError(failure(slot, r, command))
  }
  for (const item of batch) {
    if (results.has(item.key)) {
      const r = results.get(item.key)!
      if (Result.isFailure(r) && r.failure._tag === "MemcachedStoreError") {
        results.set(
          item.key,
          Result.fail(new MemcachedStoreError({ reason: r.failure.reason, key: item.key, command }))
        )
      }
      continue
    }
    results.set(item.key, unattributed === undefined ? Result.succeed(undefined) : Result.fail(unattributed))
  }
}

/** Sends a meta server's items: quiet batches of up to 100 keys / 1 MiB closed by `mn`, loud items alone. */
const sendMeta = (run: Run, pool: ServerPool, group: ReadonlyArray<BulkItem>) => {
  let i = 0
  while (i < group.length) {
    const batch: Array<BulkItem> = []
    const parts: Array<Uint8Array> = []
    let bytes = 0
    for (; i < group.length && batch.length < QUIET_BATCH_KEYS && bytes < QUIET_BATCH_BYTES; i++) {
      const item = group[i]!
      if (item.meta === undefined) {
        sendOne(run, pool, item, item.metaLoud!)
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
    const slot = new Slot(commands.quietBatch.meta, "", Buffer.concat(parts), batch[0]!.key, run.timeout)
    run.send(pool, slot, (exit) => settleQuietBatch(run, slot, batch, exit))
  }
}

/** Sends every item, pipelined, and collects one result per key; see `setMany`. */
const bulk = (
  { pools, router }: BulkContext,
  items: ReadonlyArray<BulkEntry>,
  command: string,
  timeout: number
): Effect.Effect<ReadonlyMap<string, WriteResult>> =>
  Effect.callback<ReadonlyMap<string, WriteResult>>((resume) => {
    const results = new Map<string, WriteResult>()
    const valid: Array<BulkItem> = []
    for (const item of items) {
      if (Array.isArray(item)) results.set(item[0] as string, Result.fail(item[1] as MemcachedError))
      else valid.push(item as BulkItem)
    }
    let pending = 1
    const settle = () => {
      if (--pending === 0) resume(Exit.succeed(results))
    }
    const run: Run = {
      results,
      timeout,
      command,
      send: (pool, slot, onExit) => {
        pending++
        slot.done = exitCompletion((effect) => {
          onExit(effect as Exit.Exit<any, MemcachedError>)
          settle()
        })
        pool.connection().enqueue(slot)
      }
    }
    for (const [s, group] of groupByServer(valid, (b) => b.key, router.route, false)) {
      const pool = pools[s]!
      if (pool.protocol === "meta") sendMeta(run, pool, group)
      else for (const item of group) sendOne(run, pool, item, item.text)
    }
    settle()
  })

/** The timeout to send with: the call's, or the default when the call's is invalid (every key then fails). */
const timeoutFor = (ctx: BulkContext, timeout: number | MemcachedInputError): number =>
  typeof timeout === "number" ? timeout : ctx.settings.timeout

const setMany = (ctx: BulkContext) => (entries: Iterable<readonly [string, Value]>, options?: StoreOptions) =>
  Effect.suspend(() => {
    const timeout = ctx.timeoutOf(options)
    const flags = options?.flags ?? 0
    const exptime = toExptime(options?.ttl, ctx.timers.now())
    const items: Array<BulkEntry> = []
    for (const [key, value] of entries) {
      const problem = typeof timeout !== "number"
        ? timeout
        : typeof exptime !== "number"
        ? exptime
        : !Number.isInteger(flags) || flags < 0 || flags > U32_MAX
        ? new MemcachedInputError({
          reason: "InvalidArgument",
          message: `flags must be a 32-bit unsigned integer, got ${flags}`,
          key
        })
        : validateKey(key)
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
        meta: large
          ? undefined
          : [
            encodeMetaSetHeader(key, data.length, { flags, ttl: exptime as number, quiet: true, returnKey: true }),
            data
          ],
        metaLoud: large
          ? [encodeMetaSetHeader(key, data.length, { flags, ttl: exptime as number }), data, commands.set.meta]
          : undefined
      })
    }
    return bulk(ctx, items, "set", timeoutFor(ctx, timeout))
  })

const deleteMany = (ctx: BulkContext) => (keys: Iterable<string>, options?: CallOptions) =>
  Effect.suspend(() => {
    const timeout = ctx.timeoutOf(options)
    const items: Array<BulkEntry> = []
    for (const key of new Set(keys)) {
      const problem = typeof timeout !== "number" ? timeout : validateKey(key)
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
    return bulk(ctx, items, "delete", timeoutFor(ctx, timeout))
  })

const touchMany = (ctx: BulkContext) => (keys: Iterable<string>, ttl: Ttl, options?: CallOptions) =>
  Effect.suspend(() => {
    const timeout = ctx.timeoutOf(options)
    const exptime = toExptime(ttl, ctx.timers.now())
    const items: Array<BulkEntry> = []
    for (const key of new Set(keys)) {
      const problem = typeof timeout !== "number" ? timeout : typeof exptime !== "number" ? exptime : validateKey(key)
      if (problem !== undefined) {
        items.push([key, problem])
        continue
      }
      // Quiet `mg` hides misses too, so touches are not quiet: `HD` or `EN` for each key.
      items.push({
        key,
        text: [encodeTouch(key, exptime as number), undefined, commands.touch.text],
        meta: undefined,
        metaLoud: [encodeMetaTouch(key, exptime as number), undefined, commands.touch.meta]
      })
    }
    return bulk(ctx, items, "touch", timeoutFor(ctx, timeout))
  })

/**
 * Builds the bulk writes over the client's router and pools. They never fail as a whole: an invalid
 * key, TTL, flags or timeout is that key's `Left(MemcachedInputError)`, before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBulkWrites = (ctx: BulkContext) => ({
  setMany: setMany(ctx),
  deleteMany: deleteMany(ctx),
  touchMany: touchMany(ctx)
})
