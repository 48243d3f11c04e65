import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { acquireFakeServer, acquireMemcached } from "./support/memcached.js"

const answerGets = (socket: import("node:net").Socket, chunk: Buffer) => {
  for (const line of chunk.toString("latin1").split("\r\n")) if (line.startsWith("get ")) socket.write("END\r\n")
}

describe("connection pool", () => {
  it.live("connections open lazily by default: none before the first request", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer(answerGets)
      const c = yield* MemcachedClient.make({ servers: [fake.address], protocol: "text", poolSize: 3 })
      yield* Effect.sleep("100 millis")
      assert.strictEqual(fake.sockets.length, 0)
      assert.isTrue(Option.isNone(yield* c.get("k")))
      assert.strictEqual(fake.sockets.length, 1)
    }).pipe(Effect.scoped))

  it.live("eager: every connection of every server opens when the client is built", () =>
    Effect.gen(function*() {
      const a = yield* acquireFakeServer(answerGets)
      const b = yield* acquireFakeServer(answerGets)
      yield* MemcachedClient.make({ servers: [a.address, b.address], protocol: "text", poolSize: 3, eager: true })
      yield* Effect.promise(() => Promise.all([a.connections(3), b.connections(3)]))
      assert.strictEqual(a.sockets.length, 3)
      assert.strictEqual(b.sockets.length, 3)
    }).pipe(Effect.scoped))

  it.live("requests are spread over the pool's connections, each answered correctly", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const c = yield* MemcachedClient.make({ servers: [`127.0.0.1:${mc.port}`], poolSize: 4 })
      const keys = Array.from({ length: 400 }, (_, i) => `pool:${i}`)
      yield* Effect.forEach(keys, (k) => c.set(k, `v:${k}`), { concurrency: 100, discard: true })
      const values = yield* Effect.forEach(keys, (k) => c.getString(k), { concurrency: 100 })
      values.forEach((v, i) => assert.deepStrictEqual(v, Option.some(`v:${keys[i]}`)))
      const stats = [...(yield* c.stats()).values()][0]!
      // 4 pool connections plus the protocol probe's short-lived one, plus the stats request's.
      assert.isAtLeast(Number(stats.get("total_connections")), 4)
      assert.isAtLeast(Number(stats.get("curr_connections")), 4)
    }).pipe(Effect.scoped))
})
