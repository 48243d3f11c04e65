/**
 * The memcached client service: every command of the text protocol as a typed Effect, over one or
 * more servers, each key routed through the configured distribution.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { type Timers } from "./engine/connection.js"
import { ejectionBackoff, retryDelayOf } from "./client/backoff.js"
import { engineObserver, healthCounter, resolveTelemetry, samplePools, withTelemetry } from "./client/telemetry.js"
import * as Discovery from "./client/discovery.js"
import type { Retry } from "./client/context.js"
import { assemble } from "./client/assemble.js"
import { makeMethods } from "./client/methods.js"
import { checkOptions, transient } from "./client/options.js"
import { isConfigError } from "./edition.js"
import * as MemcachedRing from "./MemcachedRing.js"
import { withHandshake } from "./engine/handshake.js"
import { withTls } from "./MemcachedTransport.js"

import * as ServerSpec from "./ServerSpec.js"
import type { MemcachedClientOptions, MemcachedClient as MemcachedClientService } from "./client/models.js"

export type {
  AdminOptions,
  CallOptions,
  CasItem,
  Item,
  MemcachedClientOptions,
  MetaArithmeticOptions,
  MetaCounter,
  MetaDeleteOptions,
  MetaGetOptions,
  MetaKeyOptions,
  MetaSetOptions,
  MetaSetResult,
  PerServer,
  StoreOptions,
  Value,
  WriteResult
} from "./client/models.js"

/**
 * The client: every method validates its input before any byte is sent; each method's JSDoc (in
 * src/client/models.ts) says what it fails with. A cache miss is `Option.none()`, never an error.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemcachedClient extends MemcachedClientService {}

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
    const checked = checkOptions(options)
    if (isConfigError(checked)) return yield* Effect.fail(checked)
    const { auth, distribution, failover, keyPrefix, listed, settings } = checked
    const telemetry = resolveTelemetry(options.telemetry)
    if (isConfigError(telemetry)) return yield* Effect.fail(telemetry)
    const services = yield* Effect.context<never>()
    const { tlsOf, transport: tlsTransport } = withTls(options.transport, options.tls)
    const transport = withHandshake(tlsTransport, { auth }, (spec) => tlsOf(spec) !== undefined)
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
    const discovery = options.discovery === undefined ? undefined : Discovery.resolve(options.discovery, {
      transport,
      connectTimeout: settings.connectTimeout,
      timeout: settings.timeout,
      timers
    })
    if (discovery !== undefined && Either.isLeft(discovery)) return yield* Effect.fail(discovery.left)
    const servers = discovery === undefined ? [...listed] : yield* Discovery.initial(discovery.right)
    const { membership, onEjected, pools, router } = assemble({
      servers,
      transport,
      settings,
      timers,
      distribution,
      failover,
      eager: options.eager === true,
      log: (level, message, server) =>
        runFork(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      retryDelay: retryDelayOf(ejectionBackoff(settings.retryInterval, settings.maxRetryInterval)),
      observer: engineObserver(telemetry, services),
      countHealth: healthCounter(telemetry, services)
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => membership.shutdown()))
    if (discovery !== undefined) onEjected(yield* Discovery.start(discovery.right, membership))
    const retry: Retry | undefined = options.retry === undefined
      ? undefined
      : { schedule: options.retry, all: options.retryNonIdempotent === true, while: transient(failover) }
    const prefixed = makeMethods({ servers, pools, router, settings, timers, retry, keyPrefix })
    if (telemetry === undefined) return prefixed
    yield* samplePools(telemetry, pools)
    return withTelemetry(prefixed, { telemetry, servers, clock, services, protocolOf: (i) => pools[i]?.protocol })
  })

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
 * or `libmc`, see `MemcachedRing.config`; default ketama), `MEMCACHED_TLS` (`true` for TLS with the
 * system CAs), `MEMCACHED_USERNAME` and `MEMCACHED_PASSWORD` (ASCII authentication; the password is
 * read as `Redacted`; one without the other fails naming the missing one).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<MemcachedClientOptions> = Config.all({
  tls: Config.option(Config.boolean("MEMCACHED_TLS")).pipe(Config.map(Option.getOrUndefined)),
  auth: Config.all({
    username: Config.option(Config.string("MEMCACHED_USERNAME")),
    password: Config.option(Config.redacted("MEMCACHED_PASSWORD"))
  }).pipe(Config.mapOrFail(({ password, username }) =>
    Option.isSome(username) && Option.isSome(password)
      ? Either.right({ username: username.value, password: password.value })
      : Option.isNone(username) && Option.isNone(password)
      ? Either.right(undefined)
      : Either.left(
        ConfigError.MissingData(
          [Option.isNone(username) ? "MEMCACHED_USERNAME" : "MEMCACHED_PASSWORD"],
          "MEMCACHED_USERNAME and MEMCACHED_PASSWORD go together"
        )
      )
  )),
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
