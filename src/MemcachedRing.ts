/**
 * The key distribution used by the client, as a service: provide one of the layers below to choose which
 * memcached client's server selection to reproduce.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Distribution from "./Distribution.js"
import type * as Hash from "./Hash.js"

/**
 * The {@link Distribution.Distribution} the client uses to pick a server for each key. The client calls
 * `build(liveServers)` and rebuilds without ejected servers.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemcachedRing extends Context.Tag("effect-memcached/MemcachedRing")<
  MemcachedRing,
  Distribution.Distribution
>() {}

/**
 * libmemcached ketama with the default one-at-a-time hash (pylibmc `{"ketama": True}`, php-memcached
 * `OPT_DISTRIBUTION = DISTRIBUTION_CONSISTENT`). The default.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<MemcachedRing> = Layer.succeed(MemcachedRing, Distribution.ketama())

/**
 * libmemcached ketama with another key hash (pylibmc `{"ketama": True, "hash": ...}`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerKetama = (options: Distribution.KetamaOptions = {}): Layer.Layer<MemcachedRing> =>
  Layer.succeed(MemcachedRing, Distribution.ketama(options))

/**
 * libmemcached `KETAMA_WEIGHTED` (pylibmc `{"ketama_weighted": True}`, php-memcached
 * `OPT_LIBKETAMA_COMPATIBLE`): 160 md5 points per server scaled by weight, md5 keys.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerKetamaWeighted: Layer.Layer<MemcachedRing> = Layer.succeed(
  MemcachedRing,
  Distribution.ketamaWeighted()
)

/**
 * libmemcached modula: `hash(key) % servers` (default one-at-a-time).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerModula = (hash: Hash.HashName = "one_at_a_time"): Layer.Layer<MemcachedRing> =>
  Layer.succeed(MemcachedRing, Distribution.modula({ hash }))

/**
 * OMcache's distributions (`"ketama"` default, `"weighted"`, `"pre1010"`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOmcache = (variant: Distribution.OmcacheVariant = "ketama"): Layer.Layer<MemcachedRing> =>
  Layer.succeed(MemcachedRing, Distribution.omcache({ variant }))

/**
 * douban/libmc's continuum with the given key hash (default md5); honours `host:port alias` specs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLibmc = (hash: Distribution.LibmcHash = "md5"): Layer.Layer<MemcachedRing> =>
  Layer.succeed(MemcachedRing, Distribution.libmc({ hash }))

/**
 * pymemcache `HashClient`'s rendezvous hashing.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRendezvous: Layer.Layer<MemcachedRing> = Layer.succeed(MemcachedRing, Distribution.rendezvous())

/**
 * npm `hashring` as used by node-memcached; pass `defaultPort` (11211) when the node-memcached server strings
 * are written without a port.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHashring = (defaultPort?: number): Layer.Layer<MemcachedRing> =>
  Layer.succeed(MemcachedRing, Distribution.hashring({ defaultPort }))

/**
 * A `Config` reading a distribution setting (see {@link Distribution.fromString}: `ketama`, `ketama:md5`,
 * `ketama_weighted`, `modula:crc`, `omcache:pre1010`, `libmc:fnv1a_32`, `rendezvous`, `hashring:11211`, ...)
 * from the variable `name`. Fails with `ConfigError.InvalidData` for an unknown setting.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name = "MEMCACHED_DISTRIBUTION"): Config.Config<Distribution.Distribution> =>
  Config.mapOrFail(Config.string(name), (s) =>
    Either.mapLeft(Distribution.fromString(s), (problem) => ConfigError.InvalidData([], problem)))

/**
 * Reads the distribution from `MEMCACHED_DISTRIBUTION` (or `name`), defaulting to libmemcached ketama when
 * unset. Fails to build with a `ConfigError` naming the bad value.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (name = "MEMCACHED_DISTRIBUTION"): Layer.Layer<MemcachedRing, ConfigError.ConfigError> =>
  Layer.effect(MemcachedRing, Config.withDefault(config(name), Distribution.ketama()))
