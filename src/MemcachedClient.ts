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
import {
  commandFor,
  type CommandRow,
  commands,
  storeModes,
  toBytes,
  U32_MAX,
  utf8Decoder
} from "./client/commands.js"
import * as Distribution from "./Distribution.js"
import { chunkGroups, groupByServer } from "./engine/cluster.js"
import { type Command, Slot, type Timers } from "./engine/connection.js"
import { type PoolEvents, proxyUnsupported, ServerPool, type ServerProtocolName, type Settings } from "./engine/pool.js"
import { Router } from "./engine/router.js"
import { makeBulkWrites } from "./client/bulkWrites.js"
import { makeMetaMethods } from "./client/metaMethods.js"
import { positiveFiniteMillis, type Ttl, toExptime, validateKey } from "./Key.js"
import { type MemcachedError, MemcachedInputError, type MemcachedReadError } from "./MemcachedError.js"
import type { Policy } from "./MemcachedPolicy.js"
import * as MemcachedRing from "./MemcachedRing.js"
import { net as netTransport, type Transport } from "./MemcachedTransport.js"
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
} from "./protocol/client.js"
import {
  encodeMetaArithmetic,
  encodeMetaDelete,
  encodeMetaSetHeader,
  type MetaItem
} from "./protocol/meta.js"
import { U64_MAX } from "./protocol/bytes.js"
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
 * An item read with its CAS unique (`gets`, `gats`): `cas` is always present.
 *
 * @since 0.1.0
 * @category models
 */
export interface CasItem extends Item {
  readonly cas: bigint
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
 * Options of the admin commands (`stats`, `version`, `flushAll`, `verbosity`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AdminOptions extends CallOptions {
  /** Only this server, by its name as in {@link MemcachedClient.servers} (e.g. `"127.0.0.1:11211"`). Default: every server. */
  readonly server?: string | undefined
}

/**
 * One result per server, keyed by server name: `Right(value)` or `Left(error)` for that server alone.
 *
 * @since 0.1.0
 * @category models
 */
export type PerServer<A> = ReadonlyMap<string, Either.Either<A, MemcachedError>>

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
 * The outcome of one key in a bulk write: `Right(undefined)` when it took effect, `Left(error)` otherwise.
 *
 * @since 0.1.0
 * @category models
 */
export type WriteResult = Either.Either<void, MemcachedError>

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
   * `MemcachedServerError` or `MemcachedProtocolError` — never `MemcachedStoreError` (a miss is `None`).
   */
  readonly get: (key: string, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedReadError>
  /** Reads a key and decodes it as UTF-8. Fails like {@link MemcachedClient.get}. */
  readonly getString: (key: string, options?: CallOptions) => Effect.Effect<Option.Option<string>, MemcachedReadError>
  /**
   * Reads a key with its CAS unique (`gets`): the item's `cas` is always there (a hit without one is a
   * `MemcachedProtocolError`). Fails like {@link MemcachedClient.get}.
   */
  readonly gets: (key: string, options?: CallOptions) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>
  /**
   * Reads many keys in one round trip per server (chunked, servers in parallel). Missing keys are
   * absent from the map; duplicate keys are asked once. Fails like {@link MemcachedClient.get}.
   */
  readonly getMany: (
    keys: Iterable<string>,
    options?: CallOptions & { readonly cas?: boolean | undefined }
  ) => Effect.Effect<ReadonlyMap<string, Item>, MemcachedReadError>
  /**
   * Stores many values and reports each key's outcome; never fails as a whole. Pipelined per server;
   * on meta servers sent as quiet `ms` batches closed by `mn`, so only failures travel back (each tied
   * to its key). An invalid key fails alone. A `SERVER_ERROR` inside a quiet batch names no key: the
   * keys of that batch without another outcome then report it (their write may or may not have happened).
   */
  readonly setMany: (
    entries: Iterable<readonly [string, Value]>,
    options?: StoreOptions
  ) => Effect.Effect<ReadonlyMap<string, WriteResult>>
  /** Deletes many keys, reporting each key's outcome (`NotFound` for a missing key); quiet `md` batches on meta servers. */
  readonly deleteMany: (keys: Iterable<string>, options?: CallOptions) => Effect.Effect<ReadonlyMap<string, WriteResult>>
  /** Updates the TTL of many keys, reporting each key's outcome (`NotFound` for a missing key). */
  readonly touchMany: (keys: Iterable<string>, ttl: Ttl, options?: CallOptions) => Effect.Effect<ReadonlyMap<string, WriteResult>>
  /** Reads a key and updates its TTL (`gat`). Fails like {@link MemcachedClient.get}, or with `InvalidTtl`. */
  readonly gat: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedReadError>
  /** `gat` that also returns the CAS unique (`gats`), always present as in {@link MemcachedClient.gets}. */
  readonly gats: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>
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
  /**
   * Invalidates every item on every server (or on `options.server`), now or after `delay`. Each
   * server's outcome is its own entry (`Left` with its network or server error). Fails as a whole only
   * with `MemcachedInputError` (invalid delay or timeout, unknown server) before anything is sent.
   */
  readonly flushAll: (delay?: Ttl, options?: AdminOptions) => Effect.Effect<PerServer<void>, MemcachedInputError>
  /** The version string of every server (or of `options.server`), per server; fails like {@link MemcachedClient.flushAll}. */
  readonly version: (options?: AdminOptions) => Effect.Effect<PerServer<string>, MemcachedInputError>
  /**
   * `stats [argument]` of every server (or of `options.server`), per server; fails like
   * {@link MemcachedClient.flushAll}, or with `InvalidArgument` for an argument with control characters.
   */
  readonly stats: (
    argument?: string,
    options?: AdminOptions
  ) => Effect.Effect<PerServer<ReadonlyMap<string, string>>, MemcachedInputError>
  /** Sets the verbosity of every server (or of `options.server`), per server; fails like {@link MemcachedClient.flushAll}. */
  readonly verbosity: (level: number, options?: AdminOptions) => Effect.Effect<PerServer<void>, MemcachedInputError>
  /**
   * The protocol every server speaks, keyed by server name (detected with an `mn` probe in `auto`
   * mode, once per server).
   */
  readonly protocols: () => Effect.Effect<ReadonlyMap<string, ServerProtocolName>, MemcachedError>
  /**
   * Meta get (`mg`): the value (unless `value: false`), flags, and whatever else is asked: TTL left,
   * hit-before, last access, size, CAS; touch, vivify on miss, recache threshold; `win` / `stale` /
   * `alreadyWon` (W/X/Z) are always reported. `None` on a miss (unless vivified). Meta only: fails
   * with `MemcachedInputError("Unsupported")` on a text-only server.
   */
  readonly metaGet: (key: string, options?: MetaGetOptions) => Effect.Effect<Option.Option<MetaItem>, MemcachedReadError>
  /**
   * Meta set (`ms`): mode (set/add/replace/append/prepend), compare-and-swap (`cas`), explicit new CAS
   * (`casUnique`, memcached ≥ 1.6.21), `invalidate` (with an older `cas`: store as stale), vivify for
   * append/prepend. Returns the new CAS unique. Fails like {@link MemcachedClient.set}, and with
   * `MemcachedStoreError` NotStored / Exists / NotFound.
   */
  readonly metaSet: (key: string, value: Value, options?: MetaSetOptions) => Effect.Effect<MetaSetResult, MemcachedError>
  /**
   * Meta delete (`md`): `invalidate` marks the item stale (the next `metaGet` wins the recache) instead
   * of deleting it, optionally with a new `ttl`; `cas` deletes only that version. NotFound / Exists
   * are `MemcachedStoreError`s.
   */
  readonly metaDelete: (key: string, options?: MetaDeleteOptions) => Effect.Effect<void, MemcachedError>
  /**
   * Meta arithmetic (`ma`): incr or decr by `delta` (default 1); with `vivify` a missing counter is
   * created with `initial` (and that value is returned). Returns the value, TTL left and CAS.
   */
  readonly metaArithmetic: (key: string, options?: MetaArithmeticOptions) => Effect.Effect<MetaCounter, MemcachedError>
  /** `me`: the server's debug view of an item (`exp`, `la`, `cas`, `fetch`, `cls`, `size`), `None` when absent. */
  readonly metaDebug: (
    key: string,
    options?: MetaKeyOptions
  ) => Effect.Effect<Option.Option<ReadonlyMap<string, string>>, MemcachedReadError>
}

/**
 * Options every meta-only method takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaKeyOptions extends CallOptions {
  /**
   * Send the key base64 encoded (`b`): any string, spaces and control characters included, up to 186
   * UTF-8 bytes. The item is the one the decoded bytes name.
   */
  readonly base64?: boolean | undefined
}

/**
 * Options of {@link MemcachedClient.metaGet}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaGetOptions extends MetaKeyOptions {
  /** Return the value (default true). */
  readonly value?: boolean | undefined
  /** Return the remaining TTL (`ttl` of the result, -1 = never). */
  readonly ttl?: boolean | undefined
  /** Return whether the item was fetched before. */
  readonly hit?: boolean | undefined
  /** Return the seconds since the last access. */
  readonly lastAccess?: boolean | undefined
  /** Return the value's size. */
  readonly size?: boolean | undefined
  /** Return the CAS unique. */
  readonly cas?: boolean | undefined
  /** Update the TTL. */
  readonly touch?: Ttl | undefined
  /** On a miss, create an empty item with this TTL and win the recache token (`win`). */
  readonly vivify?: Ttl | undefined
  /** Win the recache token when the remaining TTL is below this. */
  readonly recache?: Ttl | undefined
  /** Do not bump the item in the LRU nor count the access. */
  readonly noLru?: boolean | undefined
}

/**
 * Options of {@link MemcachedClient.metaSet}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaSetOptions extends MetaKeyOptions {
  readonly ttl?: Ttl | undefined
  readonly flags?: number | undefined
  /** Default `set`. */
  readonly mode?: "set" | "add" | "replace" | "append" | "prepend" | undefined
  /** Compare and swap: store only if the item's CAS unique is this. */
  readonly cas?: bigint | undefined
  /** The CAS unique the stored item gets (`E`, memcached ≥ 1.6.21). */
  readonly casUnique?: bigint | undefined
  /** With `cas` older than the item's: store anyway, marked stale (`I`). */
  readonly invalidate?: boolean | undefined
  /** With append/prepend: create the item when missing, with this TTL (memcached ≥ 1.6.21). */
  readonly vivify?: Ttl | undefined
}

/**
 * What {@link MemcachedClient.metaSet} returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaSetResult {
  readonly cas: bigint | undefined
}

/**
 * Options of {@link MemcachedClient.metaDelete}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaDeleteOptions extends MetaKeyOptions {
  /** Delete only if the CAS unique matches. */
  readonly cas?: bigint | undefined
  /** Mark stale instead of deleting (`I`). */
  readonly invalidate?: boolean | undefined
  /** With `invalidate`: the stale item's TTL. */
  readonly ttl?: Ttl | undefined
  /** Keep the item but drop its value (`x`, memcached ≥ 1.6.21). */
  readonly tombstone?: boolean | undefined
  /** The CAS unique an invalidated item gets (`E`, memcached ≥ 1.6.21). */
  readonly casUnique?: bigint | undefined
}

/**
 * Options of {@link MemcachedClient.metaArithmetic}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaArithmeticOptions extends MetaKeyOptions {
  /** Default 1. */
  readonly delta?: number | bigint | undefined
  /** Default `incr`. */
  readonly mode?: "incr" | "decr" | undefined
  /** Create a missing counter with `initial` (default 0) and this TTL. */
  readonly vivify?: Ttl | undefined
  readonly initial?: number | bigint | undefined
  /** Update the TTL. */
  readonly ttl?: Ttl | undefined
  /** Only if the CAS unique matches. */
  readonly cas?: bigint | undefined
  /** The CAS unique the counter gets (`E`, memcached ≥ 1.6.21). */
  readonly casUnique?: bigint | undefined
}

/**
 * What {@link MemcachedClient.metaArithmetic} returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaCounter {
  readonly value: bigint
  readonly ttl: number | undefined
  readonly cas: bigint | undefined
}

export type { MetaItem } from "./protocol/meta.js"

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
   * Key → server placement, e.g. `MemcachedRing.libmc()`. Default: libmemcached's ketama (weighted when
   * any weight > 1). The only way to choose the ring: there is no ring service to provide.
   */
  readonly distribution?: Distribution.Distribution | undefined
  /**
   * How connections are opened, e.g. `MemcachedTransport.tlsTransport(options)`. Default: plain TCP, or a unix
   * socket for specs with a path. The only way to choose the transport: there is no transport service.
   */
  readonly transport?: Transport | undefined
  /** Time allowed to open a connection. Default 2 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Deadline of every request, from enqueue to reply. Default 5 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Connections per server; requests are spread over them round-robin. Default 1. */
  readonly poolSize?: number | undefined
  /**
   * Open every connection (and, with protocol `auto`, probe every server) when the client is built,
   * instead of on first use. Connection failures are not fatal: they count toward ejection and the
   * first requests fail or reconnect as usual. Default false.
   */
  readonly eager?: boolean | undefined
  /** Requests written to one connection and not yet answered. Default 1024. */
  readonly maxInFlight?: number | undefined
  /** Requests waiting for room in one connection's pipeline before new ones fail with `Overloaded`. Default 100 000. */
  readonly maxQueued?: number | undefined
  /** Largest value the reply parser accepts. Default 128 MiB. */
  readonly maxValueSize?: number | undefined
  /** Keys per `get` command in `getMany` and in auto-batches (larger lists are chunked). Default 100. */
  readonly maxKeysPerGet?: number | undefined
  /**
   * The protocol: `auto` (the default), `text` or `meta`. With `auto` each server is probed once with `mn` on a
   * connection of its own (`MN` → meta; `ERROR` or a closed connection, as text-only proxies such as
   * twemproxy answer → text). Until a server's answer is known, requests to it use the text protocol;
   * afterwards the choice costs one field read per request. The probe uses one extra, short-lived
   * connection per server.
   */
  readonly protocol?: "meta" | "text" | "auto" | undefined
  /**
   * The servers are text-only proxies (twemproxy/nutcracker); implies the text protocol. With protocol
   * `auto` a server that closes the connection on the `mn` probe is taken for one too. Commands such a
   * proxy does not forward (`gat`, `gats`, `stats`, `flushAll`, `verbosity`, the meta methods) fail with
   * `MemcachedInputError("Unsupported")` before anything is sent, so the proxy is never ejected for
   * them. Default false.
   */
  readonly textProxy?: boolean | undefined
  /**
   * Merge single-key `get`/`gets` calls that reach one connection in the same tick into one multi-key
   * command, and split the replies back by key. Transparent to callers. Default true.
   */
  readonly autoBatch?: boolean | undefined
}

const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

const positiveInt = (name: string, value: number | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  return Number.isInteger(value) && value > 0 ? value : invalid(name, `${name} must be a positive integer, got ${value}`)
}

const millis = (name: string, value: Duration.DurationInput | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  const ms = positiveFiniteMillis(value)
  return ms === undefined ? invalid(name, `${name} must be a positive finite duration, got ${String(value)}`) : ms
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
// ---------------------------------------------------------------------------------------------
// Constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a client in the current scope; closing the scope closes its connections and fails any
 * request still pending with `MemcachedConnectionError("Closed")`. Everything it uses (ring, policy,
 * transport) comes from `options`; it reads no optional service from the context. Fails with a `ConfigError` naming the offending
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
      maxKeysPerGet: positiveInt("maxKeysPerGet", options.maxKeysPerGet, 100),
      autoBatch: options.autoBatch ?? true
    }
    for (const v of Object.values(fields)) if (isConfigError(v)) return yield* Effect.fail(v)
    const policy: Policy = options
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
    const protocol = options.protocol ?? "auto"
    if (protocol !== "meta" && protocol !== "text" && protocol !== "auto") {
      return yield* Effect.fail(invalid("protocol", `protocol must be "meta", "text" or "auto", got ${String(protocol)}`))
    }
    const settings = { ...fields, ...health, protocol, textProxy: options.textProxy === true } as Settings
    const distribution = options.distribution ?? Distribution.ketama()
    const transport = options.transport ?? netTransport
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
    // The pools report health changes to the router, which is built over them right after.
    let router: Router | undefined = undefined
    const events: PoolEvents = {
      log: (level, message, server) =>
        runFork(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      healthChanged: () => router?.invalidate()
    }
    const pools = servers.map((spec, i) => new ServerPool(i, spec, transport, settings, timers, events))
    router = new Router(servers, pools, distribution, failover)
    yield* Effect.addFinalizer(() => Effect.sync(() => pools.forEach((p) => p.shutdown())))
    if (options.eager === true) for (const pool of pools) pool.openAll()

    const retry: Retry | undefined = policy.retry === undefined
      ? undefined
      : { schedule: policy.retry, all: policy.retryNonIdempotent === true, while: transient(failover) }
    return makeClient(servers, pools, router, settings, timers, retry)
  })


/**
 * Errors a retry can help with. `Ejected` only with failover `next`, where the retry goes to the
 * rebuilt ring; with `none` the server stays ejected and a retry would fail the same way at once.
 */
const transient = (failover: "none" | "next") => (e: MemcachedError): boolean =>
  e._tag === "MemcachedConnectionError" && e.reason !== "Overloaded" && (failover === "next" || e.reason !== "Ejected")

/** The retry policy, applied per command from the command table. */
interface Retry {
  readonly schedule: Schedule.Schedule<unknown, MemcachedError>
  /** Also retry the commands that are not idempotent. */
  readonly all: boolean
  readonly while: (e: MemcachedError) => boolean
}

const makeClient = (
  servers: ReadonlyArray<ServerSpec.ServerSpec>,
  pools: ReadonlyArray<ServerPool>,
  router: Router,
  settings: Settings,
  timers: Timers,
  retry: Retry | undefined
): MemcachedClient => {
  /** `effect` retried per the policy when the row's command may be retried; as is otherwise (no wrapper on the default path). */
  const retrying = retry === undefined
    ? <A, E extends MemcachedError>(_row: CommandRow, effect: Effect.Effect<A, E>) => effect
    : <A, E extends MemcachedError>(row: CommandRow, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      row.idempotent || retry.all ? Effect.retry(effect, { schedule: retry.schedule, while: retry.while }) : effect
  /** The one place a request is handed to a connection. */
  const submit = (
    pool: ServerPool,
    command: Command,
    head: string,
    data: Uint8Array | undefined,
    key: string,
    timeout: number,
    // The command's finisher decides the error type the caller sees (e.g. reads never get a store error).
    resume: (effect: Effect.Effect<any, any>) => void
  ): Slot => {
    const slot = new Slot(command, head, data, key, timeout)
    slot.resume = resume
    pool.connection().enqueue(slot)
    return slot
  }
  const serverFor = router.route
  const poolOf = pools.length === 1 ? () => pools[0]! : (key: string) => pools[router.route(key)]!
  const timeoutOf = (options: CallOptions | undefined): number | MemcachedInputError => {
    const t = options?.timeout
    if (t === undefined) return settings.timeout
    const ms = positiveFiniteMillis(t)
    return ms === undefined
      ? new MemcachedInputError({ reason: "InvalidArgument", message: `timeout must be a positive finite duration, got ${String(t)}` })
      : ms
  }

  /** `Unsupported` when `pool` is a text-only proxy that does not forward `command` (nothing is sent). */
  const proxyRejects = (pool: ServerPool, command: string, key?: string): MemcachedInputError | undefined =>
    pool.proxy && proxyUnsupported.has(command)
      ? new MemcachedInputError({
        reason: "Unsupported",
        message: `${command} is not forwarded by ${pool.spec.name}, a text-only proxy (twemproxy); nothing was sent`,
        ...(key === undefined ? {} : { key })
      })
      : undefined

  const retrieve = (command: "get" | "gets") => (key: string, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = options === undefined ? settings.timeout : timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const metaFlags = command === "get" ? " v f k\r\n" : " v f c k\r\n"
    const row = commands[command]
    return retrying(row, Effect.async<Option.Option<Item>, MemcachedReadError>((resume) => {
      const pool = poolOf(key)
      if (pool.protocol === "meta") submit(pool, row.meta, "mg " + key + metaFlags, undefined, key, timeout, resume)
      else submit(pool, row.text, `${command} ${key}\r\n`, undefined, key, timeout, resume)
    }))
  }
  const get = retrieve("get")
  // The gets finisher fails a hit without a CAS unique (withCas), so every item has one.
  const gets = retrieve("gets") as (key: string, options?: CallOptions) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>

  const gat = (command: "gat" | "gats") => (key: string, ttl: Ttl, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    return Effect.suspend(() => {
      const exptime = toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return Effect.fail(exptime)
      const row = commands[command]
      return retrying(row, Effect.async<Option.Option<Item>, MemcachedReadError>((resume) => {
        const pool = poolOf(key)
        // In auto mode the probe tells a text-only proxy (which closes the connection on gat) apart.
        pool.whenKnown(() => {
          const rejected = proxyRejects(pool, command, key)
          if (rejected !== undefined) return resume(Exit.fail(rejected))
          if (pool.protocol === "meta") {
            submit(pool, row.meta, `mg ${key} T${exptime} v f${command === "gats" ? " c" : ""} k\r\n`, undefined, key, timeout, resume)
          } else {
            submit(pool, row.text, encodeGat(command, exptime as number, [key]), undefined, key, timeout, resume)
          }
        })
      }))
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
    return retrying(row, Effect.async<void, MemcachedError>((resume) => {
      const exptime = ttl === undefined ? 0 : toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return resume(Exit.fail(exptime))
      const pool = poolOf(key)
      const meta = pool.protocol === "meta"
      submit(pool, commandFor(row, meta), head(meta, exptime), data, key, timeout, resume)
    }))
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
    return retrying(row, Effect.async<A, MemcachedError>((resume) => {
      const pool = poolOf(key)
      const meta = pool.protocol === "meta"
      const h = head(meta)
      if (typeof h !== "string") return resume(Exit.fail(h))
      submit(pool, commandFor(row, meta), h, undefined, key, timeout, resume)
    }))
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

  /**
   * One admin command on every server (or the one `options.server` names), each server's outcome
   * reported on its own: one dead server never hides the others' results.
   */
  const perServer = <A>(
    options: AdminOptions | undefined,
    row: CommandRow,
    head: string,
    label: string
  ): Effect.Effect<PerServer<A>, MemcachedInputError> => {
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const target = options?.server
    const targets = target === undefined ? pools : pools.filter((p) => p.spec.name === target)
    if (targets.length === 0) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "InvalidArgument",
          message: `unknown server ${JSON.stringify(target)}; the servers are ${servers.map((s) => s.name).join(", ")}`
        })
      )
    }
    return Effect.forEach(
      targets,
      (pool) =>
        Effect.map(
          Effect.either(retrying(row, Effect.async<A, MemcachedError>((resume) => {
            pool.whenKnown(() => {
              const rejected = proxyRejects(pool, label)
              if (rejected !== undefined) return resume(Exit.fail(rejected))
              submit(pool, commandFor(row, pool.protocol === "meta"), head, undefined, label, timeout, resume)
            })
          }))),
          (a) => [pool.spec.name, a] as const
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((entries) => new Map(entries)))
  }

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
    const metaTail = command === "gets" ? " k v f c q\r\n" : " k v f q\r\n"
    return Effect.async<ReadonlyMap<string, Item>, MemcachedReadError>((resume) => {
      const out = new Map<string, Item>()
      let pending = batches.length
      let done = false
      const onBatch = (effect: Effect.Effect<unknown, MemcachedError>) => {
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
      }
      for (const [s, keys] of batches) {
        const pool = pools[s]!
        let slot: Slot
        if (pool.protocol === "meta") {
          let head = ""
          for (const k of keys) head += "mg " + k + metaTail
          slot = new Slot(commands.getMany.meta, head + "mn\r\n", undefined, keys[0]!, timeout)
        } else {
          slot = new Slot(commands.getMany.text, encodeGet(command, keys), undefined, keys[0]!, timeout)
        }
        slot.keys = keys
        slot.resume = onBatch
        pool.connection().enqueue(slot)
      }
    })
  }

  const { deleteMany, setMany, touchMany } = makeBulkWrites({ router, pools, settings, timers, timeoutOf })

  const client: MemcachedClient = {
    servers,
    setMany,
    deleteMany,
    touchMany,
    serverFor,
    get,
    gets,
    getString: (key, options) => Effect.map(get(key, options), Option.map((item) => utf8Decoder.decode(item.value))),
    getMany,
    gat: gat("gat"),
    gats: gat("gats") as MemcachedClient["gats"],
    set: (key, value, options) => set(key, value, options),
    add: (key, value, options) => add(key, value, options),
    replace: (key, value, options) => replace(key, value, options),
    append: (key, value, options) => append(key, value, options),
    prepend: (key, value, options) => prepend(key, value, options),
    cas: (key, value, cas, options) => casStore(key, value, options, cas),
    delete: (key, options) =>
      simple<void>(key, options, (meta) => (meta ? encodeMetaDelete(key) : encodeDelete(key)), commands.delete),
    touch: (key, ttl, options) =>
      simple<void>(key, options, (meta) => {
        const exptime = toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return exptime
        return meta ? `mg ${key} T${exptime}\r\n` : encodeTouch(key, exptime)
      }, commands.touch),
    incr: delta("incr"),
    decr: delta("decr"),
    flushAll: (delay, options) =>
      Effect.suspend(() => {
        const exptime = toExptime(delay, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        return perServer<void>(options, commands.flush_all, encodeFlushAll(exptime), "flush_all")
      }),
    version: (options) => perServer<string>(options, commands.version, encodeVersion(), "version"),
    stats: (argument, options) => {
      if (argument !== undefined && !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(argument)) {
        return Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid stats argument ${JSON.stringify(argument)}` }))
      }
      return perServer<ReadonlyMap<string, string>>(options, commands.stats, encodeStats(argument), "stats")
    },
    verbosity: (level, options) =>
      Number.isInteger(level) && level >= 0 && level <= U32_MAX
        ? perServer<void>(options, commands.verbosity, encodeVerbosity(level), "verbosity")
        : Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid verbosity level ${level}` })),
    protocols: () =>
      Effect.forEach(pools, (pool) =>
        Effect.async<readonly [string, ServerProtocolName], MemcachedError>((resume) =>
          pool.detect((p) => resume(typeof p === "string" ? Exit.succeed([pool.spec.name, p] as const) : Exit.fail(p)))
        ), { concurrency: "unbounded" }).pipe(Effect.map((entries) => new Map(entries))),
    ...makeMetaMethods({ poolOf, timeoutOf, timers, settings, retrying, submit })
  }
  return MemcachedClient.of(client)
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
 * `500 millis`), `MEMCACHED_POOL_SIZE`, `MEMCACHED_DISTRIBUTION` (a ring name such as `ketama:md5`
 * or `libmc`, see `MemcachedRing.config`; default ketama).
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
  poolSize: Config.option(Config.integer("MEMCACHED_POOL_SIZE")).pipe(Config.map(Option.getOrUndefined)),
  distribution: Config.option(MemcachedRing.config("MEMCACHED_DISTRIBUTION")).pipe(Config.map(Option.getOrUndefined))
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
