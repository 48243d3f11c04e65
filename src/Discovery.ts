/**
 * Auto-discovery of a managed memcached cluster (AWS ElastiCache, Google Memorystore for Memcached):
 * the client's server list follows the node list served by the cluster's configuration endpoint.
 *
 * Chosen only through the client's options — `MemcachedClient.layer({ discovery:
 * Discovery.elastiCache("my.cfg.use1.cache.amazonaws.com:11211") })` — like the ring and the transport;
 * there is no discovery service or layer to merge beside a client. At layer construction the endpoint
 * is asked once (`config get cluster`, or `get AmazonElastiCache:cluster` when it answers `ERROR`),
 * retried on failure, and the client starts with the nodes it lists; a scoped fiber then polls on a
 * `Schedule` (default: every 60 s, jittered) until the layer closes. A newer version rebuilds the
 * ring (nodes are identified by `host:port`; unchanged nodes keep their connections; removed nodes
 * drain, then close; see `engine/membership.ts`); an older or equal version is ignored. A failed poll
 * is logged and recorded in {@link status}, never seen by a request.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { type DurationInput, fromNullable, spacedTimes } from "./edition.js"
import type { DiscoveryMode } from "./engine/discovery.js"
import type { MemcachedError } from "./MemcachedError.js"
import type { ClusterNode } from "./protocol/discovery.js"
import * as ServerSpec from "./ServerSpec.js"

export type { DiscoveryMode } from "./engine/discovery.js"
export type { ClusterNode } from "./protocol/discovery.js"

const TypeId: unique symbol = Symbol.for("effect-memcached/Discovery")

/**
 * Options of {@link elastiCache}.
 *
 * @since 0.2.0
 * @category models
 */
export interface ElastiCacheOptions {
  /**
   * When to poll after the first poll (which runs at layer construction). Each output's delay is
   * waited, then the endpoint is polled; the poller stops when the schedule ends. Default
   * `Schedule.spaced("60 seconds").pipe(Schedule.jittered)` (60 s ± 20 %).
   */
  readonly schedule?: Schedule.Schedule<unknown> | undefined
  /**
   * Retries of a failed poll (each retry opens a new connection, so the endpoint's name is resolved
   * again). Default 3 retries 500 ms apart, as the ElastiCache Java client does. An endpoint that
   * supports neither form is not retried.
   */
  readonly retry?: Schedule.Schedule<unknown, MemcachedError> | undefined
  /**
   * Poll 500 ms after a node is ejected (its connections keep failing: the cluster may have replaced
   * it), besides the schedule. Default true.
   */
  readonly pollOnEjection?: boolean | undefined
  /** Deadline of one poll request. Default: the client's `timeout`. */
  readonly timeout?: DurationInput | undefined
  /**
   * Which request to send: `auto` (default: `config get cluster`, and `get AmazonElastiCache:cluster`
   * once the endpoint answered `ERROR`), `config` only, or `legacy` only.
   */
  readonly command?: "auto" | "config" | "legacy" | undefined
}

/**
 * What a discovery did so far (see {@link status}).
 *
 * @since 0.2.0
 * @category models
 */
export interface DiscoveryStatus {
  /** The configuration version in use (`None` before the first successful poll). */
  readonly version: Option.Option<number>
  /** The node names (`host:port`) in use, in the endpoint's order. */
  readonly nodes: ReadonlyArray<string>
  /** The request form that last worked. */
  readonly mode: Option.Option<DiscoveryMode>
  /** Polls finished (initial one included), failed ones included. */
  readonly polls: number
  /** Polls that failed after their retries. */
  readonly failures: number
  /** Polls whose version was older than or equal to the one in use (ignored). */
  readonly ignored: number
  /** Node-list changes applied after the initial one. */
  readonly changes: number
  /** The error of the last failed poll, `None` once a poll succeeds again. */
  readonly lastError: Option.Option<MemcachedError>
}

/**
 * The live counters behind {@link status} (mutated by the client's poller).
 *
 * @since 0.2.0
 * @category models
 */
export interface MutableStatus {
  version: number | undefined
  nodes: ReadonlyArray<string>
  mode: DiscoveryMode | undefined
  polls: number
  failures: number
  ignored: number
  changes: number
  lastError: MemcachedError | undefined
  inUse: boolean
}

/**
 * A discovery configuration, given to one client as its `discovery` option. Holds that client's
 * {@link status}: a value used by a live client cannot be given to a second one.
 *
 * @since 0.2.0
 * @category models
 */
export interface Discovery {
  readonly [TypeId]: typeof TypeId
  readonly kind: "elastiCache"
  /** The configuration endpoint as given (`host:port`; port 11211 when omitted). */
  readonly endpoint: string | ServerSpec.ServerSpec
  readonly options: ElastiCacheOptions
  /** @internal */
  readonly state: MutableStatus
}

/**
 * ElastiCache (and Memorystore for Memcached) auto-discovery from `configEndpoint` — for ElastiCache
 * the cluster's configuration endpoint (`name.xxxxxx.cfg.use1.cache.amazonaws.com:11211`), for
 * Memorystore the instance's discovery endpoint (`ip:11211`). Never fails: a bad endpoint or bad
 * options fail the client layer with a `ConfigError` naming `discovery`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const elastiCache = (
  configEndpoint: string | ServerSpec.ServerSpec,
  options: ElastiCacheOptions = {}
): Discovery => ({
  [TypeId]: TypeId,
  kind: "elastiCache",
  endpoint: configEndpoint,
  options,
  state: {
    version: undefined,
    nodes: [],
    mode: undefined,
    polls: 0,
    failures: 0,
    ignored: 0,
    changes: 0,
    lastError: undefined,
    inUse: false
  }
})

/**
 * True for a value made by {@link elastiCache}.
 *
 * @since 0.2.0
 * @category guards
 */
export const isDiscovery = (u: unknown): u is Discovery => typeof u === "object" && u !== null && TypeId in u

/**
 * A snapshot of what `discovery` did: version and nodes in use, polls, failures, the last error.
 * Never fails.
 *
 * @since 0.2.0
 * @category accessors
 */
export const status = (discovery: Discovery): Effect.Effect<DiscoveryStatus> =>
  Effect.sync(() => {
    const s = discovery.state
    return {
      version: fromNullable(s.version),
      nodes: s.nodes,
      mode: fromNullable(s.mode),
      polls: s.polls,
      failures: s.failures,
      ignored: s.ignored,
      changes: s.changes,
      lastError: fromNullable(s.lastError)
    }
  })

/**
 * The default poll schedule: every 60 s, jittered (×0.8–1.2).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultSchedule: Schedule.Schedule<unknown> = Schedule.spaced("60 seconds").pipe(Schedule.jittered)

/**
 * The default retries of a failed poll: 3, 500 ms apart.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultRetry: Schedule.Schedule<unknown, MemcachedError> = spacedTimes("500 millis", 3)

/**
 * The server spec of a discovered node: its host name when it has one (so TLS verifies and sends SNI
 * for that name), else its IP; identity `host:port`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const nodeSpec = (node: ClusterNode): ServerSpec.ServerSpec =>
  ServerSpec.make({ host: node.host !== "" ? node.host : node.ip, port: node.port })
