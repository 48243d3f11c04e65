import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { realStores } from "./support/realStores.js"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { validateKey } from "../src/Key.js"
import type { Item, StoreOptions } from "../src/LargeValue.js"
import { MemcachedServerError, MemcachedStoreError } from "../src/MemcachedError.js"
import type { MemcachedInputError } from "../src/MemcachedError.js"
import * as TypedClient from "../src/TypedClient.js"
import * as ValueCodec from "../src/ValueCodec.js"

const { Flags } = ValueCodec

type MapStoreError = MemcachedInputError | MemcachedStoreError | MemcachedServerError

/**
 * A `TypedClient.Store` backed by a `Map`: key validation as the client does it, a 1 MiB item size,
 * `add` → NotStored on an existing key, `incr`/`decr` → NotFound on a missing key, unsigned 64-bit
 * counters (incr wraps, decr floors at 0). TTLs are recorded, not enforced.
 */
export const mapStore = () => {
  const items = new Map<string, Item & { readonly ttl?: unknown }>()
  let cas = 0n
  const check = (key: string) => {
    const e = validateKey(key)
    return e === undefined ? Effect.void : Effect.fail<MemcachedInputError>(e)
  }
  const put = (key: string, value: Uint8Array, options?: StoreOptions) => {
    if (value.length > 1024 * 1024) {
      return Effect.fail(new MemcachedServerError({ reason: "ServerError", message: "object too large for cache", server: "map" }))
    }
    items.set(key, { value: Uint8Array.from(value), flags: options?.flags ?? 0, cas: ++cas, ttl: options?.ttl })
    return Effect.void
  }
  const delta = (command: "incr" | "decr") => (key: string, d: bigint) =>
    Effect.zipRight(
      check(key),
      Effect.suspend((): Effect.Effect<bigint, MapStoreError> => {
        const item = items.get(key)
        if (item === undefined) return Effect.fail(new MemcachedStoreError({ reason: "NotFound", key, command }))
        const text = Buffer.from(item.value).toString("latin1").trimEnd()
        if (!/^\d+$/.test(text)) {
          return Effect.fail(new MemcachedServerError({ reason: "ClientError", message: "cannot increment or decrement non-numeric value", server: "map" }))
        }
        const current = BigInt(text)
        const next = command === "incr" ? (current + d) % (1n << 64n) : current > d ? current - d : 0n
        items.set(key, { ...item, value: Buffer.from(next.toString()), cas: ++cas })
        return Effect.succeed(next)
      })
    )
  const store: TypedClient.Store<MapStoreError> = {
    get: (key) => Effect.zipRight(check(key), Effect.sync(() => Option.fromNullable(items.get(key)))),
    getMany: (keys) =>
      Effect.zipRight(
        Effect.forEach(keys, check, { discard: true }),
        Effect.sync(() => {
          const out = new Map<string, Item>()
          for (const k of keys) {
            const item = items.get(k)
            if (item !== undefined) out.set(k, item)
          }
          return out
        })
      ),
    set: (key, value, options) => Effect.zipRight(check(key), Effect.suspend(() => put(key, value, options))),
    add: (key, value, options) =>
      Effect.zipRight(
        check(key),
        Effect.suspend((): Effect.Effect<void, MapStoreError> =>
          items.has(key) ? Effect.fail(new MemcachedStoreError({ reason: "NotStored", key, command: "add" })) : put(key, value, options)
        )
      ),
    delete: (key) =>
      Effect.zipRight(
        check(key),
        Effect.suspend(() =>
          items.delete(key) ? Effect.void : Effect.fail(new MemcachedStoreError({ reason: "NotFound", key, command: "delete" }))
        )
      ),
    incr: delta("incr"),
    decr: delta("decr")
  }
  return { store, items }
}

type AnyStore = TypedClient.Store<unknown>

const uniqueKey = (name: string) => `tc:${name}:${randomBytes(4).toString("hex")}`

const User = Schema.Struct({ id: Schema.Number, name: Schema.String, since: Schema.Date })
const ada = { id: 1, name: "Ada", since: new Date("2020-01-01T00:00:00.000Z") }

/**
 * The typed-client suite, run against any store (the lead runs it against the real client over the
 * in-memory server and real memcached).
 */
export const typedClientSuite = (name: string, makeStore: () => Effect.Effect<AnyStore>) =>
  describe(name, () => {
    describe("typed", () => {
      it.effect("a Schema-typed view round trips, misses are None", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const users = TypedClient.typed(store, User)
          const key = uniqueKey("user")
          assert.isTrue(Option.isNone(yield* users.get(key)))
          yield* users.set(key, ada, { ttl: 60 })
          const got = yield* users.get(key)
          assert.deepStrictEqual(got, Option.some(ada))
          const raw = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(raw.flags, Flags.JSON)
          assert.deepStrictEqual(JSON.parse(Buffer.from(raw.value).toString()), { ...ada, since: "2020-01-01T00:00:00.000Z" })
          yield* users.delete(key)
          assert.isTrue(Option.isNone(yield* users.get(key)))
        }))

      it.effect("a value of the wrong shape is a typed Decode error, or a miss with onDecodeError: miss", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("bad")
          yield* store.set(key, Buffer.from("{\"id\":\"x\"}"), { flags: Flags.JSON })
          const e = yield* Effect.flip(TypedClient.typed(store, User).get(key))
          assert.strictEqual((e as ValueCodec.MemcachedValueError)._tag, "MemcachedValueError")
          assert.strictEqual((e as ValueCodec.MemcachedValueError).reason, "Decode")
          assert.strictEqual((e as ValueCodec.MemcachedValueError).key, key)
          const lenient = TypedClient.typed(store, User, { onDecodeError: "miss" })
          assert.isTrue(Option.isNone(yield* lenient.get(key)))
          // a string stored with flags 0 is not a JSON value
          yield* store.set(key, Buffer.from("plain"), { flags: 0 })
          const e2 = yield* Effect.flip(TypedClient.typed(store, ValueCodec.json).get(key))
          assert.strictEqual((e2 as ValueCodec.MemcachedValueError).reason, "Decode")
        }))

      it.effect("add fails with NotStored on an existing key", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const strings = TypedClient.typed(store, ValueCodec.string)
          const key = uniqueKey("add")
          yield* strings.add(key, "first")
          const e = yield* Effect.flip(strings.add(key, "second"))
          assert.strictEqual((e as MemcachedStoreError).reason, "NotStored")
          assert.deepStrictEqual(yield* strings.get(key), Option.some("first"))
        }))

      it.effect("getMany decodes every hit, including split values", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const bytes = TypedClient.typed(store, ValueCodec.bytes)
          const [a, b, c] = [uniqueKey("a"), uniqueKey("b"), uniqueKey("c")]
          const big = randomBytes(3_000_000)
          yield* bytes.set(a, Buffer.from("A"))
          yield* bytes.set(b, big)
          const found = yield* bytes.getMany([a, b, c])
          assert.strictEqual(found.size, 2)
          assert.strictEqual(Buffer.from(found.get(a)!).toString(), "A")
          assert.isTrue(Buffer.from(found.get(b)!).equals(big))
        }))

      it.effect("a 5 MB JSON value with compression and splitting", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const Doc = Schema.Struct({ blobs: Schema.Array(Schema.String) })
          const docs = TypedClient.typed(store, Doc, { compression: { threshold: 1024 } })
          const key = uniqueKey("doc")
          // random base64: compresses by ~25%, still > 1 MiB, so it is split
          const doc = { blobs: Array.from({ length: 5 }, () => randomBytes(750_000).toString("base64")) }
          yield* docs.set(key, doc)
          const manifest = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(manifest.flags, Flags.JSON | Flags.COMPRESSED | Flags.SPLIT)
          assert.deepStrictEqual(yield* docs.get(key), Option.some(doc))
          yield* docs.delete(key)
          assert.isTrue(Option.isNone(yield* docs.get(key)))
        }))

      it.effect("largeValues: false stores one item (the server refuses it when too large)", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const bytes = TypedClient.typed(store, ValueCodec.bytes, { largeValues: false })
          const e = yield* Effect.flip(bytes.set(uniqueKey("nolarge"), new Uint8Array(2 * 1024 * 1024)))
          assert.strictEqual((e as MemcachedServerError)._tag, "MemcachedServerError")
        }))
    })

    describe("withKeyPrefix", () => {
      it.effect("prefixes every key and maps getMany back", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const ns = `ns${randomBytes(3).toString("hex")}:`
          const scoped = TypedClient.withKeyPrefix(store, ns)
          yield* scoped.set("a", Buffer.from("1"))
          yield* scoped.set("b", Buffer.from("2"))
          assert.strictEqual(Buffer.from(Option.getOrThrow(yield* store.get(ns + "a")).value).toString(), "1")
          const found = yield* scoped.getMany(["a", "b", "c"])
          assert.deepStrictEqual([...found.keys()].sort(), ["a", "b"])
          const strings = TypedClient.typed(scoped, ValueCodec.string)
          assert.deepStrictEqual(yield* strings.get("b"), Option.some("2"))
          assert.strictEqual(yield* TypedClient.incr(scoped, "n", 5), 5n)
          assert.strictEqual(yield* TypedClient.incr(store, ns + "n", 1), 6n)
          yield* scoped.delete("a")
          assert.isTrue(Option.isNone(yield* store.get(ns + "a")))
        }))

      it.effect("the 250-byte limit applies to the prefixed key; hashLongKeys hashes instead", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const ns = `ns${randomBytes(3).toString("hex")}:`
          const key = "k".repeat(245)
          const e = yield* Effect.flip(TypedClient.withKeyPrefix(store, ns).set(key, Buffer.from("v")))
          assert.strictEqual((e as MemcachedInputError).reason, "InvalidKey")
          const hashing = TypedClient.withKeyPrefix(store, ns, { hashLongKeys: true })
          yield* hashing.set(key, Buffer.from("v"))
          const sent = TypedClient.prefixedKey(ns, key, { hashLongKeys: true })
          assert.isAtMost(Buffer.byteLength(sent), 250)
          assert.isTrue(sent.startsWith(ns))
          assert.strictEqual(Buffer.from(Option.getOrThrow(yield* hashing.get(key)).value).toString(), "v")
          assert.isTrue(Option.isNone(yield* hashing.get(key + "k")))
          const many = yield* hashing.getMany([key])
          assert.deepStrictEqual([...many.keys()], [key])
          // a key with a space is still invalid, hashed or not
          const e2 = yield* Effect.flip(hashing.set("a b" + key, Buffer.from("v")))
          assert.strictEqual((e2 as MemcachedInputError).reason, "InvalidKey")
          // short keys are untouched
          assert.strictEqual(TypedClient.prefixedKey(ns, "short", { hashLongKeys: true }), ns + "short")
        }))
    })

    describe("counters", () => {
      it.effect("incr creates a missing counter with the initial value and TTL, then increments", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("hits")
          assert.strictEqual(yield* TypedClient.incr(store, key, 1, { initial: 10n, ttl: 30 }), 10n)
          assert.strictEqual(yield* TypedClient.incr(store, key, 5), 15n)
          const raw = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(raw.flags, Flags.JSON)
          assert.strictEqual(yield* ValueCodec.bigint.decode(raw.value, raw.flags), 15n)
          // Swift's default: a missing counter starts at delta
          const other = uniqueKey("swift")
          assert.strictEqual(yield* TypedClient.incr(store, other, 7), 7n)
        }))

      it.effect("decr floors at 0 and creates at 0 by default; negative deltas flip the command", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("stock")
          assert.strictEqual(yield* TypedClient.decr(store, key, 3), 0n)
          assert.strictEqual(yield* TypedClient.incr(store, key, 10), 10n)
          assert.strictEqual(yield* TypedClient.decr(store, key, 4n), 6n)
          assert.strictEqual(yield* TypedClient.decr(store, key, 100), 0n)
          assert.strictEqual(yield* TypedClient.incr(store, key, -1), 0n)
          assert.strictEqual(yield* TypedClient.decr(store, key, -9), 9n)
          // a shrinking decr may leave space padding; the bigint codec reads it
          const raw = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(yield* ValueCodec.bigint.decode(raw.value, raw.flags), 9n)
        }))

      it.effect("values beyond 2^53 are exact bigints; 2^64 wraps", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("big")
          const start = 2n ** 60n
          assert.strictEqual(yield* TypedClient.incr(store, key, 1, { initial: start }), start)
          assert.strictEqual(yield* TypedClient.incr(store, key, 2n ** 53n + 1n), start + 2n ** 53n + 1n)
          const max = uniqueKey("max")
          assert.strictEqual(yield* TypedClient.incr(store, max, 0, { initial: 2n ** 64n - 1n }), 2n ** 64n - 1n)
          assert.strictEqual(yield* TypedClient.incr(store, max, 1), 0n)
        }))

      it.effect("invalid deltas and initial values are input errors", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("bad")
          for (
            const run of [
              TypedClient.incr(store, key, 1.5),
              TypedClient.incr(store, key, 2n ** 64n),
              TypedClient.incr(store, key, 1, { initial: -1n }),
              TypedClient.decr(store, key, Number.MAX_SAFE_INTEGER + 2)
            ]
          ) {
            const e = yield* Effect.flip(run)
            assert.strictEqual((e as MemcachedInputError)._tag, "MemcachedInputError")
            assert.strictEqual((e as MemcachedInputError).reason, "InvalidArgument")
          }
          assert.isTrue(Option.isNone(yield* store.get(key)))
        }))
    })
  })

describe("TypedClient counters (races, mapStore only)", () => {
  it.effect("a concurrent creator wins the add: incr retries and applies the delta to its value", () =>
    Effect.gen(function*() {
      const { store } = mapStore()
      let adds = 0
      const racing: TypedClient.Store<MapStoreError> = {
        ...store,
        add: (key, value, options) => {
          adds++
          // another client creates the counter between our incr (NotFound) and our add
          return adds === 1 ? Effect.zipRight(store.set(key, Buffer.from("100")), store.add(key, value, options)) : store.add(key, value, options)
        }
      }
      assert.strictEqual(yield* TypedClient.incr(racing, "c", 5, { initial: 1n }), 105n)
      assert.strictEqual(adds, 1)
    }))

  it.effect("gives up after maxAttempts under a delete storm, with the store's error", () =>
    Effect.gen(function*() {
      const { store } = mapStore()
      let adds = 0
      const hostile: TypedClient.Store<MapStoreError> = {
        ...store,
        add: (key) => (adds++, Effect.fail(new MemcachedStoreError({ reason: "NotStored", key, command: "add" })))
      }
      const e = yield* Effect.flip(TypedClient.incr(hostile, "c", 1, { maxAttempts: 2 }))
      assert.strictEqual((e as MemcachedStoreError).reason, "NotStored")
      assert.strictEqual(adds, 2)
    }))

  it.effect("records the TTL of a created counter", () =>
    Effect.gen(function*() {
      const { items, store } = mapStore()
      yield* TypedClient.incr(store, "t", 1, { ttl: 42 })
      assert.strictEqual(items.get("t")?.ttl, 42)
      assert.strictEqual(Buffer.from(items.get("t")!.value).toString(), "1")
    }))
})

typedClientSuite("TypedClient over mapStore", () => Effect.sync(() => mapStore().store as AnyStore))

for (const [name, makeStore] of realStores()) {
  typedClientSuite(`TypedClient over the real client, ${name}`, () => makeStore() as Effect.Effect<AnyStore>)
}
