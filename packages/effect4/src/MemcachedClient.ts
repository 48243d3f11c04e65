/**
 * The memcached client service for Effect 4: every command of the text and meta protocols as a typed
 * Effect, over one or more servers, each key routed through the configured distribution. The engine
 * (connections, pipelining, health, routing) is the same effect-free engine the Effect 3 package uses.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { MemcachedClient } from "effect-memcached-effect4"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* MemcachedClient.MemcachedClient
 *   yield* client.set("greeting", "hello", { ttl: "1 minute" })
 *   return yield* client.getString("greeting")
 * }).pipe(Effect.provide(MemcachedClient.layer({ servers: "127.0.0.1:11211" })))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Config from "effect/Config"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { MemcachedClient as MemcachedClientShape, MemcachedClientOptions } from "./client/models.js"
import * as internal from "./client/make.js"

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
export type { MetaItem } from "../../../src/protocol/meta.js"

/**
 * The client service. Its methods (see `MemcachedClientShape` in the models for each one's failures)
 * validate their input before any byte is sent; a cache miss is `Option.none()`, never an error.
 *
 * ```ts
 * const client = yield* MemcachedClient
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class MemcachedClient extends Context.Service<MemcachedClient, MemcachedClientShape>()(
  "effect-memcached/MemcachedClient"
) {}

/**
 * The shape of the {@link MemcachedClient} service: every method and what it fails with.
 *
 * @since 0.1.0
 * @category models
 */
export type Service = MemcachedClientShape

/**
 * Builds a client in the current scope; closing the scope closes its connections and fails any request
 * still pending with `MemcachedConnectionError("Closed")`. Fails with a `Config.ConfigError` naming the
 * offending option when the options are invalid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: MemcachedClientOptions
) => Effect.Effect<MemcachedClientShape, Config.ConfigError, Scope.Scope> = internal.make

/**
 * A client built from options. Fails at construction with a `Config.ConfigError` naming the offending
 * option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemcachedClientOptions = {}): Layer.Layer<MemcachedClient, Config.ConfigError> =>
  internal.layer(MemcachedClient, options)

/**
 * A client whose options come from `Config` (each field a `Config`, or a plain value). Fails with a
 * `Config.ConfigError` naming the offending entry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Wrap<MemcachedClientOptions>
): Layer.Layer<MemcachedClient, Config.ConfigError> => internal.layerConfig(MemcachedClient, config)

/**
 * The environment-driven configuration: `MEMCACHED_SERVERS` (comma or space separated specs, default
 * `127.0.0.1:11211`), `MEMCACHED_TIMEOUT` and `MEMCACHED_CONNECT_TIMEOUT` (durations such as
 * `500 millis`), `MEMCACHED_POOL_SIZE`, `MEMCACHED_DISTRIBUTION` (a ring name such as `ketama:md5` or
 * `libmc`; default ketama), `MEMCACHED_TLS` (`true` for TLS with the system CAs), `MEMCACHED_USERNAME`
 * and `MEMCACHED_PASSWORD` (ASCII authentication; the password is read as `Redacted`). Fails with a
 * `Config.ConfigError` naming the entry (one of the credentials without the other names the missing one).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<MemcachedClientOptions> = internal.config

/**
 * {@link layerConfig} over {@link config}: the client configured from the environment. Fails with a
 * `Config.ConfigError` naming the offending entry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<MemcachedClient, Config.ConfigError> = internal.layerConfig(
  MemcachedClient,
  internal.config
)
