/**
 * `@effect/platform`'s `KeyValueStore` backed by memcached, so `KeyValueStore.forSchema`,
 * `KeyValueStore.layerSchema` and anything else written against the platform interface runs over the
 * {@link MemcachedClient.MemcachedClient} in context.
 *
 * - Strings are stored as UTF-8, bytes as is; `get` decodes UTF-8, `getUint8Array` returns the bytes.
 * - `modify` / `modifyUint8Array` are compare-and-swap loops (`gets` + `cas`), not a read then a blind
 *   write: a concurrent writer makes the loop retry, never lose an update.
 * - `clear` without a `namespace` flushes every server; with one it clears only that namespace
 *   (namespace generations, see `NamespaceGeneration`).
 * - `size` (and so `isEmpty`) fails: memcached cannot count or list keys.
 * - Keys that are not valid memcached keys (spaces, control characters, over 250 bytes) are stored
 *   under their SHA-256 (`hashInvalidKeys`, on by default), so every string is a usable key.
 *
 * Errors are `PlatformError`s: `BadArgument` for a rejected input (the `MemcachedInputError` is its
 * `cause`), `SystemError` otherwise (`TimedOut` for timeouts, `Busy` for an overloaded client or an
 * exhausted CAS loop, `InvalidData` for protocol errors, `Unknown` for the rest; the `MemcachedError`
 * is the `cause`).
 *
 * The store's logic (key layout, namespaces, the compare-and-swap loop) is src/integration/keyValue.ts,
 * shared with the Effect 4 edition; this module is the `@effect/platform` glue.
 *
 * @since 0.1.0
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KeyValue from "./integration/keyValue.js"
import * as MemcachedClient from "./MemcachedClient.js"
import type { MemcachedError } from "./MemcachedError.js"

/**
 * Options of the memcached `KeyValueStore`: `namespace`, `ttl`, `hashInvalidKeys` (default `true`) and
 * `casAttempts` (default 100; an exhausted `modify` loop fails with `SystemError("Busy")`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends KeyValue.Options {}

const systemReason = (error: MemcachedError): PlatformError.SystemErrorReason => {
  switch (error._tag) {
    case "MemcachedConnectionError":
      return error.reason === "Timeout" || error.reason === "ConnectTimeout"
        ? "TimedOut"
        : error.reason === "Overloaded"
        ? "Busy"
        : "Unknown"
    case "MemcachedProtocolError":
      return "InvalidData"
    default:
      return "Unknown"
  }
}

/**
 * The `PlatformError` a `MemcachedError` becomes in `method`: `BadArgument` for an input error,
 * `SystemError` otherwise; the original error is the `cause`. Never fails.
 *
 * @since 0.1.0
 * @category errors
 */
export const toPlatformError = (method: string) => (error: MemcachedError): PlatformError.PlatformError =>
  error._tag === "MemcachedInputError"
    ? new PlatformError.BadArgument({ module: "KeyValueStore", method, description: error.message, cause: error })
    : new PlatformError.SystemError({
      reason: systemReason(error),
      module: "KeyValueStore",
      method,
      description: error.message,
      cause: error
    })

const busy = (method: string, _key: string, attempts: number, cause: MemcachedError) =>
  new PlatformError.SystemError({
    reason: "Busy",
    module: "KeyValueStore",
    method,
    description: `${attempts} compare-and-swap attempts lost to concurrent writers`,
    cause
  })

const utf8 = new TextDecoder()

/**
 * Builds the store over the client in context. Never fails; each operation fails with a
 * `PlatformError` (see the module's notes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<KeyValueStore.KeyValueStore, never, MemcachedClient.MemcachedClient> =>
  Effect.map(MemcachedClient.MemcachedClient, (client) => {
    const ops = KeyValue.make(client, options, { fail: (method) => toPlatformError(method), busy })
    const modifyWith =
      <A>(method: string, decode: (u: Uint8Array) => A, encode: (a: A) => string | Uint8Array) =>
      (key: string, f: (a: A) => A) => Effect.map(ops.modifyWith(method, decode, encode)(key, f), Option.fromNullable)
    return KeyValueStore.make({
      get: (key) => Effect.map(ops.read("get", key), Option.map((item) => utf8.decode(item.value))),
      getUint8Array: (key) => Effect.map(ops.read("getUint8Array", key), Option.map((item) => item.value)),
      has: (key) => Effect.map(ops.read("has", key), Option.isSome),
      set: ops.set,
      remove: ops.remove,
      clear: ops.clear,
      size: Effect.fail(
        new PlatformError.SystemError({
          reason: "BadResource",
          module: "KeyValueStore",
          method: "size",
          description: "memcached cannot count or list keys"
        })
      ),
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
  Layer.effect(KeyValueStore.KeyValueStore, make(options))
