/**
 * Effect 4's `effect/persistence` over memcached: the BackingPersistence store directly, and
 * `PersistedCache` through `Persistence.layer`, against the in-memory server and a real memcached.
 */
import { assert, describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Persistable from "effect/persistence/Persistable"
import * as PersistedCache from "effect/persistence/PersistedCache"
import * as Persistence from "effect/persistence/Persistence"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedPersistence from "../src/MemcachedPersistence.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { realClient } from "./support/realClient.js"

const backends = [
  ["the in-memory server (3 servers)", MemcachedTest.layer({ servers: 3 }), "test"],
  ["memcached 1.6 (real process)", realClient, "real"]
] as const

class GetUser extends Persistable.Class<{ payload: { readonly id: number } }>()("GetUser", {
  primaryKey: (p) => `user ${p.id}`,
  success: Schema.Struct({ id: Schema.Number, name: Schema.String }),
  error: Schema.String
}) {}

/** The remaining TTL on the server of `key` in store `storeId` (no hashing needed for these short keys). */
const ttlOnServer = (storeId: string, key: string) =>
  Effect.gen(function*() {
    const client = yield* MemcachedClient.MemcachedClient
    const generation = Option.getOrThrow(yield* client.getString(`persistence:${storeId}:~generation`))
    const item = yield* client.metaGet(`persistence:${storeId}:${generation}:${key}`, { ttl: true, value: false })
    return Option.map(item, (i) => i.ttl)
  })

for (const [name, clientLayer, kind] of backends) {
  describe(`MemcachedPersistence over ${name}`, () => {
    layer(Layer.provideMerge(MemcachedPersistence.layerBacking(), clientLayer))("BackingPersistence", (it) => {
      it.effect("get / set / getMany / remove round-trip JSON values; TTLs reach the server", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          const store = yield* backing.make("bp1")
          assert.isUndefined(yield* store.get("a"))
          yield* store.set("a", { n: 1, s: "x" }, undefined)
          yield* store.set("b", [1, 2, 3], Duration.seconds(90))
          assert.deepStrictEqual(yield* store.get("a"), { n: 1, s: "x" })
          assert.deepStrictEqual(yield* store.getMany(["b", "missing", "a"]), [[1, 2, 3], undefined, { n: 1, s: "x" }])
          assert.deepStrictEqual(yield* ttlOnServer("bp1", "a"), Option.some(-1))
          const ttl = Option.getOrThrow(yield* ttlOnServer("bp1", "b")) ?? 0
          assert.isTrue(ttl > 80 && ttl <= 90, `ttl ${ttl}`)
          // an infinite duration is stored without expiry, like undefined
          yield* store.set("c", { inf: true }, Duration.infinity)
          assert.deepStrictEqual(yield* ttlOnServer("bp1", "c"), Option.some(-1))
          yield* store.remove("a")
          yield* store.remove("a")
          assert.isUndefined(yield* store.get("a"))
        }))

      it.effect("setMany groups by TTL; any string is a key; clear clears one store only", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          const one = yield* backing.make("bp2")
          const two = yield* backing.make("bp3")
          const long = "k".repeat(300)
          yield* one.setMany([
            ["x", { v: 1 }, Duration.minutes(2)],
            ["with space", { v: 2 }, undefined],
            [long, { v: 3 }, Duration.millis(1500)]
          ])
          yield* two.set("x", { v: "other" }, undefined)
          assert.deepStrictEqual(yield* one.getMany(["x", "with space", long]), [{ v: 1 }, { v: 2 }, { v: 3 }])
          const ttl = Option.getOrThrow(yield* ttlOnServer("bp2", "x")) ?? 0
          assert.isTrue(ttl > 100 && ttl <= 120, `ttl ${ttl}`)
          yield* one.clear
          assert.deepStrictEqual(yield* one.getMany(["x", "with space", long]), [undefined, undefined, undefined])
          assert.deepStrictEqual(yield* two.get("x"), { v: "other" })
        }))

      it.effect("failures are PersistenceError: values JSON cannot encode, entries it cannot decode", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          const client = yield* MemcachedClient.MemcachedClient
          const store = yield* backing.make("bp4")
          const e = yield* Effect.flip(store.set("n", { big: 10n }, undefined))
          expect(e).toMatchObject({ _tag: "PersistenceError" })
          assert.match(e.message, /set failed/)
          yield* store.set("ok", { v: 1 }, undefined)
          const generation = Option.getOrThrow(yield* client.getString("persistence:bp4:~generation"))
          yield* client.set(`persistence:bp4:${generation}:bad`, "{not json")
          yield* client.set(`persistence:bp4:${generation}:scalar`, "42")
          const d = yield* Effect.flip(store.get("bad"))
          expect(d).toMatchObject({ _tag: "PersistenceError" })
          assert.match(d.message, /get failed/)
          assert.match((yield* Effect.flip(store.getMany(["ok", "scalar"]))).message, /not a JSON object/)
          assert.deepStrictEqual(yield* store.get("ok"), { v: 1 })
        }))

      it.effect("a store id that cannot prefix a memcached key is hashed: its keys still work", () =>
        Effect.gen(function*() {
          const backing = yield* Persistence.BackingPersistence
          // A store id with a space: its namespace is hashed, so every key is still valid on the wire.
          const store = yield* backing.make("with space and a long name ".repeat(12))
          yield* store.set("k", { v: 1 }, undefined)
          assert.deepStrictEqual(yield* store.get("k"), { v: 1 })
        }))

      if (kind === "test") {
        it.effect("a TTL expires on the server's clock (TestClock drives the in-memory server)", () =>
          Effect.gen(function*() {
            const store = yield* (yield* Persistence.BackingPersistence).make("bp5")
            yield* store.set("short", { v: 1 }, Duration.seconds(2))
            yield* store.set("forever", { v: 2 }, undefined)
            yield* TestClock.adjust("1 second")
            assert.deepStrictEqual(yield* store.get("short"), { v: 1 })
            yield* TestClock.adjust("2 seconds")
            assert.deepStrictEqual(yield* store.getMany(["short", "forever"]), [undefined, { v: 2 }])
          }))
      }
    })

    layer(Layer.provideMerge(MemcachedPersistence.layer(), clientLayer))("Persistence + PersistedCache", (it) => {
      it.effect("lookups are persisted in memcached: a fresh cache reads them without calling lookup", () =>
        Effect.gen(function*() {
          let calls = 0
          const makeCache = PersistedCache.make(
            (req: GetUser) =>
              Effect.sync(() => ++calls).pipe(
                Effect.flatMap(() =>
                  req.id < 0 ? Effect.fail(`no user ${req.id}`) : Effect.succeed({ id: req.id, name: `u${req.id}` })
                )
              ),
            {
              storeId: `users-${kind}`,
              timeToLive: (exit) => Exit.isSuccess(exit) ? "1 hour" : "1 minute"
            }
          )
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

      it.effect("Persistence.layer semantics: getMany, setMany, a zero TTL is never written, remove", () =>
        Effect.gen(function*() {
          const persistence = yield* Persistence.Persistence
          const store = yield* persistence.make({
            storeId: `semantics-${kind}`,
            timeToLive: (_exit, key) => (key as GetUser).id === 0 ? Duration.zero : "1 hour"
          })
          const [u1, u2, u0] = [new GetUser({ id: 1 }), new GetUser({ id: 2 }), new GetUser({ id: 0 })]
          yield* store.setMany([[u1, Exit.succeed({ id: 1, name: "a" })], [u0, Exit.succeed({ id: 0, name: "z" })]])
          yield* store.set(u2, Exit.fail("gone"))
          const [r1, r2, r0] = yield* store.getMany([u1, u2, u0])
          assert.deepStrictEqual(r1, Exit.succeed({ id: 1, name: "a" }))
          assert.deepStrictEqual(r2, Exit.fail("gone"))
          assert.isUndefined(r0)
          yield* store.remove(u1)
          assert.isUndefined(yield* store.get(u1))
          yield* store.clear
          assert.isUndefined(yield* store.get(u2))
        }))
    })
  })
}
