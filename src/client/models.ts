/**
 * The client's public models: the service interface (every method, with what it fails with), items,
 * per-call and admin options, and the client options. Re-exported by `MemcachedClient`.
 *
 * @since 0.1.0
 */
import type { Discovery } from "../Discovery.js"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type * as tls from "node:tls"
import type * as Distribution from "../Distribution.js"
import type * as MetaRequests from "../engine/metaRequests.js"
import type { ServerProtocolName } from "../engine/pool.js"
import type { Ttl } from "../Key.js"
import type { MemcachedError, MemcachedInputError, MemcachedReadError } from "../MemcachedError.js"
import type { Policy } from "../MemcachedPolicy.js"
import type { Transport } from "../MemcachedTransport.js"
import type { TelemetryOptions } from "../MemcachedTelemetry.js"
import type { DurationInput, Outcome } from "../edition.js"
import type { MetaItem } from "../protocol/meta.js"
import type * as ServerSpec from "../ServerSpec.js"

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
  readonly timeout?: DurationInput | undefined
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
 * One result per server, keyed by server name: a success with the value or a failure with the error
 * for that server alone (an `Either` in Effect 3, a `Result` in Effect 4).
 *
 * @since 0.1.0
 * @category models
 */
export type PerServer<A> = ReadonlyMap<string, Outcome<A, MemcachedError>>

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
 * The outcome of one key in a bulk write: a success (`undefined`) when it took effect, a failure with
 * the error otherwise (an `Either` in Effect 3, a `Result` in Effect 4).
 *
 * @since 0.1.0
 * @category models
 */
export type WriteResult = Outcome<void, MemcachedError>

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
  /**
   * The servers, in configuration order. With `discovery`, the nodes in use, in the endpoint's order:
   * the array changes in place when a new configuration is applied (copy it to keep a snapshot).
   */
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
   * absent from the map; a key given twice is sent twice and has one entry. An array is read when the
   * effect runs; another iterable once, when the effect is made. Fails like {@link MemcachedClient.get}.
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
  readonly deleteMany: (
    keys: Iterable<string>,
    options?: CallOptions
  ) => Effect.Effect<ReadonlyMap<string, WriteResult>>
  /** Updates the TTL of many keys, reporting each key's outcome (`NotFound` for a missing key). */
  readonly touchMany: (
    keys: Iterable<string>,
    ttl: Ttl,
    options?: CallOptions
  ) => Effect.Effect<ReadonlyMap<string, WriteResult>>
  /** Reads a key and updates its TTL (`gat`). Fails like {@link MemcachedClient.get}, or with `InvalidTtl`. */
  readonly gat: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<Option.Option<Item>, MemcachedReadError>
  /** `gat` that also returns the CAS unique (`gats`), always present as in {@link MemcachedClient.gets}. */
  readonly gats: (
    key: string,
    ttl: Ttl,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>
  /** Stores a value. Fails with `MemcachedInputError`, `MemcachedServerError` (e.g. too large), or a network error. */
  readonly set: (key: string, value: Value, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Stores a value only if the key is absent; fails with `MemcachedStoreError("NotStored")` if present. */
  readonly add: (key: string, value: Value, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Stores a value only if the key exists; fails with `MemcachedStoreError("NotStored")` if absent. */
  readonly replace: (key: string, value: Value, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Appends to an existing value (flags and TTL unchanged); `MemcachedStoreError("NotStored")` if absent. */
  readonly append: (
    key: string,
    value: Value,
    options?: CallOptions & { readonly noreply?: boolean }
  ) => Effect.Effect<void, MemcachedError>
  /** Prepends to an existing value; `MemcachedStoreError("NotStored")` if absent. */
  readonly prepend: (
    key: string,
    value: Value,
    options?: CallOptions & { readonly noreply?: boolean }
  ) => Effect.Effect<void, MemcachedError>
  /**
   * Stores a value only if its CAS unique is still `cas`. Fails with `MemcachedStoreError("Exists")`
   * when someone else wrote it since, `MemcachedStoreError("NotFound")` when it is gone.
   */
  readonly cas: (key: string, value: Value, cas: bigint, options?: StoreOptions) => Effect.Effect<void, MemcachedError>
  /** Deletes a key; fails with `MemcachedStoreError("NotFound")` when it does not exist. */
  readonly delete: (
    key: string,
    options?: CallOptions & { readonly noreply?: boolean }
  ) => Effect.Effect<void, MemcachedError>
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
   * server's outcome is its own entry (a failure with its network or server error). Fails as a whole only
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
  readonly metaGet: (
    key: string,
    options?: MetaGetOptions
  ) => Effect.Effect<Option.Option<MetaItem>, MemcachedReadError>
  /**
   * Meta set (`ms`): mode (set/add/replace/append/prepend), compare-and-swap (`cas`), explicit new CAS
   * (`casUnique`, memcached ≥ 1.6.21), `invalidate` (with an older `cas`: store as stale), vivify for
   * append/prepend. Returns the new CAS unique. Fails like {@link MemcachedClient.set}, and with
   * `MemcachedStoreError` NotStored / Exists / NotFound.
   */
  readonly metaSet: (
    key: string,
    value: Value,
    options?: MetaSetOptions
  ) => Effect.Effect<MetaSetResult, MemcachedError>
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
export interface MetaGetOptions extends MetaKeyOptions, MetaRequests.MetaGetFields<Ttl> {}

/**
 * Options of {@link MemcachedClient.metaSet}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaSetOptions extends MetaKeyOptions, MetaRequests.MetaSetFields<Ttl> {}

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
export interface MetaDeleteOptions extends MetaKeyOptions, MetaRequests.MetaDeleteFields<Ttl> {}

/**
 * Options of {@link MemcachedClient.metaArithmetic}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaArithmeticOptions extends MetaKeyOptions, MetaRequests.MetaArithmeticFields<Ttl> {}

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

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemcachedClientOptions extends Policy {
  /**
   * Server specs (`host:port`, `[v6]:port`, `host:port:weight`, unix paths, `tls://…`). Default
   * `127.0.0.1:11211`. Exclusive with `discovery`.
   */
  readonly servers?: ReadonlyArray<string | ServerSpec.ServerSpec> | string | undefined
  /**
   * Take the server list from a managed cluster's discovery endpoint and keep it current, e.g.
   * `Discovery.elastiCache("my.xxxxxx.cfg.use1.cache.amazonaws.com:11211")`. Exclusive with
   * `servers`. The client's transport, TLS, authentication, timeouts and settings apply to the endpoint
   * and to every discovered node. The layer fails with a `ConfigError` naming `discovery` when the first
   * poll fails.
   */
  readonly discovery?: Discovery | undefined
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
  /**
   * TLS for every server: `true` (the server's certificate is verified against the system CAs and its
   * host name) or Node's `tls.connect` options (`ca`, `cert`/`key` for a client certificate, `servername`,
   * `minVersion`, …). The SNI name is the spec's host (never an IP literal) unless `servername` is given,
   * which is how to connect to an IP and check the certificate against a name. A server spec's own `tls`
   * (`tls://host:port`, or a `tls` field with options merged over these) takes precedence; `tls: false`
   * on a spec opts it out. TLS sessions are resumed across reconnects. A failed handshake or certificate
   * check fails the waiting requests with `MemcachedConnectionError` reason `Tls` before any byte of
   * them is sent, and counts toward ejection; the `retry` schedule does not retry it. Default: no TLS.
   */
  readonly tls?: boolean | tls.ConnectionOptions | undefined
  /**
   * memcached's ASCII authentication (`-Y` auth file): after connecting (and the TLS handshake) every
   * connection sends the authentication `set` and waits for `STORED` before any request, again on every
   * reconnect. A rejection fails the waiting requests with `MemcachedConnectionError` reason `Auth`
   * (not retried) and counts toward ejection. The username must not contain `:`, neither part
   * whitespace (memcached's format); an invalid one fails the layer with a `ConfigError` naming
   * `auth.username` or `auth.password`. The password is never logged nor part of an error. The
   * credentials cross the network in clear text unless `tls` is on. Default: none.
   */
  readonly auth?: {
    readonly username: string
    readonly password: Redacted.Redacted<string>
  } | undefined
  /** Time allowed to open a connection, including the TLS handshake and authentication. Default 2 seconds. */
  readonly connectTimeout?: DurationInput | undefined
  /** Deadline of every request, from enqueue to reply. Default 5 seconds. */
  readonly timeout?: DurationInput | undefined
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
   * Prepended to every key of every method (and of `Bulk` and the streams built on the client); keys
   * handed back (getMany, bulk results, `metaGet`'s `key`) come without it. Validated like a key
   * (printable, no spaces; the 250-byte limit counts prefix + key). Default none.
   */
  readonly keyPrefix?: string | undefined
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
  /**
   * Spans and metrics following the OpenTelemetry database conventions (see `MemcachedTelemetry`),
   * through the edition's `Tracer` and `Metric`; `{}` turns both on. Default off: without it the client
   * has no instrumentation at all. An invalid field fails the layer with a `ConfigError` naming
   * `telemetry.<field>`.
   */
  readonly telemetry?: TelemetryOptions | undefined
}
