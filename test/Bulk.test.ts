/**
 * Bulk reads and writes over three servers (real memcached and the in-memory server): every key's own
 * outcome, input order, bounded batches, a dead or slow server failing only its keys, cancellation.
 * One source, both editions (packages/effect4/editions.json): an outcome is an `Either` in Effect 3, a
 * `Result` in Effect 4, read here through src/edition.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import * as Bulk from "../src/Bulk.js"
import type { MemcachedClient as Client } from "../src/client/models.js"
import { isSuccess, match, type Outcome } from "../src/edition.js"
import type { MemcachedError } from "../src/MemcachedError.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { fork, unwrapScoped } from "./support/edition.js"
import { acquireMemcached } from "./support/memcached.js"

/** The error of a failed outcome; `undefined` for a success or no outcome. */
const failureOf = (r: Outcome<unknown, MemcachedError> | undefined): MemcachedError | undefined =>
  r === undefined ? undefined : match(r, () => undefined, (e) => e)

/** Whether `r` failed with a `tag` error (and, when given, that `reason` and `key`). */
const failsWith = (
  r: Outcome<unknown, MemcachedError> | undefined,
  tag: MemcachedError["_tag"],
  reason?: string,
  key?: string
): boolean => {
  const e = failureOf(r)
  return e !== undefined && e._tag === tag && (reason === undefined || e.reason === reason) &&
    (key === undefined || ("key" in e && e.key === key))
}

/** Whether `r` is a successful outcome (a bulk write that took effect). */
const done = (r: Outcome<unknown, MemcachedError> | undefined): boolean => r !== undefined && isSuccess(r)

/** Whether `r` is a miss: a success without an item. */
const isMiss = (r: Bulk.GetResult | undefined): boolean => r !== undefined && match(r, Option.isNone, () => false)

const valueOf = (r: Bulk.GetResult | undefined) =>
  r === undefined
    ? undefined
    : match(r, (item) => Option.isSome(item) ? Buffer.from(item.value.value).toString() : undefined, () => undefined)

const threeReal = unwrapScoped(Effect.gen(function*() {
  const servers = yield* Effect.all([acquireMemcached(), acquireMemcached(), acquireMemcached()], { concurrency: 3 })
  return MemcachedClient.layer({ servers: servers.map((s) => `127.0.0.1:${s.port}`), timeout: "2 seconds" })
}))

const seed = (c: Client, keys: ReadonlyArray<string>) =>
  Bulk.setMany(c, keys.filter((_, i) => i % 5 !== 0).map((k) => [k, `v:${k}`] as const))

describe("Bulk", () => {
  for (
    const [name, layer] of [["3 real memcached", threeReal], [
      "3 in-memory servers",
      MemcachedTest.layer({ servers: 3 })
    ]] as const
  ) {
    it.live(`getMany over ${name}: thousands of keys, misses interleaved, repeated keys one entry each`, () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const keys = Array.from({ length: 5000 }, (_, i) => `bulk:${name.replaceAll(" ", "_")}:${i}`)
        const written = yield* seed(c, keys)
        assert.isTrue([...written.values()].every(done))
        const perServer = new Set(keys.map((k) => c.serverFor(k)))
        assert.strictEqual(perServer.size, 3)
        const results = yield* Bulk.getEach(c, [...keys, ...keys.slice(0, 100)])
        assert.strictEqual(results.size, keys.length)
        keys.forEach((k, i) => {
          const r = results.get(k)!
          if (i % 5 === 0) assert.isTrue(isMiss(r))
          else assert.strictEqual(valueOf(r), `v:${k}`)
        })
      }).pipe(Effect.provide(layer)))

    it.live(`getStream over ${name}: results in input order, bounded batches`, () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const keys = Array.from({ length: 3000 }, (_, i) => `stream:${name.replaceAll(" ", "_")}:${i}`)
        yield* seed(c, keys)
        const out = yield* Stream.fromIterable(keys).pipe(
          Bulk.getStream(c, { batchSize: 64, concurrency: 3 }),
          Stream.runCollect
        )
        assert.strictEqual(out.length, keys.length)
        Array.from(out).forEach(([k, r], i) => {
          assert.strictEqual(k, keys[i])
          if (i % 5 === 0) assert.isTrue(isMiss(r))
          else assert.strictEqual(valueOf(r), `v:${k}`)
        })
      }).pipe(Effect.provide(layer)))
  }

  it.effect("getMany reads an array when the effect runs, another iterable once when the effect is made", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      yield* c.set("it:a", "1")
      yield* c.set("it:b", "2")
      const keys = ["it:a"]
      const fromArray = c.getMany(keys)
      keys.push("it:b")
      assert.deepStrictEqual([...(yield* fromArray).keys()].sort(), ["it:a", "it:b"])
      function* once() {
        yield "it:a"
        yield "it:b"
      }
      const fromGenerator = c.getMany(once())
      assert.deepStrictEqual([...(yield* fromGenerator).keys()].sort(), ["it:a", "it:b"])
      // A second run asks for the same keys, though the generator is spent.
      assert.deepStrictEqual([...(yield* fromGenerator).keys()].sort(), ["it:a", "it:b"])
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 2 }))))

  it.live("a dead server fails only its own keys (or misses them, by choice)", () =>
    Effect.gen(function*() {
      const mcs = yield* Effect.all([acquireMemcached(), acquireMemcached(), acquireMemcached()], { concurrency: 3 })
      const c = yield* MemcachedClient.make({ servers: mcs.map((s) => `127.0.0.1:${s.port}`), timeout: "1 second" })
      const keys = Array.from({ length: 600 }, (_, i) => `dead:${i}`)
      yield* seed(c, keys)
      yield* Effect.promise(() => mcs[1]!.stop())
      const results = yield* Bulk.getEach(c, keys)
      let failed = 0
      keys.forEach((k, i) => {
        const r = results.get(k)!
        if (c.serverFor(k) === 1) {
          assert.isTrue(failsWith(r, "MemcachedConnectionError"), `${k} fails`)
          failed++
        } else if (i % 5 === 0) assert.isTrue(isMiss(r))
        else assert.strictEqual(valueOf(r), `v:${k}`)
      })
      assert.isTrue(failed > 50)
      const asMisses = yield* Bulk.getEach(c, keys, { onServerError: "miss" })
      for (const k of keys) {
        if (c.serverFor(k) === 1) assert.isTrue(isMiss(asMisses.get(k)))
      }
    }).pipe(Effect.scoped))

  it.live("a slow server times out its keys while the others answer", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      const servers = yield* MemcachedTest.MemoryServers
      const keys = Array.from({ length: 300 }, (_, i) => `slow:${i}`)
      yield* seed(c, keys)
      servers[2]!.faults.delay(1500)
      const start = Date.now()
      const results = yield* Bulk.getEach(c, keys)
      assert.isBelow(Date.now() - start, 1400)
      keys.forEach((k, i) => {
        const r = results.get(k)!
        if (c.serverFor(k) === 2) {
          assert.isTrue(failsWith(r, "MemcachedConnectionError", "Timeout"))
        } else if (i % 5 !== 0) assert.strictEqual(valueOf(r), `v:${k}`)
      })
      servers[2]!.faults.reset()
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 3, timeout: "300 millis" }))))

  it.live("an invalid key fails alone", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      yield* c.set("good", "g")
      const results = yield* Bulk.getEach(c, ["good", "bad key", "missing"])
      assert.strictEqual(valueOf(results.get("good")), "g")
      assert.isTrue(isMiss(results.get("missing")))
      const bad = results.get("bad key")!
      assert.isTrue(failsWith(bad, "MemcachedInputError"))
    }).pipe(Effect.provide(MemcachedTest.layer())))

  it.live("cancelling a stream midway leaves every connection in sync", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      const servers = yield* MemcachedTest.MemoryServers
      const keys = Array.from({ length: 2000 }, (_, i) => `cancel:${i}`)
      yield* seed(c, keys)
      servers.forEach((s) => s.faults.delay(20))
      const fiber = yield* Stream.fromIterable(keys).pipe(
        Bulk.getStream(c, { batchSize: 50 }),
        Stream.runDrain,
        fork
      )
      yield* Effect.sleep("30 millis")
      yield* Fiber.interrupt(fiber)
      servers.forEach((s) => s.faults.reset())
      const after = yield* Bulk.getEach(c, keys)
      keys.forEach((k, i) => {
        if (i % 5 !== 0) assert.strictEqual(valueOf(after.get(k)), `v:${k}`)
        else assert.isTrue(isMiss(after.get(k)))
      })
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 3 }))))

  it.live("setMany, touchMany and deleteMany report each key's outcome", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      const set = yield* Bulk.setMany(c, [["a", "1"], ["b", "2"], ["bad key", "x"]])
      assert.isTrue(done(set.get("a")!) && done(set.get("b")!))
      assert.isDefined(failureOf(set.get("bad key")!))
      const touched = yield* Bulk.touchMany(c, ["a", "nope"], 100)
      assert.isTrue(done(touched.get("a")!))
      const nope = touched.get("nope")!
      assert.isTrue(failsWith(nope, "MemcachedStoreError", "NotFound"))
      const deleted = yield* Bulk.deleteMany(c, ["a", "b", "nope"])
      assert.isTrue(
        done(deleted.get("a")!) && done(deleted.get("b")!) && failureOf(deleted.get("nope")!) !== undefined
      )
      assert.isTrue(Option.isNone(yield* c.get("a")))
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 2 }))))

  for (const protocol of ["text", "meta"] as const) {
    it.live(`bulk writes over 3 real memcached (${protocol}): each key's own outcome, thousands of keys`, () =>
      Effect.gen(function*() {
        const mcs = yield* Effect.all([acquireMemcached(), acquireMemcached(), acquireMemcached()], { concurrency: 3 })
        const c = yield* MemcachedClient.make({ servers: mcs.map((m) => `127.0.0.1:${m.port}`), protocol })
        const keys = Array.from({ length: 3000 }, (_, i) => `bw:${protocol}:${i}`)
        const set = yield* c.setMany([...keys.map((k) => [k, `v:${k}`] as const), ["bad key", "x"]], {
          ttl: 300,
          flags: 7
        })
        assert.strictEqual(set.size, keys.length + 1)
        for (const k of keys) assert.isTrue(done(set.get(k)))
        assert.isDefined(failureOf(set.get("bad key")!))
        const read = yield* c.getMany(keys)
        for (const k of keys) {
          assert.strictEqual(Buffer.from(read.get(k)!.value).toString(), `v:${k}`)
          assert.strictEqual(read.get(k)!.flags, 7)
        }
        const half = keys.filter((_, i) => i % 2 === 0)
        const deleted = yield* c.deleteMany(half)
        for (const k of half) assert.isTrue(done(deleted.get(k)))
        const again = yield* c.deleteMany([...half.slice(0, 10), keys[1]!])
        for (const k of half.slice(0, 10)) {
          const r = again.get(k)!
          assert.isTrue(
            failsWith(r, "MemcachedStoreError", "NotFound", k)
          )
        }
        assert.isTrue(done(again.get(keys[1]!)))
        const touched = yield* c.touchMany([keys[3]!, keys[4]!], 100)
        assert.isTrue(done(touched.get(keys[3]!)))
        const missing = touched.get(keys[4]!)!
        assert.isTrue(
          failsWith(missing, "MemcachedStoreError", "NotFound")
        )
        // A value over the item size fails alone; its neighbours are stored.
        const big = yield* c.setMany([["bw:small1", "a"], ["bw:huge", Buffer.alloc(2 * 1024 * 1024)], [
          "bw:small2",
          "b"
        ]])
        assert.isTrue(done(big.get("bw:small1")))
        assert.isTrue(done(big.get("bw:small2")))
        const huge = big.get("bw:huge")!
        assert.isTrue(failsWith(huge, "MemcachedServerError"))
      }).pipe(Effect.scoped))
  }
})
