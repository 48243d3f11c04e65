/**
 * Effect 4's `KeyValueStore` (`effect/persistence/KeyValueStore`) backed by memcached, so
 * `KeyValueStore.toSchemaStore`, `KeyValueStore.prefix` and anything else written against the interface
 * runs over the {@link MemcachedClient.MemcachedClient} in context.
 *
 * - Strings are stored as UTF-8, bytes as is; `get` decodes UTF-8, `getUint8Array` returns the bytes.
 * - `modify` / `modifyUint8Array` are compare-and-swap loops (`gets` + `cas`), not a read then a blind
 *   write: a concurrent writer makes the loop retry, never lose an update.
 * - `clear` without a `namespace` flushes every server; with one it clears only that namespace
 *   (namespace generations, see `NamespaceGeneration`).
 * - `size`, `keys` (and so `isEmpty`) and `clearPrefix` of a non-empty prefix fail: memcached cannot
 *   count or list keys. Use a `namespace` per store for a clearable subset.
 * - Keys that are not valid memcached keys (spaces, control characters, over 250 bytes) are stored
 *   under their SHA-256 (`hashInvalidKeys`, on by default), so every string is a usable key.
 *
 * Every operation fails with `KeyValueStore.KeyValueStoreError` naming the `method` and `key`; its
 * `cause` is the `MemcachedError` (an `Exists` conflict for an exhausted compare-and-swap loop).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import type { Ttl } from "./Key.js"
import * as MemcachedClient from "./MemcachedClient.js"
import type { MemcachedError } from "./MemcachedError.js"
import * as NamespaceGeneration from "./NamespaceGeneration.js"

/**
 * Options of the memcached `KeyValueStore`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Keep the store's keys in this namespace: `clear` then clears only it. Default: none (`clear` flushes). */
  readonly namespace?: string | undefined
  /** TTL of every write (seconds or a Duration). Default: never expires. */
  readonly ttl?: Ttl | undefined
  /** Store invalid or over-long keys under their SHA-256 instead of failing. Default `true`. */
  readonly hashInvalidKeys?: boolean | undefined
  /**
   * Attempts of a `modify` compare-and-swap loop before it fails. Each round of contention lets at
   * least one writer through, so `n` concurrent writers of one key need at most `n` attempts. Default 100.
   */
  readonly casAttempts?: number | undefined
}

/**
 * The `KeyValueStoreError` a `MemcachedError` becomes in `method` (for `key`); the original error is
 * the `cause`. Never fails.
 *
 * @since 0.1.0
 * @category errors
 */
export const toKeyValueStoreError =
  (method: string, key?: string) => (error: MemcachedError): KeyValueStore.KeyValueStoreError =>
    new KeyValueStore.KeyValueStoreError({
      method,
      message: `memcached ${method} failed: ${error.message}`,
      ...(key === undefined ? {} : { key }),
      cause: error
    })

const cannotList = (method: string) =>
  Effect.fail(
    new KeyValueStore.KeyValueStoreError({
      method,
      message: `memcached cannot count or list keys (${method}); give the store a namespace to clear a subset`
    })
  )

const utf8 = new TextDecoder()

/**
 * Builds the store over the client in context. Never fails; each operation fails with a
 * `KeyValueStoreError` (see the module's notes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<KeyValueStore.KeyValueStore, never, MemcachedClient.MemcachedClient> =>
  Effect.map(MemcachedClient.MemcachedClient, (client) => {
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
    const read = (method: string, key: string) =>
      Effect.flatMap(wire(key), (k) => client.get(k)).pipe(Effect.mapError(toKeyValueStoreError(method, key)))
    const modifyWith =
      <A>(method: string, decode: (u: Uint8Array) => A, encode: (a: A) => string | Uint8Array) =>
      (key: string, f: (a: A) => A): Effect.Effect<A | undefined, KeyValueStore.KeyValueStoreError> => {
        const fail = toKeyValueStoreError(method, key)
        const busy = (cause: unknown) =>
          new KeyValueStore.KeyValueStoreError({
            method,
            key,
            message: `memcached ${method}: ${attempts} compare-and-swap attempts lost to concurrent writers`,
            cause
          })
        const loop = (k: string, left: number): Effect.Effect<A | undefined, KeyValueStore.KeyValueStoreError> =>
          Effect.flatMap(Effect.mapError(client.gets(k), fail), (found) => {
            if (Option.isNone(found)) return Effect.undefined
            const next = f(decode(found.value.value))
            return client.cas(k, encode(next), found.value.cas, store).pipe(
              Effect.as(next),
              Effect.catch((e): Effect.Effect<A | undefined, KeyValueStore.KeyValueStoreError> => {
                if (e._tag !== "MemcachedStoreError") return Effect.fail(fail(e))
                if (e.reason === "NotFound") return Effect.undefined
                return left > 1 ? loop(k, left - 1) : Effect.fail(busy(e))
              })
            )
          })
        return Effect.flatMap(Effect.mapError(wire(key), fail), (k) => loop(k, attempts))
      }
    const clear = (namespace === undefined ? client.flushAll() : namespace.clear).pipe(
      Effect.mapError(toKeyValueStoreError("clear"))
    )
    return KeyValueStore.make({
      get: (key) =>
        Effect.map(read("get", key), (found) => Option.getOrUndefined(Option.map(found, (i) => utf8.decode(i.value)))),
      getUint8Array: (key) =>
        Effect.map(read("getUint8Array", key), (found) => Option.getOrUndefined(Option.map(found, (i) => i.value))),
      has: (key) => Effect.map(read("has", key), Option.isSome),
      set: (key, value) =>
        Effect.flatMap(wire(key), (k) => client.set(k, value, store)).pipe(
          Effect.mapError(toKeyValueStoreError("set", key))
        ),
      remove: (key) =>
        Effect.flatMap(wire(key), (k) => client.delete(k)).pipe(
          Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.void),
          Effect.mapError(toKeyValueStoreError("remove", key))
        ),
      clear,
      clearPrefix: (prefix) => prefix === "" ? clear : cannotList("clearPrefix"),
      size: cannotList("size"),
      keys: cannotList("keys"),
      modify: modifyWith("modify", (u) => utf8.decode(u), (s) => s),
      modifyUint8Array: modifyWith("modifyUint8Array", (u) => u, (u) => u)
    })
  })

/**
 * The memcached `KeyValueStore` as a layer over the client in context. Never fails to build.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<KeyValueStore.KeyValueStore, never, MemcachedClient.MemcachedClient> =>
  Layer.effect(KeyValueStore.KeyValueStore)(make(options))
