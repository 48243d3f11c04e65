import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Layer, Option, Stream } from "effect"
import * as Bulk from "../src/Bulk.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { acquireFakeServer, acquireMemcached } from "./support/memcached.js"

const valueOf = (r: Bulk.GetResult | undefined) =>
  r !== undefined && Either.isRight(r) && Option.isSome(r.right)
    ? Buffer.from(r.right.value.value).toString()
    : undefined

const threeReal = Layer.unwrapScoped(Effect.gen(function*() {
  const servers = yield* Effect.all([acquireMemcached(), acquireMemcached(), acquireMemcached()], { concurrency: 3 })
  return MemcachedClient.layer({ servers: servers.map((s) => `127.0.0.1:${s.port}`), timeout: "2 seconds" })
}))

const seed = (c: MemcachedClient.MemcachedClient, keys: ReadonlyArray<string>) =>
  Bulk.setMany(c, keys.filter((_, i) => i % 5 !== 0).map((k) => [k, `v:${k}`] as const))

describe("Bulk", () => {
  for (
    const [name, layer] of [["3 real memcached", threeReal], [
      "3 in-memory servers",
      MemcachedTest.layer({ servers: 3 })
    ]] as const
  ) {
    it.live(`getMany over ${name}: thousands of keys, misses interleaved, duplicates once`, () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const keys = Array.from({ length: 5000 }, (_, i) => `bulk:${name.replaceAll(" ", "_")}:${i}`)
        const written = yield* seed(c, keys)
        assert.isTrue([...written.values()].every(Either.isRight))
        const perServer = new Set(keys.map((k) => c.serverFor(k)))
        assert.strictEqual(perServer.size, 3)
        const results = yield* Bulk.getEach(c, [...keys, ...keys.slice(0, 100)])
        assert.strictEqual(results.size, keys.length)
        keys.forEach((k, i) => {
          const r = results.get(k)!
          if (i % 5 === 0) assert.deepStrictEqual(r, Either.right(Option.none()))
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
        Chunk.toReadonlyArray(out).forEach(([k, r], i) => {
          assert.strictEqual(k, keys[i])
          if (i % 5 === 0) assert.deepStrictEqual(r, Either.right(Option.none()))
          else assert.strictEqual(valueOf(r), `v:${k}`)
        })
      }).pipe(Effect.provide(layer)))
  }

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
          assert.isTrue(Either.isLeft(r) && r.left._tag === "MemcachedConnectionError", `${k} fails`)
          failed++
        } else if (i % 5 === 0) assert.deepStrictEqual(r, Either.right(Option.none()))
        else assert.strictEqual(valueOf(r), `v:${k}`)
      })
      assert.isTrue(failed > 50)
      const asMisses = yield* Bulk.getEach(c, keys, { onServerError: "miss" })
      for (const k of keys) {
        if (c.serverFor(k) === 1) assert.deepStrictEqual(asMisses.get(k), Either.right(Option.none()))
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
          assert.isTrue(Either.isLeft(r) && r.left._tag === "MemcachedConnectionError" && r.left.reason === "Timeout")
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
      assert.deepStrictEqual(results.get("missing"), Either.right(Option.none()))
      const bad = results.get("bad key")!
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "MemcachedInputError")
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
        Effect.fork
      )
      yield* Effect.sleep("30 millis")
      yield* Fiber.interrupt(fiber)
      servers.forEach((s) => s.faults.reset())
      const after = yield* Bulk.getEach(c, keys)
      keys.forEach((k, i) => {
        if (i % 5 !== 0) assert.strictEqual(valueOf(after.get(k)), `v:${k}`)
        else assert.deepStrictEqual(after.get(k), Either.right(Option.none()))
      })
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 3 }))))

  it.live("setMany, touchMany and deleteMany report each key's outcome", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      const set = yield* Bulk.setMany(c, [["a", "1"], ["b", "2"], ["bad key", "x"]])
      assert.isTrue(Either.isRight(set.get("a")!) && Either.isRight(set.get("b")!))
      assert.isTrue(Either.isLeft(set.get("bad key")!))
      const touched = yield* Bulk.touchMany(c, ["a", "nope"], 100)
      assert.isTrue(Either.isRight(touched.get("a")!))
      const nope = touched.get("nope")!
      assert.isTrue(Either.isLeft(nope) && nope.left._tag === "MemcachedStoreError" && nope.left.reason === "NotFound")
      const deleted = yield* Bulk.deleteMany(c, ["a", "b", "nope"])
      assert.isTrue(
        Either.isRight(deleted.get("a")!) && Either.isRight(deleted.get("b")!) && Either.isLeft(deleted.get("nope")!)
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
        for (const k of keys) assert.deepStrictEqual(set.get(k), Either.right(undefined))
        assert.isTrue(Either.isLeft(set.get("bad key")!))
        const read = yield* c.getMany(keys)
        for (const k of keys) {
          assert.strictEqual(Buffer.from(read.get(k)!.value).toString(), `v:${k}`)
          assert.strictEqual(read.get(k)!.flags, 7)
        }
        const half = keys.filter((_, i) => i % 2 === 0)
        const deleted = yield* c.deleteMany(half)
        for (const k of half) assert.deepStrictEqual(deleted.get(k), Either.right(undefined))
        const again = yield* c.deleteMany([...half.slice(0, 10), keys[1]!])
        for (const k of half.slice(0, 10)) {
          const r = again.get(k)!
          assert.isTrue(
            Either.isLeft(r) && r.left._tag === "MemcachedStoreError" && r.left.reason === "NotFound" &&
              r.left.key === k
          )
        }
        assert.deepStrictEqual(again.get(keys[1]!), Either.right(undefined))
        const touched = yield* c.touchMany([keys[3]!, keys[4]!], 100)
        assert.deepStrictEqual(touched.get(keys[3]!), Either.right(undefined))
        const missing = touched.get(keys[4]!)!
        assert.isTrue(
          Either.isLeft(missing) && missing.left._tag === "MemcachedStoreError" && missing.left.reason === "NotFound"
        )
        // A value over the item size fails alone; its neighbours are stored.
        const big = yield* c.setMany([["bw:small1", "a"], ["bw:huge", Buffer.alloc(2 * 1024 * 1024)], [
          "bw:small2",
          "b"
        ]])
        assert.deepStrictEqual(big.get("bw:small1"), Either.right(undefined))
        assert.deepStrictEqual(big.get("bw:small2"), Either.right(undefined))
        const huge = big.get("bw:huge")!
        assert.isTrue(Either.isLeft(huge) && huge.left._tag === "MemcachedServerError")
      }).pipe(Effect.scoped))
  }

  it.live("meta bulk writes are quiet on the wire, closed by mn, and failures map to their keys", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, _chunk, received) => {
        if (received.endsWith("mn\r\n")) socket.write("NS kb\r\nMN\r\n")
      })
      const c = yield* MemcachedClient.make({ servers: [fake.address], protocol: "meta" })
      const results = yield* c.setMany([["a", "1"], ["b", "22"], ["c", "333"]], { ttl: 10 })
      assert.strictEqual(
        fake.received[0],
        "ms a 1 T10 k q\r\n1\r\nms b 2 T10 k q\r\n22\r\nms c 3 T10 k q\r\n333\r\nmn\r\n"
      )
      assert.deepStrictEqual(results.get("a"), Either.right(undefined))
      assert.deepStrictEqual(results.get("c"), Either.right(undefined))
      const b = results.get("b")!
      assert.isTrue(
        Either.isLeft(b) && b.left._tag === "MemcachedStoreError" && b.left.reason === "NotStored" && b.left.key === "b"
      )
    }).pipe(Effect.scoped))
})
