/**
 * Effect 4's RateLimiter over the memcached store: fixed window and token bucket, fail and
 * delay modes, time driven by TestClock, atomicity under concurrency, one `ma` per consume — against
 * the in-memory server and a real memcached; the adaptive limiter's state machine shared through memcached.
 */
import { assert, describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as Result from "effect/Result"
import * as TestClock from "effect/testing/TestClock"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedRateLimiter from "../src/MemcachedRateLimiter.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { acquireMemcached } from "./support/memcached.js"

const realClient = Layer.unwrap(
  Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`] }))
)

const backends = [
  ["the in-memory server", MemcachedTest.layer()],
  ["memcached 1.6 (real process)", realClient]
] as const

let n = 0
const fresh = (label: string) => `${label}-${++n}-${Date.now()}`

const exceeded = (e: RateLimiter.RateLimiterError) => {
  assert.strictEqual(e.reason._tag, "RateLimitExceeded")
  return e.reason as RateLimiter.RateLimitExceeded
}

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
              () => Effect.result(limiter.consume({ key, limit: 10, window: "1 minute", algorithm })),
              { concurrency: "unbounded" }
            )
            assert.strictEqual(results.filter(Result.isSuccess).length, 10, algorithm)
            // Again after the window: the outdated state is replaced exactly once, whoever races.
            yield* TestClock.adjust("2 minutes")
            const again = yield* Effect.forEach(
              Array.from({ length: 25 }, (_, i) => i),
              () => Effect.result(limiter.consume({ key, limit: 10, window: "1 minute", algorithm })),
              { concurrency: "unbounded" }
            )
            const failures = again.flatMap((r) => (Result.isFailure(r) ? [r.failure.reason._tag] : []))
            assert.deepStrictEqual(failures, Array.from({ length: 15 }, () => "RateLimitExceeded"), algorithm)
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

      it.effect("adaptive: the same phases, epochs and delays as Effect's memory store, step by step", () =>
        Effect.gen(function*() {
          const memcached = yield* RateLimiter.RateLimiter
          const reference = yield* Effect.provide(RateLimiter.make, RateLimiter.layerStoreMemory)
          const key = fresh("adaptive")
          const options = { key, tokens: 1, fallbackLimit: 10, fallbackWindow: Duration.seconds(10) }
          type Step =
            | { readonly consume: number }
            | { readonly feedback: readonly [epoch: number, status: number, retryAfterMs: number | undefined] }
            | { readonly wait: number }
          const script: ReadonlyArray<Step> = [
            { consume: 1 },
            { feedback: [0, 200, undefined] },
            { feedback: [0, 429, undefined] },
            { consume: 1 },
            { feedback: [0, 429, 2000] },
            { consume: 1 },
            { wait: 500 },
            { consume: 1 },
            { feedback: [0, 429, 4000] },
            { consume: 1 },
            { wait: 4000 },
            { consume: 5 },
            { feedback: [0, 429, 1000] },
            { wait: 1000 },
            { consume: 1 },
            { feedback: [1, 429, 1000] },
            { consume: 6 },
            { wait: 700 },
            { consume: 3 },
            { feedback: [2, 429, 3000] },
            { consume: 1 },
            { wait: 3000 },
            { consume: 2 }
          ]
          const phases: Array<string> = []
          let epoch = 0
          for (const step of script) {
            if ("wait" in step) {
              yield* TestClock.adjust(Duration.millis(step.wait))
            } else if ("feedback" in step) {
              const [e, status, retry] = step.feedback
              const fb = {
                key,
                epoch: e,
                tokens: 1,
                status,
                retryAfter: retry === undefined ? undefined : Duration.millis(retry)
              }
              yield* memcached.adaptiveFeedback(fb)
              yield* reference.adaptiveFeedback(fb)
            } else {
              for (let n = 0; n < step.consume; n++) {
                const got = yield* memcached.adaptiveConsume(options)
                const expected = yield* reference.adaptiveConsume(options)
                assert.deepStrictEqual(
                  [got.phase, got.epoch, Duration.toMillis(got.delay)],
                  [expected.phase, expected.epoch, Duration.toMillis(expected.delay)]
                )
                phases.push(got.phase)
                epoch = got.epoch
              }
            }
          }
          // the script went through every phase
          for (const phase of ["inactive", "cooldown", "learning", "learned"]) assert.include(phases, phase)
          // learning (1), learned (2), cooldown, learning again (3)
          assert.strictEqual(epoch, 3)
        }))

      it.effect("adaptive state is shared: a second store instance (another process) sees the cooldown", () =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.RateLimiter
          const other = yield* MemcachedRateLimiter.make()
          const key = fresh("shared")
          yield* limiter.adaptiveFeedback({ key, epoch: 0, tokens: 1, status: 429, retryAfter: Duration.seconds(5) })
          const seen = yield* other.adaptiveConsume({
            key,
            tokens: 1,
            fallbackLimit: 1,
            fallbackWindow: Duration.seconds(1)
          })
          assert.strictEqual(seen.phase, "cooldown")
          // concurrent learners all count: none of their tokens is lost to a lost compare-and-swap
          yield* TestClock.adjust("5 seconds")
          yield* Effect.forEach(
            Array.from({ length: 8 }),
            () => limiter.adaptiveConsume({ key, tokens: 1, fallbackLimit: 1, fallbackWindow: Duration.seconds(1) }),
            { concurrency: "unbounded", discard: true }
          )
          // 8 observed; the feedback refuses 1: 7 learned
          yield* limiter.adaptiveFeedback({ key, epoch: 1, tokens: 1, status: 429, retryAfter: Duration.seconds(1) })
          const client = yield* MemcachedClient.MemcachedClient
          const state = JSON.parse(Option.getOrThrow(yield* client.getString(`ratelimiter:${key}:adaptive`)))
          assert.deepStrictEqual([state.phase, state.learnedLimit], ["learned", 7])
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
        assert.strictEqual(e.reason._tag, "RateLimitStoreError")
        expect((e.reason as RateLimiter.RateLimitStoreError).cause).toMatchObject({
          _tag: "MemcachedInputError",
          reason: "Unsupported"
        })
      }))
  })
})
