/**
 * `@effect/experimental`'s `Persistence` over memcached: a `BackingPersistence` (get, getMany, set
 * with TTL, setMany, remove, clear) so `ResultPersistence`, `PersistedCache` and friends keep their
 * results in memcached.
 *
 * - Each store id is a namespace (`<prefix><storeId>`, see `NamespaceGeneration`): `clear` clears only
 *   that store, never the whole server.
 * - Values are JSON (as the Redis backing store does); keys are the store's `PrimaryKey` strings, and
 *   any string works: keys that are not valid memcached keys are stored under their SHA-256.
 * - TTLs round up to whole seconds (memcached's granularity); no TTL never expires.
 * - `getMany` is one round trip per server.
 *
 * Every operation fails with `PersistenceBackingError` (its `cause` is the `MemcachedError`, or the
 * JSON error for a value that cannot be encoded or an entry that cannot be decoded).
 *
 * The store's logic (namespaces, JSON, TTLs, batching) is src/integration/persistence.ts, shared with the
 * Effect 4 edition; this module is the `@effect/experimental` glue.
 *
 * @since 0.1.0
 */
import * as Persistence from "@effect/experimental/Persistence"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Backing from "./integration/persistence.js"
import * as MemcachedClient from "./MemcachedClient.js"

/**
 * Options of the memcached backing store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Prefix of every store's namespace. Default `"persistence:"`. */
  readonly prefix?: string | undefined
}

const backing = (method: string) => (error: unknown) => Persistence.PersistenceBackingError.make(method, error)

const ttlOf = (ttl: Option.Option<Duration.Duration>): Duration.Duration | undefined => Option.getOrUndefined(ttl)

const makeStore = (client: MemcachedClient.MemcachedClient, namespace: string): Persistence.BackingPersistenceStore => {
  const store = Backing.make(client, namespace, { fail: backing })
  return {
    get: store.get,
    getMany: store.getMany,
    set: (key, value, ttl) => store.set(key, value, ttlOf(ttl)),
    setMany: (entries) => store.setMany(entries.map(([key, value, ttl]) => [key, value, ttlOf(ttl)] as const)),
    remove: store.remove,
    clear: store.clear
  }
}

/**
 * Builds the backing persistence over the client in context. Never fails; the stores' operations fail
 * with `PersistenceBackingError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Persistence.BackingPersistence, never, MemcachedClient.MemcachedClient> =>
  Effect.map(MemcachedClient.MemcachedClient, (client) => {
    const prefix = options.prefix ?? "persistence:"
    return Persistence.BackingPersistence.of({
      [Persistence.BackingPersistenceTypeId]: Persistence.BackingPersistenceTypeId,
      make: (storeId) => Effect.sync(() => makeStore(client, `${prefix}${storeId}`))
    })
  })

/**
 * The memcached `BackingPersistence` as a layer over the client in context. Never fails to build.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Persistence.BackingPersistence, never, MemcachedClient.MemcachedClient> =>
  Layer.effect(Persistence.BackingPersistence, make(options))

/**
 * `ResultPersistence` (what `PersistedCache` needs) over the memcached backing store. Never fails to
 * build; its operations fail with `PersistenceError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerResult = (
  options: Options = {}
): Layer.Layer<Persistence.ResultPersistence, never, MemcachedClient.MemcachedClient> =>
  Persistence.layerResult.pipe(Layer.provide(layer(options)))
