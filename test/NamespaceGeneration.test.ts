/**
 * Namespaces with generations over the in-memory server and a real memcached: keys live under the
 * current generation, clear moves to a fresh one, a lost generation item never resurrects old data.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import * as NamespaceGeneration from "../src/NamespaceGeneration.js"
import { unwrapLayer } from "./support/edition.js"
import { acquireMemcached } from "./support/memcached.js"

const realClient = unwrapLayer(
  Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`] }))
)

describe("NamespaceGeneration.safeKey", () => {
  layer(MemcachedTest.layer())((it) => {
    it.effect("valid keys pass through; spaces, control characters and long keys are hashed", () =>
      Effect.sync(() => {
        assert.strictEqual(NamespaceGeneration.safeKey("p:", "abc"), "p:abc")
        for (const bad of ["with space", "tab\t", "k".repeat(300)]) {
          const k = NamespaceGeneration.safeKey("p:", bad)
          assert.match(k, /^p:#[A-Za-z0-9_-]{43}$/)
          assert.strictEqual(NamespaceGeneration.safeKey("p:", bad), k)
        }
        assert.notStrictEqual(NamespaceGeneration.safeKey("p:", "a b"), NamespaceGeneration.safeKey("p:", "a  b"))
      }))
  })
})

for (
  const [name, clientLayer] of [["in-memory server", MemcachedTest.layer({ servers: 2 })], [
    "memcached 1.6 (real process)",
    realClient
  ]] as const
) {
  layer(clientLayer)(`NamespaceGeneration over ${name}`, (it) => {
    it.effect("keys live under one generation; clear moves every key to a fresh, empty generation", () =>
      Effect.gen(function*() {
        const client = yield* MemcachedClient.MemcachedClient
        const ns = NamespaceGeneration.make(client, `ns-${Date.now()}`)
        const k1 = yield* ns.key("a")
        assert.deepStrictEqual(yield* ns.keys(["a", "b"]), [k1, k1.replace(/a$/, "b")])
        assert.isTrue(k1.startsWith(`${ns.name}:`) && k1.endsWith(":a"))
        yield* client.set(k1, "v1")
        const generation = Option.getOrThrow(yield* client.getString(ns.generationKey))
        assert.strictEqual(k1, `${ns.name}:${generation}:a`)
        yield* ns.clear
        const k2 = yield* ns.key("a")
        assert.notStrictEqual(k2, k1)
        assert.isTrue(Option.isNone(yield* client.getString(k2)))
        // the old item is unreachable through the namespace but still on the server until evicted
        assert.deepStrictEqual(yield* client.getString(k1), Option.some("v1"))
      }))

    it.effect("a lost generation item draws a new random generation: old data never reappears", () =>
      Effect.gen(function*() {
        const client = yield* MemcachedClient.MemcachedClient
        const ns = NamespaceGeneration.make(client, `lost-${Date.now()}`)
        const before = yield* ns.key("x")
        yield* client.delete(ns.generationKey)
        const after = yield* ns.key("x")
        assert.notStrictEqual(after, before)
        // concurrent first uses agree on one generation (the first add wins, the others read it back)
        const other = NamespaceGeneration.make(client, `race-${Date.now()}`)
        const keys = yield* Effect.all(Array.from({ length: 20 }, () => other.key("k")), { concurrency: "unbounded" })
        assert.strictEqual(new Set(keys).size, 1)
      }))

    it.effect("hashInvalidKeys: any string is a key, and a name too long for a key is hashed", () =>
      Effect.gen(function*() {
        const client = yield* MemcachedClient.MemcachedClient
        const plain = NamespaceGeneration.make(client, "plain")
        const e = yield* Effect.flip(Effect.flatMap(plain.key("with space"), (k) => client.set(k, "v")))
        assert.strictEqual(e._tag === "MemcachedInputError" && e.reason, "InvalidKey")
        const hashed = NamespaceGeneration.make(client, "n ".repeat(200), { hashInvalidKeys: true })
        const k = yield* hashed.key("with space")
        yield* client.set(k, "v")
        assert.deepStrictEqual(yield* client.getString(yield* hashed.key("with space")), Option.some("v"))
      }))
  })
}
