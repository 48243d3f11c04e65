/**
 * The memcached client service: every command of the text protocol as a typed Effect, over one or
 * more servers, each key routed through the configured distribution.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { type Finish, Slot, SlotKind, type Timers } from "./Connection.js"
import { MemcachedPolicy, type Policy } from "./MemcachedPolicy.js"
import { type PoolEvents, ServerPool, type Settings } from "./ServerPool.js"
import * as Distribution from "./Distribution.js"
import { type Ttl, toExptime, validateKey } from "./Key.js"
import {
  type MemcachedError,
  MemcachedInputError,
  MemcachedServerError,
  MemcachedStoreError
} from "./MemcachedError.js"
import { MemcachedRing } from "./MemcachedRing.js"
import { MemcachedTransport, net as netTransport } from "./MemcachedTransport.js"
import {
  encodeDelete,
  encodeFlushAll,
  encodeIncrDecr,
  encodeStats,
  encodeStorageHeader,
  encodeTouch,
  encodeVerbosity,
  encodeVersion,
  type Reply,
  type StorageCommand,
  type ValueReply
} from "./Protocol.js"
import * as ServerSpec from "./ServerSpec.js"

/**
 * A stored item: its bytes, its 32-bit client flags, and its CAS unique when it was asked for
 * (`gets`, `gats`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly value: Uint8Array
  readonly flags: number
  readonly cas: bigint | undefined
}

/**
 * Per-call options common to every command.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Overrides the client's request timeout for this call (end to end, from enqueue to reply). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Options of the storage commands.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreOptions extends CallOptions {
  /** Time to live: seconds or a Duration. 0 (the default) never expires; over 30 days is sent as an absolute time. */
  readonly ttl?: Ttl | undefined
  /** The 32-bit client flags stored with the value. Default 0. */
  readonly flags?: number | undefined
  /**
   * Do not wait for the server's answer: the effect completes once the command is queued. The reply is
   * still read (and dropped) so a server error can never shift later replies.
   */
  readonly noreply?: boolean | undefined
}

/**
 * A value to store: bytes, or a string stored as UTF-8.
 *
 * @since 0.1.0
 * @category models
 */
export type Value = Uint8Array | string

/**
 * The client. Every method validates its input before any byte is sent and fails with a
 * {@link MemcachedError}; a cache miss is `Option.none()`, never an error.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemcachedClient {
  /** The servers, in configuration order. */
  readonly servers: ReadonlyArray<ServerSpec.ServerSpec>
  /** Index of the server `key` is routed to. */
  readonly serverFor: (key: string) => number
  /**
   * Reads a key. Fails with `MemcachedInputError` (invalid key), `MemcachedConnectionError`,
   * `MemcachedServerError` or `MemcachedProtocolError`.
   */
  readonly get: (key: string, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedError>
  /** Reads a key and decodes it as UTF-8. Fails like {@link MemcachedClient.get}. */
  readonly getString: (key: string, options?: CallOptions) => Effect.Effect<Option.Option<string>, MemcachedError>
  /** Reads a key with its CAS unique (`gets`). Fails like {@link MemcachedClient.get}. */
  readonly gets: (key: string, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedError>
  /**
   * Reads many keys in one round trip per server (chunked, servers in parallel). Missing keys are
   * absent from the map; duplicate keys are asked once. Fails like {@link MemcachedClient.get}.
   */
  readonly getMany: (
    keys: Iterable<string>,
    options?: CallOptions & { readonly cas?: boolean | undefined }
  ) => Effect.Effect<ReadonlyMap<string, Item>, MemcachedError>
  /** Reads a key and updates its TTL (`gat`). Fails like {@link MemcachedClient.get}, or with `InvalidTtl`. */
  readonly gat: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedError>
  /** `gat` that also returns the CAS unique (`gats`). */
  readonly gats: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedError>
  /** Stores a value. Fails with `MemcachedInputError`, `MemcachedServerError` (e.g. too large), or a network error. */
  readonly set: (key: string, value: Value, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Stores a value only if the key is absent; fails with `MemcachedStoreError("NotStored")` if present. */
  readonly add: (key: string, value: Value, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Stores a value only if the key exists; fails with `MemcachedStoreError("NotStored")` if absent. */
  readonly replace: (key: string, value: Value, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Appends to an existing value (flags and TTL unchanged); `MemcachedStoreError("NotStored")` if absent. */
  readonly append: (key: string, value: Value, options?: CallOptions & { readonly noreply?: boolean }) => Effect.Effect<void, MemcachedError>
  /** Prepends to an existing value; `MemcachedStoreError("NotStored")` if absent. */
  readonly prepend: (key: string, value: Value, options?: CallOptions & { readonly noreply?: boolean }) => Effect.Effect<void, MemcachedError>
  /**
   * Stores a value only if its CAS unique is still `cas`. Fails with `MemcachedStoreError("Exists")`
   * when someone else wrote it since, `MemcachedStoreError("NotFound")` when it is gone.
   */
  readonly cas: (key: string, value: Value, cas: bigint, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Deletes a key; fails with `MemcachedStoreError("NotFound")` when it does not exist. */
  readonly delete: (key: string, options?: CallOptions & { readonly noreply?: boolean }) => Effect.Effect<void, MemcachedError>
  /** Updates a key's TTL; fails with `MemcachedStoreError("NotFound")` when it does not exist. */
  readonly touch: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<void, MemcachedError>
  /**
   * Adds `delta` (an unsigned 64-bit integer) to a decimal counter, wrapping at 2^64; returns the new
   * value. Fails with `MemcachedStoreError("NotFound")` when missing, `MemcachedServerError("ClientError")`
   * when the value is not a number.
   */
  readonly incr: (key: string, delta: number | bigint, options?: CallOptions) => Effect.Effect<bigint, MemcachedError>
  /** Subtracts `delta` from a counter, stopping at 0; fails like {@link MemcachedClient.incr}. */
  readonly decr: (key: string, delta: number | bigint, options?: CallOptions) => Effect.Effect<bigint, MemcachedError>
  /** Invalidates every item on every server, now or after `delay`. Fails with network or server errors. */
  readonly flushAll: (delay?: Ttl) => Effect.Effect<void, MemcachedError>
  /** The version string of every server, keyed by server name. */
  readonly version: () => Effect.Effect<ReadonlyMap<string, string>, MemcachedError>
  /** `stats [argument]` of every server, keyed by server name. */
  readonly stats: (argument?: string) => Effect.Effect<ReadonlyMap<string, ReadonlyMap<string, string>>, MemcachedError>
  /** Sets the verbosity of every server. */
  readonly verbosity: (level: number) => Effect.Effect<void, MemcachedError>
}

/**
 * The client service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const MemcachedClient: Context.Tag<MemcachedClient, MemcachedClient> = Context.GenericTag<MemcachedClient>(
  "effect-memcached/MemcachedClient"
)

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemcachedClientOptions extends Policy {
  /** Server specs (`host:port`, `[v6]:port`, `host:port:weight`, unix paths…). Default `127.0.0.1:11211`. */
  readonly servers?: ReadonlyArray<string | ServerSpec.ServerSpec> | string | undefined
  /**
   * Key → server placement. Default: the `MemcachedRing` service when provided, else libmemcached's
   * ketama (weighted when any weight > 1).
   */
  readonly distribution?: Distribution.Distribution | undefined
  /** Time allowed to open a connection. Default 2 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Deadline of every request, from enqueue to reply. Default 5 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Connections per server; requests are spread over them. Default 1. */
  readonly poolSize?: number | undefined
  /** Requests written to one connection and not yet answered. Default 1024. */
  readonly maxInFlight?: number | undefined
  /** Requests waiting for room in one connection's pipeline before new ones fail with `Overloaded`. Default 100 000. */
  readonly maxQueued?: number | undefined
  /** Largest value the reply parser accepts. Default 128 MiB. */
  readonly maxValueSize?: number | undefined
  /** Keys per `get` command in `getMany` (larger lists are chunked). Default 100. */
  readonly maxKeysPerGet?: number | undefined
}

const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

const positiveInt = (name: string, value: number | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  return Number.isInteger(value) && value > 0 ? value : invalid(name, `${name} must be a positive integer, got ${value}`)
}

const millis = (name: string, value: Duration.DurationInput | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  const d = Duration.decodeUnknown(value)
  if (Option.isNone(d) || !Duration.isFinite(d.value) || Duration.toMillis(d.value) <= 0) {
    return invalid(name, `${name} must be a positive finite duration, got ${String(value)}`)
  }
  return Duration.toMillis(d.value)
}

const resolveServers = (
  servers: MemcachedClientOptions["servers"]
): ReadonlyArray<ServerSpec.ServerSpec> | ConfigError.ConfigError => {
  if (servers === undefined) return [ServerSpec.make({ host: "127.0.0.1", port: 11211 })]
  const list = typeof servers === "string" ? ServerSpec.splitList(servers) : servers
  if (list.length === 0) return invalid("servers", "at least one server is required")
  const out: Array<ServerSpec.ServerSpec> = []
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!
    if (typeof entry !== "string") {
      out.push(entry)
      continue
    }
    const parsed = ServerSpec.parse(entry)
    if (Either.isLeft(parsed)) return invalid(`servers[${i}]`, `invalid server ${JSON.stringify(entry)}: ${parsed.left}`)
    out.push(parsed.right)
  }
  const seen = new Set<string>()
  for (const s of out) {
    if (seen.has(s.name)) return invalid("servers", `server ${s.name} is listed twice`)
    seen.add(s.name)
  }
  return out
}

const isConfigError = (u: unknown): u is ConfigError.ConfigError => ConfigError.isConfigError(u)

// ---------------------------------------------------------------------------------------------
// Reply → result
// ---------------------------------------------------------------------------------------------

const exitVoid = Exit.void
const exitNone = Exit.succeed(Option.none())

const failure = (slot: Slot, reply: Reply, command: string): Exit.Exit<never, MemcachedError> => {
  switch (reply._tag) {
    case "NotStored":
      return Exit.fail(new MemcachedStoreError({ reason: "NotStored", key: slot.key, command }))
    case "Exists":
      return Exit.fail(new MemcachedStoreError({ reason: "Exists", key: slot.key, command }))
    case "NotFound":
      return Exit.fail(new MemcachedStoreError({ reason: "NotFound", key: slot.key, command }))
    case "ServerError":
      return Exit.fail(new MemcachedServerError({ reason: "ServerError", message: reply.message, server: slot.server }))
    case "ClientError":
      return Exit.fail(new MemcachedServerError({ reason: "ClientError", message: reply.message, server: slot.server }))
    case "Error":
      return Exit.fail(
        new MemcachedServerError({ reason: "UnknownCommand", message: reply.message || "ERROR", server: slot.server })
      )
    default:
      return Exit.fail(
        new MemcachedServerError({ reason: "ServerError", message: `unexpected ${reply._tag} reply to ${command}`, server: slot.server })
      )
  }
}

const toItem = (v: ValueReply): Item => ({ value: v.value, flags: v.flags, cas: v.cas })

const finishGet: Finish = (slot, reply) => {
  if (reply._tag !== "End") return failure(slot, reply, "get")
  return slot.acc === undefined ? exitNone : Exit.succeed(Option.some(toItem(slot.acc[0] as ValueReply)))
}

const finishGetMany: Finish = (slot, reply) => {
  if (reply._tag !== "End") return failure(slot, reply, "get")
  return Exit.succeed(slot.acc ?? [])
}

const finishStore = (command: StorageCommand): Finish => (slot, reply) =>
  reply._tag === "Stored" ? exitVoid : failure(slot, reply, command)
const storeFinishers: Record<StorageCommand, Finish> = {
  set: finishStore("set"),
  add: finishStore("add"),
  replace: finishStore("replace"),
  append: finishStore("append"),
  prepend: finishStore("prepend"),
  cas: finishStore("cas")
}
const finishDelete: Finish = (slot, reply) => (reply._tag === "Deleted" ? exitVoid : failure(slot, reply, "delete"))
const finishTouch: Finish = (slot, reply) => (reply._tag === "Touched" ? exitVoid : failure(slot, reply, "touch"))
const finishIncr: Finish = (slot, reply) =>
  reply._tag === "Numeric" ? Exit.succeed(reply.value) : failure(slot, reply, "incr")
const finishDecr: Finish = (slot, reply) =>
  reply._tag === "Numeric" ? Exit.succeed(reply.value) : failure(slot, reply, "decr")
const finishOk: Finish = (slot, reply) => (reply._tag === "Ok" ? exitVoid : failure(slot, reply, slot.key))
const finishVersion: Finish = (slot, reply) =>
  reply._tag === "Version" ? Exit.succeed(reply.version) : failure(slot, reply, "version")
const finishStats: Finish = (slot, reply) => {
  if (reply._tag !== "End") return failure(slot, reply, "stats")
  const map = new Map<string, string>()
  for (const r of slot.acc ?? []) if (r._tag === "Stat") map.set(r.name, r.value)
  return Exit.succeed(map)
}

const U64_MAX = 0xffffffffffffffffn
const U32_MAX = 0xffffffff

const utf8Decoder = new TextDecoder()
const toBytes = (value: Value): Uint8Array => (typeof value === "string" ? Buffer.from(value, "utf8") : value)

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a client in the current scope; closing the scope closes its connections and fails any
 * request still pending with `MemcachedConnectionError("Closed")`. Uses the `MemcachedTransport` from
 * the context when there is one, plain TCP otherwise. Fails with a `ConfigError` naming the offending
 * option when the options are invalid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MemcachedClientOptions = {}
): Effect.Effect<MemcachedClient, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const servers = resolveServers(options.servers)
    if (isConfigError(servers)) return yield* Effect.fail(servers)
    const fields = {
      connectTimeout: millis("connectTimeout", options.connectTimeout, 2000),
      timeout: millis("timeout", options.timeout, 5000),
      poolSize: positiveInt("poolSize", options.poolSize, 1),
      maxInFlight: positiveInt("maxInFlight", options.maxInFlight, 1024),
      maxQueued: positiveInt("maxQueued", options.maxQueued, 100_000),
      maxValueSize: positiveInt("maxValueSize", options.maxValueSize, 128 * 1024 * 1024),
      maxKeysPerGet: positiveInt("maxKeysPerGet", options.maxKeysPerGet, 100)
    }
    for (const v of Object.values(fields)) if (isConfigError(v)) return yield* Effect.fail(v)
    const policy = { ...Option.getOrUndefined(yield* Effect.serviceOption(MemcachedPolicy)), ...definedOnly(options) }
    const health = {
      failureLimit: positiveInt("failureLimit", policy.failureLimit, 3),
      failureWindow: millis("failureWindow", policy.failureWindow, 10_000),
      retryInterval: millis("retryInterval", policy.retryInterval, 2_000),
      maxRetryInterval: millis("maxRetryInterval", policy.maxRetryInterval, 60_000),
      flapWindow: millis("flapWindow", policy.flapWindow, 30_000)
    }
    for (const v of Object.values(health)) if (isConfigError(v)) return yield* Effect.fail(v)
    const failover = policy.failover ?? "none"
    if (failover !== "none" && failover !== "next") {
      return yield* Effect.fail(invalid("failover", `failover must be "none" or "next", got ${String(failover)}`))
    }
    const settings = { ...fields, ...health } as Settings
    const distribution = options.distribution ??
      Option.getOrElse(yield* Effect.serviceOption(MemcachedRing), () => Distribution.ketama())

    const transport = Option.getOrElse(yield* Effect.serviceOption(MemcachedTransport), () => netTransport)
    const clock = yield* Effect.clock
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const timers: Timers = {
      now: () => clock.unsafeCurrentTimeMillis(),
      schedule: (ms, f) => {
        const fiber = runFork(Effect.sleep(ms).pipe(Effect.andThen(Effect.sync(f))))
        return () => fiber.unsafeInterruptAsFork(FiberId.none)
      }
    }
    const logAt = { debug: Effect.logDebug, info: Effect.logInfo, warning: Effect.logWarning } as const
    const router = new Router(servers, distribution, failover)
    const events: PoolEvents = {
      log: (level, message, server) =>
        runFork(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      healthChanged: () => router.invalidate()
    }
    const pools = servers.map((spec, i) => new ServerPool(i, spec, transport, settings, timers, events))
    router.pools = pools
    yield* Effect.addFinalizer(() => Effect.sync(() => pools.forEach((p) => p.shutdown())))

    return makeClient(servers, pools, router, settings, timers, policy.retry, policy.retryNonIdempotent === true)
  })

/** Maps keys to pools; with failover `next`, over the ring rebuilt without ejected servers. */
class Router {
  pools: ReadonlyArray<ServerPool> = []
  private readonly placement: Distribution.Placement | undefined
  private live: Distribution.Placement | undefined = undefined
  private liveIndex: Array<number> = []
  private degraded = false
  private dirty = false
  constructor(
    readonly servers: ReadonlyArray<ServerSpec.ServerSpec>,
    private readonly distribution: Distribution.Distribution,
    private readonly failover: "none" | "next"
  ) {
    this.placement = servers.length === 1 ? undefined : distribution.build(servers)
  }
  /** The server a key belongs to when every server is up. */
  readonly home = (key: string): number => (this.placement === undefined ? 0 : this.placement.serverFor(key))
  invalidate(): void {
    this.dirty = true
  }
  /** The pool that serves `key` now. */
  readonly route = (key: string): number => {
    if (this.dirty) this.rebuild()
    if (!this.degraded) return this.home(key)
    const home = this.home(key)
    if (this.pools[home]!.available || this.live === undefined) return home
    return this.liveIndex[this.live.serverFor(key)]!
  }
  private rebuild(): void {
    this.dirty = false
    if (this.failover === "none") return
    const alive: Array<number> = []
    for (let i = 0; i < this.pools.length; i++) if (this.pools[i]!.available) alive.push(i)
    this.degraded = alive.length < this.pools.length
    if (!this.degraded || alive.length === 0) {
      this.live = undefined
      return
    }
    this.liveIndex = alive
    this.live = this.distribution.build(alive.map((i) => this.servers[i]!))
  }
}

const definedOnly = <A extends object>(a: A): Partial<A> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<A>

const isTransient = (e: MemcachedError): boolean => e._tag === "MemcachedConnectionError" && e.reason !== "Overloaded"

const makeClient = (
  servers: ReadonlyArray<ServerSpec.ServerSpec>,
  pools: ReadonlyArray<ServerPool>,
  router: Router,
  settings: Settings,
  timers: Timers,
  retry: Schedule.Schedule<unknown, MemcachedError> | undefined,
  retryNonIdempotent: boolean
): MemcachedClient => {
  const serverFor = router.route
  const route = pools.length === 1 ? () => pools[0]!.connection() : (key: string) => pools[router.route(key)]!.connection()
  const timeoutOf = (options: CallOptions | undefined): number | MemcachedInputError => {
    const t = options?.timeout
    if (t === undefined) return settings.timeout
    const d = Duration.decodeUnknown(t)
    if (Option.isNone(d) || Duration.toMillis(d.value) <= 0) {
      return new MemcachedInputError({ reason: "InvalidArgument", message: `invalid timeout ${String(t)}` })
    }
    return Duration.toMillis(d.value)
  }

  const request = <A>(
    key: string,
    kind: SlotKind,
    head: string,
    data: Uint8Array | undefined,
    finish: Finish,
    timeout: number
  ): Effect.Effect<A, MemcachedError> =>
    Effect.async<A, MemcachedError>((resume) => {
      const slot = new Slot(kind, head, data, finish, key, undefined, timeout)
      slot.resume = resume
      route(key).enqueue(slot)
    })

  const retrieve = (command: "get" | "gets") => (key: string, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = options === undefined ? settings.timeout : timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    return request<Option.Option<Item>>(key, SlotKind.Values, `${command} ${key}\r\n`, undefined, finishGet, timeout)
  }
  const get = retrieve("get")
  const gets = retrieve("gets")

  const gat = (command: "gat" | "gats") => (key: string, ttl: Ttl, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    return Effect.suspend(() => {
      const exptime = toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return Effect.fail(exptime)
      return request<Option.Option<Item>>(key, SlotKind.Values, `${command} ${exptime} ${key}\r\n`, undefined, finishGet, timeout)
    })
  }

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
        new MemcachedInputError({ reason: "InvalidArgument", message: `flags must be a 32-bit unsigned integer, got ${flags}`, key })
      )
    }
    if (cas !== undefined && (cas < 0n || cas > U64_MAX)) {
      return Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid CAS unique ${cas}`, key }))
    }
    if (typeof value !== "string" && !(value instanceof Uint8Array)) {
      return Effect.fail(new MemcachedInputError({ reason: "InvalidValue", message: "value must be a Uint8Array or a string", key }))
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
    const finish = storeFinishers[command]
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const exptime = toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        route(key).send(
          new Slot(SlotKind.Single, encodeStorageHeader(command, key, flags, exptime, data.length, cas), data, finish, key, undefined, timeout)
        )
        return Effect.void
      })
    }
    return Effect.async<void, MemcachedError>((resume) => {
      const exptime = ttl === undefined ? 0 : toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return resume(Exit.fail(exptime))
      const slot = new Slot(
        SlotKind.Single,
        encodeStorageHeader(command, key, flags, exptime, data.length, cas),
        data,
        finish,
        key,
        undefined,
        timeout
      )
      slot.resume = resume
      route(key).enqueue(slot)
    })
  }
  const set = store("set")
  const add = store("add")
  const replace = store("replace")
  const append = store("append")
  const prepend = store("prepend")
  const casStore = store("cas")

  const simple = <A>(
    key: string,
    options: (CallOptions & { readonly noreply?: boolean | undefined }) | undefined,
    head: () => string | MemcachedInputError,
    finish: Finish
  ): Effect.Effect<A, MemcachedError> => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const h = head()
        if (typeof h !== "string") return Effect.fail(h)
        route(key).send(new Slot(SlotKind.Single, h, undefined, finish, key, undefined, timeout))
        return Effect.void as Effect.Effect<any>
      })
    }
    return Effect.async<A, MemcachedError>((resume) => {
      const h = head()
      if (typeof h !== "string") return resume(Exit.fail(h))
      const slot = new Slot(SlotKind.Single, h, undefined, finish, key, undefined, timeout)
      slot.resume = resume
      route(key).enqueue(slot)
    })
  }

  const delta = (command: "incr" | "decr") => (key: string, d: number | bigint, options?: CallOptions) => {
    let big: bigint
    if (typeof d === "bigint") big = d
    else if (Number.isSafeInteger(d)) big = BigInt(d)
    else big = -1n
    if (big < 0n || big > U64_MAX) {
      return Effect.fail(
        new MemcachedInputError({ reason: "InvalidArgument", message: `${command} delta must be an unsigned 64-bit integer, got ${d}`, key })
      )
    }
    return simple<bigint>(key, options, () => encodeIncrDecr(command, key, big), command === "incr" ? finishIncr : finishDecr)
  }

  const everyServer = <A>(kind: SlotKind, head: string, finish: Finish, label: string) =>
    Effect.forEach(
      pools,
      (pool) =>
        Effect.map(
          Effect.async<A, MemcachedError>((resume) => {
            const slot = new Slot(kind, head, undefined, finish, label, undefined, settings.timeout)
            slot.resume = resume
            pool.connection().enqueue(slot)
          }),
          (a) => [pool.spec.name, a] as const
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((entries) => new Map(entries)))

  const getMany = (
    keysIn: Iterable<string>,
    options?: CallOptions & { readonly cas?: boolean | undefined }
  ): Effect.Effect<ReadonlyMap<string, Item>, MemcachedError> => {
    const unique = Array.from(new Set(keysIn))
    for (const key of unique) {
      const invalidKey = validateKey(key)
      if (invalidKey !== undefined) return Effect.fail(invalidKey)
    }
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    if (unique.length === 0) return Effect.succeed(new Map())
    const command = options?.cas === true ? "gets" : "get"
    const groups = new Map<number, Array<string>>()
    for (const key of unique) {
      const s = serverFor(key)
      const g = groups.get(s)
      if (g === undefined) groups.set(s, [key])
      else g.push(key)
    }
    const batches: Array<[number, ReadonlyArray<string>]> = []
    const max = settings.maxKeysPerGet
    for (const [s, keys] of groups) {
      for (let i = 0; i < keys.length; i += max) batches.push([s, keys.slice(i, i + max)])
    }
    return Effect.forEach(
      batches,
      ([s, keys]) =>
        Effect.async<Array<ValueReply>, MemcachedError>((resume) => {
          const slot = new Slot(SlotKind.Values, `${command} ${keys.join(" ")}\r\n`, undefined, finishGetMany, keys[0]!, keys, timeout)
          slot.resume = resume
          pools[s]!.connection().enqueue(slot)
        }).pipe(Effect.map((values) => [keys, values] as const)),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((results) => {
      const out = new Map<string, Item>()
      for (const [keys, values] of results) {
        let cursor = 0
        for (const v of values) {
          while (cursor < keys.length && !v.keyEquals(keys[cursor]!)) cursor++
          out.set(keys[cursor]!, toItem(v))
          cursor++
        }
      }
      return out
    }))
  }

  const client: MemcachedClient = {
    servers,
    serverFor,
    get,
    gets,
    getString: (key, options) => Effect.map(get(key, options), Option.map((item) => utf8Decoder.decode(item.value))),
    getMany,
    gat: gat("gat"),
    gats: gat("gats"),
    set: (key, value, options) => set(key, value, options),
    add: (key, value, options) => add(key, value, options),
    replace: (key, value, options) => replace(key, value, options),
    append: (key, value, options) => append(key, value, options),
    prepend: (key, value, options) => prepend(key, value, options),
    cas: (key, value, cas, options) => casStore(key, value, options, cas),
    delete: (key, options) => simple<void>(key, options, () => encodeDelete(key), finishDelete),
    touch: (key, ttl, options) =>
      simple<void>(key, options, () => {
        const exptime = toExptime(ttl, timers.now())
        return typeof exptime === "number" ? encodeTouch(key, exptime) : exptime
      }, finishTouch),
    incr: delta("incr"),
    decr: delta("decr"),
    flushAll: (delay) =>
      Effect.suspend(() => {
        const exptime = toExptime(delay, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        return Effect.asVoid(everyServer<void>(SlotKind.Single, encodeFlushAll(exptime), finishOk, "flush_all"))
      }),
    version: () => everyServer<string>(SlotKind.Single, encodeVersion(), finishVersion, "version"),
    stats: (argument) => {
      if (argument !== undefined && !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(argument)) {
        return Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid stats argument ${JSON.stringify(argument)}` }))
      }
      return everyServer<ReadonlyMap<string, string>>(SlotKind.Stats, encodeStats(argument), finishStats, "stats")
    },
    verbosity: (level) =>
      Number.isInteger(level) && level >= 0 && level <= U32_MAX
        ? Effect.asVoid(everyServer<void>(SlotKind.Single, encodeVerbosity(level), finishOk, "verbosity"))
        : Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid verbosity level ${level}` }))
  }
  return MemcachedClient.of(retry === undefined ? client : withRetry(client, retry, retryNonIdempotent))
}

const idempotent = ["get", "gets", "getString", "getMany", "gat", "gats", "set", "delete", "touch", "flushAll", "version", "stats", "verbosity"] as const
const nonIdempotent = ["add", "replace", "append", "prepend", "cas", "incr", "decr"] as const

/**
 * Wraps the idempotent methods (and the others when asked) in `Effect.retry` on transient connection
 * errors. Only built when a retry schedule is configured, so the default hot path has no wrapper.
 */
const withRetry = (
  client: MemcachedClient,
  schedule: Schedule.Schedule<unknown, MemcachedError>,
  all: boolean
): MemcachedClient => {
  const wrapped: Record<string, unknown> = { ...client }
  const names: ReadonlyArray<string> = all ? [...idempotent, ...nonIdempotent] : idempotent
  for (const name of names) {
    const method = (client as unknown as Record<string, (...args: Array<unknown>) => Effect.Effect<unknown, MemcachedError>>)[name]!
    wrapped[name] = (...args: Array<unknown>) => Effect.retry(method(...args), { schedule, while: isTransient })
  }
  return wrapped as unknown as MemcachedClient
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/**
 * A client built from options. Fails at construction with a `ConfigError` naming the offending option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemcachedClientOptions = {}): Layer.Layer<MemcachedClient, ConfigError.ConfigError> =>
  Layer.scoped(MemcachedClient, make(options))

/**
 * A client whose options come from `Config`. Fails with a `ConfigError` naming the offending entry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<MemcachedClientOptions>
): Layer.Layer<MemcachedClient, ConfigError.ConfigError> =>
  Layer.scoped(MemcachedClient, Effect.flatMap(Config.unwrap(config), make))

/**
 * The environment-driven configuration: `MEMCACHED_SERVERS` (comma or space separated specs, default
 * `127.0.0.1:11211`), `MEMCACHED_TIMEOUT` and `MEMCACHED_CONNECT_TIMEOUT` (durations such as
 * `500 millis`), `MEMCACHED_POOL_SIZE`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<MemcachedClientOptions> = Config.all({
  servers: ServerSpec.config("MEMCACHED_SERVERS").pipe(
    Config.withDefault([ServerSpec.make({ host: "127.0.0.1", port: 11211 })] as ReadonlyArray<ServerSpec.ServerSpec>)
  ),
  timeout: Config.option(Config.duration("MEMCACHED_TIMEOUT")).pipe(Config.map(Option.getOrUndefined)),
  connectTimeout: Config.option(Config.duration("MEMCACHED_CONNECT_TIMEOUT")).pipe(Config.map(Option.getOrUndefined)),
  poolSize: Config.option(Config.integer("MEMCACHED_POOL_SIZE")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * {@link layerConfig} over {@link config}: the client configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<MemcachedClient, ConfigError.ConfigError> = Layer.scoped(
  MemcachedClient,
  Effect.flatMap(config, make)
)
