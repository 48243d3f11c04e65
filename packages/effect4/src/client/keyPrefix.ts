/**
 * The `keyPrefix` client option: a view of a client in which every key is `prefix + key` on the wire
 * and in placement, and every key handed back (getMany, bulk results, `metaGet`'s `key`) is without the
 * prefix. Typed as the full service, so a method added to the client and not here fails to compile.
 * Built only when a prefix is set: the default path has no wrapper.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MemcachedClient } from "./models.js"

const unprefixMap = <A>(prefix: string, map: ReadonlyMap<string, A>): ReadonlyMap<string, A> => {
  const out = new Map<string, A>()
  for (const [k, v] of map) out.set(k.startsWith(prefix) ? k.slice(prefix.length) : k, v)
  return out
}

/**
 * `client` with every key prefixed by `prefix`. Keys are validated with their prefix (the 250-byte
 * limit counts it), so each method fails exactly as the client's does.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withKeyPrefix = (c: MemcachedClient, prefix: string): MemcachedClient => {
  const p = (key: string) => prefix + key
  const ps = (keys: Iterable<string>): Array<string> => Array.from(keys, p)
  return {
    servers: c.servers,
    serverFor: (key) => c.serverFor(p(key)),
    get: (key, o) => c.get(p(key), o),
    getString: (key, o) => c.getString(p(key), o),
    gets: (key, o) => c.gets(p(key), o),
    getMany: (keys, o) => Effect.map(c.getMany(ps(keys), o), (m) => unprefixMap(prefix, m)),
    setMany: (entries, o) =>
      Effect.map(c.setMany(Array.from(entries, ([k, v]) => [p(k), v] as const), o), (m) => unprefixMap(prefix, m)),
    deleteMany: (keys, o) => Effect.map(c.deleteMany(ps(keys), o), (m) => unprefixMap(prefix, m)),
    touchMany: (keys, ttl, o) => Effect.map(c.touchMany(ps(keys), ttl, o), (m) => unprefixMap(prefix, m)),
    gat: (key, ttl, o) => c.gat(p(key), ttl, o),
    gats: (key, ttl, o) => c.gats(p(key), ttl, o),
    set: (key, v, o) => c.set(p(key), v, o),
    add: (key, v, o) => c.add(p(key), v, o),
    replace: (key, v, o) => c.replace(p(key), v, o),
    append: (key, v, o) => c.append(p(key), v, o),
    prepend: (key, v, o) => c.prepend(p(key), v, o),
    cas: (key, v, cas, o) => c.cas(p(key), v, cas, o),
    delete: (key, o) => c.delete(p(key), o),
    touch: (key, ttl, o) => c.touch(p(key), ttl, o),
    incr: (key, d, o) => c.incr(p(key), d, o),
    decr: (key, d, o) => c.decr(p(key), d, o),
    flushAll: c.flushAll,
    version: c.version,
    stats: c.stats,
    verbosity: c.verbosity,
    protocols: c.protocols,
    metaGet: (key, o) =>
      Effect.map(
        c.metaGet(p(key), o),
        Option.map((item) =>
          item.key !== undefined && item.key.startsWith(prefix) ? { ...item, key: item.key.slice(prefix.length) } : item
        )
      ),
    metaSet: (key, v, o) => c.metaSet(p(key), v, o),
    metaDelete: (key, o) => c.metaDelete(p(key), o),
    metaArithmetic: (key, o) => c.metaArithmetic(p(key), o),
    metaDebug: (key, o) => c.metaDebug(p(key), o)
  }
}
