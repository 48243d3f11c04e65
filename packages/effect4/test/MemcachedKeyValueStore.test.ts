/**
 * The memcached Effect 4 KeyValueStore (and SchemaStore through it) against the in-memory server and a
 * real memcached process.
 */
import { assert, describe, expect, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedKeyValueStore from "../src/MemcachedKeyValueStore.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { realClient } from "./support/realClient.js"

const backends = [
  ["the in-memory server (2 servers)", MemcachedTest.layer({ servers: 2 })],
  ["memcached 1.6 (real process)", realClient]
] as const

class User extends Schema.Class<User>("User")({ name: Schema.String, age: Schema.Number }) {}

for (const [name, clientLayer] of backends) {
  describe(`MemcachedKeyValueStore over ${name}`, () => {
    layer(Layer.provideMerge(MemcachedKeyValueStore.layer(), clientLayer))("no namespace", (it) => {
      it.effect("get / set / has / remove, strings as UTF-8 and bytes as is", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          assert.isUndefined(yield* kv.get("kv:a"))
          yield* kv.set("kv:a", "héllo")
          assert.strictEqual(yield* kv.get("kv:a"), "héllo")
          yield* kv.set("kv:b", new Uint8Array([0, 255, 10, 13]))
          const bytes = yield* kv.getUint8Array("kv:b")
          assert.deepStrictEqual(bytes === undefined ? undefined : [...bytes], [0, 255, 10, 13])
          assert.isTrue(yield* kv.has("kv:a"))
          yield* kv.remove("kv:a")
          yield* kv.remove("kv:a")
          assert.isFalse(yield* kv.has("kv:a"))
        }))

      it.effect("any string is a key: invalid memcached keys are stored under their SHA-256", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          const client = yield* MemcachedClient.MemcachedClient
          const long = "x".repeat(400)
          yield* kv.set("with space", "1")
          yield* kv.set(long, "2")
          assert.strictEqual(yield* kv.get("with space"), "1")
          assert.strictEqual(yield* kv.get(long), "2")
          assert.isTrue(Option.isNone(yield* client.get("x".repeat(250))))
        }))

      it.effect("modify is a CAS loop: concurrent modifies never lose an update", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          yield* kv.set("kv:counter", "0")
          yield* Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            () => kv.modify("kv:counter", (s) => String(Number(s) + 1)),
            { concurrency: "unbounded", discard: true }
          )
          assert.strictEqual(yield* kv.get("kv:counter"), "20")
          assert.isUndefined(yield* kv.modify("kv:none", (s) => s + "!"))
          const bytes = yield* kv.modifyUint8Array("kv:counter", (u) => Uint8Array.from([...u, 0x21]))
          assert.strictEqual(bytes === undefined ? undefined : Buffer.from(bytes).toString(), "20!")
        }))

      it.effect("size, keys, isEmpty and clearPrefix fail typed: memcached cannot count or list keys", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          for (
            const [method, effect] of [["size", kv.size], ["keys", kv.keys], ["size", kv.isEmpty], [
              "clearPrefix",
              kv.clearPrefix("kv:")
            ]] as const
          ) {
            const e = yield* Effect.flip(effect as Effect.Effect<unknown, KeyValueStore.KeyValueStoreError>)
            expect(e).toMatchObject({ _tag: "KeyValueStoreError", method })
            assert.match(e.message, /cannot count or list keys/)
          }
          // a prefixed view reads and writes through the store; clearing it is the same typed failure
          const view = KeyValueStore.prefix(kv, "view:")
          yield* view.set("k", "v")
          assert.strictEqual(yield* kv.get("view:k"), "v")
          expect(yield* Effect.flip(view.clear)).toMatchObject({ _tag: "KeyValueStoreError", method: "clearPrefix" })
        }))

      it.effect("SchemaStore through toSchemaStore: encode, decode, schema errors", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          const users = KeyValueStore.toSchemaStore(kv, User)
          yield* users.set("kv:user", new User({ name: "Ada", age: 36 }))
          const got = yield* users.get("kv:user")
          assert.isTrue(Option.isSome(got) && got.value instanceof User && got.value.name === "Ada")
          yield* kv.set("kv:user", "{\"name\":1}")
          const e = yield* Effect.flip(users.get("kv:user"))
          assert.strictEqual(e._tag, "SchemaError")
          assert.deepStrictEqual(
            Option.map(yield* users.modify("kv:user2", (u) => u), (u) => u.age),
            Option.none()
          )
        }))

      it.effect("clear without a namespace flushes the server", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          yield* kv.set("kv:c", "1")
          yield* kv.clear
          assert.isFalse(yield* kv.has("kv:c"))
        }))
    })

    layer(
      Layer.mergeAll(
        Layer.effect(KeyValueStore.KeyValueStore)(MemcachedKeyValueStore.make({ namespace: "kvns-a", ttl: 100 })),
        Layer.effect(OtherStore)(MemcachedKeyValueStore.make({ namespace: "kvns-b" }))
      ).pipe(Layer.provideMerge(clientLayer))
    )("namespaces", (it) => {
      it.effect("clear clears only the store's namespace; writes carry the TTL", () =>
        Effect.gen(function*() {
          const a = yield* KeyValueStore.KeyValueStore
          const b = yield* OtherStore
          const client = yield* MemcachedClient.MemcachedClient
          yield* a.set("k", "A")
          yield* b.set("k", "B")
          const generation = yield* client.getString("kvns-a:~generation")
          assert.isTrue(Option.isSome(generation))
          const item = yield* client.metaGet(`kvns-a:${Option.getOrThrow(generation)}:k`, { ttl: true })
          const ttl = Option.getOrThrow(item).ttl ?? -1
          assert.isTrue(ttl > 90 && ttl <= 100, `ttl ${ttl}`)
          yield* a.clear
          assert.isUndefined(yield* a.get("k"))
          assert.strictEqual(yield* b.get("k"), "B")
        }))
    })

    layer(clientLayer)("errors", (it) => {
      it.effect("a rejected key is a KeyValueStoreError naming method and key, the MemcachedError as cause", () =>
        Effect.gen(function*() {
          const kv = yield* MemcachedKeyValueStore.make({ hashInvalidKeys: false })
          const e = yield* Effect.flip(kv.get("bad key"))
          expect(e).toMatchObject({ _tag: "KeyValueStoreError", method: "get", key: "bad key" })
          expect(e.cause).toMatchObject({ _tag: "MemcachedInputError", reason: "InvalidKey" })
        }))
    })
  })
}

class OtherStore extends Context.Service<OtherStore, KeyValueStore.KeyValueStore>()("test/OtherStore") {}

describe("MemcachedKeyValueStore failures", () => {
  it.live("a timed-out request is a KeyValueStoreError with the Timeout as cause", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      const server = yield* MemcachedTest.MemoryServer
      server.faults.blackHole(true)
      const e = yield* Effect.flip(kv.get("k"))
      expect(e).toMatchObject({
        _tag: "KeyValueStoreError",
        method: "get",
        key: "k",
        cause: { _tag: "MemcachedConnectionError", reason: "Timeout" }
      })
    }).pipe(
      Effect.provide(Layer.provideMerge(MemcachedKeyValueStore.layer(), MemcachedTest.layer({ timeout: "100 millis" })))
    ))

  it.live("an exhausted CAS loop is a KeyValueStoreError with the Exists conflict as cause", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      yield* kv.set("busy", "0")
      const results = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => i),
        () => Effect.result(kv.modify("busy", (s) => String(Number(s) + 1))),
        { concurrency: "unbounded" }
      )
      const busy = results.filter(Result.isFailure)
      assert.isTrue(busy.length >= 1)
      for (const r of busy) {
        expect(r.failure).toMatchObject({
          _tag: "KeyValueStoreError",
          method: "modify",
          cause: { _tag: "MemcachedStoreError", reason: "Exists" }
        })
      }
      const won = results.length - busy.length
      assert.strictEqual(yield* kv.get("busy"), String(won))
    }).pipe(
      Effect.provide(Layer.provideMerge(MemcachedKeyValueStore.layer({ casAttempts: 1 }), MemcachedTest.layer()))
    ))
})
