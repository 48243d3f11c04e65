/**
 * Key distribution: which server a key goes to, reproducing real memcached clients exactly (libmemcached /
 * pylibmc / php-memcached ketama, OMcache, libmc, pymemcache's rendezvous hashing, npm `hashring` as used by
 * node-memcached, and libmemcached's modula).
 *
 * A {@link Distribution} builds a {@link Placement} for a list of servers; `placement.serverFor(key)` is a pure,
 * synchronous function returning an index into that list. The placement computation is the engine's
 * (src/engine/distribution.ts, no Effect), shared by every edition; this module is its public face and adds
 * the `Either` form of {@link fromString}.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Engine from "./engine/distribution.js"

export {
  type Continuum,
  type Distribution,
  hashring,
  ketama,
  type KetamaOptions,
  ketamaWeighted,
  libmc,
  type LibmcHash,
  libmemcached,
  libmemcachedPointName,
  libmemcachedWeightedPoints,
  lookup,
  modula,
  omcache,
  type OmcacheVariant,
  type Placement,
  placementFor,
  pymemcacheNodeName,
  rendezvous,
  serverFor
} from "./engine/distribution.js"

/**
 * Parses a distribution setting such as the value of `MEMCACHED_DISTRIBUTION`:
 * `ketama[:hash]`, `ketama_weighted`, `ketama_spy`, `ketama_weighted_spy`, `modula[:hash]`,
 * `omcache[:ketama|weighted|pre1010]`, `libmc[:md5|fnv1_32|fnv1a_32|crc_32]`, `rendezvous`,
 * `hashring[:defaultPort]`. Hash names as in libmemcached/pylibmc (`default`, `md5`, `crc`, `fnv1a_32`, ...).
 * Fails (Left) with a description of the problem for unknown names or options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromString = (input: string): Either.Either<Engine.Distribution, string> => {
  const r = Engine.fromString(input)
  return typeof r === "string" ? Either.left(r) : Either.right(r)
}
