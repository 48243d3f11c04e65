/**
 * The memcached backing store of persistence, written once for both editions: each edition's
 * `MemcachedPersistence` wraps these operations in its `BackingPersistenceStore` (Effect 3:
 * `@effect/experimental`, Option-shaped reads and TTLs, `PersistenceBackingError`; Effect 4:
 * `effect/persistence`, `undefined`-shaped, `PersistenceError`) and supplies its error constructor.
 *
 * - Each store is a namespace (namespace generations): `clear` clears only that store.
 * - Values are JSON; keys that are not valid memcached keys are stored under their SHA-256.
 * - TTLs round up to whole seconds (memcached's granularity); an infinite or absent TTL never expires.
 * - `getMany` is one round trip per server; `setMany` one pipelined batch per distinct TTL.
 *
 * @since 0.1.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MemcachedClient } from "../client/models.js"
import { match } from "../edition.js"
import type { Item } from "../MemcachedClient.js"
import * as NamespaceGeneration from "../NamespaceGeneration.js"

/**
 * How an edition builds the store: `fail(method)` wraps a cause (a `MemcachedError`, or the JSON error
 * of a value that cannot be encoded or an entry that cannot be decoded); `check` rejects (throws for) a
 * decoded entry the edition does not accept.
 *
 * @since 0.1.0
 * @internal
 */
export interface Edge<E> {
  readonly fail: (method: string) => (cause: unknown) => E
  readonly check?: ((value: unknown) => void) | undefined
}

/**
 * A TTL that expires: the finite `ttl`, else `undefined` (never expires). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const finiteTtl = (ttl: Duration.Duration | undefined): Duration.Duration | undefined =>
  ttl !== undefined && Duration.isFinite(ttl) ? ttl : undefined

/**
 * The operations of the store `<prefix><storeId>` over `client`. Never fails to build; every operation
 * fails only with `E`.
 *
 * @since 0.1.0
 * @internal
 */
export const make = <E>(client: MemcachedClient, namespaceName: string, edge: Edge<E>) => {
  const namespace = NamespaceGeneration.make(client, namespaceName, { hashInvalidKeys: true })
  const { fail } = edge
  const parse = (method: string, item: Item): Effect.Effect<unknown, E> =>
    Effect.try({
      try: () => {
        const value: unknown = JSON.parse(Buffer.from(item.value).toString("utf8"))
        edge.check?.(value)
        return value
      },
      catch: fail(method)
    })
  const encode = (method: string, value: unknown): Effect.Effect<string, E> =>
    Effect.try({
      try: () => {
        const text = JSON.stringify(value)
        if (text === undefined) throw new TypeError(`${typeof value} is not JSON-serializable`)
        return text
      },
      catch: fail(method)
    })

  /** The entry under `key`, if any. */
  const get = (key: string): Effect.Effect<Option.Option<unknown>, E> =>
    Effect.flatMap(namespace.key(key), (k) => client.get(k)).pipe(
      Effect.mapError(fail("get")),
      Effect.flatMap((found) =>
        Option.isNone(found) ? Effect.succeed(Option.none()) : Effect.map(parse("get", found.value), Option.some)
      )
    )

  /** The entries under `keys`, in order (`Option.none()` for a miss). */
  const getMany = (keys: ReadonlyArray<string>): Effect.Effect<Array<Option.Option<unknown>>, E> =>
    Effect.flatMap(
      namespace.keys(keys),
      (wire) => Effect.map(client.getMany(wire), (found) => wire.map((k) => found.get(k)))
    ).pipe(
      Effect.mapError(fail("getMany")),
      Effect.flatMap((items) =>
        Effect.forEach(items, (item) =>
          item === undefined ? Effect.succeed(Option.none()) : Effect.map(parse("getMany", item), Option.some))
      )
    )

  /** Stores `value` under `key` for `ttl` (`undefined` or infinite: never expires). */
  const set = (key: string, value: unknown, ttl: Duration.Duration | undefined): Effect.Effect<void, E> =>
    Effect.flatMap(
      encode("set", value),
      (text) =>
        Effect.flatMap(namespace.key(key), (k) => client.set(k, text, { ttl: finiteTtl(ttl) })).pipe(
          Effect.mapError(fail("set"))
        )
    )

  /** Stores every entry, one pipelined batch per distinct TTL; fails with the first failed key's error. */
  const setMany = (
    entries: ReadonlyArray<readonly [key: string, value: unknown, ttl: Duration.Duration | undefined]>
  ): Effect.Effect<void, E> =>
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
          const error = match(r, () => undefined, (e) => e)
          if (error !== undefined) return yield* Effect.fail(fail("setMany")(error))
        }
      }
    })

  /** Deletes `key`; a missing key is not an error. */
  const remove = (key: string): Effect.Effect<void, E> =>
    Effect.flatMap(namespace.key(key), (k) => client.delete(k)).pipe(
      Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.void),
      Effect.mapError(fail("remove"))
    )

  /** Clears this store only (a new namespace generation). */
  const clear: Effect.Effect<void, E> = Effect.mapError(namespace.clear, fail("clear"))

  return { get, getMany, set, setMany, remove, clear } as const
}
