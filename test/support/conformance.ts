/**
 * The conformance suite: one body, run against every backend (the in-process test layer, the in-memory
 * server over TCP, and a real memcached). Where they disagree, memcached is right.
 */
import { assert, layer as layerSuite } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Option } from "effect"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import type { MemcachedError } from "../../src/MemcachedError.js"

let counter = 0
/** A key no other test uses. */
export const uniqueKey = (name: string): string => `conf:${process.pid}:${++counter}:${name}`

const text = (u: Uint8Array) => Buffer.from(u).toString("utf8")
const failureOf = <A>(effect: Effect.Effect<A, MemcachedError>) =>
  Effect.map(Effect.either(effect), (e) => {
    assert.isTrue(Either.isLeft(e), "expected a failure")
    return (e as Either.Left<MemcachedError, A>).left
  })

const reasonOf = <A>(effect: Effect.Effect<A, MemcachedError>) =>
  Effect.map(failureOf(effect), (e): string => e.reason)

/**
 * Registers the suite in the current describe block; `layer` provides the client under test.
 */
export const conformance = (layer: Layer.Layer<MemcachedClient.MemcachedClient, unknown>) => {
  // Live services: the client and a real server must agree on the time (absolute TTLs).
  layerSuite(layer, { timeout: "60 seconds", excludeTestServices: true })("commands", (it) => {
    it.effect("set then get returns the bytes and flags", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("set")
        const bytes = Uint8Array.from([0, 1, 2, 13, 10, 255, 69, 78, 68])
        yield* c.set(k, bytes, { flags: 0xdeadbeef })
        const item = Option.getOrThrow(yield* c.get(k))
        assert.deepStrictEqual(Array.from(item.value), Array.from(bytes))
        assert.strictEqual(item.flags, 0xdeadbeef)
        assert.strictEqual(item.cas, undefined)
      }))

    it.effect("a value containing protocol text round-trips", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("proto")
        const v = "a\r\nEND\r\nVALUE x 0 1\r\ny\r\nEND\r\n"
        yield* c.set(k, v)
        assert.deepStrictEqual(yield* c.getString(k), Option.some(v))
      }))

    it.effect("an empty value and a UTF-8 key", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("ключ-🙂")
        yield* c.set(k, "")
        assert.deepStrictEqual(yield* c.getString(k), Option.some(""))
      }))

    it.effect("a miss is None", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        assert.isTrue(Option.isNone(yield* c.get(uniqueKey("missing"))))
      }))

    it.effect("add stores only when absent", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("add")
        yield* c.add(k, "first")
        const e = yield* failureOf(c.add(k, "second"))
        assert.strictEqual(e._tag, "MemcachedStoreError")
        assert.strictEqual((e as { reason: string }).reason, "NotStored")
        assert.deepStrictEqual(yield* c.getString(k), Option.some("first"))
      }))

    it.effect("replace stores only when present", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("replace")
        const e = yield* failureOf(c.replace(k, "x"))
        assert.strictEqual((e as { reason: string }).reason, "NotStored")
        assert.isTrue(Option.isNone(yield* c.get(k)))
        yield* c.set(k, "old", { flags: 7 })
        yield* c.replace(k, "new", { flags: 9 })
        const item = Option.getOrThrow(yield* c.get(k))
        assert.strictEqual(text(item.value), "new")
        assert.strictEqual(item.flags, 9)
      }))

    it.effect("append and prepend keep the flags and need the key", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("append")
        assert.strictEqual((yield* reasonOf(c.append(k, "x"))), "NotStored")
        assert.strictEqual((yield* reasonOf(c.prepend(k, "x"))), "NotStored")
        yield* c.set(k, "middle", { flags: 42 })
        yield* c.append(k, ">")
        yield* c.prepend(k, "<")
        const item = Option.getOrThrow(yield* c.get(k))
        assert.strictEqual(text(item.value), "<middle>")
        assert.strictEqual(item.flags, 42)
      }))

    it.effect("gets and cas: success, conflict, missing", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("cas")
        yield* c.set(k, "v1")
        const first = Option.getOrThrow(yield* c.gets(k))
        assert.isDefined(first.cas)
        yield* c.cas(k, "v2", first.cas!)
        const second = Option.getOrThrow(yield* c.gets(k))
        assert.notStrictEqual(second.cas, first.cas)
        assert.strictEqual(text(second.value), "v2")
        const conflict = yield* failureOf(c.cas(k, "v3", first.cas!))
        assert.strictEqual((conflict as { reason: string }).reason, "Exists")
        assert.deepStrictEqual(yield* c.getString(k), Option.some("v2"))
        const missing = yield* failureOf(c.cas(uniqueKey("cas-missing"), "v", first.cas!))
        assert.strictEqual((missing as { reason: string }).reason, "NotFound")
      }))

    it.effect("delete: existing, then missing", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("delete")
        yield* c.set(k, "v")
        yield* c.delete(k)
        assert.isTrue(Option.isNone(yield* c.get(k)))
        const e = yield* failureOf(c.delete(k))
        assert.strictEqual(e._tag, "MemcachedStoreError")
        assert.strictEqual((e as { reason: string }).reason, "NotFound")
      }))

    it.effect("touch, gat and gats", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("touch")
        assert.strictEqual((yield* reasonOf(c.touch(k, 10))), "NotFound")
        assert.isTrue(Option.isNone(yield* c.gat(k, 10)))
        yield* c.set(k, "v", { flags: 3 })
        yield* c.touch(k, 100)
        const gat = Option.getOrThrow(yield* c.gat(k, 200))
        assert.strictEqual(text(gat.value), "v")
        assert.strictEqual(gat.flags, 3)
        assert.strictEqual(gat.cas, undefined)
        const gats = Option.getOrThrow(yield* c.gats(k, 300))
        assert.isDefined(gats.cas)
      }))

    it.effect("incr and decr: values, floor at 0, wrap at 2^64, missing, non-numeric", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("counter")
        assert.strictEqual((yield* reasonOf(c.incr(k, 1))), "NotFound")
        assert.strictEqual((yield* reasonOf(c.decr(k, 1))), "NotFound")
        yield* c.set(k, "99")
        assert.strictEqual(yield* c.incr(k, 1), 100n)
        assert.deepStrictEqual(yield* c.getString(k), Option.some("100"))
        assert.strictEqual(yield* c.decr(k, 1000), 0n)
        yield* c.set(k, "18446744073709551615")
        assert.strictEqual(yield* c.incr(k, 2n), 1n)
        yield* c.set(k, "9007199254740993")
        assert.strictEqual(yield* c.incr(k, 10n), 9007199254741003n)
        const nan = uniqueKey("nan")
        yield* c.set(nan, "abc")
        const e = yield* failureOf(c.incr(nan, 1))
        assert.strictEqual(e._tag, "MemcachedServerError")
        assert.strictEqual((e as { reason: string }).reason, "ClientError")
        // The error did not poison the connection.
        assert.deepStrictEqual(yield* c.getString(nan), Option.some("abc"))
        const bad = yield* failureOf(c.incr(k, -1))
        assert.strictEqual(bad._tag, "MemcachedInputError")
      }))

    it.effect("items expire after their TTL", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("ttl")
        const keep = uniqueKey("ttl-keep")
        yield* c.set(k, "v", { ttl: 1 })
        yield* c.set(keep, "v", { ttl: Duration.days(31) })
        assert.isTrue(Option.isSome(yield* c.get(k)))
        yield* Effect.sleep("2100 millis")
        assert.isTrue(Option.isNone(yield* c.get(k)))
        // A TTL over 30 days is sent as an absolute time, so the item is still there.
        assert.deepStrictEqual(yield* c.getString(keep), Option.some("v"))
      }))

    it.effect("values near 1 MB are stored; over the item size limit is a server error", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("big")
        const big = Buffer.alloc(1_000_000)
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
        yield* c.set(k, big)
        const item = Option.getOrThrow(yield* c.get(k))
        assert.strictEqual(Buffer.compare(Buffer.from(item.value), big), 0)
        const e = yield* failureOf(c.set(uniqueKey("too-big"), Buffer.alloc(1024 * 1024 + 1)))
        assert.strictEqual(e._tag, "MemcachedServerError")
        assert.strictEqual((e as { reason: string }).reason, "ServerError")
        // Still in sync after the rejected value.
        assert.strictEqual(Buffer.compare(Buffer.from(Option.getOrThrow(yield* c.get(k)).value), big), 0)
      }))

    it.effect("invalid keys are rejected before anything is sent", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const victim = uniqueKey("victim")
        yield* c.set(victim, "safe")
        for (const bad of ["", "a b", "a\r\nflush_all", "tab\tkey", "x".repeat(251), "nul\u0000"]) {
          const e = yield* failureOf(c.set(bad, "v"))
          assert.strictEqual(e._tag, "MemcachedInputError")
          assert.strictEqual((e as { reason: string }).reason, "InvalidKey")
          assert.strictEqual((yield* failureOf(c.get(bad)))._tag, "MemcachedInputError")
        }
        assert.deepStrictEqual(yield* c.getString(victim), Option.some("safe"))
        assert.strictEqual((yield* reasonOf(c.set(uniqueKey("neg"), "v", { ttl: -1 }))), "InvalidTtl")
        assert.strictEqual((yield* reasonOf(c.set(uniqueKey("flags"), "v", { flags: 2 ** 32 }))), "InvalidArgument")
      }))

    it.effect("getMany returns hits, omits misses, asks duplicates once", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const keys = Array.from({ length: 250 }, (_, i) => uniqueKey(`many${i}`))
        yield* Effect.forEach(keys, (k, i) => (i % 3 === 0 ? Effect.void : c.set(k, `v${i}`)), { discard: true })
        const found = yield* c.getMany([...keys, keys[1]!, keys[2]!])
        assert.strictEqual(found.size, keys.filter((_, i) => i % 3 !== 0).length)
        keys.forEach((k, i) => {
          const item = found.get(k)
          if (i % 3 === 0) assert.isUndefined(item)
          else assert.strictEqual(text(item!.value), `v${i}`)
        })
        const withCas = yield* c.getMany([keys[1]!], { cas: true })
        assert.isDefined(withCas.get(keys[1]!)!.cas)
      }))

    it.effect("noreply stores are applied and do not shift later replies", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("noreply")
        const n = uniqueKey("noreply-add")
        yield* c.set(k, "v", { noreply: true })
        yield* c.set(n, "1")
        yield* c.add(n, "2", { noreply: true }) // rejected by the server: NOT_STORED is read and dropped
        assert.deepStrictEqual(yield* c.getString(k), Option.some("v"))
        assert.deepStrictEqual(yield* c.getString(n), Option.some("1"))
      }))

    it.effect("version, stats, stats settings, verbosity", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const versions = [...(yield* c.version()).values()]
        assert.isTrue(versions.length >= 1 && versions.every((v) => /^\d+\.\d+\.\d+/.test(v)), versions.join())
        const stats = [...(yield* c.stats()).values()][0]!
        for (const name of ["pid", "uptime", "curr_items", "cmd_get", "get_hits", "get_misses", "evictions"]) {
          assert.isTrue(stats.has(name), `stats has ${name}`)
        }
        const settings = [...(yield* c.stats("settings")).values()][0]!
        assert.isTrue(settings.has("item_size_max"))
        yield* c.verbosity(0)
      }))

    it.effect("flush_all with a delay keeps items until then; without, drops them", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("flush")
        yield* c.set(k, "v")
        yield* c.flushAll(100)
        assert.deepStrictEqual(yield* c.getString(k), Option.some("v"))
        yield* c.flushAll()
        assert.isTrue(Option.isNone(yield* c.get(k)))
        yield* c.set(k, "after")
        assert.deepStrictEqual(yield* c.getString(k), Option.some("after"))
      }))

    it.effect("thousands of concurrent mixed requests each get their own answer", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const keys = Array.from({ length: 3000 }, (_, i) => uniqueKey(`mixed${i}`))
        yield* Effect.forEach(keys, (k, i) => c.set(k, `value-${i}`), { concurrency: 200, discard: true })
        const results = yield* Effect.forEach(keys, (k, i) =>
          i % 2 === 0 ? c.getString(k) : Effect.as(c.set(k, `value-${i}`), Option.some(`value-${i}`)), { concurrency: 500 })
        results.forEach((r, i) => assert.deepStrictEqual(r, Option.some(`value-${i}`)))
      }))
  })
}
