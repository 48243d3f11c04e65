/**
 * `@effect/experimental` Persistence over memcached: the BackingPersistence store directly, and
 * `PersistedCache` through `ResultPersistence`, against the in-memory server and a real memcached.
 */
import * as PersistedCache from "@effect/experimental/PersistedCache"
import * as Persistence from "@effect/experimental/Persistence"
import { assert, describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PrimaryKey from "effect/PrimaryKey"
import * as Schema from "effect/Schema"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedPersistence from "../src/MemcachedPersistence.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { realClient } from "./support/realClient.js"

const backends = [
  ["the in-memory server (3 servers)", MemcachedTest.layer({ servers: 3 })],
  ["memcached 1.6 (real process)", realClient]
] as const

class GetUser extends Schema.TaggedRequest<GetUser>()("GetUser", {
  failure: Schema.String,
  success: Schema.Struct({ id: Schema.Number, name: Schema.String }),
  payload: { id: Schema.Number }
}) {
  [PrimaryKey.symbol]() {
    return `user ${this.id}`
  }
}

/** The wire key of `key` in store `storeId` (no hashing needed for these short keys). */
const ttlOnServer = (storeId: string, key: string) =>
  Effect.gen(function*() {
    const client = yield* MemcachedClient.MemcachedClient
    const generation = Option.getOrThrow(yield* client.getString(`persistence:${storeId}:~generation`))
    const item = yield* client.metaGet(`persistence:${storeId}:${generation}:${key}`, { ttl: true, value: false })
    return Option.map(item, (i) => i.ttl)
  })

for (const [name, clientLayer] of backends) {
  describe(`MemcachedPersistence over ${name}`, () => {
    layer(Layer.provideMerge(MemcachedPersistence.layer(), clientLayer))("BackingPersistence", (it) => {
      it.scoped("get / set / getMany / remove round-trip JSON values; TTLs reach the server", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          const store = yield* backing.make("bp1")
          assert.isTrue(Option.isNone(yield* store.get("a")))
          yield* store.set("a", { n: 1, s: "x" }, Option.none())
          yield* store.set("b", [1, 2, 3], Option.some(Duration.seconds(90)))
          assert.deepStrictEqual(yield* store.get("a"), Option.some({ n: 1, s: "x" }))
          assert.deepStrictEqual(yield* store.getMany(["b", "missing", "a"]), [
            Option.some([1, 2, 3]),
            Option.none(),
            Option.some({ n: 1, s: "x" })
          ])
          assert.deepStrictEqual(yield* ttlOnServer("bp1", "a"), Option.some(-1))
          const ttl = Option.getOrThrow(yield* ttlOnServer("bp1", "b")) ?? 0
          assert.isTrue(ttl > 80 && ttl <= 90, `ttl ${ttl}`)
          yield* store.remove("a")
          yield* store.remove("a")
          assert.isTrue(Option.isNone(yield* store.get("a")))
        }))

      it.scoped("setMany groups by TTL; any string is a key; clear clears one store only", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          const one = yield* backing.make("bp2")
          const two = yield* backing.make("bp3")
          const long = "k".repeat(300)
          yield* one.setMany([
            ["x", 1, Option.some(Duration.minutes(2))],
            ["with space", 2, Option.none()],
            [long, 3, Option.some(Duration.millis(1500))]
          ])
          yield* two.set("x", "other", Option.none())
          assert.deepStrictEqual(yield* one.getMany(["x", "with space", long]), [
            Option.some(1),
            Option.some(2),
            Option.some(3)
          ])
          const ttl = Option.getOrThrow(yield* ttlOnServer("bp2", "x")) ?? 0
          assert.isTrue(ttl > 100 && ttl <= 120, `ttl ${ttl}`)
          yield* one.clear
          assert.deepStrictEqual(yield* one.getMany(["x", "with space", long]), [
            Option.none(),
            Option.none(),
            Option.none()
          ])
          assert.deepStrictEqual(yield* two.get("x"), Option.some("other"))
        }))

      it.scoped("failures are PersistenceBackingError: values JSON cannot encode, entries it cannot decode", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          const client = yield* MemcachedClient.MemcachedClient
          const store = yield* backing.make("bp4")
          const e = yield* Effect.flip(store.set("n", 10n, Option.none()))
          expect(e).toMatchObject({ _tag: "PersistenceError", reason: "BackingError", method: "set" })
          yield* store.set("ok", 1, Option.none())
          const generation = Option.getOrThrow(yield* client.getString("persistence:bp4:~generation"))
          yield* client.set(`persistence:bp4:${generation}:bad`, "{not json")
          const d = yield* Effect.flip(store.get("bad"))
          expect(d).toMatchObject({ reason: "BackingError", method: "get" })
        }))
    })

    layer(Layer.provideMerge(MemcachedPersistence.layerResult(), clientLayer))("PersistedCache", (it) => {
      it.scoped("lookups are persisted in memcached: a fresh cache reads them without calling lookup", () =>
        Effect.gen(function*() {
          let calls = 0
          const makeCache = PersistedCache.make({
            storeId: "users",
            lookup: (req: GetUser) =>
              Effect.sync(() => ++calls).pipe(
                Effect.flatMap(() =>
                  req.id < 0 ? Effect.fail(`no user ${req.id}`) : Effect.succeed({ id: req.id, name: `u${req.id}` })
                )
              ),
            timeToLive: (_req, exit) => Exit.isSuccess(exit) ? "1 hour" : "1 minute"
          })
          const first = yield* makeCache
          assert.deepStrictEqual(yield* first.get(new GetUser({ id: 1 })), { id: 1, name: "u1" })
          assert.deepStrictEqual(yield* first.get(new GetUser({ id: 1 })), { id: 1, name: "u1" })
          assert.strictEqual(calls, 1)
          assert.strictEqual(yield* Effect.flip(first.get(new GetUser({ id: -1 }))), "no user -1")
          assert.strictEqual(calls, 2)

          const second = yield* makeCache
          assert.deepStrictEqual(yield* second.get(new GetUser({ id: 1 })), { id: 1, name: "u1" })
          assert.strictEqual(yield* Effect.flip(second.get(new GetUser({ id: -1 }))), "no user -1")
          assert.strictEqual(calls, 2)

          yield* second.invalidate(new GetUser({ id: 1 }))
          const third = yield* makeCache
          assert.deepStrictEqual(yield* third.get(new GetUser({ id: 1 })), { id: 1, name: "u1" })
          assert.strictEqual(calls, 3)
        }))
    })
  })
}
