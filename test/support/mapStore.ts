/**
 * The map-backed store the value suites run over beside the real client: the whole
 * `TypedStore.RawStore` (and so `LargeValue.ChunkStore`), with error types narrowed per method.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { validateKey } from "../../src/Key.js"
import type { Ttl } from "../../src/Key.js"
import type { CallOptions, StoreOptions } from "../../src/MemcachedClient.js"
import { MemcachedServerError, MemcachedStoreError } from "../../src/MemcachedError.js"
import type { MemcachedInputError } from "../../src/MemcachedError.js"

/** An item that may be absent as an `Option` (both editions: `undefined` is absent). */
const found = <A>(item: A | undefined): Option.Option<A> => item === undefined ? Option.none() : Option.some(item)

export type ReadError = MemcachedInputError
export type WriteError = MemcachedInputError | MemcachedServerError
export type ConditionalError = MemcachedInputError | MemcachedStoreError | MemcachedServerError

export interface MapItem {
  readonly value: Uint8Array
  readonly flags: number
  readonly cas: bigint
  readonly ttl?: unknown
}

/**
 * A `TypedStore.RawStore` backed by a `Map`, with per-method error types as narrow as the client's
 * (reads fail only on an invalid key): key validation as the client does it, a 1 MiB item size, `add`
 * → NotStored on an existing key, `replace` → NotStored on a missing one, `cas` → Exists / NotFound,
 * `touch`/`delete`/`incr`/`decr` → NotFound on a missing key, unsigned 64-bit counters (incr wraps,
 * decr floors at 0). TTLs are recorded, not enforced; `calls` records every call's options.
 */
export const mapStore = () => {
  const items = new Map<string, MapItem>()
  const calls: Array<{ readonly method: string; readonly key: string; readonly options: CallOptions | undefined }> = []
  let casCounter = 0n
  const check = (method: string, key: string, options: CallOptions | undefined): Effect.Effect<void, ReadError> =>
    Effect.suspend(() => {
      calls.push({ method, key, options })
      const e = validateKey(key)
      return e === undefined ? Effect.void : Effect.fail(e)
    })
  const checked = <A, E>(
    method: string,
    key: string,
    options: CallOptions | undefined,
    body: () => Effect.Effect<A, E>
  ) => Effect.andThen(check(method, key, options), Effect.suspend(body))
  const put = (key: string, value: Uint8Array, options?: StoreOptions): Effect.Effect<void, WriteError> => {
    if (value.length > 1024 * 1024) {
      return Effect.fail(
        new MemcachedServerError({ reason: "ServerError", message: "object too large for cache", server: "map" })
      )
    }
    items.set(key, { value: Uint8Array.from(value), flags: options?.flags ?? 0, cas: ++casCounter, ttl: options?.ttl })
    return Effect.void
  }
  const storeError = (reason: MemcachedStoreError["reason"], key: string, command: string) =>
    Effect.fail(new MemcachedStoreError({ reason, key, command }))
  const delta = (command: "incr" | "decr") => (key: string, d: bigint, options?: CallOptions) =>
    checked(command, key, options, (): Effect.Effect<bigint, ConditionalError> => {
      const item = items.get(key)
      if (item === undefined) return storeError("NotFound", key, command)
      const text = Buffer.from(item.value).toString("latin1").trimEnd()
      if (!/^\d+$/.test(text)) {
        return Effect.fail(
          new MemcachedServerError({
            reason: "ClientError",
            message: "cannot increment or decrement non-numeric value",
            server: "map"
          })
        )
      }
      const current = BigInt(text)
      const next = command === "incr" ? (current + d) % (1n << 64n) : current > d ? current - d : 0n
      items.set(key, { ...item, value: Buffer.from(next.toString()), cas: ++casCounter })
      return Effect.succeed(next)
    })
  const touchItem = (key: string, ttl: Ttl): MapItem | undefined => {
    const item = items.get(key)
    if (item !== undefined) items.set(key, { ...item, ttl })
    return item
  }
  const store = {
    get: (key: string, options?: CallOptions) =>
      checked("get", key, options, () => Effect.succeed(found(items.get(key)))),
    gets: (key: string, options?: CallOptions) =>
      checked("gets", key, options, () => Effect.succeed(found(items.get(key)))),
    gat: (key: string, ttl: Ttl, options?: CallOptions) =>
      checked("gat", key, options, () => Effect.succeed(found(touchItem(key, ttl)))),
    getMany: (
      keys: Iterable<string>,
      options?: CallOptions
    ): Effect.Effect<ReadonlyMap<string, MapItem>, ReadError> => {
      const list = [...keys]
      return Effect.andThen(
        Effect.forEach(list, (k) => check("getMany", k, options), { discard: true }),
        Effect.sync(() => {
          const out = new Map<string, MapItem>()
          for (const k of list) {
            const item = items.get(k)
            if (item !== undefined) out.set(k, item)
          }
          return out
        })
      )
    },
    set: (key: string, value: Uint8Array, options?: StoreOptions) =>
      checked("set", key, options, () => put(key, value, options)),
    add: (key: string, value: Uint8Array, options?: StoreOptions) =>
      checked(
        "add",
        key,
        options,
        (): Effect.Effect<void, ConditionalError> =>
          items.has(key) ? storeError("NotStored", key, "add") : put(key, value, options)
      ),
    replace: (key: string, value: Uint8Array, options?: StoreOptions) =>
      checked(
        "replace",
        key,
        options,
        (): Effect.Effect<void, ConditionalError> =>
          items.has(key) ? put(key, value, options) : storeError("NotStored", key, "replace")
      ),
    cas: (key: string, value: Uint8Array, cas: bigint, options?: StoreOptions) =>
      checked("cas", key, options, (): Effect.Effect<void, ConditionalError> => {
        const item = items.get(key)
        if (item === undefined) return storeError("NotFound", key, "cas")
        return item.cas === cas ? put(key, value, options) : storeError("Exists", key, "cas")
      }),
    touch: (key: string, ttl: Ttl, options?: CallOptions) =>
      checked(
        "touch",
        key,
        options,
        (): Effect.Effect<void, ConditionalError> =>
          touchItem(key, ttl) === undefined ? storeError("NotFound", key, "touch") : Effect.void
      ),
    delete: (key: string, options?: CallOptions) =>
      checked(
        "delete",
        key,
        options,
        (): Effect.Effect<void, ConditionalError> =>
          items.delete(key) ? Effect.void : storeError("NotFound", key, "delete")
      ),
    incr: delta("incr"),
    decr: delta("decr")
  }
  return { store, items, calls }
}

/** The store of {@link mapStore}. */
export type MapStore = ReturnType<typeof mapStore>["store"]
