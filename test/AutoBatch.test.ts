/**
 * Auto-batching: single-key gets that reach a connection in the same tick go out as one multi-key
 * command and their replies are split back by key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { acquireFakeServer, acquireMemcached } from "./support/memcached.js"

const text = (o: Option.Option<MemcachedClient.Item>) => Option.map(o, (i) => Buffer.from(i.value).toString())

describe("auto-batching", () => {
  it.scoped("independent gets in one tick become one multi-key get on the wire", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, _chunk, received) => {
        // Answer once the whole batch line arrived: hits for a and c (in request order), miss for b.
        if (received.endsWith("\r\n") && !received.includes("answered")) {
          socket.write("VALUE a 0 1\r\nA\r\nVALUE c 0 1\r\nC\r\nEND\r\n")
        }
      })
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [fake.address] })
      const [a, b, cc] = yield* Effect.all([c.get("a"), c.get("b"), c.get("c")], { concurrency: "unbounded" })
      assert.strictEqual(fake.received[0], "get a b c\r\n")
      assert.deepStrictEqual(text(a), Option.some("A"))
      assert.isTrue(Option.isNone(b))
      assert.deepStrictEqual(text(cc), Option.some("C"))
    }))

  it.scoped("with autoBatch off every get is its own command", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, chunk) => {
        for (const line of chunk.toString("latin1").split("\r\n")) if (line !== "") socket.write("END\r\n")
      })
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [fake.address], autoBatch: false })
      yield* Effect.all([c.get("a"), c.get("b")], { concurrency: "unbounded" })
      assert.strictEqual(fake.received[0], "get a\r\nget b\r\n")
    }))

  it.scoped("a write between gets keeps the order: get, set, get of one key", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [`127.0.0.1:${mc.port}`] })
      yield* c.set("order", "old")
      const [before, , after] = yield* Effect.all([c.get("order"), c.set("order", "new"), c.get("order")], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(text(before), Option.some("old"))
      assert.deepStrictEqual(text(after), Option.some("new"))
    }))

  it.scoped("thousands of concurrent gets with misses, duplicates and interruptions each get their own value", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [`127.0.0.1:${mc.port}`] })
      const keys = Array.from({ length: 2000 }, (_, i) => `ab:${i}`)
      yield* Effect.forEach(keys, (k, i) => (i % 4 === 0 ? Effect.void : c.set(k, `v:${k}`)), {
        concurrency: 100,
        discard: true
      })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 6000 }, (_, n) => keys[(n * 7919) % keys.length]!),
        (k) => Effect.fork(Effect.map(c.get(k), (o) => [k, text(o)] as const)),
        { concurrency: "unbounded" }
      )
      const interrupted = new Set<number>()
      for (let i = 0; i < fibers.length; i += 5) interrupted.add(i)
      yield* Effect.forEach([...interrupted], (i) => Fiber.interrupt(fibers[i]!), { discard: true })
      let checked = 0
      for (let i = 0; i < fibers.length; i++) {
        if (interrupted.has(i)) continue
        const [k, v] = yield* Fiber.join(fibers[i]!)
        const index = Number(k.slice(3))
        assert.deepStrictEqual(v, index % 4 === 0 ? Option.none() : Option.some(`v:${k}`))
        checked++
      }
      assert.isTrue(checked >= 4800)
      // The connection is still in sync.
      assert.deepStrictEqual(text(yield* c.get("ab:1")), Option.some("v:ab:1"))
      assert.isTrue(Option.isNone(yield* c.get("ab:0")))
    }))

  it.effect("gets mixed with gets-with-cas in one tick are batched per command", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      yield* c.set("x", "1")
      yield* c.set("y", "2")
      const [x, y, xs, ys] = yield* Effect.all([c.get("x"), c.get("y"), c.gets("x"), c.gets("y")], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(text(x), Option.some("1"))
      assert.deepStrictEqual(text(y), Option.some("2"))
      assert.isUndefined(Option.getOrThrow(x).cas)
      assert.isDefined(Option.getOrThrow(xs).cas)
      assert.isDefined(Option.getOrThrow(ys).cas)
    }).pipe(Effect.provide(MemcachedTest.layer({ protocol: "text" }))))

  it.scoped("a server error for a batch fails every get in it, and the connection stays usable", () =>
    Effect.gen(function*() {
      let first = true
      const fake = yield* acquireFakeServer((socket, chunk) => {
        if (!chunk.toString("latin1").endsWith("\r\n")) return
        if (first) {
          first = false
          socket.write("SERVER_ERROR out of memory\r\n")
        } else socket.write("VALUE k 0 2\r\nok\r\nEND\r\n")
      })
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [fake.address] })
      const results = yield* Effect.all([Effect.either(c.get("k")), Effect.either(c.get("j"))], {
        concurrency: "unbounded"
      })
      for (const r of results) {
        assert.isTrue(r._tag === "Left" && r.left._tag === "MemcachedServerError")
      }
      assert.deepStrictEqual(text(yield* c.get("k")), Option.some("ok"))
    }))
})
