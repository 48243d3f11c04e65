/**
 * Effect 4's adaptive rate limiter (`adaptiveConsume` / `adaptiveFeedback`) over the memcached store:
 * the state machine of Effect's memory store, step by step, and its state shared through memcached —
 * against the in-memory server and a real memcached. (The fixed-window and token-bucket cases are the
 * shared test/MemcachedRateLimiter.test.ts.)
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as TestClock from "effect/testing/TestClock"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedRateLimiter from "../src/MemcachedRateLimiter.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { fresh, realClient } from "./support/realClient.js"

const backends = [
  ["the in-memory server", MemcachedTest.layer()],
  ["memcached 1.6 (real process)", realClient]
] as const

for (const [name, clientLayer] of backends) {
  describe(`MemcachedRateLimiter (adaptive) over ${name}`, () => {
    layer(Layer.provideMerge(MemcachedRateLimiter.layer(), clientLayer))("RateLimiter", (it) => {
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
