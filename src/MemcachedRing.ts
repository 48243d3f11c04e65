/**
 * Which memcached client's server selection to reproduce. A ring is a plain value given to the client
 * as its `distribution` option — there is no ring service or layer, so a ring can never be provided
 * beside a client and silently ignored (issue 11.4):
 *
 * ```ts
 * MemcachedClient.layer({ servers, distribution: MemcachedRing.libmc({ hash: "md5" }) })
 * ```
 *
 * The default (no `distribution`) is libmemcached ketama, weighted when any server has a weight > 1.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Distribution from "./Distribution.js"

export {
  /** libmemcached ketama (the default; pylibmc `{"ketama": True}`); `{ hash }` picks another key hash. */
  ketama,
  /** libmemcached KETAMA_WEIGHTED (php-memcached `OPT_LIBKETAMA_COMPATIBLE`). */
  ketamaWeighted,
  /** libmemcached modula (not consistent). */
  modula,
  /** OMcache. */
  omcache,
  /** douban/libmc. */
  libmc,
  /** pymemcache HashClient (rendezvous). */
  rendezvous,
  /** node-memcached (npm hashring). */
  hashring,
  /** Parses `ketama:md5`, `libmc:crc_32`, … (see {@link config}). */
  fromString
} from "./Distribution.js"

/**
 * A ring named by a `Config` string (`MEMCACHED_DISTRIBUTION` by default): `ketama[:hash]`,
 * `ketama_weighted`, `modula[:hash]`, `omcache[:variant]`, `libmc[:hash]`, `rendezvous`,
 * `hashring[:defaultPort]`. Fails with a `ConfigError` naming the entry when it is not one of these.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name = "MEMCACHED_DISTRIBUTION"): Config.Config<Distribution.Distribution> =>
  Config.mapOrFail(
    Config.string(name),
    (s) => Either.mapLeft(Distribution.fromString(s), (problem) => ConfigError.InvalidData([], problem))
  )
