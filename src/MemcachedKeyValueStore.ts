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
 * @since 0.1.0
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
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
   * Attempts of a `modify` compare-and-swap loop before it fails with `SystemError("Busy")`. Each round
   * of contention lets at least one writer through, so `n` concurrent writers of one key need at most
   * `n` attempts. Default 100.
   */
  readonly casAttempts?: number | undefined
}

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
      Effect.flatMap(wire(key), (k) => client.get(k)).pipe(Effect.mapError(toPlatformError(method)))
    const modifyWith =
      <A>(method: string, decode: (u: Uint8Array) => A, encode: (a: A) => string | Uint8Array) =>
      (key: string, f: (a: A) => A): Effect.Effect<Option.Option<A>, PlatformError.PlatformError> => {
        const fail = toPlatformError(method)
        const busy = (cause: unknown) =>
          new PlatformError.SystemError({
            reason: "Busy",
            module: "KeyValueStore",
            method,
            description: `${attempts} compare-and-swap attempts lost to concurrent writers`,
            cause
          })
        const loop = (k: string, left: number): Effect.Effect<Option.Option<A>, PlatformError.PlatformError> =>
          Effect.flatMap(Effect.mapError(client.gets(k), fail), (found) => {
            if (Option.isNone(found)) return Effect.succeedNone
            const cas: bigint | undefined = found.value.cas
            if (cas === undefined) return Effect.succeedNone
            const next = f(decode(found.value.value))
            return client.cas(k, encode(next), cas, store).pipe(
              Effect.as(Option.some(next)),
              Effect.catchAll((e) => {
                if (e._tag !== "MemcachedStoreError") return Effect.fail(fail(e))
                if (e.reason === "NotFound") return Effect.succeedNone
                return left > 1 ? loop(k, left - 1) : Effect.fail(busy(e))
              })
            )
          })
        return Effect.flatMap(Effect.mapError(wire(key), fail), (k) => loop(k, attempts))
      }
    return KeyValueStore.make({
      get: (key) => Effect.map(read("get", key), Option.map((item) => utf8.decode(item.value))),
      getUint8Array: (key) => Effect.map(read("getUint8Array", key), Option.map((item) => item.value)),
      has: (key) => Effect.map(read("has", key), Option.isSome),
      set: (key, value) =>
        Effect.flatMap(wire(key), (k) => client.set(k, value, store)).pipe(Effect.mapError(toPlatformError("set"))),
      remove: (key) =>
        Effect.flatMap(wire(key), (k) => client.delete(k)).pipe(
          Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.void),
          Effect.mapError(toPlatformError("remove"))
        ),
      clear: (namespace === undefined ? client.flushAll() : namespace.clear).pipe(
        Effect.mapError(toPlatformError("clear"))
      ),
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
