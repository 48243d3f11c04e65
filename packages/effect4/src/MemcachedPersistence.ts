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
 * @since 0.1.0
 */
import type * as Arr from "effect/Array"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Persistence from "effect/persistence/Persistence"
import * as Result from "effect/Result"
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

const failure = (method: string, storeId: string) => (cause: unknown) =>
  new Persistence.PersistenceError({
    message: `memcached backing store ${storeId}: ${method} failed${
      cause instanceof Error && cause.message !== "" ? `: ${cause.message}` : ""
    }`,
    cause
  })

const finiteTtl = (ttl: Duration.Duration | undefined): Duration.Duration | undefined =>
  ttl !== undefined && Duration.isFinite(ttl) ? ttl : undefined

const makeStore = (
  client: MemcachedClient.Service,
  storeId: string,
  namespace: NamespaceGeneration.Namespace
): Persistence.BackingPersistenceStore => {
  const fail = (method: string) => failure(method, storeId)
  const parse = (method: string, item: MemcachedClient.Item): Effect.Effect<object, Persistence.PersistenceError> =>
    Effect.try({
      try: () => {
        const value: unknown = JSON.parse(Buffer.from(item.value).toString("utf8"))
        if (typeof value !== "object" || value === null) throw new TypeError("stored entry is not a JSON object")
        return value
      },
      catch: fail(method)
    })
  const encode = (method: string, value: object): Effect.Effect<string, Persistence.PersistenceError> =>
    Effect.try({
      try: () => {
        const text = JSON.stringify(value)
        if (text === undefined) throw new TypeError(`${typeof value} is not JSON-serializable`)
        return text
      },
      catch: fail(method)
    })
  return {
    get: (key) =>
      Effect.flatMap(namespace.key(key), (k) => client.get(k)).pipe(
        Effect.mapError(fail("get")),
        Effect.flatMap((found) => Option.isNone(found) ? Effect.undefined : parse("get", found.value))
      ),
    getMany: (keys) =>
      Effect.flatMap(
        namespace.keys(keys),
        (wire) => Effect.map(client.getMany(wire), (found) => wire.map((k) => found.get(k)))
      ).pipe(
        Effect.mapError(fail("getMany")),
        Effect.flatMap((items) =>
          Effect.forEach(items, (item) => item === undefined ? Effect.undefined : parse("getMany", item))
        )
      ) as Effect.Effect<Arr.NonEmptyArray<object | undefined>, Persistence.PersistenceError>,
    set: (key, value, ttl) =>
      Effect.flatMap(
        encode("set", value),
        (text) =>
          Effect.flatMap(namespace.key(key), (k) => client.set(k, text, { ttl: finiteTtl(ttl) })).pipe(
            Effect.mapError(fail("set"))
          )
      ),
    setMany: (entries) =>
      Effect.gen(function*() {
        const wire = yield* Effect.mapError(namespace.keys(entries.map(([k]) => k)), fail("setMany"))
        const byTtl = new Map<number, Array<readonly [string, string]>>()
        for (let i = 0; i < entries.length; i++) {
          const [, value, ttl] = entries[i]!
          const d = finiteTtl(ttl)
          const millis = d === undefined ? 0 : Duration.toMillis(d)
          const group = byTtl.get(millis) ?? []
          group.push([wire[i]!, yield* encode("setMany", value)])
          byTtl.set(millis, group)
        }
        for (const [millis, group] of byTtl) {
          const results = yield* client.setMany(group, { ttl: millis === 0 ? undefined : Duration.millis(millis) })
          for (const r of results.values()) {
            if (Result.isFailure(r)) return yield* Effect.fail(fail("setMany")(r.failure))
          }
        }
      }),
    remove: (key) =>
      Effect.flatMap(namespace.key(key), (k) => client.delete(k)).pipe(
        Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.void),
        Effect.mapError(fail("remove"))
      ),
    clear: Effect.mapError(namespace.clear, fail("clear"))
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
      make: (storeId) =>
        Effect.sync(() =>
          makeStore(
            client,
            storeId,
            NamespaceGeneration.make(client, `${prefix}${storeId}`, { hashInvalidKeys: true })
          )
        )
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
