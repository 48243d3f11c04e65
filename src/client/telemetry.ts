/**
 * The `telemetry` client option: a view of a client in which every method is one span (through the
 * current `Tracer`) and one duration sample (through Effect's `Metric`, updated through each edition's
 * `telemetryEdition.ts`, in the client's services), and the engine observer and pool sampler that feed the pool metrics. Built only when the option is set: without it the client has
 * no wrapper and its requests allocate nothing for telemetry. Names, attribute keys, error mapping and
 * key hashing come from the effect-free `engine/telemetry.ts`, shared with the other edition.
 * Internal: the public face is `MemcachedTelemetry`.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { Health } from "../engine/pool.js"
import {
  Attr,
  type EngineObserver,
  errorType,
  isTimeout,
  keyRecorder,
  METHODS,
  type PoolUsage,
  READS,
  type RecordKeys,
  statusCode,
  SYSTEM
} from "../engine/telemetry.js"
import { type ConfigError, configError, failureOf, isInterruptedOnly, match } from "../edition.js"
import { positiveFiniteMillis } from "../Key.js"
import * as M from "../MemcachedTelemetry.js"
import type { MetaItem } from "../protocol/meta.js"
import type { ServerSpec } from "../ServerSpec.js"
import { type Labels, labels as seriesOf, nowNanos, update } from "../telemetryEdition.js"
import type { MemcachedClient, WriteResult } from "./models.js"

/**
 * The resolved `telemetry` option.
 *
 * @since 0.1.0
 * @category models
 */
export interface Telemetry {
  readonly tracing: boolean
  readonly metrics: boolean
  readonly recordKey: ((key: string) => string) | undefined
  readonly spanAttributes: Readonly<Record<string, unknown>> | undefined
  readonly poolSampleInterval: number
}

const invalid = (path: string, message: string) => configError(["telemetry", path], message)

/**
 * Resolves the option; `undefined` when telemetry is off (no option, or both halves disabled). Fails
 * with a `ConfigError` naming `telemetry.<field>` for an invalid field.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveTelemetry = (
  options: M.TelemetryOptions | undefined
): Telemetry | undefined | ConfigError => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null) {
    return configError(["telemetry"], "telemetry must be an object of options")
  }
  for (const field of ["tracing", "metrics"] as const) {
    const v = options[field]
    if (v !== undefined && typeof v !== "boolean") return invalid(field, `${field} must be a boolean, got ${String(v)}`)
  }
  const mode: RecordKeys = options.recordKeys ?? "none"
  if (mode !== "none" && mode !== "raw" && mode !== "hashed") {
    return invalid("recordKeys", `recordKeys must be "none", "raw" or "hashed", got ${String(mode)}`)
  }
  const attrs = options.spanAttributes
  if (attrs !== undefined && (typeof attrs !== "object" || attrs === null)) {
    return invalid("spanAttributes", "spanAttributes must be a record of attributes")
  }
  let interval = 5000
  if (options.poolSampleInterval !== undefined) {
    const ms = positiveFiniteMillis(options.poolSampleInterval)
    if (ms === undefined) {
      return invalid(
        "poolSampleInterval",
        `poolSampleInterval must be a positive finite duration, got ${String(options.poolSampleInterval)}`
      )
    }
    interval = ms
  }
  const tracing = options.tracing ?? true
  const metrics = options.metrics ?? true
  if (!tracing && !metrics) return undefined
  return { tracing, metrics, recordKey: keyRecorder(mode), spanAttributes: attrs, poolSampleInterval: interval }
}

/** The address attributes of a server (a unix socket: its path, no port). */
const addressOf = (spec: ServerSpec): { readonly address: string; readonly port: number | undefined } =>
  spec.path !== undefined ? { address: spec.path, port: undefined } : { address: spec.host, port: spec.port }

/** Per-operation caches: span options and metric labels per server (slot 0: no single server). */
class Op {
  readonly spanOptions: Array<Tracer.SpanOptions | undefined> = []
  readonly labels: Array<Labels | undefined> = []
  readonly durationLabels: Array<Labels | undefined> = []
  readonly failureLabels = new Map<string, Labels>()
  constructor(readonly name: string) {}
}

/** What the decorator needs of the client it wraps beyond its methods. */
interface Deps {
  readonly telemetry: Telemetry
  readonly servers: ReadonlyArray<ServerSpec>
  readonly protocolOf: (server: number) => "meta" | "text" | undefined
  readonly clock: Clock.Clock
  /** The client's services: where the metrics are recorded. */
  readonly services: Context.Context<never>
}

type OnSuccess<A> = (value: A, span: Tracer.Span | undefined, server: number) => void

/**
 * The instrumentation of one client: span options and labels cached per operation and server, so a
 * call allocates its span and its exit handler, nothing else that could be shared.
 */
class Instrument {
  private readonly ops = new Map<string, Op>()
  private readonly addresses: ReadonlyArray<{ readonly address: string; readonly port: number | undefined }>
  private readonly poolLabels: Array<Labels>
  constructor(private readonly deps: Deps) {
    this.addresses = deps.servers.map(addressOf)
    this.poolLabels = deps.servers.map((s) => poolLabels(s.name))
  }

  op(name: string): Op {
    let op = this.ops.get(name)
    if (op === undefined) this.ops.set(name, op = new Op(name))
    return op
  }

  private baseLabels(op: Op, server: number): Record<string, string> {
    const out: Record<string, string> = { [Attr.dbSystemName]: SYSTEM, [Attr.dbOperationName]: op.name }
    const a = this.addresses[server]
    if (a !== undefined) {
      out[Attr.serverAddress] = a.address
      if (a.port !== undefined) out[Attr.serverPort] = String(a.port)
    }
    return out
  }

  /** The labels of `op` on `server` (-1: none) for the counters. */
  labels(op: Op, server: number): Labels {
    return op.labels[server + 1] ??= seriesOf(this.baseLabels(op, server))
  }

  private durationLabels(op: Op, server: number, type: string | undefined, status: string | undefined) {
    if (type === undefined) {
      return op.durationLabels[server + 1] ??= seriesOf({ ...this.baseLabels(op, server), unit: "s" })
    }
    const id = `${server}\u0000${type}\u0000${status ?? ""}`
    let labels = op.failureLabels.get(id)
    if (labels === undefined) {
      const out: Record<string, string> = { ...this.baseLabels(op, server), [Attr.errorType]: type, unit: "s" }
      if (status !== undefined) out[Attr.dbResponseStatusCode] = status
      op.failureLabels.set(id, labels = seriesOf(out))
    }
    return labels
  }

  private spanOptions(op: Op, server: number): Tracer.SpanOptions {
    let options = op.spanOptions[server + 1]
    if (options === undefined) {
      const attributes: Record<string, unknown> = { ...this.deps.telemetry.spanAttributes }
      attributes[Attr.dbSystemName] = SYSTEM
      attributes[Attr.dbOperationName] = op.name
      const a = this.addresses[server]
      if (a !== undefined) {
        attributes[Attr.serverAddress] = a.address
        if (a.port !== undefined) attributes[Attr.serverPort] = a.port
      }
      op.spanOptions[server + 1] = options = { kind: "client", captureStackTrace: false, attributes }
    }
    return options
  }

  /** Counts `n` hits or misses of `op` on `server`. */
  count(op: Op, server: number, hitCount: number, missCount: number): void {
    if (!this.deps.telemetry.metrics) return
    const labels = this.labels(op, server)
    if (hitCount > 0) update(M.hits, hitCount, labels, this.deps.services)
    if (missCount > 0) update(M.misses, missCount, labels, this.deps.services)
  }

  /** Counts a timeout on `server` (-1: unknown, not counted). */
  timeout(server: number): void {
    if (!this.deps.telemetry.metrics || server < 0) return
    update(M.timeouts, 1, this.poolLabels[server] ?? poolLabels(this.deps.servers[server]!.name), this.deps.services)
  }

  private finish<A>(
    op: Op,
    server: number,
    exit: Exit.Exit<A, unknown>,
    start: bigint,
    span: Tracer.Span | undefined,
    onSuccess: OnSuccess<A> | undefined
  ): void {
    const protocol = server >= 0 ? this.deps.protocolOf(server) : undefined
    if (span !== undefined && protocol !== undefined) span.attribute(Attr.protocol, protocol)
    let type: string | undefined = undefined
    let status: string | undefined = undefined
    if (exit._tag === "Success") {
      onSuccess?.(exit.value, span, server)
    } else if (isInterruptedOnly(exit.cause)) {
      // No outcome: the span says interrupted; no duration sample (it would time the caller, not memcached).
      return
    } else {
      const failure = failureOf(exit.cause)
      const error = Option.isSome(failure) ? failure.value : undefined
      type = error === undefined ? "_OTHER" : errorType(error)
      status = statusCode(error, protocol)
      if (span !== undefined) {
        span.attribute(Attr.errorType, type)
        if (status !== undefined) span.attribute(Attr.dbResponseStatusCode, status)
      }
      if (isTimeout(error)) this.timeout(server)
    }
    if (this.deps.telemetry.metrics) {
      const seconds = Number(nowNanos(this.deps.clock) - start) / 1e9
      update(M.operationDuration, seconds, this.durationLabels(op, server, type, status), this.deps.services)
    }
  }

  /**
   * `effect` as one span of `op` (when tracing) and one duration sample (when metrics), attributed to
   * `server` (-1: none); `annotate` adds the call's own attributes to the span; with `parent` the span
   * is the parent of the spans `effect` makes (the client's own calls make none).
   */
  run<A, E, R>(
    op: Op,
    server: number,
    effect: Effect.Effect<A, E, R>,
    onSuccess?: OnSuccess<A>,
    annotate?: (span: Tracer.Span) => void,
    parent = false
  ): Effect.Effect<A, E, R> {
    const clock = this.deps.clock
    if (!this.deps.telemetry.tracing) {
      return Effect.suspend(() => {
        const start = nowNanos(clock)
        return this.observe(effect, (exit) => this.finish(op, server, exit, start, undefined, onSuccess))
      })
    }
    return Effect.useSpan(op.name, this.spanOptions(op, server), (span) => {
      annotate?.(span)
      const start = this.deps.telemetry.metrics ? nowNanos(clock) : 0n
      return this.observe(
        parent ? Effect.withParentSpan(effect, span) : effect,
        (exit) => this.finish(op, server, exit, start, span, onSuccess)
      )
    })
  }

  /**
   * `effect`, with `f` told its exit; the exit is the result (an `Exit` is an `Effect`), so observing
   * costs one match frame and one `Exit` per call (`Effect.onExit` adds an uninterruptible region and
   * a continuation on top).
   */
  private observe<A, E, R>(effect: Effect.Effect<A, E, R>, f: (exit: Exit.Exit<A, E>) => void): Effect.Effect<A, E, R> {
    return Effect.matchCauseEffect(effect, {
      onFailure: (cause) => {
        const exit = Exit.failCause(cause)
        f(exit)
        return exit
      },
      onSuccess: (value) => {
        const exit = Exit.succeed(value)
        f(exit)
        return exit
      }
    })
  }
}

/** The one server every key goes to (-1 when several) and how many servers there are. */
const placementOf = (c: MemcachedClient, keys: ReadonlyArray<string>): { server: number; count: number } => {
  if (keys.length === 0) return { server: -1, count: 0 }
  const first = c.serverFor(keys[0]!)
  let seen: Set<number> | undefined = undefined
  for (let i = 1; i < keys.length; i++) {
    const s = c.serverFor(keys[i]!)
    if (s !== first) (seen ??= new Set([first])).add(s)
  }
  return seen === undefined ? { server: first, count: 1 } : { server: -1, count: seen.size }
}

/**
 * The instrumentation of a client, for the modules built on it (cache-aside): `run` makes `effect` one
 * span named `name` (the parent of the client calls it makes) and one duration sample, attributed to
 * the server of `keys` when they all go to one.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientTelemetry {
  readonly run: <A, E, R>(
    name: string,
    keys: ReadonlyArray<string>,
    effect: Effect.Effect<A, E, R>,
    onSuccess?: (value: A, span: Tracer.Span | undefined) => void
  ) => Effect.Effect<A, E, R>
}

const TelemetryKey: unique symbol = Symbol.for("effect-memcached/ClientTelemetry")

/**
 * The instrumentation of `client` when it was built with the `telemetry` option, `undefined` otherwise.
 *
 * @since 0.1.0
 * @category accessors
 */
export const telemetryOf = (client: MemcachedClient): ClientTelemetry | undefined =>
  (client as { readonly [TelemetryKey]?: ClientTelemetry })[TelemetryKey]

/**
 * `c` with every method instrumented per `deps.telemetry`. Typed as the full service, so a method added
 * to the client and not here fails to compile. Each method fails exactly as `c`'s does.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTelemetry = (c: MemcachedClient, deps: Deps): MemcachedClient => {
  const t = new Instrument(deps)
  const recordKey = deps.telemetry.recordKey
  const ops = Object.fromEntries(
    METHODS.map((name) => [name, t.op(name)])
  ) as Record<string, Op>
  const keyAttr = recordKey === undefined ?
    undefined :
    (key: string) => (span: Tracer.Span) => span.attribute(Attr.key, recordKey(key))
  const read = (op: Op): OnSuccess<Option.Option<unknown>> => (value, span, server) => {
    const hit = Option.isSome(value)
    span?.attribute(Attr.hit, hit)
    t.count(op, server, hit ? 1 : 0, hit ? 0 : 1)
  }
  // One hit/miss handler per read operation, built once.
  const readers: Record<string, OnSuccess<Option.Option<unknown>>> = Object.fromEntries(
    [...READS].map((name) => [name, read(ops[name]!)])
  )
  const single = <A, E>(name: string, key: string, effect: Effect.Effect<A, E>, onSuccess?: OnSuccess<A>) => {
    const op = ops[name]!
    return t.run(
      op,
      c.serverFor(key),
      effect,
      onSuccess ?? readers[name] as OnSuccess<A> | undefined,
      keyAttr?.(key)
    )
  }
  const metaRead = readers.metaGet!
  const onMetaGet: OnSuccess<Option.Option<MetaItem>> = (value, span, server) => {
    metaRead(value, span, server)
    if (span !== undefined && Option.isSome(value)) {
      span.attribute(Attr.win, value.value.win)
      span.attribute(Attr.stale, value.value.stale)
    }
  }
  const multi = <A, E>(
    name: string,
    keys: ReadonlyArray<string>,
    effect: Effect.Effect<A, E>,
    onSuccess: OnSuccess<A>
  ) => {
    const { count, server } = placementOf(c, keys)
    return t.run(ops[name]!, server, effect, onSuccess, (span) => {
      if (keys.length > 1) span.attribute(Attr.dbOperationBatchSize, keys.length)
      if (count > 1) span.attribute(Attr.serverCount, count)
      if (recordKey !== undefined) span.attribute(Attr.keys, keys.map(recordKey))
    })
  }
  const writes: OnSuccess<ReadonlyMap<string, WriteResult>> = (results, span) => {
    let failed = 0
    for (const [key, r] of results) {
      match(r, () => undefined, (e) => {
        failed++
        if (isTimeout(e)) t.timeout(c.serverFor(key))
      })
    }
    span?.attribute(Attr.keysFailed, failed)
  }
  const admin = <A, E>(name: string, server: string | undefined, effect: Effect.Effect<A, E>) =>
    t.run(ops[name]!, server === undefined ? -1 : deps.servers.findIndex((s) => s.name === server), effect)
  const instrumented: ClientTelemetry = {
    run: (name, keys, effect, onSuccess) => {
      const { count, server } = placementOf(c, keys)
      return t.run(t.op(name), server, effect, onSuccess, (span) => {
        if (keys.length > 1) span.attribute(Attr.dbOperationBatchSize, keys.length)
        if (count > 1) span.attribute(Attr.serverCount, count)
        if (recordKey !== undefined) {
          if (keys.length === 1) span.attribute(Attr.key, recordKey(keys[0]!))
          else span.attribute(Attr.keys, keys.map(recordKey))
        }
      }, true)
    }
  }
  const wrapped: MemcachedClient = {
    servers: c.servers,
    serverFor: c.serverFor,
    get: (key, o) => single("get", key, c.get(key, o)),
    getString: (key, o) => single("getString", key, c.getString(key, o)),
    gets: (key, o) => single("gets", key, c.gets(key, o)),
    gat: (key, ttl, o) => single("gat", key, c.gat(key, ttl, o)),
    gats: (key, ttl, o) => single("gats", key, c.gats(key, ttl, o)),
    getMany: (keys, o) => {
      const list = Array.from(keys)
      return multi("getMany", list, c.getMany(list, o), (found, span, server) => {
        const missed = new Set(list).size - found.size
        span?.attribute(Attr.keysHit, found.size)
        span?.attribute(Attr.keysMissed, missed)
        t.count(ops.getMany!, server, found.size, missed)
      })
    },
    setMany: (entries, o) => {
      const list = Array.from(entries)
      const keys = list.map(([k]) => k)
      return multi("setMany", keys, c.setMany(list, o), writes)
    },
    deleteMany: (keys, o) => {
      const list = Array.from(keys)
      return multi("deleteMany", list, c.deleteMany(list, o), writes)
    },
    touchMany: (keys, ttl, o) => {
      const list = Array.from(keys)
      return multi("touchMany", list, c.touchMany(list, ttl, o), writes)
    },
    set: (key, v, o) => single("set", key, c.set(key, v, o)),
    add: (key, v, o) => single("add", key, c.add(key, v, o)),
    replace: (key, v, o) => single("replace", key, c.replace(key, v, o)),
    append: (key, v, o) => single("append", key, c.append(key, v, o)),
    prepend: (key, v, o) => single("prepend", key, c.prepend(key, v, o)),
    cas: (key, v, cas, o) => single("cas", key, c.cas(key, v, cas, o)),
    delete: (key, o) => single("delete", key, c.delete(key, o)),
    touch: (key, ttl, o) => single("touch", key, c.touch(key, ttl, o)),
    incr: (key, d, o) => single("incr", key, c.incr(key, d, o)),
    decr: (key, d, o) => single("decr", key, c.decr(key, d, o)),
    flushAll: (delay, o) => admin("flushAll", o?.server, c.flushAll(delay, o)),
    version: (o) => admin("version", o?.server, c.version(o)),
    stats: (argument, o) => admin("stats", o?.server, c.stats(argument, o)),
    verbosity: (level, o) => admin("verbosity", o?.server, c.verbosity(level, o)),
    protocols: () => t.run(ops.protocols!, -1, c.protocols()),
    metaGet: (key, o) => single("metaGet", key, c.metaGet(key, o), onMetaGet),
    metaSet: (key, v, o) => single("metaSet", key, c.metaSet(key, v, o)),
    metaDelete: (key, o) => single("metaDelete", key, c.metaDelete(key, o)),
    metaArithmetic: (key, o) => single("metaArithmetic", key, c.metaArithmetic(key, o)),
    metaDebug: (key, o) => single("metaDebug", key, c.metaDebug(key, o))
  }
  Object.defineProperty(wrapped, TelemetryKey, { value: instrumented })
  return wrapped
}

// ---------------------------------------------------------------------------------------------
// Pool metrics: the engine observer, health changes, and the gauge sampler
// ---------------------------------------------------------------------------------------------

const poolAttributes = (server: string): Record<string, string> => ({
  [Attr.dbSystemName]: SYSTEM,
  [Attr.connectionPoolName]: server
})

const poolLabels = (server: string): Labels => seriesOf(poolAttributes(server))

/**
 * The engine observer of a client with metrics on (auto-batch sizes per pool), `undefined` otherwise
 * (the engine then calls nothing).
 *
 * @since 0.1.0
 * @category constructors
 */
export const engineObserver = (
  telemetry: Telemetry | undefined,
  services: Context.Context<never>
): EngineObserver | undefined => {
  if (telemetry?.metrics !== true) return undefined
  const labels = new Map<string, Labels>()
  const labelsOf = (server: string) => {
    let l = labels.get(server)
    if (l === undefined) labels.set(server, l = poolLabels(server))
    return l
  }
  return { batch: (server, size) => update(M.autoBatchSize, size, labelsOf(server), services) }
}

/**
 * Counts ejections and readmissions from the pools' health changes (metrics on), or `undefined`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const healthCounter = (
  telemetry: Telemetry | undefined,
  services: Context.Context<never>
): ((server: string, health: Health) => void) | undefined => {
  if (telemetry?.metrics !== true) return undefined
  const labels = new Map<string, Labels>()
  // A pool reports `up` only when it readmits a probed server, `ejected` on each ejection.
  return (server, health) => {
    let l = labels.get(server)
    if (l === undefined) labels.set(server, l = poolLabels(server))
    if (health === "ejected") update(M.ejections, 1, l, services)
    else if (health === "up") update(M.readmissions, 1, l, services)
  }
}

/**
 * Sets the pool gauges from every pool's usage now, then every `poolSampleInterval`, in a fiber of the
 * scope (metrics on; nothing otherwise). Never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const samplePools = (
  telemetry: Telemetry | undefined,
  pools: ReadonlyArray<{ readonly spec: ServerSpec; usage(): PoolUsage }>
): Effect.Effect<void, never, Scope.Scope> => {
  if (telemetry?.metrics !== true) return Effect.void
  // `pools` is the client's live list (auto-discovery changes it in place): each sample reads it again,
  // and a pool's label sets are built once, the first time it is sampled.
  type Series = {
    labels: Labels
    idle: Labels
    used: Labels
  }
  const seriesByPool = new WeakMap<object, Series>()
  const sample = Effect.flatMap(Effect.context<never>(), (services) => {
    for (const pool of pools) {
      let s = seriesByPool.get(pool)
      if (s === undefined) {
        const l = poolAttributes(pool.spec.name)
        s = {
          labels: seriesOf(l),
          idle: seriesOf({ ...l, [Attr.connectionState]: "idle" }),
          used: seriesOf({ ...l, [Attr.connectionState]: "used" })
        }
        seriesByPool.set(pool, s)
      }
      const u = pool.usage()
      update(M.connectionCount, u.idle, s.idle, services)
      update(M.connectionCount, u.used, s.used, services)
      update(M.pendingRequests, u.pending, s.labels, services)
      update(M.inFlight, u.inFlight, s.labels, services)
    }
    return Effect.void
  })
  return Effect.asVoid(
    Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(telemetry.poolSampleInterval)))
  )
}
