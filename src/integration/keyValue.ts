/**
 * The memcached key-value store's operations, written once for both editions: each edition's
 * `MemcachedKeyValueStore` wraps them in its platform's `KeyValueStore` (Effect 3: `@effect/platform`,
 * errors `PlatformError`; Effect 4: `effect/persistence`, errors `KeyValueStoreError`) and supplies
 * its error constructors.
 *
 * - Keys go through a namespace (namespace generations: `clear` clears only it) or, without one, are
 *   stored as given or, with `hashInvalidKeys`, under their SHA-256 when they are not valid memcached keys.
 * - `modify` is a compare-and-swap loop (`gets` + `cas`): a concurrent writer makes it retry, never
 *   lose an update; after `casAttempts` lost rounds it fails with the edition's `busy` error.
 * - A missing key is not an error: `read` returns `Option.none()`, `remove` succeeds, `modify` returns
 *   `undefined`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MemcachedClient } from "../client/models.js"
import type { Ttl } from "../Key.js"
import type { Item } from "../MemcachedClient.js"
import type { MemcachedError } from "../MemcachedError.js"
import * as NamespaceGeneration from "../NamespaceGeneration.js"

/**
 * Options of the memcached `KeyValueStore` (both editions).
 *
 * @since 0.1.0
 * @internal
 */
export interface Options {
  /** Keep the store's keys in this namespace: `clear` then clears only it. Default: none (`clear` flushes). */
  readonly namespace?: string | undefined
  /** TTL of every write (seconds or a Duration). Default: never expires. */
  readonly ttl?: Ttl | undefined
  /** Store invalid or over-long keys under their SHA-256 instead of failing. Default `true`. */
  readonly hashInvalidKeys?: boolean | undefined
  /**
   * Attempts of a `modify` compare-and-swap loop before it fails (the edition's "busy" error). Each
   * round of contention lets at least one writer through, so `n` concurrent writers of one key need at
   * most `n` attempts. Default 100.
   */
  readonly casAttempts?: number | undefined
}

/**
 * How an edition reports failures: `fail` wraps a client error of `method` (for `key`, when there is
 * one); `busy` is a `modify` loop that lost `attempts` rounds (its `cause` the last conflict).
 *
 * @since 0.1.0
 * @internal
 */
export interface Errors<E> {
  readonly fail: (method: string, key?: string) => (error: MemcachedError) => E
  readonly busy: (method: string, key: string, attempts: number, cause: MemcachedError) => E
}

/**
 * The operations over `client`. Never fails to build; every operation fails only with `E`.
 *
 * @since 0.1.0
 * @internal
 */
export const make = <E>(client: MemcachedClient, options: Options, errors: Errors<E>) => {
  const hash = options.hashInvalidKeys ?? true
  const attempts = Math.max(1, options.casAttempts ?? 100)
  const namespace = options.namespace === undefined
    ? undefined
    : NamespaceGeneration.make(client, options.namespace, { hashInvalidKeys: hash })
  const wire = (key: string): Effect.Effect<string, MemcachedError> =>
    namespace !== undefined
      ? namespace.key(key)
      : Effect.succeed(hash ? NamespaceGeneration.safeKey("", key) : key)
  const store = { ttl: options.ttl }

  /** The item under `key`, if any. */
  const read = (method: string, key: string): Effect.Effect<Option.Option<Item>, E> =>
    Effect.flatMap(wire(key), (k) => client.get(k)).pipe(Effect.mapError(errors.fail(method, key)))

  /** Stores `value` under `key` (with the store's TTL). */
  const set = (key: string, value: string | Uint8Array): Effect.Effect<void, E> =>
    Effect.flatMap(wire(key), (k) => client.set(k, value, store)).pipe(Effect.mapError(errors.fail("set", key)))

  /** Deletes `key`; a missing key is not an error. */
  const remove = (key: string): Effect.Effect<void, E> =>
    Effect.flatMap(wire(key), (k) => client.delete(k)).pipe(
      Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.void),
      Effect.mapError(errors.fail("remove", key))
    )

  /** Clears the namespace, or flushes every server without one. */
  const clear: Effect.Effect<void, E> = (namespace === undefined ? client.flushAll() : namespace.clear).pipe(
    Effect.mapError(errors.fail("clear"))
  )

  /** A compare-and-swap `modify` of values decoded and encoded as given: the new value, or `undefined`. */
  const modifyWith =
    <A>(method: string, decode: (u: Uint8Array) => A, encode: (a: A) => string | Uint8Array) =>
    (key: string, f: (a: A) => A): Effect.Effect<A | undefined, E> => {
      const fail = errors.fail(method, key)
      const loop = (k: string, left: number): Effect.Effect<A | undefined, E> =>
        Effect.flatMap(Effect.mapError(client.gets(k), fail), (found) => {
          if (Option.isNone(found)) return Effect.succeed(undefined)
          const next = f(decode(found.value.value))
          return Effect.matchEffect(client.cas(k, encode(next), found.value.cas, store), {
            onSuccess: (): Effect.Effect<A | undefined, E> => Effect.succeed(next),
            onFailure: (e): Effect.Effect<A | undefined, E> => {
              if (e._tag !== "MemcachedStoreError") return Effect.fail(fail(e))
              if (e.reason === "NotFound") return Effect.succeed(undefined)
              return left > 1 ? loop(k, left - 1) : Effect.fail(errors.busy(method, key, attempts, e))
            }
          })
        })
      return Effect.flatMap(Effect.mapError(wire(key), fail), (k) => loop(k, attempts))
    }

  return { read, set, remove, clear, modifyWith } as const
}
