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

const reasonOf = <A>(effect: Effect.Effect<A, MemcachedError>) => Effect.map(failureOf(effect), (e): string => e.reason)

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
        assert.strictEqual(yield* reasonOf(c.append(k, "x")), "NotStored")
        assert.strictEqual(yield* reasonOf(c.prepend(k, "x")), "NotStored")
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
        assert.strictEqual(yield* reasonOf(c.touch(k, 10)), "NotFound")
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
        assert.strictEqual(yield* reasonOf(c.incr(k, 1)), "NotFound")
        assert.strictEqual(yield* reasonOf(c.decr(k, 1)), "NotFound")
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
        assert.strictEqual(yield* reasonOf(c.set(uniqueKey("neg"), "v", { ttl: -1 })), "InvalidTtl")
        assert.strictEqual(yield* reasonOf(c.set(uniqueKey("flags"), "v", { flags: 2 ** 32 })), "InvalidArgument")
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
        const versions = [...(yield* c.version()).values()].map(Either.getOrThrow)
        assert.isTrue(versions.length >= 1 && versions.every((v) => /^\d+\.\d+\.\d+/.test(v)), versions.join())
        const stats = Either.getOrThrow([...(yield* c.stats()).values()][0]!)
        for (const name of ["pid", "uptime", "curr_items", "cmd_get", "get_hits", "get_misses", "evictions"]) {
          assert.isTrue(stats.has(name), `stats has ${name}`)
        }
        const settings = Either.getOrThrow([...(yield* c.stats("settings")).values()][0]!)
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
          i % 2 === 0 ? c.getString(k) : Effect.as(c.set(k, `value-${i}`), Option.some(`value-${i}`)), {
          concurrency: 500
        })
        results.forEach((r, i) =>
          assert.deepStrictEqual(r, Option.some(`value-${i}`))
        )
      }))
  })
}

/**
 * The meta section: meta-only features, run against every backend with the client in meta mode (or
 * auto, which must detect meta on all of them).
 */
export const metaConformance = (layer: Layer.Layer<MemcachedClient.MemcachedClient, unknown>) => {
  layerSuite(layer, { timeout: "60 seconds", excludeTestServices: true })("meta", (it) => {
    it.effect("the server is detected as meta", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        for (const p of (yield* c.protocols()).values()) assert.strictEqual(p, "meta")
      }))

    it.effect("mg: value, flags, cas, ttl, size, hit, last access (v f c t s h l)", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("mg")
        assert.isTrue(Option.isNone(yield* c.metaGet(k)))
        const { cas } = yield* c.metaSet(k, "hello", { flags: 7, ttl: 100 })
        assert.isDefined(cas)
        const first = Option.getOrThrow(
          yield* c.metaGet(k, { cas: true, ttl: true, size: true, hit: true, lastAccess: true })
        )
        assert.strictEqual(text(first.value!), "hello")
        assert.strictEqual(first.flags, 7)
        assert.strictEqual(first.cas, cas)
        assert.isTrue(first.ttl! >= 99 && first.ttl! <= 100)
        assert.strictEqual(first.size, 5)
        assert.strictEqual(first.hit, false)
        assert.isTrue(first.lastAccess! >= 0 && first.lastAccess! <= 2)
        assert.isFalse(first.win || first.stale || first.alreadyWon)
        const second = Option.getOrThrow(yield* c.metaGet(k, { hit: true, value: false }))
        assert.strictEqual(second.hit, true)
        assert.isUndefined(second.value)
      }))

    it.effect("mg u does not count the access; T touches", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("mg-u")
        yield* c.metaSet(k, "v")
        yield* c.metaGet(k, { noLru: true })
        assert.strictEqual(Option.getOrThrow(yield* c.metaGet(k, { hit: true })).hit, false)
        const touched = Option.getOrThrow(yield* c.metaGet(k, { touch: 500, ttl: true }))
        assert.isTrue(touched.ttl! >= 499 && touched.ttl! <= 500)
        yield* c.touch(k, 0)
        assert.strictEqual(Option.getOrThrow(yield* c.metaGet(k, { ttl: true })).ttl, -1)
      }))

    it.effect("vivify on miss: one client wins (W), the next sees Z", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("vivify")
        const won = Option.getOrThrow(yield* c.metaGet(k, { vivify: 30, ttl: true }))
        assert.isTrue(won.win)
        assert.strictEqual(won.value!.length, 0)
        assert.isTrue(won.ttl! >= 29 && won.ttl! <= 30)
        const lost = Option.getOrThrow(yield* c.metaGet(k, { vivify: 30 }))
        assert.isFalse(lost.win)
        assert.isTrue(lost.alreadyWon)
        yield* c.metaSet(k, "fresh")
        const after = Option.getOrThrow(yield* c.metaGet(k))
        assert.isFalse(after.win || after.alreadyWon)
      }))

    it.effect("recache threshold (R): win once when the TTL is low", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("recache")
        yield* c.metaSet(k, "v", { ttl: 10 })
        assert.isFalse(Option.getOrThrow(yield* c.metaGet(k, { recache: 5 })).win)
        assert.isTrue(Option.getOrThrow(yield* c.metaGet(k, { recache: 30 })).win)
        const again = Option.getOrThrow(yield* c.metaGet(k, { recache: 30 }))
        assert.isFalse(again.win)
        assert.isTrue(again.alreadyWon)
      }))

    it.effect("invalidate (md I): stale item, one winner, then a stale set with an older CAS (ms I)", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("stale")
        const { cas } = yield* c.metaSet(k, "v1", { ttl: 100 })
        yield* c.metaDelete(k, { invalidate: true, ttl: 30 })
        const first = Option.getOrThrow(yield* c.metaGet(k, { ttl: true, cas: true }))
        assert.isTrue(first.stale && first.win)
        assert.strictEqual(text(first.value!), "v1")
        assert.isTrue(first.ttl! <= 30)
        assert.notStrictEqual(first.cas, cas)
        const second = Option.getOrThrow(yield* c.metaGet(k))
        assert.isTrue(second.stale && second.alreadyWon && !second.win)
        // A writer holding the old CAS: with invalidate the value is stored, still stale.
        yield* c.metaSet(k, "v2", { cas: cas!, invalidate: true })
        const third = Option.getOrThrow(yield* c.metaGet(k))
        assert.strictEqual(text(third.value!), "v2")
        assert.isTrue(third.stale)
        // Without invalidate the old CAS is a conflict; a fresh set clears the stale mark.
        assert.strictEqual(yield* reasonOf(c.metaSet(k, "v3", { cas: cas! })), "Exists")
        yield* c.metaSet(k, "v4")
        assert.isFalse(Option.getOrThrow(yield* c.metaGet(k)).stale)
      }))

    it.effect("ms modes and CAS (M E/A/P/R/S, C, c)", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("modes")
        assert.strictEqual(yield* reasonOf(c.metaSet(k, "x", { mode: "append" })), "NotStored")
        assert.strictEqual(yield* reasonOf(c.metaSet(k, "x", { mode: "replace" })), "NotStored")
        yield* c.metaSet(k, "mid", { mode: "add", flags: 3 })
        assert.strictEqual(yield* reasonOf(c.metaSet(k, "x", { mode: "add" })), "NotStored")
        yield* c.metaSet(k, ">", { mode: "append" })
        yield* c.metaSet(k, "<", { mode: "prepend" })
        const item = Option.getOrThrow(yield* c.metaGet(k, { cas: true }))
        assert.strictEqual(text(item.value!), "<mid>")
        assert.strictEqual(item.flags, 3)
        const { cas } = yield* c.metaSet(k, "swapped", { cas: item.cas! })
        assert.strictEqual(yield* reasonOf(c.metaSet(k, "late", { cas: item.cas! })), "Exists")
        assert.strictEqual(yield* reasonOf(c.metaSet(uniqueKey("nf"), "x", { cas: 1n })), "NotFound")
        assert.strictEqual(Option.getOrThrow(yield* c.metaGet(k, { cas: true })).cas, cas)
        yield* c.metaSet(k, "set", { mode: "set" })
        assert.strictEqual(text(Option.getOrThrow(yield* c.metaGet(k)).value!), "set")
      }))

    it.effect("md: CAS, missing, delete", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("md")
        assert.strictEqual(yield* reasonOf(c.metaDelete(k)), "NotFound")
        const { cas } = yield* c.metaSet(k, "v")
        assert.strictEqual(yield* reasonOf(c.metaDelete(k, { cas: cas! + 1000n })), "Exists")
        yield* c.metaDelete(k, { cas: cas! })
        assert.isTrue(Option.isNone(yield* c.metaGet(k)))
      }))

    it.effect("ma: incr, decr, vivify with initial, TTL, CAS (N J D T M C t c v)", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("ma")
        assert.strictEqual(yield* reasonOf(c.metaArithmetic(k)), "NotFound")
        const created = yield* c.metaArithmetic(k, { vivify: 100, initial: 40, ttl: 100 })
        assert.strictEqual(created.value, 40n)
        const up = yield* c.metaArithmetic(k, { delta: 5 })
        assert.strictEqual(up.value, 45n)
        assert.isTrue(up.ttl! > 0 && up.ttl! <= 100)
        const down = yield* c.metaArithmetic(k, { delta: 100n, mode: "decr" })
        assert.strictEqual(down.value, 0n)
        assert.strictEqual(yield* reasonOf(c.metaArithmetic(k, { cas: down.cas! + 1000n })), "Exists")
        assert.strictEqual((yield* c.metaArithmetic(k, { cas: down.cas! })).value, 1n)
        yield* c.set(k, "18446744073709551615")
        assert.strictEqual((yield* c.metaArithmetic(k, { delta: 2 })).value, 1n)
        yield* c.set(k, "abc")
        assert.strictEqual((yield* failureOf(c.metaArithmetic(k)))._tag, "MemcachedServerError")
      }))

    it.effect("base64 keys: spaces and arbitrary bytes (b, k)", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("with space\t\r\n and ✓")
        yield* c.metaSet(k, "b64", { base64: true })
        const item = Option.getOrThrow(yield* c.metaGet(k, { base64: true }))
        assert.strictEqual(text(item.value!), "b64")
        const ascii = uniqueKey("plain")
        yield* c.metaSet(ascii, "same item", { base64: true })
        assert.deepStrictEqual(yield* c.getString(ascii), Option.some("same item"))
        yield* c.metaDelete(k, { base64: true })
        assert.isTrue(Option.isNone(yield* c.metaGet(k, { base64: true })))
        assert.strictEqual(yield* reasonOf(c.metaGet("x".repeat(200), { base64: true })), "InvalidKey")
      }))

    it.effect("me: the debug view of an item", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const k = uniqueKey("me")
        assert.isTrue(Option.isNone(yield* c.metaDebug(k)))
        yield* c.metaSet(k, "abc", { ttl: 100 })
        const fields = Option.getOrThrow(yield* c.metaDebug(k))
        assert.strictEqual(fields.get("fetch"), "no")
        for (const f of ["exp", "la", "cas", "cls", "size"]) assert.isTrue(fields.has(f), f)
      }))

    it.effect("getMany in meta: hits matched by key, misses never shift values", () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const keys = Array.from({ length: 120 }, (_, i) => uniqueKey(`mm${i}`))
        yield* Effect.forEach(keys, (k, i) => (i % 2 === 0 ? Effect.void : c.set(k, `v${i}`)), { discard: true })
        const found = yield* c.getMany(keys, { cas: true })
        assert.strictEqual(found.size, 60)
        keys.forEach((k, i) => {
          if (i % 2 === 0) assert.isUndefined(found.get(k))
          else {
            assert.strictEqual(text(found.get(k)!.value), `v${i}`)
            assert.isDefined(found.get(k)!.cas)
          }
        })
      }))
  })
}
