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
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Timers } from "../../../../src/engine/connection.js"
import { withHandshake } from "../../../../src/engine/handshake.js"
import * as MemcachedRing from "../MemcachedRing.js"
import { withTls } from "../MemcachedTransport.js"
import * as ServerSpec from "../ServerSpec.js"
import { invalidConfig, isConfigError } from "../edition.js"
import * as Discovery from "./discovery.js"
import { assemble } from "./assemble.js"
import { makeMethods } from "./methods.js"
import { checkOptions, transient } from "./options.js"
import { engineObserver, healthCounter, resolveTelemetry, samplePools, withTelemetry } from "./telemetry.js"
import type { MemcachedClient, MemcachedClientOptions } from "./models.js"

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
 * Builds a client in the current scope. Fails with a `Config.ConfigError` naming the invalid option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MemcachedClientOptions = {}
): Effect.Effect<MemcachedClient, Config.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = checkOptions(options)
    if (isConfigError(checked)) return yield* Effect.fail(checked)
    const { auth, distribution, failover, keyPrefix, listed, settings } = checked
    const telemetry = resolveTelemetry(options.telemetry)
    if (isConfigError(telemetry)) return yield* Effect.fail(telemetry)
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
    const discovery = options.discovery === undefined ? undefined : Discovery.resolve(options.discovery, {
      transport,
      connectTimeout: settings.connectTimeout,
      timeout: settings.timeout,
      timers
    })
    if (discovery !== undefined && Result.isFailure(discovery)) return yield* Effect.fail(discovery.failure)
    const servers = discovery === undefined ? [...listed] : yield* Discovery.initial(discovery.success)
    const { membership, onEjected, pools, router } = assemble({
      servers,
      transport,
      settings,
      timers,
      distribution,
      failover,
      eager: options.eager === true,
      log: (level, message, server) =>
        runCallback(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      retryDelay: retryDelayOf(settings.retryInterval, settings.maxRetryInterval),
      observer: engineObserver(telemetry, services),
      countHealth: healthCounter(telemetry, services)
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => membership.shutdown()))
    if (discovery !== undefined) onEjected(yield* Discovery.start(discovery.success, membership))
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
        invalidConfig(
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
