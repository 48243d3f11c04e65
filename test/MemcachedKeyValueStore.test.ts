/**
 * The memcached `@effect/platform` KeyValueStore (and SchemaStore through it) against the in-memory
 * server and a real memcached process.
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
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
          assert.isTrue(Option.isNone(yield* kv.get("kv:a")))
          yield* kv.set("kv:a", "héllo")
          assert.deepStrictEqual(yield* kv.get("kv:a"), Option.some("héllo"))
          yield* kv.set("kv:b", new Uint8Array([0, 255, 10, 13]))
          const bytes = yield* kv.getUint8Array("kv:b")
          assert.deepStrictEqual(Option.map(bytes, (b) => [...b]), Option.some([0, 255, 10, 13]))
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
          assert.deepStrictEqual(yield* kv.get("with space"), Option.some("1"))
          assert.deepStrictEqual(yield* kv.get(long), Option.some("2"))
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
          assert.deepStrictEqual(yield* kv.get("kv:counter"), Option.some("20"))
          assert.isTrue(Option.isNone(yield* kv.modify("kv:none", (s) => s + "!")))
          const bytes = yield* kv.modifyUint8Array("kv:counter", (u) => Uint8Array.from([...u, 0x21]))
          assert.deepStrictEqual(Option.map(bytes, (b) => Buffer.from(b).toString()), Option.some("20!"))
        }))

      it.effect("size fails with SystemError(BadResource): memcached cannot count keys", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          const e = yield* Effect.flip(kv.size)
          assert.strictEqual(e._tag, "SystemError")
          expect(e).toMatchObject({ reason: "BadResource", module: "KeyValueStore", method: "size" })
        }))

      it.effect("SchemaStore through forSchema: encode, decode, parse errors", () =>
        Effect.gen(function*() {
          const kv = yield* KeyValueStore.KeyValueStore
          const users = kv.forSchema(User)
          yield* users.set("kv:user", new User({ name: "Ada", age: 36 }))
          const got = yield* users.get("kv:user")
          assert.isTrue(Option.isSome(got) && got.value instanceof User && got.value.name === "Ada")
          yield* kv.set("kv:user", "{\"name\":1}")
          const e = yield* Effect.flip(users.get("kv:user"))
          assert.strictEqual(e._tag, "ParseError")
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
        Layer.effect(
          KeyValueStore.KeyValueStore,
          MemcachedKeyValueStore.make({ namespace: "kvns-a", ttl: 100 })
        ),
        Layer.effect(OtherStore, Effect.map(MemcachedKeyValueStore.make({ namespace: "kvns-b" }), (s) => s))
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
          assert.isTrue(Option.isNone(yield* a.get("k")))
          assert.deepStrictEqual(yield* b.get("k"), Option.some("B"))
        }))
    })

    layer(clientLayer)("errors", (it) => {
      it.effect("network errors become SystemError with the MemcachedError as cause", () =>
        Effect.gen(function*() {
          const kv = yield* MemcachedKeyValueStore.make({ hashInvalidKeys: false })
          const e = yield* Effect.flip(kv.get("bad key"))
          assert.strictEqual(e._tag, "BadArgument")
          expect(e.cause).toMatchObject({ _tag: "MemcachedInputError", reason: "InvalidKey" })
        }))
    })
  })
}

class OtherStore extends Effect.Tag("test/OtherStore")<OtherStore, KeyValueStore.KeyValueStore>() {}

describe("MemcachedKeyValueStore failures", () => {
  it.live("a timed-out request is SystemError(TimedOut)", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      const server = yield* MemcachedTest.MemoryServer
      server.faults.blackHole(true)
      const e = yield* Effect.flip(kv.get("k"))
      expect(e).toMatchObject({ _tag: "SystemError", reason: "TimedOut", method: "get" })
    }).pipe(
      Effect.provide(Layer.provideMerge(MemcachedKeyValueStore.layer(), MemcachedTest.layer({ timeout: "100 millis" })))
    ))

  it.live("an exhausted CAS loop is SystemError(Busy) with the Exists conflict as cause", () =>
    Effect.gen(function*() {
      const kv = yield* KeyValueStore.KeyValueStore
      yield* kv.set("busy", "0")
      const results = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => i),
        () => Effect.either(kv.modify("busy", (s) => String(Number(s) + 1))),
        { concurrency: "unbounded" }
      )
      const busy = results.filter((r) => r._tag === "Left")
      assert.isTrue(busy.length >= 1)
      for (const r of busy) {
        expect(r.left).toMatchObject({
          _tag: "SystemError",
          reason: "Busy",
          cause: { _tag: "MemcachedStoreError", reason: "Exists" }
        })
      }
      const won = results.length - busy.length
      assert.deepStrictEqual(yield* kv.get("busy"), Option.some(String(won)))
    }).pipe(
      Effect.provide(Layer.provideMerge(MemcachedKeyValueStore.layer({ casAttempts: 1 }), MemcachedTest.layer()))
    ))
})
