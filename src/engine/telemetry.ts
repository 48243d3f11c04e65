/**
 * What telemetry needs that is not Effect-specific, shared by every edition's edge: the OpenTelemetry
 * attribute and metric names (database semantic conventions, plus `memcached.*` for what they do not
 * cover), the operation names, the duration buckets, key hashing, the `error.type` /
 * `db.response.status_code` of a failure, and the small observer interface through which the engine
 * reports what only it sees (auto-batch sizes, health changes). Plain TypeScript, no Effect.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * Attribute names (OpenTelemetry semantic conventions 1.3x for database clients, and `memcached.*`).
 *
 * @since 0.1.0
 * @category attributes
 */
export const Attr = {
  dbSystemName: "db.system.name",
  dbOperationName: "db.operation.name",
  dbOperationBatchSize: "db.operation.batch.size",
  dbResponseStatusCode: "db.response.status_code",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  connectionState: "db.client.connection.state",
  connectionPoolName: "db.client.connection.pool.name",
  /** The key (raw or hashed; only with `recordKeys`). Multi-key operations record `memcached.keys`. */
  key: "memcached.key",
  keys: "memcached.keys",
  /** Single-key reads: whether the key was found. */
  hit: "memcached.hit",
  keysHit: "memcached.keys.hit",
  keysMissed: "memcached.keys.missed",
  /** Bulk writes: keys whose write did not take effect. */
  keysFailed: "memcached.keys.failed",
  /** Meta get / cache-aside: this client won the recache token (`W`). */
  win: "memcached.win",
  /** Meta get / cache-aside: the value served is stale (`X`). */
  stale: "memcached.stale",
  /** Cache-aside: how the call was answered (see {@link CacheAsideOutcome}). */
  outcome: "memcached.cache_aside.outcome",
  /** Cache-aside: the call joined another caller's flight in this process. */
  coalesced: "memcached.cache_aside.coalesced",
  /** The protocol the server speaks (`meta` or `text`). */
  protocol: "memcached.protocol",
  /** Multi-key operations spread over more than one server: how many. */
  serverCount: "memcached.server.count"
} as const

/**
 * The value of `db.system.name`.
 *
 * @since 0.1.0
 * @category attributes
 */
export const SYSTEM = "memcached"

/**
 * Metric names. `db.client.*` follow the database conventions; the others are `memcached.client.*`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const MetricName = {
  operationDuration: "db.client.operation.duration",
  connectionCount: "db.client.connection.count",
  pendingRequests: "db.client.connection.pending_requests",
  timeouts: "db.client.connection.timeouts",
  inFlight: "memcached.client.requests.in_flight",
  hits: "memcached.client.hits",
  misses: "memcached.client.misses",
  ejections: "memcached.client.server.ejections",
  readmissions: "memcached.client.server.readmissions",
  autoBatchSize: "memcached.client.autobatch.size"
} as const

/**
 * The advised buckets of `db.client.operation.duration`, in seconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const DURATION_BUCKETS: ReadonlyArray<number> = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]

/**
 * Buckets of the auto-batch size histogram (keys per merged `get`; the default cap is 100).
 *
 * @since 0.1.0
 * @category metrics
 */
export const BATCH_BUCKETS: ReadonlyArray<number> = [1, 2, 4, 8, 16, 32, 64, 128]

const MULTI_KEY_METHODS = ["getMany", "setMany", "deleteMany", "touchMany"] as const

/**
 * The client methods that take many keys (their spans get `db.operation.batch.size`).
 *
 * @since 0.1.0
 * @category operations
 */
export const MULTI_KEY: ReadonlySet<string> = new Set(MULTI_KEY_METHODS)

/**
 * The single-key client methods (their spans get the server the key is routed to).
 *
 * @since 0.1.0
 * @category operations
 */
export const SINGLE_KEY = [
  "get",
  "getString",
  "gets",
  "gat",
  "gats",
  "set",
  "add",
  "replace",
  "append",
  "prepend",
  "cas",
  "delete",
  "touch",
  "incr",
  "decr",
  "metaGet",
  "metaSet",
  "metaDelete",
  "metaArithmetic",
  "metaDebug"
] as const

/**
 * The single-key reads: a `None` result is a miss (counted in `memcached.client.misses`).
 *
 * @since 0.1.0
 * @category operations
 */
export const READS: ReadonlySet<string> = new Set(["get", "getString", "gets", "gat", "gats", "metaGet"])

/**
 * The admin methods (per server; the server attributes only when one `server` is asked).
 *
 * @since 0.1.0
 * @category operations
 */
export const ADMIN = ["flushAll", "version", "stats", "verbosity"] as const

/**
 * Every method of the client service, by group (single-key, multi-key, admin, `protocols`): the
 * operations telemetry decorates and the Promise facade wraps.
 *
 * @since 0.1.0
 * @category operations
 */
export const METHODS = [...SINGLE_KEY, ...MULTI_KEY_METHODS, ...ADMIN, "protocols"] as const

/**
 * How a cache-aside `getOrSet` was answered (`memcached.cache_aside.outcome`): `hit` (a fresh value),
 * `computed` (a miss this client won: computed and written), `refreshing` / `stale_refreshing` (the
 * recache token won on a value: served at once, refreshed in the background), `stale` (another client
 * is refreshing: its current value served), `lease_timeout_computed` (waited out another client's
 * lease, then computed without writing).
 *
 * @since 0.1.0
 * @category operations
 */
export type CacheAsideOutcome =
  | "hit"
  | "computed"
  | "refreshing"
  | "stale_refreshing"
  | "stale"
  | "lease_timeout_computed"

/**
 * How keys are recorded on spans: not at all (the default), as given, or hashed.
 *
 * @since 0.1.0
 * @category keys
 */
export type RecordKeys = "none" | "raw" | "hashed"

/**
 * The hashed form of a key: the first 16 hex digits of its SHA-256 (stable across processes and
 * editions, so one key can be followed across traces without being disclosed). Never throws.
 *
 * @since 0.1.0
 * @category keys
 */
export const hashKey = (key: string): string => createHash("sha256").update(key).digest("hex").slice(0, 16)

/**
 * The recorder of keys for `mode`, or `undefined` when keys are not recorded (nothing to call per request).
 *
 * @since 0.1.0
 * @category keys
 */
export const keyRecorder = (mode: RecordKeys): ((key: string) => string) | undefined =>
  mode === "raw" ? (key) => key : mode === "hashed" ? hashKey : undefined

/**
 * The shape of a client failure telemetry looks at (every `MemcachedError` of every edition has it;
 * the engine's `EngineError` has `kind` instead of `_tag`, and is read too).
 *
 * @since 0.1.0
 * @category errors
 */
export interface FailureLike {
  readonly _tag: string
  readonly reason?: string | undefined
}

/**
 * The class name (`_tag`) of a failure: its own, or for the engine's plain `EngineError`
 * (`kind` + `reason`) the name of the edge class it becomes (`Store` → `MemcachedStoreError`), so
 * every edition reports the same `error.type`.
 */
const tagOf = (error: object): string | undefined => {
  const e = error as { readonly _tag?: unknown; readonly kind?: unknown }
  if (typeof e._tag === "string") return e._tag
  return typeof e.kind === "string" ? `Memcached${e.kind}Error` : undefined
}

/**
 * `error.type` of a failure: its class and reason (`MemcachedConnectionError.Timeout`), a low-cardinality
 * value as the conventions ask. Never throws.
 *
 * @since 0.1.0
 * @category errors
 */
export const errorType = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return "_OTHER"
  const tag = tagOf(error)
  if (tag === undefined) return error instanceof Error ? error.name : "_OTHER"
  const reason = (error as FailureLike).reason
  return typeof reason === "string" ? `${tag}.${reason}` : tag
}

const STORE_STATUS: Record<string, readonly [text: string, meta: string]> = {
  NotStored: ["NOT_STORED", "NS"],
  Exists: ["EXISTS", "EX"],
  NotFound: ["NOT_FOUND", "NF"]
}

const SERVER_STATUS: Record<string, string> = {
  ServerError: "SERVER_ERROR",
  ClientError: "CLIENT_ERROR",
  UnknownCommand: "ERROR"
}

/**
 * `db.response.status_code` of a failure: the status line the server answered with (`NOT_STORED`,
 * `EXISTS`, `NOT_FOUND` — `NS`/`EX`/`NF` on the meta protocol —, `SERVER_ERROR`, `CLIENT_ERROR`, `ERROR`),
 * or `undefined` when the server did not answer (network, timeout, input, protocol errors). Never throws.
 *
 * @since 0.1.0
 * @category errors
 */
export const statusCode = (error: unknown, protocol: "meta" | "text" | undefined): string | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const reason = (error as FailureLike).reason
  if (typeof reason !== "string") return undefined
  const tag = tagOf(error)
  if (tag === "MemcachedStoreError") {
    const s = STORE_STATUS[reason]
    return s === undefined ? undefined : protocol === "meta" ? s[1] : s[0]
  }
  if (tag === "MemcachedServerError") return SERVER_STATUS[reason]
  return undefined
}

/**
 * True when a failure is a request deadline (counted in `db.client.connection.timeouts`).
 *
 * @since 0.1.0
 * @category errors
 */
export const isTimeout = (error: unknown): boolean =>
  typeof error === "object" && error !== null && tagOf(error) === "MemcachedConnectionError" &&
  ((error as FailureLike).reason === "Timeout" || (error as FailureLike).reason === "ConnectTimeout")

/**
 * The host and port of a server as `server.address` / `server.port` take them (a unix socket: its path,
 * no port).
 *
 * @since 0.1.0
 * @category attributes
 */
export interface ServerAddress {
  readonly address: string
  readonly port: number | undefined
}

/**
 * What the engine reports to telemetry; every member optional. The engine calls a member only when it
 * is there, so a client without telemetry pays one `undefined` check per auto-batch written and
 * nothing per request. Health changes (ejections, readmissions) already reach the edge through the
 * pool's `healthChanged` event, which the edge reads `pool.health` in.
 *
 * @since 0.1.0
 * @category observer
 */
export interface EngineObserver {
  /** An auto-batch of `size` single-key gets was written to `server` as one command (1 = not merged). */
  readonly batch?: ((server: string, size: number) => void) | undefined
}

/**
 * A pool's connections and requests right now, for the pool gauges.
 *
 * @since 0.1.0
 * @category observer
 */
export interface PoolUsage {
  /** Open connections with no request in flight. */
  readonly idle: number
  /** Open (or connecting) connections with requests in flight or queued. */
  readonly used: number
  /** Requests waiting for room in a connection's pipeline. */
  readonly pending: number
  /** Requests written and not yet answered. */
  readonly inFlight: number
}
