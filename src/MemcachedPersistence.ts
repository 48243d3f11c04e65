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
 * @since 0.1.0
 */
import * as Persistence from "@effect/experimental/Persistence"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as MemcachedClient from "./MemcachedClient.js"
import * as NamespaceGeneration from "./NamespaceGeneration.js"

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

const ttlOf = (ttl: Option.Option<Duration.Duration>): Duration.Duration | undefined =>
  Option.isSome(ttl) && Duration.isFinite(ttl.value) ? ttl.value : undefined

const parse = (method: string, text: string) =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) => Persistence.PersistenceBackingError.make(method, error)
  })

const encode = (method: string, value: unknown) =>
  Effect.try({
    try: () => {
      const text = JSON.stringify(value)
      if (text === undefined) throw new TypeError(`${typeof value} is not JSON-serializable`)
      return text
    },
    catch: (error) => Persistence.PersistenceBackingError.make(method, error)
  })

const makeStore = (
  client: MemcachedClient.MemcachedClient,
  namespace: NamespaceGeneration.Namespace
): Persistence.BackingPersistenceStore => {
  const backing = (method: string) => (error: unknown) => Persistence.PersistenceBackingError.make(method, error)
  const utf8 = (item: MemcachedClient.Item) => Buffer.from(item.value).toString("utf8")
  return {
    get: (key) =>
      Effect.flatMap(namespace.key(key), (k) => client.get(k)).pipe(
        Effect.mapError(backing("get")),
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (item) => Effect.asSome(parse("get", utf8(item)))
        }))
      ),
    getMany: (keys) =>
      Effect.flatMap(
        namespace.keys(keys),
        (wire) => Effect.map(client.getMany(wire), (found) => wire.map((k) => found.get(k)))
      ).pipe(
        Effect.mapError(backing("getMany")),
        Effect.flatMap(
          Effect.forEach((item) =>
            item === undefined ? Effect.succeedNone : Effect.asSome(parse("getMany", utf8(item)))
          )
        )
      ),
    set: (key, value, ttl) =>
      Effect.flatMap(
        encode("set", value),
        (text) =>
          Effect.flatMap(namespace.key(key), (k) => client.set(k, text, { ttl: ttlOf(ttl) })).pipe(
            Effect.mapError(backing("set"))
          )
      ),
    setMany: (entries) =>
      Effect.gen(function*() {
        const wire = yield* Effect.mapError(namespace.keys(entries.map(([k]) => k)), backing("setMany"))
        const byTtl = new Map<number, Array<readonly [string, string]>>()
        for (let i = 0; i < entries.length; i++) {
          const [, value, ttl] = entries[i]!
          const d = ttlOf(ttl)
          const millis = d === undefined ? 0 : Duration.toMillis(d)
          const group = byTtl.get(millis) ?? []
          group.push([wire[i]!, yield* encode("setMany", value)])
          byTtl.set(millis, group)
        }
        for (const [millis, group] of byTtl) {
          const results = yield* client.setMany(group, { ttl: millis === 0 ? undefined : Duration.millis(millis) })
          for (const r of results.values()) if (Either.isLeft(r)) return yield* Effect.fail(backing("setMany")(r.left))
        }
      }),
    remove: (key) =>
      Effect.flatMap(namespace.key(key), (k) => client.delete(k)).pipe(
        Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.void),
        Effect.mapError(backing("remove"))
      ),
    clear: Effect.mapError(namespace.clear, backing("clear"))
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
      make: (storeId) =>
        Effect.sync(() =>
          makeStore(client, NamespaceGeneration.make(client, `${prefix}${storeId}`, { hashInvalidKeys: true }))
        )
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
