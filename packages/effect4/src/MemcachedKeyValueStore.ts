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
 * The store's logic (key layout, namespaces, the compare-and-swap loop) is the root's
 * src/integration/keyValue.ts, shared with the Effect 3 edition; this module is the `effect/persistence` glue.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as KeyValue from "./integration/keyValue.js"
import * as MemcachedClient from "./MemcachedClient.js"
import type { MemcachedError } from "./MemcachedError.js"

/**
 * Options of the memcached `KeyValueStore`: `namespace`, `ttl`, `hashInvalidKeys` (default `true`) and
 * `casAttempts` (default 100; an exhausted `modify` loop fails with a `KeyValueStoreError`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends KeyValue.Options {}

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

const busy = (method: string, key: string, attempts: number, cause: MemcachedError) =>
  new KeyValueStore.KeyValueStoreError({
    method,
    key,
    message: `memcached ${method}: ${attempts} compare-and-swap attempts lost to concurrent writers`,
    cause
  })

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
    const ops = KeyValue.make(client, options, { fail: toKeyValueStoreError, busy })
    return KeyValueStore.make({
      get: (key) =>
        Effect.map(
          ops.read("get", key),
          (found) => Option.getOrUndefined(Option.map(found, (i) => utf8.decode(i.value)))
        ),
      getUint8Array: (key) =>
        Effect.map(ops.read("getUint8Array", key), (found) => Option.getOrUndefined(Option.map(found, (i) => i.value))),
      has: (key) => Effect.map(ops.read("has", key), Option.isSome),
      set: ops.set,
      remove: ops.remove,
      clear: ops.clear,
      clearPrefix: (prefix) => prefix === "" ? ops.clear : cannotList("clearPrefix"),
      size: cannotList("size"),
      keys: cannotList("keys"),
      modify: ops.modifyWith("modify", (u) => utf8.decode(u), (s) => s),
      modifyUint8Array: ops.modifyWith("modifyUint8Array", (u) => u, (u) => u)
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
