/**
 * The client's constructor: options checked (a `Config.ConfigError` naming the entry), the engine's
 * pools and router built over Effect 4's clock and scheduler, the methods built over them.
 * Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as Scope from "effect/Scope"
import type { Timers } from "../../../../src/engine/connection.js"
import { withHandshake } from "../../../../src/engine/handshake.js"
import { type PoolEvents, ServerPool, type Settings } from "../../../../src/engine/pool.js"
import { Membership } from "../../../../src/engine/membership.js"
import { Router } from "../../../../src/engine/router.js"
import { authCredentialProblem, encodeAuth } from "../../../../src/protocol/client.js"
import * as Distribution from "../Distribution.js"
import { keyProblem, positiveFiniteMillis } from "../Key.js"
import * as MemcachedRing from "../MemcachedRing.js"
import type { MemcachedError } from "../MemcachedError.js"
import { withTls } from "../MemcachedTransport.js"
import * as ServerSpec from "../ServerSpec.js"
import * as Discovery from "./discovery.js"
import { makeMethods } from "./methods.js"
import { engineObserver, healthCounter, resolveTelemetry, samplePools, withTelemetry } from "./telemetry.js"
import type { MemcachedClient, MemcachedClientOptions } from "./models.js"

/** A configuration error naming the option (`path`) and what is wrong with it. */
export const invalid = (path: string, message: string, value?: unknown): Config.ConfigError =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer([path], new SchemaIssue.InvalidValue({ message }, value)))
  )

const positiveInt = (name: string, value: number | undefined, fallback: number): number | Config.ConfigError => {
  if (value === undefined) return fallback
  return Number.isInteger(value) && value > 0
    ? value
    : invalid(name, `${name} must be a positive integer, got ${value}`)
}

const millis = (name: string, value: Duration.Input | undefined, fallback: number): number | Config.ConfigError => {
  if (value === undefined) return fallback
  const ms = positiveFiniteMillis(value)
  return ms === undefined ? invalid(name, `${name} must be a positive finite duration, got ${String(value)}`) : ms
}

const isConfigError = (u: unknown): u is Config.ConfigError => u instanceof Config.ConfigError

const resolveServers = (
  servers: MemcachedClientOptions["servers"]
): ReadonlyArray<ServerSpec.ServerSpec> | Config.ConfigError => {
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
    if (typeof parsed === "string") return invalid(`servers[${i}]`, parsed)
    out.push(parsed)
  }
  const seen = new Set<string>()
  for (const s of out) {
    if (seen.has(s.name)) return invalid("servers", `server ${s.name} is listed twice`)
    seen.add(s.name)
  }
  return out
}

/** The engine's settings from the options, or the first invalid entry. */
const settingsOf = (options: MemcachedClientOptions): Settings | Config.ConfigError => {
  const fields = {
    connectTimeout: millis("connectTimeout", options.connectTimeout, 2000),
    timeout: millis("timeout", options.timeout, 5000),
    poolSize: positiveInt("poolSize", options.poolSize, 1),
    maxInFlight: positiveInt("maxInFlight", options.maxInFlight, 1024),
    maxQueued: positiveInt("maxQueued", options.maxQueued, 100_000),
    maxValueSize: positiveInt("maxValueSize", options.maxValueSize, 128 * 1024 * 1024),
    maxKeysPerGet: positiveInt("maxKeysPerGet", options.maxKeysPerGet, 100),
    failureLimit: positiveInt("failureLimit", options.failureLimit, 3),
    failureWindow: millis("failureWindow", options.failureWindow, 10_000),
    retryInterval: millis("retryInterval", options.retryInterval, 2_000),
    maxRetryInterval: millis("maxRetryInterval", options.maxRetryInterval, 60_000),
    flapWindow: millis("flapWindow", options.flapWindow, 30_000)
  }
  for (const v of Object.values(fields)) if (isConfigError(v)) return v
  const protocol = options.protocol ?? "auto"
  if (protocol !== "meta" && protocol !== "text" && protocol !== "auto") {
    return invalid("protocol", `protocol must be "meta", "text" or "auto", got ${String(protocol)}`)
  }
  return {
    ...(fields as { [K in keyof typeof fields]: number }),
    autoBatch: options.autoBatch ?? true,
    protocol,
    textProxy: options.textProxy === true
  }
}

/**
 * Ejection backoff as an Effect 4 `Schedule`: `retryInterval × 2ⁿ` (Schedule.exponential), capped at
 * `maxRetryInterval`. The engine's pool asks for the delay of its `flaps + 1`-th ejection through a plain
 * callback; the schedule is stepped without sleeping (`Schedule.toStep`), so this never blocks or fails.
 */
export const retryDelayOf = (retryInterval: number, maxRetryInterval: number) => {
  const schedule = Schedule.exponential(Duration.millis(retryInterval), 2)
  return (flaps: number): number => {
    const delay = Effect.runSync(Effect.gen(function*() {
      const step = yield* Schedule.toStep(schedule)
      let out: readonly [unknown, Duration.Duration] = yield* step(0, undefined)
      for (let i = 0; i < Math.min(flaps, 62); i++) out = yield* step(0, undefined)
      return out[1]
    }) as Effect.Effect<Duration.Duration>)
    return Math.min(Duration.toMillis(delay), maxRetryInterval)
  }
}

/**
 * Errors a retry can help with. `Ejected` only with failover `next`, where the retry goes to the
 * rebuilt ring; with `none` the server stays ejected and a retry would fail the same way at once.
 */
const transient = (failover: "none" | "next") => (e: MemcachedError): boolean =>
  e._tag === "MemcachedConnectionError" && e.reason !== "Overloaded" && e.reason !== "Tls" && e.reason !== "Auth" &&
  (failover === "next" || e.reason !== "Ejected")

/**
 * The encoded authentication command of the `auth` option, or a `Config.ConfigError` naming the entry
 * (never quoting the password).
 */
const authCommand = (auth: MemcachedClientOptions["auth"]): Uint8Array | undefined | Config.ConfigError => {
  if (auth === undefined) return undefined
  if (typeof auth.username !== "string") return invalid("auth.username", "auth.username must be a string")
  if (!Redacted.isRedacted(auth.password)) {
    return invalid("auth.password", "auth.password must be a Redacted string (Redacted.make or Config.Redacted)")
  }
  const password: unknown = Redacted.value(auth.password)
  if (typeof password !== "string") return invalid("auth.password", "auth.password must be a Redacted string")
  const userProblem = authCredentialProblem("username", auth.username)
  if (userProblem !== undefined) return invalid("auth.username", `auth.${userProblem}`)
  const passwordProblem = authCredentialProblem("password", password)
  if (passwordProblem !== undefined) return invalid("auth.password", `auth.${passwordProblem}`)
  return encodeAuth(auth.username, password)
}

/**
 * Builds a client in the current scope. Fails with a `Config.ConfigError` naming the invalid option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MemcachedClientOptions = {}
): Effect.Effect<MemcachedClient, Config.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.discovery !== undefined && options.servers !== undefined) {
      return yield* Effect.fail(
        invalid("servers", "servers and discovery are exclusive: discovery gives the server list")
      )
    }
    const listed = options.discovery === undefined ? resolveServers(options.servers) : []
    if (isConfigError(listed)) return yield* Effect.fail(listed)
    const settings = settingsOf(options)
    if (isConfigError(settings)) return yield* Effect.fail(settings)
    const failover = options.failover ?? "none"
    if (failover !== "none" && failover !== "next") {
      return yield* Effect.fail(invalid("failover", `failover must be "none" or "next", got ${String(failover)}`))
    }
    const keyPrefix = options.keyPrefix ?? ""
    if (typeof keyPrefix !== "string" || (keyPrefix !== "" && keyProblem(keyPrefix) !== undefined)) {
      return yield* Effect.fail(
        invalid("keyPrefix", `keyPrefix must be printable without spaces, got ${JSON.stringify(keyPrefix)}`)
      )
    }
    const distribution = options.distribution ?? Distribution.ketama()
    const telemetry = resolveTelemetry(options.telemetry)
    if (isConfigError(telemetry)) return yield* Effect.fail(telemetry)
    const auth = authCommand(options.auth)
    if (isConfigError(auth)) return yield* Effect.fail(auth)
    const { tlsOf, transport: tlsTransport } = withTls(options.transport, options.tls)
    const transport = withHandshake(tlsTransport, { auth }, (spec) => tlsOf(spec) !== undefined)
    const services = yield* Effect.context<never>()
    const runCallback = Effect.runCallbackWith(services)
    const clock = yield* Effect.clockWith(Effect.succeed)
    const timers: Timers = {
      now: () => clock.currentTimeMillisUnsafe(),
      schedule: (ms, f) => runCallback(Effect.sleep(ms), { onExit: (exit) => exit._tag === "Success" && f() })
    }
    const logAt = { debug: Effect.logDebug, info: Effect.logInfo, warning: Effect.logWarning } as const
    // The pools report health changes to the router, which is built over them right after.
    let router: Router<ServerSpec.ServerSpec> | undefined = undefined
    const discovery = options.discovery === undefined ? undefined : Discovery.resolve(options.discovery, {
      transport,
      connectTimeout: settings.connectTimeout,
      timeout: settings.timeout,
      timers
    })
    if (discovery !== undefined && Result.isFailure(discovery)) return yield* Effect.fail(discovery.failure)
    const servers = discovery === undefined ? [...listed] : yield* Discovery.initial(discovery.success)
    // Set when discovery runs: an ejection asks it to poll soon.
    let ejected: (() => void) | undefined = undefined
    const countHealth = healthCounter(telemetry, services)
    const events: PoolEvents = {
      log: (level, message, server) =>
        runCallback(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      healthChanged: (pool) => {
        router?.invalidate()
        countHealth?.(pool.spec.name, pool.health)
        if (pool.health === "ejected") ejected?.()
      },
      retryDelay: retryDelayOf(settings.retryInterval, settings.maxRetryInterval),
      observer: engineObserver(telemetry, services)
    }
    const makePool = (spec: ServerSpec.ServerSpec, i: number) => {
      const pool = new ServerPool(i, spec, transport, settings, timers, events)
      if (options.eager === true) pool.openAll()
      return pool
    }
    const pools = servers.map(makePool)
    router = new Router(servers, pools, distribution, failover)
    const membership = new Membership(servers, pools, router, makePool)
    yield* Effect.addFinalizer(() => Effect.sync(() => membership.shutdown()))
    if (discovery !== undefined) ejected = yield* Discovery.start(discovery.success, membership)
    const retry = options.retry === undefined ? undefined : {
      schedule: options.retry,
      all: options.retryNonIdempotent === true,
      while: transient(failover)
    }
    const client = makeMethods({ servers, pools, router, settings, timers, retry, keyPrefix })
    if (telemetry === undefined) return client
    yield* samplePools(telemetry, pools)
    return withTelemetry(client, { telemetry, servers, clock, services, protocolOf: (i) => pools[i]?.protocol })
  })

/**
 * The layer of {@link make}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <I>(
  tag: Context.Service<I, MemcachedClient>,
  options: MemcachedClientOptions
): Layer.Layer<I, Config.ConfigError> => Layer.effect(tag, make(options))

/**
 * The layer of {@link make} over options read from `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <I>(
  tag: Context.Service<I, MemcachedClient>,
  config: Config.Wrap<MemcachedClientOptions>
): Layer.Layer<I, Config.ConfigError> => Layer.effect(tag, Effect.flatMap(Config.unwrap(config), make))

/** An entry that may be absent (`undefined`), failing only when present and invalid. */
const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.option(config).pipe(Config.map(Option.getOrUndefined))

/**
 * The environment-driven configuration of the client (see `MemcachedClient.config`).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<MemcachedClientOptions> = Config.all({
  tls: optional(Config.Boolean("MEMCACHED_TLS")),
  auth: Config.all({
    username: Config.option(Config.String("MEMCACHED_USERNAME")),
    password: Config.option(Config.Redacted("MEMCACHED_PASSWORD"))
  }).pipe(Config.mapEffect(({ password, username }) =>
    Option.isSome(username) && Option.isSome(password)
      ? Effect.succeed({ username: username.value, password: password.value })
      : Option.isNone(username) && Option.isNone(password)
      ? Effect.succeed(undefined)
      : Effect.fail(
        invalid(
          Option.isNone(username) ? "MEMCACHED_USERNAME" : "MEMCACHED_PASSWORD",
          "MEMCACHED_USERNAME and MEMCACHED_PASSWORD go together"
        )
      )
  )),
  servers: ServerSpec.config("MEMCACHED_SERVERS").pipe(
    Config.withDefault([ServerSpec.make({ host: "127.0.0.1", port: 11211 })] as ReadonlyArray<ServerSpec.ServerSpec>)
  ),
  timeout: optional(Config.Duration("MEMCACHED_TIMEOUT")),
  connectTimeout: optional(Config.Duration("MEMCACHED_CONNECT_TIMEOUT")),
  poolSize: optional(Config.Int("MEMCACHED_POOL_SIZE")),
  distribution: optional(MemcachedRing.config("MEMCACHED_DISTRIBUTION"))
})
