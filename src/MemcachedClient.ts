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
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Distribution from "./Distribution.js"
import { type Timers } from "./engine/connection.js"
import { ejectionBackoff, retryDelayOf } from "./client/backoff.js"
import { type PoolEvents, ServerPool, type Settings } from "./engine/pool.js"
import { Membership } from "./engine/membership.js"
import { Router } from "./engine/router.js"
import { makeBulkWrites } from "./client/bulkWrites.js"
import { makeMetaMethods } from "./client/metaMethods.js"
import { withKeyPrefix } from "./client/keyPrefix.js"
import { engineObserver, healthCounter, resolveTelemetry, samplePools, withTelemetry } from "./client/telemetry.js"
import { makeAdmin } from "./client/admin.js"
import * as Discovery from "./client/discovery.js"
import { makeContext, type Retry } from "./client/context.js"
import { makeKeyCommands } from "./client/keyed.js"
import { makeReads } from "./client/reads.js"
import { makeStores } from "./client/writes.js"
import { positiveFiniteMillis, validateKey } from "./Key.js"
import { type MemcachedError } from "./MemcachedError.js"
import type { Policy } from "./MemcachedPolicy.js"
import * as MemcachedRing from "./MemcachedRing.js"
import * as Redacted from "effect/Redacted"
import { withHandshake } from "./engine/handshake.js"
import { withTls } from "./MemcachedTransport.js"
import { authCredentialProblem, encodeAuth } from "./protocol/client.js"

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

const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

const positiveInt = (name: string, value: number | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  return Number.isInteger(value) && value > 0
    ? value
    : invalid(name, `${name} must be a positive integer, got ${value}`)
}

const millis = (
  name: string,
  value: Duration.DurationInput | undefined,
  fallback: number
): number | ConfigError.ConfigError => {
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
    if (Either.isLeft(parsed)) {
      return invalid(`servers[${i}]`, `invalid server ${JSON.stringify(entry)}: ${parsed.left}`)
    }
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
    if (options.discovery !== undefined && options.servers !== undefined) {
      return yield* Effect.fail(
        invalid("servers", "servers and discovery are exclusive: discovery gives the server list")
      )
    }
    const listed = options.discovery === undefined ? resolveServers(options.servers) : []
    if (isConfigError(listed)) return yield* Effect.fail(listed)
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
    const keyPrefix = options.keyPrefix ?? ""
    if (typeof keyPrefix !== "string" || (keyPrefix !== "" && validateKey(keyPrefix) !== undefined)) {
      return yield* Effect.fail(
        invalid("keyPrefix", `keyPrefix must be printable without spaces, got ${JSON.stringify(keyPrefix)}`)
      )
    }
    const protocol = options.protocol ?? "auto"
    if (protocol !== "meta" && protocol !== "text" && protocol !== "auto") {
      return yield* Effect.fail(
        invalid("protocol", `protocol must be "meta", "text" or "auto", got ${String(protocol)}`)
      )
    }
    const telemetry = resolveTelemetry(options.telemetry)
    if (isConfigError(telemetry)) return yield* Effect.fail(telemetry)
    const services = yield* Effect.context<never>()
    const settings = { ...fields, ...health, protocol, textProxy: options.textProxy === true } as Settings
    const distribution = options.distribution ?? Distribution.ketama()
    const auth = authCommand(options.auth)
    if (isConfigError(auth)) return yield* Effect.fail(auth)
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
    // The pools report health changes to the router, which is built over them right after.
    let router: Router<ServerSpec.ServerSpec> | undefined = undefined
    const discovery = options.discovery === undefined ? undefined : Discovery.resolve(options.discovery, {
      transport,
      connectTimeout: settings.connectTimeout,
      timeout: settings.timeout,
      timers
    })
    if (discovery !== undefined && Either.isLeft(discovery)) return yield* Effect.fail(discovery.left)
    const servers = discovery === undefined ? [...listed] : yield* Discovery.initial(discovery.right)
    // Set when discovery runs: an ejection asks it to poll soon.
    let ejected: (() => void) | undefined = undefined
    const countHealth = healthCounter(telemetry, services)
    const events: PoolEvents = {
      log: (level, message, server) =>
        runFork(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      healthChanged: (pool) => {
        router?.invalidate()
        countHealth?.(pool.spec.name, pool.health)
        if (pool.health === "ejected") ejected?.()
      },
      retryDelay: retryDelayOf(ejectionBackoff(settings.retryInterval, settings.maxRetryInterval)),
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
    if (discovery !== undefined) ejected = yield* Discovery.start(discovery.right, membership)

    const retry: Retry | undefined = policy.retry === undefined
      ? undefined
      : { schedule: policy.retry, all: policy.retryNonIdempotent === true, while: transient(failover) }
    const client = makeClient(servers, pools, router, settings, timers, retry)
    const prefixed = keyPrefix === "" ? client : withKeyPrefix(client, keyPrefix)
    if (telemetry === undefined) return prefixed
    yield* samplePools(telemetry, pools)
    return withTelemetry(prefixed, { telemetry, servers, clock, services, protocolOf: (i) => pools[i]?.protocol })
  })

/**
 * The encoded authentication command of the `auth` option, or a `ConfigError` naming the entry (never
 * quoting the password).
 */
const authCommand = (auth: MemcachedClientOptions["auth"]): Uint8Array | undefined | ConfigError.ConfigError => {
  if (auth === undefined) return undefined
  if (typeof auth.username !== "string") return invalid("auth.username", "auth.username must be a string")
  if (!Redacted.isRedacted(auth.password)) {
    return invalid("auth.password", "auth.password must be a Redacted string (Redacted.make or Config.redacted)")
  }
  const password = Redacted.value(auth.password)
  if (typeof password !== "string") return invalid("auth.password", "auth.password must be a Redacted string")
  const userProblem = authCredentialProblem("username", auth.username)
  if (userProblem !== undefined) return invalid("auth.username", `auth.${userProblem}`)
  const passwordProblem = authCredentialProblem("password", password)
  if (passwordProblem !== undefined) return invalid("auth.password", `auth.${passwordProblem}`)
  return encodeAuth(auth.username, password)
}

/**
 * Errors a retry can help with. `Ejected` only with failover `next`, where the retry goes to the
 * rebuilt ring; with `none` the server stays ejected and a retry would fail the same way at once.
 */
const transient = (failover: "none" | "next") => (e: MemcachedError): boolean =>
  e._tag === "MemcachedConnectionError" && e.reason !== "Overloaded" && e.reason !== "Tls" && e.reason !== "Auth" &&
  (failover === "next" || e.reason !== "Ejected")

const makeClient = (
  servers: ReadonlyArray<ServerSpec.ServerSpec>,
  pools: ReadonlyArray<ServerPool<ServerSpec.ServerSpec>>,
  router: Router<ServerSpec.ServerSpec>,
  settings: Settings,
  timers: Timers,
  retry: Retry | undefined
): MemcachedClient => {
  const ctx = makeContext(servers, pools, router, settings, timers, retry)
  const { serverFor } = ctx
  return MemcachedClient.of({
    servers,
    serverFor,
    ...makeBulkWrites(ctx),
    ...makeReads(ctx),
    ...makeStores(ctx),
    ...makeKeyCommands(ctx),
    ...makeAdmin(ctx),
    ...makeMetaMethods(ctx)
  })
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
