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

/**
 * One key's write: its key and data; its request lines are encoded when its server's protocol is known
 * (only the form that is sent), by the call's {@link Forms}.
 */
interface BulkItem {
  readonly key: string
  readonly data: Uint8Array | undefined
}

/** How a bulk call encodes one item, per protocol (flags and TTL are the call's, fixed). */
interface Forms {
  /** The text-protocol request line and its command. */
  readonly text: (item: BulkItem) => string
  readonly textCommand: Command
  /** The quiet meta request line, or undefined when the item has no quiet form (sent alone, loud). */
  readonly quiet: (item: BulkItem) => string | undefined
  /** The non-quiet meta request line and its command. */
  readonly loud: (item: BulkItem) => string
  readonly loudCommand: Command
}

const QUIET_BATCH_KEYS = 100
const QUIET_BATCH_BYTES = 1024 * 1024
const LARGE_IN_BATCH = 256 * 1024
const MN = "mn"
const STORE_CODES: Record<string, "NotStored" | "Exists" | "NotFound"> = {
  NS: "NotStored",
  EX: "Exists",
  NF: "NotFound",
  EN: "NotFound"
}

/** One bulk call in flight: its results, how items are encoded, and the count of slots not yet settled. */
class Run<W> {
  pending = 1
  constructor(
    readonly results: Map<string, W>,
    readonly as: BulkResults<W>,
    readonly forms: Forms,
    readonly timeout: number,
    readonly command: string,
    readonly done: (results: ReadonlyMap<string, W>) => void
  ) {}
  settle(): void {
    if (--this.pending === 0) this.done(this.results)
  }
}

/** One item sent alone (not quiet): its own reply is its key's result. The slot is its own completion. */
class ItemSlot<W> extends Slot {
  constructor(command: Command, head: string, data: Uint8Array | undefined, key: string, readonly run: Run<W>) {
    super(command, head, data, key, run.timeout)
    this.done = this
    run.pending++
  }
  succeed(_value: unknown): void {
    this.run.results.set(this.key, this.run.as.ok)
    this.run.settle()
  }
  fail(error: EngineError): void {
    this.run.results.set(this.key, this.run.as.fail(error))
    this.run.settle()
  }
}

/** A quiet meta batch closed by `mn`; the slot is its own completion. */
class BatchSlot<W> extends Slot {
  constructor(data: Uint8Array, readonly batch: ReadonlyArray<BulkItem>, readonly run: Run<W>) {
    super(commands.quietBatch.meta, "", data, batch[0]!.key, run.timeout)
    this.done = this
    run.pending++
  }
  succeed(replies: unknown): void {
    settleQuietBatch(this.run, this, this.batch, replies as Array<Reply>, undefined)
    this.run.settle()
  }
  fail(error: EngineError): void {
    settleQuietBatch(this.run, this, this.batch, [], error)
    this.run.settle()
  }
}

/**
 * The results of a quiet batch: a failure reply whose `k` names a key of the batch is that key's;
 * anything else (no key, another code) fails every key not already answered.
 */
const settleQuietBatch = <W>(
  run: Run<W>,
  slot: Slot,
  batch: ReadonlyArray<BulkItem>,
  replies: Array<Reply>,
  error: EngineError | undefined
) => {
  const { as, command, results } = run
  if (error !== undefined) {
    const failed = as.fail(error)
    for (let i = 0; i < batch.length; i++) results.set(batch[i]!.key, failed)
    return
  }
  if (replies.length === 0) {
    // Quiet success: nothing came back but the MN.
    for (let i = 0; i < batch.length; i++) results.set(batch[i]!.key, as.ok)
    return
  }
  const keys = new Set(batch.map((item) => item.key))
  let unattributed: EngineError | undefined = undefined
  for (const r of replies) {
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

/**
 * Sends a meta server's items: quiet batches of up to 100 keys / 1 MiB closed by `mn` (each batch's
 * lines and data written straight into one buffer), loud items alone.
 */
const sendMeta = <W>(run: Run<W>, pool: ServerPool, group: ReadonlyArray<BulkItem>) => {
  const forms = run.forms
  const heads: Array<string> = []
  let i = 0
  while (i < group.length) {
    const batch: Array<BulkItem> = []
    heads.length = 0
    let bytes = 0
    // The buffer's worst case: UTF-8 takes at most 3 bytes per UTF-16 code unit of a line.
    let size = MN.length
    for (; i < group.length && batch.length < QUIET_BATCH_KEYS && bytes < QUIET_BATCH_BYTES; i++) {
      const item = group[i]!
      const head = forms.quiet(item)
      if (head === undefined) {
        pool.connection().enqueue(
          new ItemSlot(run.forms.loudCommand, forms.loud(item), item.data, item.key, run)
        )
        continue
      }
      heads.push(head)
      const dataBytes = item.data === undefined ? 0 : item.data.length + 2
      bytes += head.length + dataBytes
      size += head.length * 3 + dataBytes
      batch.push(item)
    }
    if (batch.length === 0) continue
    const buf = Buffer.allocUnsafe(size)
    let at = 0
    for (let b = 0; b < batch.length; b++) {
      at += buf.utf8Write(heads[b]!, at)
      const data = batch[b]!.data
      if (data !== undefined) {
        buf.set(data, at)
        at += data.length
        buf[at++] = 13
        buf[at++] = 10
      }
    }
    at += buf.latin1Write(MN, at)
    // The whole batch rides in the slot's data; the connection appends the final CRLF.
    pool.connection().enqueue(new BatchSlot(buf.subarray(0, at), batch, run))
  }
}

/** Sends every valid item, pipelined; `done` gets one result per key (invalid ones already in `results`). */
const bulk = <W, S extends Endpoint>(
  { pools, router }: RequestContext<S>,
  results: Map<string, W>,
  as: BulkResults<W>,
  forms: Forms,
  valid: ReadonlyArray<BulkItem>,
  command: string,
  timeout: number,
  done: (results: ReadonlyMap<string, W>) => void
): void => {
  const run = new Run(results, as, forms, timeout, command, done)
  const send = (pool: ServerPool, group: ReadonlyArray<BulkItem>) => {
    if (pool.protocol === "meta") return sendMeta(run, pool, group)
    for (let i = 0; i < group.length; i++) {
      const item = group[i]!
      pool.connection().enqueue(new ItemSlot(forms.textCommand, forms.text(item), item.data, item.key, run))
    }
  }
  if (pools.length === 1) send(pools[0]!, valid)
  else {
    // Grouped by server in first-seen order (an array indexed by server: no Map probe per item).
    const groups: Array<Array<BulkItem> | undefined> = []
    const order: Array<number> = []
    for (let i = 0; i < valid.length; i++) {
      const item = valid[i]!
      const s = router.route(item.key)
      const g = groups[s]
      if (g === undefined) {
        groups[s] = [item]
        order.push(s)
      } else g.push(item)
    }
    for (let o = 0; o < order.length; o++) send(pools[order[o]!]!, groups[order[o]!]!)
  }
  run.settle()
}

/** The timeout to send with: the call's, or the default when the call's is invalid (every key then fails). */
const timeoutFor = <S extends Endpoint>(ctx: RequestContext<S>, timeout: Timeout): number =>
  typeof timeout === "number" ? timeout : ctx.settings.timeout

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
  const exptime = exptimeAt(ttl, ctx.timers)
  const results = new Map<string, W>()
  const valid: Array<BulkItem> = []
  const callProblem = timeout instanceof EngineError ? timeout : typeof exptime !== "number" ? exptime : undefined
  for (const entry of entries) {
    const key = entry[0]
    const problem = callProblem ?? flagsError(flags, key) ?? keyError(key)
    if (problem !== undefined) {
      results.set(key, as.fail(problem))
      continue
    }
    valid.push({ key, data: toBytes(entry[1]) })
  }
  const e = exptime as number
  const quiet = { flags, ttl: e, quiet: true, returnKey: true } as const
  const loud = { flags, ttl: e } as const
  const forms: Forms = {
    text: (item) => encodeStorageHeader("set", item.key, flags, e, item.data!.length),
    textCommand: commands.set.text,
    quiet: (item) =>
      item.data!.length >= LARGE_IN_BATCH ? undefined : encodeMetaSetHeader(item.key, item.data!.length, quiet),
    loud: (item) => encodeMetaSetHeader(item.key, item.data!.length, loud),
    loudCommand: commands.set.meta
  }
  bulk(ctx, results, as, forms, valid, "set", timeoutFor(ctx, timeout), done)
}

/**
 * The distinct keys of a key-only bulk call as items; a key fails in `results` with the call's problem
 * (a bad timeout or TTL) or its own (an invalid key), before anything is sent. Never throws.
 */
const keyItems = <W>(
  keys: Iterable<string>,
  callProblem: EngineError | undefined,
  results: Map<string, W>,
  as: BulkResults<W>
): Array<BulkItem> => {
  const valid: Array<BulkItem> = []
  for (const key of new Set(keys)) {
    const problem = callProblem ?? keyError(key)
    if (problem !== undefined) results.set(key, as.fail(problem))
    else valid.push({ key, data: undefined })
  }
  return valid
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
  const valid = keyItems(keys, timeout instanceof EngineError ? timeout : undefined, results, as)
  const quiet = { quiet: true, returnKey: true } as const
  const forms: Forms = {
    text: (item) => encodeDelete(item.key),
    textCommand: commands.delete.text,
    quiet: (item) => encodeMetaDelete(item.key, quiet),
    loud: (item) => encodeMetaDelete(item.key),
    loudCommand: commands.delete.meta
  }
  bulk(ctx, results, as, forms, valid, "delete", timeoutFor(ctx, timeout), done)
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
  const exptime = exptimeAt(ttl, ctx.timers)
  const results = new Map<string, W>()
  const callProblem = timeout instanceof EngineError ? timeout : typeof exptime !== "number" ? exptime : undefined
  const valid = keyItems(keys, callProblem, results, as)
  const e = exptime as number
  const forms: Forms = {
    text: (item) => encodeTouch(item.key, e),
    textCommand: commands.touch.text,
    quiet: () => undefined,
    loud: (item) => encodeMetaTouch(item.key, e),
    loudCommand: commands.touch.meta
  }
  bulk(ctx, results, as, forms, valid, "touch", timeoutFor(ctx, timeout), done)
}
