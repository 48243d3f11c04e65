/**
 * The bulk writes of the engine's facade (`setMany`, `deleteMany`, `touchMany`): pipelined per-key
 * requests on text servers, quiet `ms`/`md` batches closed by `mn` on meta servers (failures tied to
 * their key by `k`). Each key's outcome is reported as the edition's own result value (`ok`, or
 * `fail(error)`); a call never fails as a whole. Plain TypeScript.
 *
 * @since 0.1.0
 */
import { encodeDelete, encodeStorageHeader, encodeTouch, type Reply } from "../protocol/client.js"
import { encodeMetaDelete, encodeMetaSetHeader, encodeMetaTouch } from "../protocol/meta.js"
import { groupByServer } from "./cluster.js"
import { commands, failure, toBytes } from "./commands.js"
import { exptimeAt, flagsError, keyError, type TtlSeconds } from "./keys.js"
import type { ServerPool } from "./pool.js"
import type { RequestContext, Timeout } from "./requests.js"
import { type Command, Slot } from "./slot.js"
import { type Endpoint, EngineError, storeError } from "./types.js"

/**
 * How an edition represents one key's outcome.
 *
 * @since 0.1.0
 * @category models
 */
export interface BulkResults<W> {
  /** The outcome of a key written (may be shared). */
  readonly ok: W
  readonly fail: (error: EngineError) => W
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

const QUIET_BATCH_KEYS = 100
const QUIET_BATCH_BYTES = 1024 * 1024
const LARGE_IN_BATCH = 256 * 1024
const CRLF_BYTES = Buffer.from("\r\n")
const STORE_CODES: Record<string, "NotStored" | "Exists" | "NotFound"> = {
  NS: "NotStored",
  EX: "Exists",
  NF: "NotFound",
  EN: "NotFound"
}

/** One bulk call in flight: its results and how a slot is sent. */
interface Run<W> {
  readonly results: Map<string, W>
  readonly as: BulkResults<W>
  readonly timeout: number
  readonly command: string
  /** Enqueues `slot` on `pool`; `onDone` sees its outcome before the call may settle. */
  readonly send: (
    pool: ServerPool,
    slot: Slot,
    onDone: (value: unknown, error: EngineError | undefined) => void
  ) => void
}

/** Sends one item alone (not quiet); its own reply is its result. */
const sendOne = <W>(
  run: Run<W>,
  pool: ServerPool,
  item: BulkItem,
  request: readonly [string, Uint8Array | undefined, Command]
) => {
  const [head, data, command] = request
  run.send(pool, new Slot(command, head, data, item.key, run.timeout), (_, error) => {
    run.results.set(item.key, error === undefined ? run.as.ok : run.as.fail(error))
  })
}

/**
 * The results of a quiet batch: a failure reply whose `k` names a key of the batch is that key's;
 * anything else (no key, another code) fails every key not already answered.
 */
const settleQuietBatch = <W>(
  run: Run<W>,
  slot: Slot,
  batch: ReadonlyArray<BulkItem>,
  replies: unknown,
  error: EngineError | undefined
) => {
  const { as, command, results } = run
  if (error !== undefined) {
    const failed = as.fail(error)
    for (const item of batch) results.set(item.key, failed)
    return
  }
  const keys = new Set(batch.map((item) => item.key))
  let unattributed: EngineError | undefined = undefined
  for (const r of replies as Array<Reply>) {
    if (r._tag === "Meta") {
      const token = r.flag("k")
      const key = token === undefined ? undefined : Buffer.from(token, "latin1").toString("utf8")
      const reason = STORE_CODES[r.code]
      if (key !== undefined && keys.has(key) && reason !== undefined) {
        results.set(key, as.fail(storeError(reason, key, command, slot.server)))
        continue
      }
    }
    unattributed = failure(slot, r, command)
  }
  const rest = unattributed === undefined ? as.ok : as.fail(unattributed)
  for (const item of batch) if (!results.has(item.key)) results.set(item.key, rest)
}

/** Sends a meta server's items: quiet batches of up to 100 keys / 1 MiB closed by `mn`, loud items alone. */
const sendMeta = <W>(run: Run<W>, pool: ServerPool, group: ReadonlyArray<BulkItem>) => {
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
    run.send(pool, slot, (replies, error) => settleQuietBatch(run, slot, batch, replies, error))
  }
}

/** Sends every valid item, pipelined; `done` gets one result per key (invalid ones already in `results`). */
const bulk = <W, S extends Endpoint>(
  { pools, router }: RequestContext<S>,
  results: Map<string, W>,
  as: BulkResults<W>,
  valid: ReadonlyArray<BulkItem>,
  command: string,
  timeout: number,
  done: (results: ReadonlyMap<string, W>) => void
): void => {
  let pending = 1
  const settle = () => {
    if (--pending === 0) done(results)
  }
  const run: Run<W> = {
    results,
    as,
    timeout,
    command,
    send: (pool, slot, onDone) => {
      pending++
      slot.done = {
        succeed: (value) => {
          onDone(value, undefined)
          settle()
        },
        fail: (error) => {
          onDone(undefined, error)
          settle()
        }
      }
      pool.connection().enqueue(slot)
    }
  }
  for (const [s, group] of groupByServer(valid, (b) => b.key, router.route, false)) {
    const pool = pools[s]!
    if (pool.protocol === "meta") sendMeta(run, pool, group)
    else for (const item of group) sendOne(run, pool, item, item.text)
  }
  settle()
}

/** The timeout to send with: the call's, or the default when the call's is invalid (every key then fails). */
const timeoutFor = <S extends Endpoint>(ctx: RequestContext<S>, timeout: Timeout): number =>
  typeof timeout === "number" ? timeout : ctx.settings.timeout

/**
 * The exptime of a bulk write's TTL at the context's clock, and the error every item of the batch
 * fails with, if any: an invalid timeout, then an invalid TTL (exptime 0 then). Never throws.
 */
const batchTtl = <S extends Endpoint>(
  ttl: TtlSeconds,
  timeout: Timeout,
  ctx: RequestContext<S>
): readonly [number, EngineError | undefined] => {
  const exptime = exptimeAt(ttl, ctx.timers.now())
  if (timeout instanceof EngineError) return [0, timeout]
  return typeof exptime === "number" ? [exptime, undefined] : [0, exptime]
}

/**
 * `set` of every entry, each key's outcome in `done`'s map: an invalid key, TTL, flags or timeout is that
 * key's failure, before anything is sent. A value of 256 KiB or more is sent alone (a server's item size
 * error names no key). Never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const setMany = <W, S extends Endpoint>(
  ctx: RequestContext<S>,
  entries: Iterable<readonly [string, string | Uint8Array]>,
  flags: number,
  ttl: TtlSeconds,
  timeout: Timeout,
  as: BulkResults<W>,
  done: (results: ReadonlyMap<string, W>) => void
): void => {
  const [exptime, shared] = batchTtl(ttl, timeout, ctx)
  const results = new Map<string, W>()
  const valid: Array<BulkItem> = []
  for (const [key, value] of entries) {
    const problem = shared ?? flagsError(flags, key) ?? keyError(key)
    if (problem !== undefined) {
      results.set(key, as.fail(problem))
      continue
    }
    const data = toBytes(value)
    const large = data.length >= LARGE_IN_BATCH
    const e = exptime
    valid.push({
      key,
      text: [encodeStorageHeader("set", key, flags, e, data.length), data, commands.set.text],
      meta: large
        ? undefined
        : [encodeMetaSetHeader(key, data.length, { flags, ttl: e, quiet: true, returnKey: true }), data],
      metaLoud: large ? [encodeMetaSetHeader(key, data.length, { flags, ttl: e }), data, commands.set.meta] : undefined
    })
  }
  bulk(ctx, results, as, valid, "set", timeoutFor(ctx, timeout), done)
}

/**
 * `delete` of every distinct key (quiet `md` batches on meta servers), each key's outcome in `done`'s
 * map. Never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deleteMany = <W, S extends Endpoint>(
  ctx: RequestContext<S>,
  keys: Iterable<string>,
  timeout: Timeout,
  as: BulkResults<W>,
  done: (results: ReadonlyMap<string, W>) => void
): void => {
  const results = new Map<string, W>()
  const valid: Array<BulkItem> = []
  for (const key of new Set(keys)) {
    const problem = timeout instanceof EngineError ? timeout : keyError(key)
    if (problem !== undefined) {
      results.set(key, as.fail(problem))
      continue
    }
    valid.push({
      key,
      text: [encodeDelete(key), undefined, commands.delete.text],
      meta: [encodeMetaDelete(key, { quiet: true, returnKey: true }), undefined],
      metaLoud: undefined
    })
  }
  bulk(ctx, results, as, valid, "delete", timeoutFor(ctx, timeout), done)
}

/**
 * `touch` of every distinct key (not quiet on meta servers: quiet `mg` hides misses too), each key's
 * outcome in `done`'s map. Never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const touchMany = <W, S extends Endpoint>(
  ctx: RequestContext<S>,
  keys: Iterable<string>,
  ttl: TtlSeconds,
  timeout: Timeout,
  as: BulkResults<W>,
  done: (results: ReadonlyMap<string, W>) => void
): void => {
  const [exptime, shared] = batchTtl(ttl, timeout, ctx)
  const results = new Map<string, W>()
  const valid: Array<BulkItem> = []
  for (const key of new Set(keys)) {
    const problem = shared ?? keyError(key)
    if (problem !== undefined) {
      results.set(key, as.fail(problem))
      continue
    }
    valid.push({
      key,
      text: [encodeTouch(key, exptime), undefined, commands.touch.text],
      meta: undefined,
      metaLoud: [encodeMetaTouch(key, exptime), undefined, commands.touch.meta]
    })
  }
  bulk(ctx, results, as, valid, "touch", timeoutFor(ctx, timeout), done)
}
