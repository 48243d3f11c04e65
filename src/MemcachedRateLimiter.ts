/**
 * `@effect/experimental`'s `RateLimiter` over memcached: a `RateLimiterStore` whose fixed window and
 * token bucket are each one meta arithmetic (`ma`) round trip in the common case, atomic across every
 * process sharing the servers. Meta protocol only (memcached ≥ 1.6, or the in-memory server).
 *
 * - **Fixed window**, `onExceeded: "fail"`: one counter per window (`<key>:<window index>`); `ma` with
 *   vivify (`N`, the window's remaining seconds) and an initial value (`J`) creates it and counts in
 *   the same request, so it is exact under any concurrency. A consume beyond `limit` is refunded (a
 *   second `ma`, only on rejection). `onExceeded: "delay"`, where the store is given no limit, keeps
 *   the Redis store's semantics (each consume extends the window by `refillRate × tokens`): one
 *   counter holds `start (ms) × 2^20 + count`, still one `ma`; at a window's end, under contention, a
 *   consume can be counted twice (a longer delay), never less.
 * - **Token bucket** as GCRA: one counter holds the theoretical arrival time (µs); a consume adds
 *   `tokens × refillRate` with one `ma`; a rejected consume (without `allowOverflow`) is refunded.
 * - Time is the Effect `Clock` of the caller (so `TestClock` drives it); every process sharing a
 *   counter must agree on the time (as with the Redis store). State found outdated (the server's second-granular TTL
 *   kept it a little longer) is reset with compare-and-swap (a second round trip, only then).
 * - Limits: a fixed-window counter holds at most 2^20 − 1 tokens per window.
 *
 * Every operation fails with `RateLimitStoreError` (its `cause` is the `MemcachedError`), including
 * `MemcachedInputError("Unsupported")` on a text-only server. The algorithms are src/rateLimiter/counters.ts,
 * shared with the Effect 4 edition; this module is the `@effect/experimental` store over them.
 *
 * @since 0.1.0
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MemcachedClient from "./MemcachedClient.js"
import * as NamespaceGeneration from "./NamespaceGeneration.js"
import * as Counters from "./rateLimiter/counters.js"

/**
 * Options of the memcached rate limiter store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Prefix of every counter's key. Default `"ratelimiter:"`. */
  readonly prefix?: string | undefined
  /** Compare-and-swap attempts when resetting outdated state. Default 8. */
  readonly casAttempts?: number | undefined
}

const storeError = (message: string, cause: unknown) => new RateLimiter.RateLimitStoreError({ message, cause })

/**
 * Builds the store over the client in context. Never fails; each operation fails with
 * `RateLimitStoreError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<RateLimiter.RateLimiterStore["Type"], never, MemcachedClient.MemcachedClient> =>
  Effect.map(MemcachedClient.MemcachedClient, (client) => {
    const prefix = options.prefix ?? "ratelimiter:"
    const attempts = Math.max(1, options.casAttempts ?? 8)
    const counters = Counters.make(client, (key) => NamespaceGeneration.safeKey(prefix, key))
    return RateLimiter.RateLimiterStore.of({
      fixedWindow: ({ key, limit, refillRate, tokens }) =>
        Counters.retrying(
          attempts,
          "fixedWindow",
          counters.fixedWindow(key, tokens, limit, Duration.toMillis(refillRate)),
          storeError
        ),
      tokenBucket: ({ allowOverflow, key, limit, refillRate, tokens }) =>
        Counters.retrying(
          attempts,
          "tokenBucket",
          Effect.map(
            counters.tokenBucket(key, tokens, limit, Duration.toMillis(refillRate), allowOverflow),
            (state) => state.remaining
          ),
          storeError
        )
    })
  })

/**
 * The memcached `RateLimiterStore` as a layer over the client in context. Never fails to build.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  options: Options = {}
): Layer.Layer<RateLimiter.RateLimiterStore, never, MemcachedClient.MemcachedClient> =>
  Layer.effect(RateLimiter.RateLimiterStore, make(options))

/**
 * `RateLimiter` over the memcached store. Never fails to build; `consume` fails with
 * `RateLimitExceeded` (over the limit, `onExceeded: "fail"`) or `RateLimitStoreError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RateLimiter.RateLimiter, never, MemcachedClient.MemcachedClient> =>
  RateLimiter.layer.pipe(Layer.provide(layerStore(options)))
