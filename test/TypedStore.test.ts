import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as LargeValue from "../src/LargeValue.js"
import type * as MemcachedClient from "../src/MemcachedClient.js"
import type { MemcachedError, MemcachedReadError } from "../src/MemcachedError.js"
import { MemcachedConnectionError, MemcachedStoreError } from "../src/MemcachedError.js"
import type { MemcachedInputError, MemcachedServerError } from "../src/MemcachedError.js"
import * as TypedStore from "../src/TypedStore.js"
import * as ValueCodec from "../src/ValueCodec.js"
import { type Client, collect, failureOf, fromOutcome, isFailure, succeed, successOf } from "./support/edition.js"
import { mapStore } from "./support/mapStore.js"
import type { ConditionalError, MapStore, ReadError, WriteError } from "./support/mapStore.js"
import { realStores } from "./support/realStores.js"

const { Flags } = ValueCodec

// Errors are narrowed per method: these lines fail to compile if a read could fail with a store error.
type ErrorOfMethod<T, K extends keyof T> = T[K] extends (...args: Array<any>) => Effect.Effect<any, infer E, any> ? E
  : never
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type NarrowView = TypedStore.TypedStore<string, MapStore>
const narrowedErrors: [
  Exactly<ErrorOfMethod<NarrowView, "get">, ReadError | ValueCodec.MemcachedValueError>,
  Exactly<ErrorOfMethod<NarrowView, "gets">, ReadError | ValueCodec.MemcachedValueError>,
  Exactly<ErrorOfMethod<NarrowView, "gat">, ReadError | ValueCodec.MemcachedValueError>,
  Exactly<ErrorOfMethod<NarrowView, "getMany">, ReadError | ValueCodec.MemcachedValueError>,
  Exactly<ErrorOfMethod<NarrowView, "set">, WriteError | ValueCodec.MemcachedValueError>,
  Exactly<ErrorOfMethod<NarrowView, "cas">, ConditionalError | ValueCodec.MemcachedValueError>,
  Exactly<ErrorOfMethod<NarrowView, "touch">, ConditionalError>,
  Exactly<ErrorOfMethod<NarrowView, "delete">, ConditionalError>,
  Exactly<ErrorOfMethod<TypedStore.RawStoreOf<MapStore>, "get">, ReadError>,
  Exactly<TypedStore.CounterError<MapStore>, ConditionalError>
] = [true, true, true, true, true, true, true, true, true, true]

// The real client is a RawStore as it is, directly and through withKeyPrefix, and its errors carry over.
const overClient = (client: Client) => TypedStore.make(TypedStore.withKeyPrefix(client, "x:"), ValueCodec.string)
const clientErrors: [
  Exactly<ErrorOfMethod<ReturnType<typeof overClient>, "get">, MemcachedReadError | ValueCodec.MemcachedValueError>,
  Exactly<TypedStore.CounterError<Client>, MemcachedError>
] = [true, true]

type AnyStore = TypedStore.RawStore<unknown>

const uniqueKey = (name: string) => `ts:${name}:${randomBytes(4).toString("hex")}`

const User = Schema.Struct({ id: Schema.Number, name: Schema.String, since: Schema.Date })
const ada = { id: 1, name: "Ada", since: new Date("2020-01-01T00:00:00.000Z") }

/** Seconds left on `key` as the backend reports them (the map store: the TTL last given), `undefined` when absent. */
type TtlOf = (key: string) => Effect.Effect<number | undefined, unknown>

const assertTtl = (actual: number | undefined, expected: number) => {
  assert.isDefined(actual)
  assert.isAtMost(actual!, expected)
  assert.isAtLeast(actual!, expected - 5)
}

/** The chunk keys of the split value under `key` (read raw from `store`). */
const chunkKeysOf = (store: AnyStore, key: string) =>
  Effect.gen(function*() {
    const manifest = Option.getOrThrow(yield* store.get(key))
    assert.strictEqual(manifest.flags & Flags.SPLIT, Flags.SPLIT)
    const m = LargeValue.decodeManifest(manifest.value, key) as LargeValue.Manifest
    return Array.from({ length: m.chunkCount }, (_, i) => LargeValue.chunkKey(key, m.writeId, i))
  })

const flipped = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flip(effect) as Effect.Effect<E & { readonly _tag: string; readonly reason: string }>

const describeCasAndReplace = (makeStore: () => Effect.Effect<AnyStore>) =>
  describe("gets, cas, replace", () => {
    it.effect("gets returns the value with a bigint CAS unique; cas succeeds once, then Exists; gone is NotFound", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const users = TypedStore.make(store, User)
        const key = uniqueKey("cas")
        assert.isTrue(Option.isNone(yield* users.gets(key)))
        yield* users.set(key, ada)
        const first = Option.getOrThrow(yield* users.gets(key))
        assert.deepStrictEqual(first.value, ada)
        assert.strictEqual(typeof first.cas, "bigint")
        const renamed = { ...ada, name: "Ada L." }
        yield* users.cas(key, renamed, first.cas, { ttl: 60 })
        assert.deepStrictEqual(yield* users.get(key), Option.some(renamed))
        // the CAS unique moved on: a second write with the old one is a conflict and changes nothing
        const conflict = yield* flipped(users.cas(key, ada, first.cas))
        assert.strictEqual(conflict._tag, "MemcachedStoreError")
        assert.strictEqual(conflict.reason, "Exists")
        assert.deepStrictEqual(yield* users.get(key), Option.some(renamed))
        const second = Option.getOrThrow(yield* users.gets(key))
        assert.notStrictEqual(second.cas, first.cas)
        yield* users.delete(key)
        const gone = yield* flipped(users.cas(key, ada, second.cas))
        assert.strictEqual(gone._tag, "MemcachedStoreError")
        assert.strictEqual(gone.reason, "NotFound")
        assert.isTrue(Option.isNone(yield* users.get(key)))
      }))

    it.effect("gets of a bad value is a typed Decode error (a miss with onDecodeError: miss); cas of an unencodable value sends nothing", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("badgets")
        yield* store.set(key, Buffer.from("{\"id\":\"x\"}"), { flags: Flags.JSON })
        const e = yield* flipped(TypedStore.make(store, User).gets(key))
        assert.strictEqual(e._tag, "MemcachedValueError")
        assert.strictEqual(e.reason, "Decode")
        assert.strictEqual((e as unknown as ValueCodec.MemcachedValueError).key, key)
        assert.isTrue(Option.isNone(yield* TypedStore.make(store, User, { onDecodeError: "miss" }).gets(key)))
        const cas = Option.getOrThrow(yield* store.gets(key)).cas!
        const cyclic: Record<string, unknown> = {}
        cyclic.self = cyclic
        const e2 = yield* flipped(TypedStore.make(store, ValueCodec.json).cas(key, cyclic, cas))
        assert.strictEqual(e2._tag, "MemcachedValueError")
        assert.strictEqual(e2.reason, "Encode")
        // nothing was written: the old CAS unique still holds
        assert.strictEqual(Option.getOrThrow(yield* store.gets(key)).cas, cas)
      }))

    it.effect("a split value: gets assembles it, cas replaces it as a whole and conflicts like a plain one", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const bytes = TypedStore.make(store, ValueCodec.bytes)
        const key = uniqueKey("bigcas")
        const a = randomBytes(2_500_000)
        const b = randomBytes(2_200_000)
        yield* bytes.set(key, a)
        const read = Option.getOrThrow(yield* bytes.gets(key))
        assert.isTrue(Buffer.from(read.value).equals(a))
        yield* bytes.cas(key, b, read.cas)
        assert.isTrue(Buffer.from(Option.getOrThrow(yield* bytes.get(key))).equals(b))
        const e = yield* flipped(bytes.cas(key, a, read.cas))
        assert.strictEqual(e.reason, "Exists")
        assert.isTrue(Buffer.from(Option.getOrThrow(yield* bytes.get(key))).equals(b))
      }))

    it.effect("replace stores only over an existing key; a missing key is NotStored and stays missing", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const strings = TypedStore.make(store, ValueCodec.string)
        const key = uniqueKey("replace")
        const e = yield* flipped(strings.replace(key, "nothing"))
        assert.strictEqual(e._tag, "MemcachedStoreError")
        assert.strictEqual(e.reason, "NotStored")
        assert.isTrue(Option.isNone(yield* strings.get(key)))
        yield* strings.set(key, "one")
        yield* strings.replace(key, "two", { ttl: 60 })
        assert.deepStrictEqual(yield* strings.get(key), Option.some("two"))
        // a split value replaces too, and a split replace of a missing key is NotStored
        const big = randomBytes(1_500_000).toString("base64")
        yield* strings.replace(key, big)
        assert.deepStrictEqual(yield* strings.get(key), Option.some(big))
        const e2 = yield* flipped(strings.replace(uniqueKey("replace-missing"), big))
        assert.strictEqual(e2.reason, "NotStored")
      }))
  })

const describeTouchAndGat = (makeStore: () => Effect.Effect<AnyStore>, ttlOf: TtlOf) =>
  describe("touch, gat", () => {
    it.effect("touch sets the TTL of an existing key; a missing key is NotFound", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        for (const largeValues of [undefined, false] as const) {
          const strings = TypedStore.make(store, ValueCodec.string, { largeValues })
          const key = uniqueKey("touch")
          const e = yield* flipped(strings.touch(key, 100))
          assert.strictEqual(e._tag, "MemcachedStoreError")
          assert.strictEqual(e.reason, "NotFound")
          yield* strings.set(key, "v", { ttl: 60 })
          yield* strings.touch(key, 1000)
          assertTtl(yield* ttlOf(key), 1000)
          assert.deepStrictEqual(yield* strings.get(key), Option.some("v"))
        }
      }))

    it.effect("touch and gat of a split value set the TTL of its chunks too", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const bytes = TypedStore.make(store, ValueCodec.bytes)
        const key = uniqueKey("bigtouch")
        const value = randomBytes(2_500_000)
        yield* bytes.set(key, value, { ttl: 60 })
        const chunks = yield* chunkKeysOf(store, key)
        assert.strictEqual(chunks.length, 3)
        yield* bytes.touch(key, 1000)
        for (const k of [key, ...chunks]) assertTtl(yield* ttlOf(k), 1000)
        const got = yield* bytes.gat(key, 2000)
        assert.isTrue(Buffer.from(Option.getOrThrow(got)).equals(value))
        for (const k of [key, ...chunks]) assertTtl(yield* ttlOf(k), 2000)
      }))

    it.effect("gat reads, decodes and sets the TTL; a miss is None; a bad value is a Decode error", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const users = TypedStore.make(store, User)
        const key = uniqueKey("gat")
        assert.isTrue(Option.isNone(yield* users.gat(key, 100)))
        assert.isUndefined(yield* ttlOf(key))
        yield* users.set(key, ada, { ttl: 60 })
        assert.deepStrictEqual(yield* users.gat(key, 1000), Option.some(ada))
        assertTtl(yield* ttlOf(key), 1000)
        yield* store.set(key, Buffer.from("[]"), { flags: Flags.JSON })
        const e = yield* flipped(users.gat(key, 100))
        assert.strictEqual(e._tag, "MemcachedValueError")
        assert.strictEqual(e.reason, "Decode")
        assert.isTrue(Option.isNone(yield* TypedStore.make(store, User, { onDecodeError: "miss" }).gat(key, 100)))
      }))

    it.effect("an invalid TTL or key is an input error", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const strings = TypedStore.make(store, ValueCodec.string)
        const e = yield* flipped(strings.touch("a key", 10))
        assert.strictEqual(e._tag, "MemcachedInputError")
        const e2 = yield* flipped(strings.gat("a key", 10))
        assert.strictEqual(e2._tag, "MemcachedInputError")
      }))
  })

const describeStream = (makeStore: () => Effect.Effect<AnyStore>) =>
  describe("getStream", () => {
    it.effect("yields every key in input order: hits, misses, a split value; a bad value and an invalid key fail alone", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const users = TypedStore.make(store, User)
        const bytes = TypedStore.make(store, ValueCodec.bytes)
        const [hit, miss, bad, big] = [uniqueKey("hit"), uniqueKey("miss"), uniqueKey("bad"), uniqueKey("big")]
        yield* users.set(hit, ada)
        yield* store.set(bad, Buffer.from("{}"), { flags: Flags.JSON })
        yield* bytes.set(big, randomBytes(1_500_000))
        const keys = [hit, miss, bad, "an invalid key", big, hit]
        const out = yield* collect(users.getStream({ batchSize: 4 })(Stream.fromIterable(keys)))
        assert.deepStrictEqual(out.map(([k]) => k), keys)
        const [rHit, rMiss, rBad, rInvalid, rBig, rHit2] = out.map(([, r]) => r)
        assert.deepStrictEqual(rHit, succeed(Option.some(ada)))
        assert.deepStrictEqual(rHit2, succeed(Option.some(ada)))
        assert.deepStrictEqual(rMiss, succeed(Option.none()))
        assert.isTrue(isFailure(rBad!))
        assert.strictEqual(
          (failureOf(rBad!) as ValueCodec.MemcachedValueError).reason,
          "Decode"
        )
        assert.strictEqual(
          (failureOf(rInvalid!) as { _tag: string })._tag,
          "MemcachedInputError"
        )
        // the split value was assembled, then failed to decode as a User: its own error, not a batch's
        assert.strictEqual(
          (failureOf(rBig!) as ValueCodec.MemcachedValueError).reason,
          "Decode"
        )
        const raw = yield* collect(bytes.getStream()(Stream.make(big)))
        assert.strictEqual(Option.getOrThrow(successOf(raw[0]![1])).length, 1_500_000)
      }))

    it.effect("fails only with the key stream's own error", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const strings = TypedStore.make(store, ValueCodec.string)
        const e = yield* Effect.flip(
          Stream.runDrain(strings.getStream()(Stream.concat(Stream.make("k"), Stream.fail("upstream"))))
        )
        assert.strictEqual(e, "upstream")
      }))
  })

/**
 * The typed-store suite, run against any store: the map store, and the real client over the in-memory
 * server and real memcached. `ttlOf` reads a key's remaining TTL on that backend.
 */
export const typedStoreSuite = (name: string, makeStore: () => Effect.Effect<AnyStore>, ttlOf: TtlOf) =>
  describe(name, () => {
    describeCasAndReplace(makeStore)
    describeTouchAndGat(makeStore, ttlOf)
    describeStream(makeStore)
    describe("typed", () => {
      it.effect("a Schema-typed view round trips, misses are None", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const users = TypedStore.make(store, User)
          const key = uniqueKey("user")
          assert.isTrue(Option.isNone(yield* users.get(key)))
          yield* users.set(key, ada, { ttl: 60 })
          const got = yield* users.get(key)
          assert.deepStrictEqual(got, Option.some(ada))
          const raw = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(raw.flags, Flags.JSON)
          assert.deepStrictEqual(JSON.parse(Buffer.from(raw.value).toString()), {
            ...ada,
            since: "2020-01-01T00:00:00.000Z"
          })
          yield* users.delete(key)
          assert.isTrue(Option.isNone(yield* users.get(key)))
        }))

      it.effect("a value of the wrong shape is a typed Decode error, or a miss with onDecodeError: miss", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("bad")
          yield* store.set(key, Buffer.from("{\"id\":\"x\"}"), { flags: Flags.JSON })
          const e = yield* Effect.flip(TypedStore.make(store, User).get(key))
          assert.strictEqual((e as ValueCodec.MemcachedValueError)._tag, "MemcachedValueError")
          assert.strictEqual((e as ValueCodec.MemcachedValueError).reason, "Decode")
          assert.strictEqual((e as ValueCodec.MemcachedValueError).key, key)
          const lenient = TypedStore.make(store, User, { onDecodeError: "miss" })
          assert.isTrue(Option.isNone(yield* lenient.get(key)))
          // a string stored with flags 0 is not a JSON value
          yield* store.set(key, Buffer.from("plain"), { flags: 0 })
          const e2 = yield* Effect.flip(TypedStore.make(store, ValueCodec.json).get(key))
          assert.strictEqual((e2 as ValueCodec.MemcachedValueError).reason, "Decode")
        }))

      it.effect("add fails with NotStored on an existing key", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const strings = TypedStore.make(store, ValueCodec.string)
          const key = uniqueKey("add")
          yield* strings.add(key, "first")
          const e = yield* Effect.flip(strings.add(key, "second"))
          assert.strictEqual((e as MemcachedStoreError).reason, "NotStored")
          assert.deepStrictEqual(yield* strings.get(key), Option.some("first"))
        }))

      it.effect("getMany decodes every hit, including split values", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const bytes = TypedStore.make(store, ValueCodec.bytes)
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
          const docs = TypedStore.make(store, Doc, { compression: { threshold: 1024 } })
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
          const bytes = TypedStore.make(store, ValueCodec.bytes, { largeValues: false })
          const e = yield* Effect.flip(bytes.set(uniqueKey("nolarge"), new Uint8Array(2 * 1024 * 1024)))
          assert.strictEqual((e as MemcachedServerError)._tag, "MemcachedServerError")
        }))
    })

    describe("withKeyPrefix", () => {
      it.effect("prefixes every key and maps getMany back", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const ns = `ns${randomBytes(3).toString("hex")}:`
          const scoped = TypedStore.withKeyPrefix(store, ns)
          yield* scoped.set("a", Buffer.from("1"))
          yield* scoped.set("b", Buffer.from("2"))
          assert.strictEqual(Buffer.from(Option.getOrThrow(yield* store.get(ns + "a")).value).toString(), "1")
          const found = yield* scoped.getMany(["a", "b", "c"])
          assert.deepStrictEqual([...found.keys()].sort(), ["a", "b"])
          const strings = TypedStore.make(scoped, ValueCodec.string)
          assert.deepStrictEqual(yield* strings.get("b"), Option.some("2"))
          assert.strictEqual(yield* TypedStore.incr(scoped, "n", 5), 5n)
          assert.strictEqual(yield* TypedStore.incr(store, ns + "n", 1), 6n)
          yield* scoped.delete("a")
          assert.isTrue(Option.isNone(yield* store.get(ns + "a")))
        }))

      it.effect("every method of a typed store over the view lands on prefixed keys, split values included", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const ns = `ns${randomBytes(3).toString("hex")}:`
          const strings = TypedStore.make(TypedStore.withKeyPrefix(store, ns), ValueCodec.string)
          const raw = (key: string) =>
            Effect.map(store.get(key), Option.map((item) => Buffer.from(item.value).toString()))
          yield* strings.set("a", "1")
          const a = Option.getOrThrow(yield* strings.gets("a"))
          assert.strictEqual(a.cas, Option.getOrThrow(yield* store.gets(ns + "a")).cas)
          yield* strings.cas("a", "2", a.cas)
          yield* strings.replace("a", "3")
          assert.deepStrictEqual(yield* raw(ns + "a"), Option.some("3"))
          assert.isTrue(Option.isNone(yield* store.get("a")))
          yield* strings.touch("a", 100)
          assert.deepStrictEqual(yield* strings.gat("a", 100), Option.some("3"))
          yield* strings.add("b", "4")
          const big = randomBytes(1_500_000).toString("base64")
          yield* strings.set("big", big)
          const chunks = yield* chunkKeysOf(store, ns + "big")
          for (const k of chunks) assert.isTrue(k.startsWith(ns + "big|"))
          yield* strings.touch("big", 100)
          assert.deepStrictEqual(yield* strings.gat("big", 100), Option.some(big))
          const streamed = yield* collect(strings.getStream()(Stream.make("a", "b", "c", "big")))
          assert.deepStrictEqual(
            streamed.map(([k, r]) => [k, successOf(r)]),
            [["a", Option.some("3")], ["b", Option.some("4")], ["c", Option.none()], ["big", Option.some(big)]]
          )
          yield* strings.delete("big")
          for (const k of [ns + "big", ...chunks]) assert.isTrue(Option.isNone(yield* store.get(k)))
          const e = yield* flipped(strings.touch("big", 100))
          assert.strictEqual(e.reason, "NotFound")
        }))

      it.effect("the 250-byte limit applies to the prefixed key; hashLongKeys hashes instead", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const ns = `ns${randomBytes(3).toString("hex")}:`
          const key = "k".repeat(245)
          const e = yield* Effect.flip(TypedStore.withKeyPrefix(store, ns).set(key, Buffer.from("v")))
          assert.strictEqual((e as MemcachedInputError).reason, "InvalidKey")
          const hashing = TypedStore.withKeyPrefix(store, ns, { hashLongKeys: true })
          yield* hashing.set(key, Buffer.from("v"))
          const sent = TypedStore.prefixedKey(ns, key, { hashLongKeys: true })
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
          assert.strictEqual(TypedStore.prefixedKey(ns, "short", { hashLongKeys: true }), ns + "short")
          // Key's own rules decide what is repairable: long non-ASCII keys are hashed, a C1 control or a
          // lone surrogate is left for the store to reject
          const accents = "é".repeat(200)
          assert.isAtMost(Buffer.byteLength(TypedStore.prefixedKey(ns, accents, { hashLongKeys: true })), 250)
          yield* hashing.set(accents, Buffer.from("é"))
          assert.strictEqual(Buffer.from(Option.getOrThrow(yield* hashing.get(accents)).value).toString(), "é")
          for (const bad of ["\u0085" + key, "\ud800" + key]) {
            assert.strictEqual(TypedStore.prefixedKey(ns, bad, { hashLongKeys: true }), ns + bad)
            assert.strictEqual((yield* flipped(hashing.set(bad, Buffer.from("v")))).reason, "InvalidKey")
          }
        }))
    })

    describe("counters", () => {
      it.effect("incr creates a missing counter with the initial value and TTL, then increments", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("hits")
          assert.strictEqual(yield* TypedStore.incr(store, key, 1, { initial: 10n, ttl: 30 }), 10n)
          assert.strictEqual(yield* TypedStore.incr(store, key, 5), 15n)
          const raw = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(raw.flags, Flags.JSON)
          assert.strictEqual(yield* fromOutcome(ValueCodec.bigint.decode(raw.value, raw.flags)), 15n)
          // Swift's default: a missing counter starts at delta
          const other = uniqueKey("swift")
          assert.strictEqual(yield* TypedStore.incr(store, other, 7), 7n)
        }))

      it.effect("decr floors at 0 and creates at 0 by default; negative deltas flip the command", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("stock")
          assert.strictEqual(yield* TypedStore.decr(store, key, 3), 0n)
          assert.strictEqual(yield* TypedStore.incr(store, key, 10), 10n)
          assert.strictEqual(yield* TypedStore.decr(store, key, 4n), 6n)
          assert.strictEqual(yield* TypedStore.decr(store, key, 100), 0n)
          assert.strictEqual(yield* TypedStore.incr(store, key, -1), 0n)
          assert.strictEqual(yield* TypedStore.decr(store, key, -9), 9n)
          // a shrinking decr may leave space padding; the bigint codec reads it
          const raw = Option.getOrThrow(yield* store.get(key))
          assert.strictEqual(yield* fromOutcome(ValueCodec.bigint.decode(raw.value, raw.flags)), 9n)
        }))

      it.effect("values beyond 2^53 are exact bigints; 2^64 wraps", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("big")
          const start = 2n ** 60n
          assert.strictEqual(yield* TypedStore.incr(store, key, 1, { initial: start }), start)
          assert.strictEqual(yield* TypedStore.incr(store, key, 2n ** 53n + 1n), start + 2n ** 53n + 1n)
          const max = uniqueKey("max")
          assert.strictEqual(yield* TypedStore.incr(store, max, 0, { initial: 2n ** 64n - 1n }), 2n ** 64n - 1n)
          assert.strictEqual(yield* TypedStore.incr(store, max, 1), 0n)
        }))

      it.effect("invalid deltas and initial values are input errors", () =>
        Effect.gen(function*() {
          const store = yield* makeStore()
          const key = uniqueKey("bad")
          for (
            const run of [
              TypedStore.incr(store, key, 1.5),
              TypedStore.incr(store, key, 2n ** 64n),
              TypedStore.incr(store, key, 1, { initial: -1n }),
              TypedStore.decr(store, key, Number.MAX_SAFE_INTEGER + 2)
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

describe("TypedStore types", () => {
  it("errors are narrowed per method (tsc rejects this file otherwise)", () => {
    assert.deepStrictEqual(narrowedErrors, narrowedErrors.map(() => true))
    assert.deepStrictEqual(clientErrors, [true, true])
  })
})

describe("TypedStore per-call options (mapStore)", () => {
  it.effect("a call's timeout reaches every store call it makes, chunks included; other calls keep the client's", () =>
    Effect.gen(function*() {
      const { calls, store } = mapStore()
      const bytes = TypedStore.make(store, ValueCodec.bytes)
      const timeout = "1234 millis"
      const big = randomBytes(2_500_000)
      yield* bytes.set("k", big, { timeout, ttl: 10 })
      // every chunk write (and the manifest's) carried the TTL of its value
      assert.deepStrictEqual(calls.map((c) => [c.method, (c.options as { ttl?: unknown }).ttl]), [
        ["set", 10],
        ["set", 10],
        ["set", 10],
        ["set", 10]
      ])
      const run = [
        Effect.asVoid(bytes.get("k", { timeout })),
        Effect.flatMap(bytes.gets("k", { timeout }), (o) => bytes.cas("k", big, Option.getOrThrow(o).cas, { timeout })),
        bytes.replace("k", big, { timeout }),
        bytes.touch("k", 20, { timeout }),
        Effect.asVoid(bytes.gat("k", 30, { timeout })),
        Effect.asVoid(bytes.getMany(["k", "x"], { timeout })),
        Stream.runDrain(bytes.getStream({ timeout })(Stream.make("k", "x"))),
        Effect.asVoid(TypedStore.incr(store, "n", 1, { timeout })),
        bytes.delete("k", { timeout })
      ]
      for (const effect of run) yield* effect
      const methods = new Set(calls.map((c) => c.method))
      for (const m of ["set", "get", "gets", "cas", "replace", "touch", "gat", "getMany", "incr", "add", "delete"]) {
        assert.isTrue(methods.has(m), m)
      }
      for (const c of calls) assert.deepStrictEqual(c.options?.timeout, timeout, `${c.method} ${c.key}`)
      calls.length = 0
      yield* bytes.set("k", Buffer.from("v"))
      assert.isUndefined(calls[0]!.options?.timeout)
    }))
})

describe("TypedStore getStream over a failing server (mapStore)", () => {
  // Keys under "down:" live on a server that is unreachable: any read that touches one fails as a whole.
  const withDownServer = () => {
    const { store } = mapStore()
    const down = (keys: ReadonlyArray<string>) => keys.some((k) => k.startsWith("down:"))
    const refused = new MemcachedConnectionError({ reason: "Connect", message: "connection refused", server: "down" })
    const failing = {
      ...store,
      get: (key: string, o?: MemcachedClient.CallOptions) => (down([key]) ? Effect.fail(refused) : store.get(key, o)),
      getMany: (keys: ReadonlyArray<string>, o?: MemcachedClient.CallOptions) =>
        down(keys) ? Effect.fail(refused) : store.getMany(keys, o)
    }
    return { store, failing }
  }

  it.effect("only the failed server's keys fail; the others are read, in input order", () =>
    Effect.gen(function*() {
      const { failing, store } = withDownServer()
      yield* store.set("up:a", Buffer.from("A"))
      const strings = TypedStore.make(failing, ValueCodec.string)
      const keys = ["up:a", "down:b", "up:c", "an invalid key", "up:a"]
      const out = yield* collect(strings.getStream()(Stream.fromIterable(keys)))
      assert.deepStrictEqual(out.map(([k]) => k), keys)
      assert.deepStrictEqual(out[0]![1], succeed(Option.some("A")))
      assert.strictEqual(
        (failureOf(out[1]![1]) as { _tag: string })._tag,
        "MemcachedConnectionError"
      )
      assert.deepStrictEqual(out[2]![1], succeed(Option.none()))
      assert.strictEqual(
        (failureOf(out[3]![1]) as { _tag: string })._tag,
        "MemcachedInputError"
      )
      assert.deepStrictEqual(out[4]![1], succeed(Option.some("A")))
      // onServerError: "miss" turns the failed server's keys into misses; an invalid key stays an error
      const lenient = yield* collect(strings.getStream({ onServerError: "miss" })(Stream.fromIterable(keys)))
      assert.deepStrictEqual(lenient[1]![1], succeed(Option.none()))
      assert.isTrue(isFailure(lenient[3]![1]))
      assert.deepStrictEqual(lenient[0]![1], succeed(Option.some("A")))
      // a batch of one failed key fails without a second read
      const alone = yield* collect(strings.getStream()(Stream.make("down:z")))
      assert.isTrue(isFailure(alone[0]![1]))
    }))
})

describe("TypedStore counters (races, mapStore only)", () => {
  it.effect("a concurrent creator wins the add: incr retries and applies the delta to its value", () =>
    Effect.gen(function*() {
      const { store } = mapStore()
      let adds = 0
      const racing: MapStore = {
        ...store,
        add: (key, value, options) => {
          adds++
          // another client creates the counter between our incr (NotFound) and our add
          return adds === 1
            ? Effect.andThen(store.set(key, Buffer.from("100")), store.add(key, value, options))
            : store.add(key, value, options)
        }
      }
      assert.strictEqual(yield* TypedStore.incr(racing, "c", 5, { initial: 1n }), 105n)
      assert.strictEqual(adds, 1)
    }))

  it.effect("gives up after maxAttempts under a delete storm, with the store's error", () =>
    Effect.gen(function*() {
      const { store } = mapStore()
      let adds = 0
      const hostile: MapStore = {
        ...store,
        add: (key) => (adds++, Effect.fail(new MemcachedStoreError({ reason: "NotStored", key, command: "add" })))
      }
      const e = yield* Effect.flip(TypedStore.incr(hostile, "c", 1, { maxAttempts: 2 }))
      assert.strictEqual((e as MemcachedStoreError).reason, "NotStored")
      assert.strictEqual(adds, 2)
    }))

  it.effect("records the TTL of a created counter", () =>
    Effect.gen(function*() {
      const { items, store } = mapStore()
      yield* TypedStore.incr(store, "t", 1, { ttl: 42 })
      assert.strictEqual(items.get("t")?.ttl, 42)
      assert.strictEqual(Buffer.from(items.get("t")!.value).toString(), "1")
    }))
})

const shared = mapStore()
typedStoreSuite(
  "TypedStore over mapStore",
  () => Effect.succeed(shared.store as AnyStore),
  (key) => Effect.sync(() => shared.items.get(key)?.ttl as number | undefined)
)

for (const [name, makeStore] of realStores()) {
  typedStoreSuite(
    `TypedStore over the real client, ${name}`,
    () => makeStore() as Effect.Effect<AnyStore>,
    (key) =>
      Effect.flatMap(
        makeStore(),
        (client) =>
          Effect.map(client.metaGet(key, { ttl: true, value: false }), (item) => Option.getOrUndefined(item)?.ttl)
      )
  )
}
