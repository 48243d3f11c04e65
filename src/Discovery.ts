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
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { toMemcachedError } from "./client/completion.js"
import { type DiscoveryMode, DiscoveryUnsupported, pollOnce as enginePoll } from "./engine/discovery.js"
import type { Membership } from "./engine/membership.js"
import type { EngineError, Timers } from "./engine/types.js"
import { positiveFiniteMillis } from "./Key.js"
import { type MemcachedError, MemcachedServerError } from "./MemcachedError.js"
import type { Transport } from "./MemcachedTransport.js"
import type { ClusterConfig, ClusterNode } from "./protocol/discovery.js"
import * as ServerSpec from "./ServerSpec.js"

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
  /** Deadline of one poll request. Default: the client's `timeout`. */
  readonly timeout?: Duration.DurationInput | undefined
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

interface MutableStatus {
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
      version: Option.fromNullable(s.version),
      nodes: s.nodes,
      mode: Option.fromNullable(s.mode),
      polls: s.polls,
      failures: s.failures,
      ignored: s.ignored,
      changes: s.changes,
      lastError: Option.fromNullable(s.lastError)
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
export const defaultRetry: Schedule.Schedule<unknown, MemcachedError> = Schedule.intersect(
  Schedule.spaced("500 millis"),
  Schedule.recurs(3)
)

/**
 * The server spec of a discovered node: its host name when it has one (so TLS verifies and sends SNI
 * for that name), else its IP; identity `host:port`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const nodeSpec = (node: ClusterNode): ServerSpec.ServerSpec =>
  ServerSpec.make({ host: node.host !== "" ? node.host : node.ip, port: node.port })

// ---------------------------------------------------------------------------------------------
// Used by MemcachedClient.make (internal)
// ---------------------------------------------------------------------------------------------

/** What the client hands the discovery: how it connects, and its request settings. */
interface ClientSide {
  readonly transport: Transport
  readonly connectTimeout: number
  readonly timeout: number
  readonly timers: Timers
}

/** A validated discovery, ready to poll. */
interface Resolved {
  readonly discovery: Discovery
  readonly endpoint: ServerSpec.ServerSpec
  readonly schedule: Schedule.Schedule<unknown>
  readonly retry: Schedule.Schedule<unknown, MemcachedError>
  readonly command: "auto" | "config" | "legacy"
  readonly poll: Effect.Effect<ClusterConfig, MemcachedError>
}

const invalid = (path: string, message: string) => ConfigError.InvalidData(["discovery", path], message)

const toError = (result: EngineError | DiscoveryUnsupported, server: string): MemcachedError =>
  result instanceof DiscoveryUnsupported
    ? new MemcachedServerError({ reason: "UnknownCommand", server, message: result.message })
    : toMemcachedError(result)

/**
 * Validates `discovery` against the client's settings; fails with a `ConfigError` naming the entry.
 *
 * @internal
 */
export const resolve = (discovery: unknown, client: ClientSide): Either.Either<Resolved, ConfigError.ConfigError> => {
  if (!isDiscovery(discovery)) {
    return Either.left(
      ConfigError.InvalidData(["discovery"], "discovery must be a value of Discovery.elastiCache(...)")
    )
  }
  if (discovery.state.inUse) {
    return Either.left(
      invalid("endpoint", "this Discovery value is already used by a live client; make one per client")
    )
  }
  const raw = discovery.endpoint
  let endpoint: ServerSpec.ServerSpec
  if (typeof raw === "string") {
    const parsed = ServerSpec.parse(raw)
    if (Either.isLeft(parsed)) return Either.left(invalid("endpoint", parsed.left))
    endpoint = parsed.right
  } else endpoint = raw
  const o = discovery.options
  const command = o.command ?? "auto"
  if (command !== "auto" && command !== "config" && command !== "legacy") {
    return Either.left(invalid("command", `command must be "auto", "config" or "legacy", got ${String(command)}`))
  }
  let timeout = client.timeout
  if (o.timeout !== undefined) {
    const ms = positiveFiniteMillis(o.timeout)
    if (ms === undefined) {
      return Either.left(invalid("timeout", `timeout must be a positive finite duration, got ${String(o.timeout)}`))
    }
    timeout = ms
  }
  const settings = { connectTimeout: client.connectTimeout, timeout, timers: client.timers }
  const state = discovery.state
  const once = Effect.async<ClusterConfig, MemcachedError>((resume) => {
    const mode: DiscoveryMode | undefined = command === "auto" ? state.mode : command
    const cancel = enginePoll(client.transport, endpoint, settings, mode, (result) => {
      if ("config" in result) {
        if (command === "config" && result.mode === "legacy") {
          return resume(Exit.fail(
            new MemcachedServerError({
              reason: "UnknownCommand",
              server: endpoint.name,
              message: `${endpoint.name} answers ERROR to config get cluster (command: "config")`
            })
          ))
        }
        state.mode = result.mode
        return resume(Exit.succeed(result.config))
      }
      resume(Exit.fail(toError(result, endpoint.name)))
    })
    return Effect.sync(cancel)
  })
  const retry = o.retry ?? defaultRetry
  const poll = Effect.retry(once, {
    schedule: retry,
    while: (e) => !(e._tag === "MemcachedServerError" && e.reason === "UnknownCommand")
  }).pipe(
    Effect.tapBoth({
      onFailure: (e) =>
        Effect.sync(() => {
          state.polls++
          state.failures++
          state.lastError = e
        }),
      onSuccess: () =>
        Effect.sync(() => {
          state.polls++
          state.lastError = undefined
        })
    })
  )
  return Either.right({ discovery, endpoint, schedule: o.schedule ?? defaultSchedule, retry, command, poll })
}

const specsOf = (config: ClusterConfig): Array<ServerSpec.ServerSpec> => {
  const seen = new Set<string>()
  const out: Array<ServerSpec.ServerSpec> = []
  for (const node of config.nodes) {
    const spec = nodeSpec(node)
    if (seen.has(spec.name)) continue
    seen.add(spec.name)
    out.push(spec)
  }
  return out
}

/**
 * The first poll, at layer construction: the nodes the client starts with. Fails with a `ConfigError`
 * naming `discovery` when the endpoint cannot be reached after the retries, or is no discovery endpoint.
 *
 * @internal
 */
export const initial = (r: Resolved): Effect.Effect<Array<ServerSpec.ServerSpec>, ConfigError.ConfigError> =>
  r.poll.pipe(
    Effect.mapError((e) =>
      invalid("endpoint", `auto-discovery from ${r.endpoint.name} failed: ${e.message} (${e._tag}: ${e.reason})`)
    ),
    Effect.map((config) => {
      const specs = specsOf(config)
      r.discovery.state.version = config.version
      r.discovery.state.nodes = specs.map((s) => s.name)
      return specs
    })
  )

const annotate = <A, E, R>(r: Resolved, effect: Effect.Effect<A, E, R>) =>
  Effect.annotateLogs(effect, { module: "Discovery", endpoint: r.endpoint.name })

/**
 * One scheduled poll: a newer version is applied to `membership`, anything else is ignored; never fails.
 *
 * @internal
 */
export const pollAndApply = <S extends ServerSpec.ServerSpec>(r: Resolved, membership: Membership<S>) => {
  const state = r.discovery.state
  return r.poll.pipe(
    Effect.flatMap((config) => {
      if (state.version !== undefined && config.version <= state.version) {
        state.ignored++
        return Effect.logDebug(`version ${config.version} ignored (in use: ${state.version})`)
      }
      const specs = specsOf(config) as Array<S>
      const change = membership.update(specs)
      if (change === undefined) return Effect.void
      state.version = config.version
      state.nodes = specs.map((s) => s.name)
      state.changes++
      return Effect.logInfo(
        `cluster version ${config.version}: ${specs.length} nodes; added [${change.added.join(", ")}], removed [${
          change.removed.join(", ")
        }]`
      )
    }),
    Effect.catchAll((e) => Effect.logWarning(`poll failed, keeping ${state.nodes.length} nodes: ${e.message}`)),
    (effect) => annotate(r, effect)
  )
}

/**
 * Starts the poller in the current scope: waits each delay of the schedule, then polls; stops when
 * the schedule ends or the scope closes. Marks the discovery in use until then.
 *
 * @internal
 */
export const start = <S extends ServerSpec.ServerSpec>(
  r: Resolved,
  membership: Membership<S>
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const state = r.discovery.state
    state.inUse = true
    yield* Effect.addFinalizer(() => Effect.sync(() => void (state.inUse = false)))
    const driver = yield* Schedule.driver(r.schedule)
    const loop = Effect.forever(Effect.zipRight(driver.next(undefined), pollAndApply(r, membership)))
    yield* Effect.forkScoped(Effect.ignore(loop))
  })
