/**
 * The engine's request facade: one function per client method that validates its (already decoded,
 * plain) inputs, chooses the command row's text or meta form for the server's protocol, routes the key
 * and submits a slot. An edition wraps each call in one async primitive of its own and maps results and
 * {@link EngineError}s to its types; nothing here knows Effect.
 *
 * Each function returns the `Input` error synchronously (nothing sent) or `undefined` once the request
 * is submitted. A failure found later (a text-only proxy, the protocol probe) goes to
 * {@link Edition.fail}. Inputs an edition decodes itself (a timeout, a TTL) arrive as the value or the
 * edition's `EngineError` for it, checked in its place among the method's checks.
 *
 * @since 0.1.0
 */
import {
  encodeDelete,
  encodeFlushAll,
  encodeGat,
  encodeGet,
  encodeIncrDecr,
  encodeStats,
  encodeStorageHeader,
  encodeTouch,
  encodeVerbosity,
  encodeVersion,
  type StorageCommand
} from "../protocol/client.js"
import { ReplyItem } from "../protocol/item.js"
import { U32_MAX } from "../protocol/limits.js"
import {
  encodeMetaArithmetic,
  encodeMetaDelete,
  encodeMetaGetItem,
  encodeMetaSetHeader,
  encodeMetaTouch
} from "../protocol/meta.js"
import {
  commandFor,
  type CommandRow,
  commands,
  type EngineItem,
  type GetManySlot,
  storeModes,
  toBytes
} from "./commands.js"
import { casError, deltaOf, exptimeAt, flagsError, keyError, sizeError, type TtlSeconds, valueError } from "./keys.js"
import { proxyUnsupported, type ServerPool, type Settings } from "./pool.js"
import type { Router } from "./router.js"
import { type Command, newList, Slot } from "./slot.js"
import { type Endpoint, EngineError, inputError, type Timers } from "./types.js"

/**
 * A timeout in milliseconds as the edition decoded it, or the edition's error for it.
 *
 * @since 0.1.0
 * @category models
 */
export type Timeout = number | EngineError

/**
 * What an edition gives the facade: how a slot completes its request (`R` is the edition's per-request
 * resume handle, e.g. the callback of its one async primitive), and how to fail one after it was
 * accepted. `slot` should return a slot that is its own completion (no allocation beyond the slot).
 *
 * @since 0.1.0
 * @category models
 */
export interface Edition<R> {
  readonly slot: (
    command: Command,
    head: string,
    data: Uint8Array | undefined,
    key: string,
    timeout: number,
    resume: R
  ) => Slot
  readonly fail: (resume: R, error: EngineError) => void
}

/**
 * The client state the facade works over.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestContext<S extends Endpoint = Endpoint> {
  readonly servers: ReadonlyArray<S>
  readonly pools: ReadonlyArray<ServerPool<S>>
  readonly router: Router<S>
  readonly settings: Settings
  readonly timers: Timers
}

/**
 * `Unsupported` when `pool` is a text-only proxy that does not forward `command` (nothing is sent).
 *
 * @since 0.1.0
 * @category validation
 */
export const proxyRejection = (pool: ServerPool, command: string, key?: string): EngineError | undefined =>
  pool.proxy && proxyUnsupported.has(command)
    ? inputError(
      "Unsupported",
      `${command} is not forwarded by ${pool.spec.name}, a text-only proxy (twemproxy); nothing was sent`,
      key
    )
    : undefined

/** A storage command's checks in order (key, timeout, flags, CAS, value, size): its data, or the error. */
const storeData = (
  key: string,
  value: unknown,
  flags: number,
  cas: bigint | undefined,
  timeout: Timeout,
  maxValueSize: number
): Uint8Array | EngineError => {
  const bad = keyError(key) ?? (typeof timeout === "number" ? undefined : timeout) ?? flagsError(flags, key) ??
    casError(key, cas) ?? valueError(value, key)
  if (bad !== undefined) return bad
  const data = toBytes(value as string | Uint8Array)
  return sizeError(data.length, maxValueSize, key) ?? data
}

/**
 * The pool `key` is routed to (no routing with one server; the lists' length is read per call, as
 * auto-discovery changes them in place).
 *
 * @since 0.1.0
 * @category routing
 */
export const poolRouter = <S extends Endpoint>(
  { pools, router }: Pick<RequestContext<S>, "pools" | "router">
): (key: string) => ServerPool<S> =>
(key) => pools.length === 1 ? pools[0]! : pools[router.route(key)]!

/**
 * The single-key and per-server requests. Each returns the `Input` error (nothing sent) or `undefined`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRequests = <R, S extends Endpoint = Endpoint>(ctx: RequestContext<S>, edition: Edition<R>) => {
  const { settings, timers } = ctx
  const poolOf = poolRouter(ctx)
  const submit = (
    pool: ServerPool,
    command: Command,
    head: string,
    data: Uint8Array | undefined,
    key: string,
    timeout: number,
    resume: R
  ): undefined => {
    pool.connection().enqueue(edition.slot(command, head, data, key, timeout, resume))
    return undefined
  }
  // One reused one-key array (encodeGet reads it synchronously): no allocation on the hot path.
  const oneKey: [string] = [""]

  /** `get` / `gets` (the gets finisher fails a hit without a CAS unique). */
  const get = (key: string, cas: boolean, timeout: Timeout, resume: R): EngineError | undefined => {
    const bad = keyError(key)
    if (bad !== undefined) return bad
    if (typeof timeout !== "number") return timeout
    const row = cas ? commands.gets : commands.get
    const pool = poolOf(key)
    if (pool.protocol === "meta") {
      return submit(pool, row.meta, encodeMetaGetItem(key, cas), undefined, key, timeout, resume)
    }
    oneKey[0] = key
    return submit(pool, row.text, encodeGet(cas ? "gets" : "get", oneKey), undefined, key, timeout, resume)
  }

  /** `gat` / `gats`; in auto mode the probe tells a text-only proxy (which closes on gat) apart. */
  const gat = (
    command: "gat" | "gats",
    key: string,
    ttl: TtlSeconds,
    timeout: Timeout,
    resume: R
  ): EngineError | undefined => {
    const bad = keyError(key)
    if (bad !== undefined) return bad
    if (typeof timeout !== "number") return timeout
    const exptime = exptimeAt(ttl, timers)
    if (typeof exptime !== "number") return exptime
    const row = commands[command]
    const pool = poolOf(key)
    pool.whenKnown(() => {
      const rejected = proxyRejection(pool, command, key)
      if (rejected !== undefined) return edition.fail(resume, rejected)
      if (pool.protocol === "meta") {
        submit(pool, row.meta, encodeMetaGetItem(key, command === "gats", exptime), undefined, key, timeout, resume)
      } else {
        submit(pool, row.text, encodeGat(command, exptime, [key]), undefined, key, timeout, resume)
      }
    })
    return undefined
  }

  /** A storage command; `noreply` sends without waiting (then `resume` is not used). */
  const store = (
    command: StorageCommand,
    key: string,
    value: unknown,
    flags: number,
    ttl: TtlSeconds,
    cas: bigint | undefined,
    noreply: boolean,
    timeout: Timeout,
    resume: R
  ): EngineError | undefined => {
    const data = storeData(key, value, flags, cas, timeout, settings.maxValueSize)
    if (data instanceof EngineError) return data
    const exptime = exptimeAt(ttl, timers)
    if (typeof exptime !== "number") return exptime
    const pool = poolOf(key)
    const meta = pool.protocol === "meta"
    const head = meta
      ? encodeMetaSetHeader(key, data.length, { flags, ttl: exptime, mode: storeModes[command], compareCas: cas })
      : encodeStorageHeader(command, key, flags, exptime, data.length, cas)
    const row = commands[command]
    if (noreply) {
      pool.connection().send(new Slot(commandFor(row, meta), head, data, key, timeout as number))
      return undefined
    }
    return submit(pool, commandFor(row, meta), head, data, key, timeout as number, resume)
  }

  /** Sends a single-key command without a value: without waiting under `noreply`, else completing `resume`. */
  const sendKeyed = (
    row: CommandRow,
    pool: ServerPool,
    meta: boolean,
    head: string,
    key: string,
    noreply: boolean,
    timeout: number,
    resume: R
  ): undefined => {
    if (!noreply) return submit(pool, commandFor(row, meta), head, undefined, key, timeout, resume)
    pool.connection().send(new Slot(commandFor(row, meta), head, undefined, key, timeout))
    return undefined
  }

  /** `delete`; `noreply` sends without waiting (then `resume` is not used). */
  const del = (key: string, noreply: boolean, timeout: Timeout, resume: R): EngineError | undefined => {
    const bad = keyError(key) ?? (typeof timeout === "number" ? undefined : timeout)
    if (bad !== undefined) return bad
    const pool = poolOf(key)
    const meta = pool.protocol === "meta"
    const head = meta ? encodeMetaDelete(key) : encodeDelete(key)
    return sendKeyed(commands.delete, pool, meta, head, key, noreply, timeout as number, resume)
  }

  /** `touch` (text `touch`, meta `mg <key> T<exptime>`). */
  const touch = (key: string, ttl: TtlSeconds, noreply: boolean, timeout: Timeout, resume: R) => {
    const bad = keyError(key) ?? (typeof timeout === "number" ? undefined : timeout)
    if (bad !== undefined) return bad
    const pool = poolOf(key)
    const meta = pool.protocol === "meta"
    const exptime = exptimeAt(ttl, timers)
    if (typeof exptime !== "number") return exptime
    const head = meta ? encodeMetaTouch(key, exptime) : encodeTouch(key, exptime)
    return sendKeyed(commands.touch, pool, meta, head, key, noreply, timeout as number, resume)
  }

  /** `incr` / `decr` by an unsigned 64-bit `delta` (checked first). */
  const delta = (
    command: "incr" | "decr",
    key: string,
    d: number | bigint,
    noreply: boolean,
    timeout: Timeout,
    resume: R
  ): EngineError | undefined => {
    const big = deltaOf(command, d, key)
    if (typeof big !== "bigint") return big
    const bad = keyError(key) ?? (typeof timeout === "number" ? undefined : timeout)
    if (bad !== undefined) return bad
    const pool = poolOf(key)
    const meta = pool.protocol === "meta"
    const head = meta
      ? encodeMetaArithmetic(key, { mode: command, delta: big, value: true })
      : encodeIncrDecr(command, key, big)
    return sendKeyed(commands[command], pool, meta, head, key, noreply, timeout as number, resume)
  }

  return { poolOf, get, gat, store, del, touch, delta, ...makeAdminRequests(ctx, edition) }
}

/**
 * The per-server admin requests: the target pools, one command on one pool, and the request lines.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdminRequests = <R, S extends Endpoint = Endpoint>(ctx: RequestContext<S>, edition: Edition<R>) => {
  const { pools, servers, timers } = ctx
  /** The pools an admin command goes to: all, or the one named `target`; `InvalidArgument` for an unknown one. */
  const adminTargets = (target: string | undefined): ReadonlyArray<ServerPool<S>> | EngineError => {
    const targets = target === undefined ? pools : pools.filter((p) => p.spec.name === target)
    return targets.length > 0 ? targets : inputError(
      "InvalidArgument",
      `unknown server ${JSON.stringify(target)}; the servers are ${servers.map((s) => s.name).join(", ")}`
    )
  }

  /** One admin command on one pool, once its protocol is known (a text-only proxy rejects some). */
  const admin = (pool: ServerPool, row: CommandRow, head: string, label: string, timeout: number, resume: R) =>
    pool.whenKnown(() => {
      const rejected = proxyRejection(pool, label)
      if (rejected !== undefined) return edition.fail(resume, rejected)
      const command = commandFor(row, pool.protocol === "meta")
      pool.connection().enqueue(edition.slot(command, head, undefined, label, timeout, resume))
    })

  /** The admin request lines, or the `InvalidArgument` / `InvalidTtl` error of their argument. */
  const adminLines = {
    flushAll: (delay: TtlSeconds): string | EngineError => {
      const exptime = exptimeAt(delay, timers)
      return typeof exptime === "number" ? encodeFlushAll(exptime) : exptime
    },
    version: (): string => encodeVersion(),
    stats: (argument: string | undefined): string | EngineError =>
      argument !== undefined && !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(argument)
        ? inputError("InvalidArgument", `invalid stats argument ${JSON.stringify(argument)}`)
        : encodeStats(argument),
    verbosity: (level: number): string | EngineError =>
      Number.isInteger(level) && level >= 0 && level <= U32_MAX
        ? encodeVerbosity(level)
        : inputError("InvalidArgument", `invalid verbosity level ${level}`)
  }

  return { adminTargets, admin, adminLines }
}

/**
 * The requests of {@link makeRequests}.
 *
 * @since 0.1.0
 * @category models
 */
export type Requests<R> = ReturnType<typeof makeRequests<R>>

/**
 * A multi-key get over every server the keys route to: `keys` as given (a duplicate is asked again
 * and answered into the same entry) in batches of at most `settings.maxKeysPerGet` per server, each a
 * text multi-key `get`/`gets` whatever the server's protocol: the text reply carries each hit's key
 * (checked against the request; hits in request order, misses omitted), and one multi-key `get` costs
 * memcached about half the CPU per key of quiet `mg` lines and half the bytes. Every key accepted here
 * is a valid text key, so nothing needs `mg`.
 * Returns the `InvalidKey` error of the first invalid key, or the timeout's error (nothing sent); then
 * `done` gets every hit, or the first batch's failure, once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const getMany = <S extends Endpoint>(
  { pools, router, settings }: RequestContext<S>,
  keys: ReadonlyArray<string>,
  cas: boolean,
  timeout: Timeout,
  done: (result: Map<string, EngineItem> | EngineError) => void
): EngineError | undefined => {
  for (let i = 0; i < keys.length; i++) {
    const bad = keyError(keys[i]!)
    if (bad !== undefined) return bad
  }
  if (typeof timeout !== "number") return timeout
  const out = new Map<string, EngineItem>()
  if (keys.length === 0) {
    done(out)
    return undefined
  }
  // Each server's keys are cut into batches as they come, each sent once full (or at the end): a key
  // is copied once, into the batch that holds it until its reply. Duplicates are not dropped:
  // memcached answers each copy, both land on the same map entry, and a Set of the keys would cost a
  // hash-table insert per key (about 10% of a 10 000-key call) for the rare caller who repeats one.
  const single = pools.length === 1
  const max = settings.maxKeysPerGet
  const call = new GetManyCall(out, done)
  const command = cas ? "gets" : "get"
  const open: Array<Array<string> | undefined> = []
  const send = (s: number, batch: ReadonlyArray<string>) => {
    call.pending++
    pools[s]!.connection().enqueue(new ManySlot(encodeGet(command, batch), batch, timeout, call))
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const s = single ? 0 : router.route(key)
    // Not a literal: a batch's keys live until its reply (see newList).
    const batch = open[s] ??= newList()
    batch.push(key)
    if (batch.length === max) {
      open[s] = undefined
      send(s, batch)
    }
  }
  for (let s = 0; s < open.length; s++) {
    const batch = open[s]
    if (batch !== undefined) send(s, batch)
  }
  return undefined
}

/** One `getMany` call: the map every batch writes its hits into, and the batches not yet answered. */
class GetManyCall {
  pending = 0
  finished = false
  constructor(
    readonly out: Map<string, EngineItem>,
    readonly done: (result: Map<string, EngineItem> | EngineError) => void
  ) {}
}

/** One batch of a `getMany` call; the slot is its own completion. */
class ManySlot extends Slot implements GetManySlot {
  declare readonly keys: ReadonlyArray<string>
  readonly out: Map<string, EngineItem>
  constructor(head: string, keys: ReadonlyArray<string>, timeout: number, readonly call: GetManyCall) {
    super(commands.getMany.text, head, undefined, keys[0]!, timeout)
    this.keys = keys
    this.out = call.out
    this.done = this
  }
  /** A hit goes straight into the call's map: no list of replies, no second pass at `END`. */
  found(index: number, value: Uint8Array, flags: number, cas: bigint | undefined): void {
    this.out.set(this.keys[index]!, new ReplyItem(value, flags, cas))
  }
  succeed(_value: unknown): void {
    const call = this.call
    if (call.finished) return
    if (--call.pending === 0) {
      call.finished = true
      call.done(call.out)
    }
  }
  fail(error: EngineError): void {
    const call = this.call
    if (call.finished) return
    call.finished = true
    call.done(error)
  }
}
