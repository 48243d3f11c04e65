/**
 * The edition's RateLimiter (Effect 3: `@effect/experimental`; Effect 4: `effect/persistence`) over the
 * memcached store: fixed window and token bucket, fail and delay modes, time driven by TestClock,
 * atomicity under concurrency, one `ma` per consume — against the in-memory server and a real memcached.
 * One source, both editions (packages/effect4/editions.json); Effect 4's adaptive limiter is tested in
 * packages/effect4/test/MemcachedRateLimiterAdaptive.test.ts.
 */
import { assert, describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { isSuccess, match, outcome } from "../src/edition.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedRateLimiter from "../src/MemcachedRateLimiter.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { exceededOf as exceeded, RateLimiter, storeErrorCause, TestClock } from "./support/edition.js"
import { fresh, realClient } from "./support/realClient.js"

const backends = [
  ["the in-memory server", MemcachedTest.layer()],
  ["memcached 1.6 (real process)", realClient]
] as const

for (const [name, clientLayer] of backends) {
  describe(`MemcachedRateLimiter over ${name}`, () => {
    layer(Layer.provideMerge(MemcachedRateLimiter.layer(), clientLayer))("RateLimiter", (it) => {
      it.effect("fixed window, fail: limit consumes pass, the next fails with retryAfter; the window resets", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          const key = fresh("fw")
          const consume = limiter.consume({ key, limit: 3, window: "10 seconds" })
          const results = [yield* consume, yield* consume, yield* consume]
          assert.deepStrictEqual(results.map((r) => r.remaining), [2, 1, 0])
          assert.isTrue(Duration.toMillis(results[2]!.resetAfter) <= 10_000)
          const e = exceeded(yield* Effect.flip(consume))
          assert.isTrue(Duration.toMillis(e.retryAfter) > 0 && Duration.toMillis(e.retryAfter) <= 10_000)
          // The rejected consume was refunded: after the window, the full limit is available again.
          yield* TestClock.adjust("11 seconds")
          assert.strictEqual((yield* consume).remaining, 2)
        }))

      it.effect("fixed window, delay: over the limit yields a delay into the next window", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          const key = fresh("fwd")
          const consume = limiter.consume({ key, limit: 2, window: "1 second", onExceeded: "delay" })
          assert.isTrue(Duration.isZero((yield* consume).delay))
          assert.isTrue(Duration.isZero((yield* consume).delay))
          const third = yield* consume
          const delay = Duration.toMillis(third.delay)
          assert.isTrue(delay > 0 && delay <= 1000, `delay ${delay}`)
          const fourth = yield* consume
          assert.isTrue(Duration.toMillis(fourth.delay) >= delay)
        }))

      it.effect("token bucket, fail: a burst up to the limit, then one token per refill interval", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          const key = fresh("tb")
          const consume = limiter.consume({ key, limit: 3, window: "3 seconds", algorithm: "token-bucket" })
          assert.deepStrictEqual(
            [(yield* consume).remaining, (yield* consume).remaining, (yield* consume).remaining],
            [2, 1, 0]
          )
          const e = exceeded(yield* Effect.flip(consume))
          assert.strictEqual(Duration.toMillis(e.retryAfter), 1000)
          yield* TestClock.adjust("1 second")
          assert.strictEqual((yield* consume).remaining, 0)
          exceeded(yield* Effect.flip(consume))
          yield* TestClock.adjust("1 minute")
          assert.strictEqual((yield* consume).remaining, 2)
          // More tokens than the limit can ever hold fail without touching the store.
          exceeded(
            yield* Effect.flip(
              limiter.consume({ key, limit: 3, window: "3 seconds", algorithm: "token-bucket", tokens: 4 })
            )
          )
        }))

      it.effect("token bucket, delay: overflow becomes a delay of one refill interval per missing token", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          const key = fresh("tbd")
          const consume = limiter.consume({
            key,
            limit: 2,
            window: "2 seconds",
            algorithm: "token-bucket",
            onExceeded: "delay"
          })
          yield* consume
          yield* consume
          assert.strictEqual(Duration.toMillis((yield* consume).delay), 1000)
          assert.strictEqual(Duration.toMillis((yield* consume).delay), 2000)
        }))

      it.effect("atomic under concurrency: exactly `limit` of 25 concurrent consumes pass", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          for (const algorithm of ["fixed-window", "token-bucket"] as const) {
            const key = fresh(`cc-${algorithm}`)
            const results = yield* Effect.forEach(
              Array.from({ length: 25 }, (_, i) => i),
              () => outcome(limiter.consume({ key, limit: 10, window: "1 minute", algorithm })),
              { concurrency: "unbounded" }
            )
            assert.strictEqual(results.filter(isSuccess).length, 10, algorithm)
            // Again after the window: the outdated state is replaced exactly once, whoever races.
            yield* TestClock.adjust("2 minutes")
            const again = yield* Effect.forEach(
              Array.from({ length: 25 }, (_, i) => i),
              () => outcome(limiter.consume({ key, limit: 10, window: "1 minute", algorithm })),
              { concurrency: "unbounded" }
            )
            const failures = again.flatMap((r) => match(r, () => [], (e) => [exceeded(e) && "exceeded"]))
            assert.deepStrictEqual(failures, Array.from({ length: 15 }, () => "exceeded"), algorithm)
          }
        }))

      it.effect("state is one counter item, created and counted by `ma` (vivify + initial value)", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          const client = yield* MemcachedClient.MemcachedClient
          yield* TestClock.setTime(12_345)
          const key = fresh("item")
          // fail mode: a counter per window, `<key>:<window index>`, holding the count.
          yield* limiter.consume({ key, limit: 5, window: "5 seconds" })
          yield* limiter.consume({ key, limit: 5, window: "5 seconds", tokens: 2 })
          assert.deepStrictEqual(yield* client.getString(`ratelimiter:${key}:2`), Option.some("3"))
          // delay mode: one counter holding start (ms) × 2^20 + count.
          yield* limiter.consume({ key, limit: 5, window: "5 seconds", onExceeded: "delay" })
          yield* limiter.consume({ key, limit: 5, window: "5 seconds", onExceeded: "delay", tokens: 2 })
          const raw = Option.getOrThrow(yield* client.getString(`ratelimiter:${key}`))
          const value = BigInt(raw.trim())
          assert.strictEqual(Number(value & ((1n << 20n) - 1n)), 3)
          assert.strictEqual(Number(value >> 20n), 12_345)
        }))
    })
  })
}

describe("MemcachedRateLimiter round trips", () => {
  layer(Layer.provideMerge(MemcachedRateLimiter.layer(), MemcachedTest.layer()))("in-memory", (it) => {
    it.effect("one meta command per admitted consume, two for a rejected one (the refund)", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter.RateLimiter
        const server = yield* MemcachedTest.MemoryServer
        yield* limiter.consume({ key: "warm-up", limit: 5, window: "1 minute" })
        for (const algorithm of ["fixed-window", "token-bucket"] as const) {
          const consume = limiter.consume({ key: `rt-${algorithm}`, limit: 3, window: "1 minute", algorithm })
          const before = server.stats().cmd_meta
          yield* consume
          yield* consume
          yield* consume
          assert.strictEqual(server.stats().cmd_meta - before, 3, algorithm)
          yield* Effect.flip(consume)
          assert.strictEqual(server.stats().cmd_meta - before, 5, algorithm)
        }
      }))
  })
})

describe("MemcachedRateLimiter failures", () => {
  layer(Layer.provideMerge(MemcachedRateLimiter.layer(), MemcachedTest.layer({ protocol: "text" })))("text", (it) => {
    it.effect("a text-protocol server fails with RateLimitStoreError (cause: Unsupported)", () =>
      Effect.gen(function*() {
        const limiter = yield* RateLimiter.RateLimiter
        const e = yield* Effect.flip(limiter.consume({ key: "k", limit: 1, window: "1 second" }))
        expect(storeErrorCause(e)).toMatchObject({
          _tag: "MemcachedInputError",
          reason: "Unsupported"
        })
      }))
  })
})
