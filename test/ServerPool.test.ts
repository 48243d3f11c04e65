import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { acquireFakeServer, acquireMemcached, freePort } from "./support/memcached.js"

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
      const stats = Either.getOrThrow([...(yield* c.stats()).values()][0]!)
      // 4 pool connections plus the protocol probe's short-lived one, plus the stats request's.
      assert.isAtLeast(Number(stats.get("total_connections")), 4)
      assert.isAtLeast(Number(stats.get("curr_connections")), 4)
    }).pipe(Effect.scoped))
})

describe("admin commands report per server (issue 11.7)", () => {
  it.live("one dead server: stats, version, flushAll and verbosity still answer for the others", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const dead = yield* Effect.promise(() => freePort())
      const live = `127.0.0.1:${mc.port}`
      const gone = `127.0.0.1:${dead}`
      const c = yield* MemcachedClient.make({ servers: [live, gone], protocol: "text", timeout: "2 seconds" })
      yield* c.set("admin:a", "v", { timeout: "2 seconds" }).pipe(Effect.ignore)
      const stats = yield* c.stats()
      assert.deepStrictEqual([...stats.keys()], [live, gone])
      assert.strictEqual(Either.getOrThrow(stats.get(live)!).get("pid"), String(mc.pid))
      const deadStats = stats.get(gone)!
      assert.isTrue(Either.isLeft(deadStats) && deadStats.left._tag === "MemcachedConnectionError")
      const versions = yield* c.version()
      assert.deepStrictEqual(versions.get(live), Either.right("1.6.18"))
      assert.isTrue(Either.isLeft(versions.get(gone)!))
      const flushed = yield* c.flushAll()
      assert.deepStrictEqual(flushed.get(live), Either.right(undefined))
      assert.isTrue(Either.isLeft(flushed.get(gone)!))
      const verbosity = yield* c.verbosity(0)
      assert.deepStrictEqual(verbosity.get(live), Either.right(undefined))
    }).pipe(Effect.scoped))

  it.live("the server option targets one server; an unknown one is InvalidArgument before anything is sent", () =>
    Effect.gen(function*() {
      const a = yield* acquireMemcached()
      const b = yield* acquireMemcached()
      const sa = `127.0.0.1:${a.port}`
      const sb = `127.0.0.1:${b.port}`
      const c = yield* MemcachedClient.make({ servers: [sa, sb], protocol: "text" })
      const only = yield* c.stats(undefined, { server: sb })
      assert.deepStrictEqual([...only.keys()], [sb])
      assert.strictEqual(Either.getOrThrow(only.get(sb)!).get("pid"), String(b.pid))
      assert.deepStrictEqual([...(yield* c.version({ server: sa })).keys()], [sa])
      const unknown = yield* Effect.flip(c.flushAll(undefined, { server: "127.0.0.1:1" }))
      assert.strictEqual(unknown.reason, "InvalidArgument")
      // only b was flushed
      const key = "admin:target"
      yield* c.set(key, "v")
      const home = c.servers[c.serverFor(key)]!.name
      yield* c.flushAll(undefined, { server: home === sa ? sb : sa })
      assert.isTrue(Option.isSome(yield* c.get(key)))
      yield* c.flushAll(undefined, { server: home })
      assert.isTrue(Option.isNone(yield* c.get(key)))
    }).pipe(Effect.scoped))
})
