/**
 * Effect 4's `effect/persistence` over memcached: a `BackingPersistence` (get, getMany, set with TTL,
 * setMany, remove, clear, exactly as `Persistence.BackingPersistenceStore` defines them) so
 * `Persistence.layer`, `PersistedCache` and friends keep their results in memcached.
 *
 * - Each store id is a namespace (`<prefix><storeId>`, see `NamespaceGeneration`): `clear` clears only
 *   that store, never the whole server.
 * - Values are JSON (as the Redis and SQL backing stores keep them); keys are the store's `PrimaryKey`
 *   strings, and any string works: keys that are not valid memcached keys are stored under their SHA-256.
 * - TTLs round up to whole seconds (memcached's granularity); `undefined` (what `Persistence.layer`
 *   passes for an infinite TTL) never expires. Zero and negative TTLs never reach a backing store
 *   (`Persistence.layer` drops those writes).
 * - `getMany` is one round trip per server; `setMany` one pipelined batch per distinct TTL.
 *
 * Every operation fails with `Persistence.PersistenceError` (its `cause` is the `MemcachedError`, or
 * the JSON error for a value that cannot be encoded or an entry that cannot be decoded).
 *
 * The store's logic (namespaces, JSON, TTLs, batching) is the root's src/integration/persistence.ts,
 * shared with the Effect 3 edition; this module is the `effect/persistence` glue.
 *
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Persistence from "effect/persistence/Persistence"
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

const failure = (method: string, storeId: string) => (cause: unknown) =>
  new Persistence.PersistenceError({
    message: `memcached backing store ${storeId}: ${method} failed${
      cause instanceof Error && cause.message !== "" ? `: ${cause.message}` : ""
    }`,
    cause
  })

const objectsOnly = (value: unknown): void => {
  if (typeof value !== "object" || value === null) throw new TypeError("stored entry is not a JSON object")
}

const makeStore = (
  client: MemcachedClient.Service,
  storeId: string,
  namespace: string
): Persistence.BackingPersistenceStore => {
  const store = Backing.make(client, namespace, { fail: (method) => failure(method, storeId), check: objectsOnly })
  return {
    // `check` admits only objects, so every entry read is one.
    get: (key) => Effect.map(store.get(key), (found) => Option.getOrUndefined(found) as object | undefined),
    getMany: (keys) =>
      Effect.map(
        store.getMany(keys),
        (found) =>
          found.map((o) => Option.getOrUndefined(o) as object | undefined) as Arr.NonEmptyArray<object | undefined>
      ),
    set: store.set,
    setMany: store.setMany,
    remove: store.remove,
    clear: store.clear
  }
}

/**
 * Builds the backing persistence over the client in context. Never fails; the stores' operations fail
 * with `Persistence.PersistenceError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Persistence.BackingPersistence["Service"], never, MemcachedClient.MemcachedClient> =>
  Effect.map(MemcachedClient.MemcachedClient, (client) => {
    const prefix = options.prefix ?? "persistence:"
    return Persistence.BackingPersistence.of({
      make: (storeId) => Effect.sync(() => makeStore(client, storeId, `${prefix}${storeId}`))
    })
  })

/**
 * The memcached `BackingPersistence` as a layer over the client in context. Never fails to build.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBacking = (
  options: Options = {}
): Layer.Layer<Persistence.BackingPersistence, never, MemcachedClient.MemcachedClient> =>
  Layer.effect(Persistence.BackingPersistence)(make(options))

/**
 * `Persistence.Persistence` (what `PersistedCache` needs) over the memcached backing store. Never fails
 * to build; its operations fail with `Persistence.PersistenceError` (or a `SchemaError` for a value its
 * schema cannot encode).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Persistence.Persistence, never, MemcachedClient.MemcachedClient> =>
  Persistence.layer.pipe(Layer.provide(layerBacking(options)))
