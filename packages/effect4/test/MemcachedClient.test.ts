import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Option, Result } from "effect"
import * as TestClock from "effect/testing/TestClock"
import { MemcachedClient } from "../src/MemcachedClient.js"
import { retryDelayOf } from "../src/client/make.js"
import * as MemcachedTest from "../src/MemcachedTest.js"

describe("MemcachedClient (Effect 4)", () => {
  for (const protocol of ["text", "meta", "auto"] as const) {
    it.effect(`set/get/delete over the in-process server (${protocol})`, () =>
      Effect.gen(function*() {
        const client = yield* MemcachedClient
        yield* client.set("k", "v", { flags: 7 })
        const item = yield* client.get("k")
        assert.isTrue(Option.isSome(item))
        assert.strictEqual(Option.getOrThrow(item).flags, 7)
        assert.deepStrictEqual(yield* client.getString("k"), Option.some("v"))
        yield* client.delete("k")
        assert.isTrue(Option.isNone(yield* client.get("k")))
        const missing = yield* Effect.flip(client.delete("k"))
        assert.strictEqual(missing._tag, "MemcachedStoreError")
        assert.strictEqual(missing.reason, "NotFound")
        const bad = yield* Effect.flip(client.get("has space"))
        assert.strictEqual(bad._tag, "MemcachedInputError")
        assert.strictEqual(bad.reason, "InvalidKey")
        const versions = yield* client.version()
        assert.isTrue(Result.isSuccess(versions.get("memory-0:11211")!))
      }).pipe(Effect.provide(MemcachedTest.layer({ protocol }))))
  }

  it.effect("TestClock expires items in the in-memory server", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient
      yield* client.set("t", "v", { ttl: Duration.seconds(10) })
      assert.isTrue(Option.isSome(yield* client.get("t")))
      yield* TestClock.adjust(Duration.seconds(11))
      assert.isTrue(Option.isNone(yield* client.get("t")))
    }).pipe(Effect.provide(MemcachedTest.layer())))

  it.effect("invalid options fail the layer with a ConfigError naming the option", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(MemcachedClient.useSync(() => 1), MemcachedTest.layer({ poolSize: 0 }))
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "poolSize")
    }))

  it.effect("getMany, incr over TCP", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient
      yield* client.set("a", "1")
      yield* client.set("b", "2")
      const many = yield* client.getMany(["a", "b", "c"])
      assert.deepStrictEqual([...many.keys()].sort(), ["a", "b"])
      assert.strictEqual(yield* client.incr("a", 5), 6n)
    }).pipe(Effect.provide(MemcachedTest.layerTcp())))
})

describe("ejection backoff (Effect 4 Schedule)", () => {
  it("retryInterval × 2^flaps, capped at maxRetryInterval", () => {
    const delay = retryDelayOf(2000, 60_000)
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 6, 100].map(delay), [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
  })
})

describe("failure policy through the Effect 4 edge", () => {
  it.live("a refusing server is ejected (failover next: its keys move to the live server), then readmitted", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient
      const servers = yield* MemcachedTest.MemoryServers
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
      const onSecond = keys.filter((k) => client.serverFor(k) === 1)
      assert.isAbove(onSecond.length, 0)
      servers[1]!.faults.refuseConnections(true)
      servers[1]!.faults.dropConnections()
      // The first failures eject it (failureLimit 1); afterwards its keys are served by server 0.
      yield* Effect.ignore(client.get(onSecond[0]!))
      yield* Effect.sleep("20 millis")
      yield* client.set(onSecond[0]!, "moved")
      assert.deepStrictEqual(yield* client.getString(onSecond[0]!), Option.some("moved"))
      assert.isDefined(servers[0]!.peek(onSecond[0]!))
      // After retryInterval the server is probed and readmitted: its keys go home again.
      servers[1]!.faults.refuseConnections(false)
      yield* Effect.sleep("400 millis")
      let home = false
      for (let i = 0; i < 50 && !home; i++) {
        yield* Effect.ignore(client.set(onSecond[0]!, "home"))
        home = servers[1]!.peek(onSecond[0]!) !== undefined
        if (!home) yield* Effect.sleep("50 millis")
      }
      assert.isTrue(home, "the readmitted server serves its keys again")
    }).pipe(Effect.provide(MemcachedTest.layer({
      servers: 2,
      failover: "next",
      failureLimit: 1,
      retryInterval: "200 millis",
      connectTimeout: "500 millis"
    }))))
})
