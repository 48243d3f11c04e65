/**
 * The client side of auto-discovery (internal: not exported from the package): validating the
 * `discovery` option against the client's settings, the first poll at construction, and the scoped
 * poller that applies newer configurations to the client's {@link Membership}.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { defaultRetry, defaultSchedule, type Discovery, isDiscovery, nodeSpec } from "../Discovery.js"
import { type DiscoveryMode, pollOnce as enginePoll } from "../engine/discovery.js"
import type { Membership } from "../engine/membership.js"
import { parse as parseSpec } from "../engine/serverSpec.js"
import type { Timers } from "../engine/types.js"
import { positiveFiniteMillis } from "../Key.js"
import { type MemcachedError, MemcachedServerError } from "../MemcachedError.js"
import type { Transport } from "../MemcachedTransport.js"
import type { ClusterConfig } from "../protocol/discovery.js"
import type * as ServerSpec from "../ServerSpec.js"
import {
  callback,
  clearQueue,
  type ConfigError,
  configError,
  fail,
  offerNow,
  type Outcome,
  scheduleSteps,
  succeed
} from "../edition.js"
import { toMemcachedError } from "./completion.js"

/**
 * What the client hands the discovery: how it connects, and its request settings.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientSide {
  readonly transport: Transport
  readonly connectTimeout: number
  readonly timeout: number
  readonly timers: Timers
}

/**
 * A validated discovery, ready to poll.
 *
 * @since 0.2.0
 * @category models
 */
export interface Resolved {
  readonly discovery: Discovery
  readonly endpoint: ServerSpec.ServerSpec
  readonly schedule: Schedule.Schedule<unknown>
  readonly retry: Schedule.Schedule<unknown, MemcachedError>
  readonly command: "auto" | "config" | "legacy"
  readonly poll: Effect.Effect<ClusterConfig, MemcachedError>
}

const invalid = (path: string, message: string) => configError(["discovery", path], message)

/**
 * Validates `discovery` against the client's settings; fails with a `ConfigError` naming the entry.
 *
 * @since 0.2.0
 * @category internal
 */
export const resolve = (discovery: unknown, client: ClientSide): Outcome<Resolved, ConfigError> => {
  if (!isDiscovery(discovery)) {
    return fail(configError(["discovery"], "discovery must be a value of Discovery.elastiCache(...)"))
  }
  if (discovery.state.inUse) {
    return fail(
      invalid("endpoint", "this Discovery value is already used by a live client; make one per client")
    )
  }
  const raw = discovery.endpoint
  let endpoint: ServerSpec.ServerSpec
  if (typeof raw === "string") {
    const parsed = parseSpec(raw)
    if (typeof parsed === "string") return fail(invalid("endpoint", parsed))
    endpoint = parsed
  } else endpoint = raw
  const o = discovery.options
  const command = o.command ?? "auto"
  if (command !== "auto" && command !== "config" && command !== "legacy") {
    return fail(invalid("command", `command must be "auto", "config" or "legacy", got ${String(command)}`))
  }
  let timeout = client.timeout
  if (o.timeout !== undefined) {
    const ms = positiveFiniteMillis(o.timeout)
    if (ms === undefined) {
      return fail(invalid("timeout", `timeout must be a positive finite duration, got ${String(o.timeout)}`))
    }
    timeout = ms
  }
  const settings = { connectTimeout: client.connectTimeout, timeout, timers: client.timers }
  const state = discovery.state
  const once = callback<ClusterConfig, MemcachedError>((resume) => {
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
      resume(Exit.fail(toMemcachedError(result)))
    })
    return Effect.sync(cancel)
  })
  const retry = o.retry ?? defaultRetry
  const poll = Effect.retry(once, {
    schedule: retry,
    while: (e: MemcachedError) => !(e._tag === "MemcachedServerError" && e.reason === "UnknownCommand")
  }).pipe(
    Effect.tapError((e) =>
      Effect.sync(() => {
        state.polls++
        state.failures++
        state.lastError = e
      })
    ),
    Effect.tap(() =>
      Effect.sync(() => {
        state.polls++
        state.lastError = undefined
      })
    )
  )
  return succeed({ discovery, endpoint, schedule: o.schedule ?? defaultSchedule, retry, command, poll })
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
 * @since 0.2.0
 * @category internal
 */
export const initial = (r: Resolved): Effect.Effect<Array<ServerSpec.ServerSpec>, ConfigError> =>
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

/**
 * One scheduled poll: a newer version is applied to `membership`, anything else is ignored; never fails.
 *
 * @since 0.2.0
 * @category internal
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
    Effect.tapError((e) => Effect.logWarning(`poll failed, keeping ${state.nodes.length} nodes: ${e.message}`)),
    Effect.ignore,
    Effect.annotateLogs({ module: "Discovery", endpoint: r.endpoint.name })
  )
}

/** How long after a node's ejection the poller polls (ejections within it share one poll). */
const EJECTION_POLL_DELAY = "500 millis"

/**
 * Starts the poller in the current scope: waits each delay of the schedule — or, with
 * `pollOnEjection` (default), 500 ms after the returned function is called (the client calls it when
 * a node is ejected: the cluster may have replaced it) — then polls; stops when the schedule ends or
 * the scope closes. Marks the discovery in use until then.
 *
 * @since 0.2.0
 * @category internal
 */
export const start = <S extends ServerSpec.ServerSpec>(
  r: Resolved,
  membership: Membership<S>
): Effect.Effect<() => void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const state = r.discovery.state
    state.inUse = true
    yield* Effect.addFinalizer(() => Effect.sync(() => void (state.inUse = false)))
    const step = yield* scheduleSteps(r.schedule)
    const nudges = yield* Queue.sliding<void>(1)
    const nudged = Effect.as(Effect.andThen(Queue.take(nudges), Effect.sleep(EJECTION_POLL_DELAY)), true)
    const wake = r.discovery.options.pollOnEjection === false ? step : Effect.raceFirst(step, nudged)
    const loop = Effect.gen(function*() {
      while (yield* wake) {
        yield* pollAndApply(r, membership)
        yield* clearQueue(nudges)
      }
    })
    yield* Effect.forkScoped(loop)
    return () => void offerNow(nudges, undefined)
  })
