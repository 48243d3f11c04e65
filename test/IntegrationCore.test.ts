/**
 * The edition-independent logic behind the KeyValueStore, Persistence and RateLimiter integrations
 * (src/integration/keyValue.ts, src/integration/persistence.ts, src/rateLimiter/counters.ts), tested
 * directly over the in-memory server with the error constructors an edition would supply. One source,
 * both editions (packages/effect4/editions.json): the Effect 4 run tests the Effect 4 copies.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as KeyValue from "../src/integration/keyValue.js"
import * as Backing from "../src/integration/persistence.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { MemcachedError } from "../src/MemcachedError.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import * as Counters from "../src/rateLimiter/counters.js"

class Wrapped {
  constructor(readonly method: string, readonly key: string | undefined, readonly cause: unknown) {}
}

const errors: KeyValue.Errors<Wrapped> = {
  fail: (method, key) => (error: MemcachedError) => new Wrapped(method, key, error),
  busy: (method, key, attempts, cause) => new Wrapped(`${method} busy after ${attempts}`, key, cause)
}

describe("rate limiter counters", () => {
  it("secondsFor: a TTL of at least the time asked plus a second, never below 1", () => {
    assert.deepStrictEqual([0, 1, 999, 1000, 1001, 59_500, -5000].map(Counters.secondsFor), [1, 2, 2, 2, 3, 61, 1])
  })

  it.effect("retrying: a Conflict is retried up to the attempts, then named; another error is not retried", () =>
    Effect.gen(function*() {
      let runs = 0
      const flaky = (conflicts: number) =>
        Effect.suspend(() => ++runs <= conflicts ? Effect.fail(new Counters.Conflict()) : Effect.succeed(runs))
      const toError = (message: string, cause: unknown) => ({ message, cause })
      assert.strictEqual(yield* Counters.retrying(3, "op", flaky(2), toError), 3)
      runs = 0
      const spent = yield* Effect.flip(Counters.retrying(2, "op", flaky(5), toError))
      assert.strictEqual(runs, 2)
      assert.strictEqual(spent.message, "memcached rate limiter: op (2 conflicting writes) failed")
      assert.instanceOf(spent.cause, Counters.Conflict)
      runs = 0
      const client = yield* MemcachedClient.MemcachedClient
      const other = yield* Effect.flip(
        Counters.retrying(5, "op", Effect.suspend(() => (runs++, client.get("bad key"))), toError)
      )
      assert.strictEqual(runs, 1)
      assert.strictEqual(other.message, "memcached rate limiter: op failed")
      expect(other.cause).toMatchObject({ _tag: "MemcachedInputError", reason: "InvalidKey" })
    }).pipe(Effect.provide(MemcachedTest.layer())))

  it.effect("fixed window: one counter per window under the key's window index, refunded over the limit", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient.MemcachedClient
      const counters = Counters.make(client, (key) => `rl:${key}`)
      // 1 token per 100 ms, limit 5: a window of 500 ms; the clock starts at 0 (window 0).
      assert.deepStrictEqual(yield* counters.fixedWindow("a", 2, 5, 100), [2, 500])
      assert.deepStrictEqual(yield* counters.fixedWindow("a", 3, 5, 100), [5, 500])
      assert.deepStrictEqual(yield* client.getString("rl:a:0"), Option.some("5"))
      // over the limit: reported, then given back
      assert.deepStrictEqual(yield* counters.fixedWindow("a", 1, 5, 100), [6, 500])
      assert.deepStrictEqual(yield* client.getString("rl:a:0"), Option.some("5"))
    }).pipe(Effect.provide(MemcachedTest.layer())))

  it.effect("token bucket: the arrival time in µs; a rejected consume is refunded, an overflowing one kept", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient.MemcachedClient
      const counters = Counters.make(client, (key) => `tb:${key}`)
      // 1 token per second, bucket of 2
      assert.strictEqual((yield* counters.tokenBucket("b", 1, 2, 1000, false)).remaining, 1)
      assert.strictEqual((yield* counters.tokenBucket("b", 1, 2, 1000, false)).remaining, 0)
      assert.deepStrictEqual(yield* client.getString("tb:b"), Option.some("2000000"))
      assert.strictEqual((yield* counters.tokenBucket("b", 1, 2, 1000, false)).remaining, -1)
      assert.deepStrictEqual(yield* client.getString("tb:b"), Option.some("2000000"))
      assert.strictEqual((yield* counters.tokenBucket("b", 1, 2, 1000, true)).remaining, -1)
      assert.deepStrictEqual(yield* client.getString("tb:b"), Option.some("3000000"))
    }).pipe(Effect.provide(MemcachedTest.layer())))
})

describe("key-value store core", () => {
  it.effect("keys as given, hashed when invalid (the default), or rejected naming method and key", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient.MemcachedClient
      const plain = KeyValue.make(client, { hashInvalidKeys: false }, errors)
      yield* plain.set("k", "v")
      assert.deepStrictEqual(yield* client.getString("k"), Option.some("v"))
      const e = yield* Effect.flip(plain.read("get", "bad key"))
      assert.deepStrictEqual([e.method, e.key], ["get", "bad key"])
      expect(e.cause).toMatchObject({ _tag: "MemcachedInputError" })
      const hashed = KeyValue.make(client, {}, errors)
      yield* hashed.set("bad key", "h")
      const got = yield* hashed.read("get", "bad key")
      assert.strictEqual(Option.isSome(got) && Buffer.from(got.value.value).toString(), "h")
    }).pipe(Effect.provide(MemcachedTest.layer())))

  it.effect("modify: a compare-and-swap update; a missing key is undefined; remove of a missing key succeeds", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient.MemcachedClient
      const kv = KeyValue.make(client, { namespace: "core" }, errors)
      const modify = kv.modifyWith("modify", (u) => Buffer.from(u).toString(), (s) => s)
      assert.isUndefined(yield* modify("n", (s) => s + "!"))
      yield* kv.set("n", "1")
      yield* Effect.forEach(Array.from({ length: 5 }), () => modify("n", (s) => String(Number(s) + 1)), {
        concurrency: "unbounded",
        discard: true
      })
      const n = yield* kv.read("get", "n")
      assert.strictEqual(Option.isSome(n) && Buffer.from(n.value.value).toString(), "6")
      yield* kv.remove("n")
      yield* kv.remove("n")
      assert.isTrue(Option.isNone(yield* kv.read("get", "n")))
    }).pipe(Effect.provide(MemcachedTest.layer())))

  it.effect("clear with a namespace clears only it", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient.MemcachedClient
      const a = KeyValue.make(client, { namespace: "a" }, errors)
      const b = KeyValue.make(client, { namespace: "b" }, errors)
      yield* a.set("k", "A")
      yield* b.set("k", "B")
      yield* a.clear
      assert.isTrue(Option.isNone(yield* a.read("get", "k")))
      assert.isTrue(Option.isSome(yield* b.read("get", "k")))
    }).pipe(Effect.provide(MemcachedTest.layer())))
})

describe("persistence core", () => {
  it("finiteTtl: an infinite or absent TTL never expires", () => {
    assert.isUndefined(Backing.finiteTtl(undefined))
    assert.isUndefined(Backing.finiteTtl(Duration.infinity))
    assert.strictEqual(Duration.toMillis(Backing.finiteTtl(Duration.seconds(2))!), 2000)
  })

  it.effect("JSON round trips; the edition's check rejects an entry; unencodable values fail the write", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient.MemcachedClient
      const fail = (method: string) => (cause: unknown) => new Wrapped(method, undefined, cause)
      const store = Backing.make(client, "p:", {
        fail,
        check: (v) => {
          if (v === 42) throw new TypeError("no 42")
        }
      })
      yield* store.setMany([["a", { x: 1 }, undefined], ["b", [1, 2], Duration.seconds(30)], ["c", null, undefined]])
      assert.deepStrictEqual(yield* store.getMany(["a", "missing", "b", "c"]), [
        Option.some({ x: 1 }),
        Option.none(),
        Option.some([1, 2]),
        Option.some(null)
      ])
      yield* store.set("n", 42, undefined)
      const rejected = yield* Effect.flip(store.get("n"))
      assert.strictEqual(rejected.method, "get")
      assert.instanceOf(rejected.cause, TypeError)
      const unencodable = yield* Effect.flip(store.set("big", 10n, undefined))
      assert.strictEqual(unencodable.method, "set")
      yield* store.remove("a")
      yield* store.remove("a")
      assert.isTrue(Option.isNone(yield* store.get("a")))
      yield* store.clear
      assert.isTrue(Option.isNone(yield* store.get("b")))
    }).pipe(Effect.provide(MemcachedTest.layer())))
})
