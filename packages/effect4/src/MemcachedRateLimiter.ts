/**
 * Effect 4's `RateLimiter` (`effect/persistence/RateLimiter`) over memcached: a `RateLimiterStore` whose
 * fixed window and token bucket are each one meta arithmetic (`ma`) round trip in the common case,
 * atomic across every process sharing the servers. Meta protocol only (memcached ≥ 1.6, or the
 * in-memory server).
 *
 * - **Fixed window**, `onExceeded: "fail"`: one counter per window (`<key>:<window index>`); `ma` with
 *   vivify (`N`, the window's remaining seconds) and an initial value (`J`) creates it and counts in
 *   the same request, so it is exact under any concurrency. A consume beyond `limit` is refunded (a
 *   second `ma`, only on rejection). `onExceeded: "delay"`, where the store is given no limit, keeps
 *   the Redis and memory stores' semantics (each consume extends the window by `refillRate × tokens`): one
 *   counter holds `start (ms) × 2^20 + count`, still one `ma`; at a window's end, under contention, a
 *   consume can be counted twice (a longer delay), never less.
 * - **Token bucket** as GCRA: one counter holds the theoretical arrival time (µs); a consume adds
 *   `tokens × refillRate` with one `ma`; a rejected consume (without `allowOverflow`) is refunded.
 * - Time is the Effect `Clock` of the caller (so `TestClock` drives it); every process sharing a
 *   counter must agree on the time (as with the Redis store). State found outdated (the server's second-granular TTL
 *   kept it a little longer) is reset with compare-and-swap (a second round trip, only then).
 * - Limits: a fixed-window counter holds at most 2^20 − 1 tokens per window.
 *
 * - **Adaptive** (`adaptiveConsume` / `adaptiveFeedback`): the state machine of Effect's memory store
 *   (cooldown after a 429 with Retry-After, then learning, then the learned limit), kept as one JSON item
 *   per key (`<key>:adaptive`) and updated with compare-and-swap, so processes share what they learned.
 *
 * Every operation fails with `RateLimiterError` whose reason is a `RateLimitStoreError` (its `cause` is
 * the `MemcachedError`), including `MemcachedInputError("Unsupported")` on a text-only server. The
 * fixed-window and token-bucket algorithms are src/rateLimiter/counters.ts (root), shared with the
 * Effect 3 edition; this module is the `effect/persistence` store over them, plus the adaptive state.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as MemcachedClient from "./MemcachedClient.js"
import type { MemcachedError } from "./MemcachedError.js"
import * as NamespaceGeneration from "./NamespaceGeneration.js"
import * as Adaptive from "./rateLimiter/adaptive.js"
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

const storeError = (message: string, cause: unknown) =>
  new RateLimiter.RateLimiterError({ reason: new RateLimiter.RateLimitStoreError({ message, cause }) })

/**
 * Applies `step` to the adaptive state stored under `key` (JSON) with compare-and-swap (`add` when there
 * is none): fails with `Conflict` when another writer got there first (the caller retries), or with the
 * client's errors.
 */
const adaptiveStep = <A>(
  client: MemcachedClient.Service,
  key: string,
  step: (state: Adaptive.AdaptiveState | undefined, now: number) => readonly [A, Adaptive.AdaptiveState | undefined]
): Effect.Effect<A, MemcachedError | Counters.Conflict> =>
  Effect.gen(function*() {
    const found = yield* client.gets(key)
    const now = yield* Clock.currentTimeMillis
    const current = Option.isNone(found)
      ? undefined
      : Adaptive.parseState(Buffer.from(found.value.value).toString("utf8"))
    const [result, next] = step(current, now)
    if (next === undefined) return result
    const text = JSON.stringify(next)
    const ttl = Counters.secondsFor(next.expiresAt - now)
    yield* Counters.conflictOnStoreError(
      Option.isNone(found) ? client.add(key, text, { ttl }) : client.cas(key, text, found.value.cas, { ttl })
    )
    return result
  })

/**
 * Builds the store over the client in context. Never fails; each operation fails with
 * `RateLimiterError` (reason `RateLimitStoreError`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<RateLimiter.RateLimiterStore["Service"], never, MemcachedClient.MemcachedClient> =>
  Effect.map(MemcachedClient.MemcachedClient, (client) => {
    const prefix = options.prefix ?? "ratelimiter:"
    const attempts = Math.max(1, options.casAttempts ?? 8)
    const keyOf = (key: string) => NamespaceGeneration.safeKey(prefix, key)
    const counters = Counters.make(client, keyOf)
    const retrying = <A>(what: string, run: Effect.Effect<A, MemcachedError | Counters.Conflict>) =>
      Counters.retrying(attempts, what, run, storeError)
    return RateLimiter.RateLimiterStore.of({
      fixedWindow: ({ key, limit, refillRate, tokens }) =>
        retrying("fixedWindow", counters.fixedWindow(key, tokens, limit, Duration.toMillis(refillRate))),
      tokenBucket: ({ allowOverflow, key, limit, refillRate, tokens }) =>
        retrying(
          "tokenBucket",
          Effect.map(
            counters.tokenBucket(key, tokens, limit, Duration.toMillis(refillRate), allowOverflow),
            (state) => [state.remaining, state.elapsedSeconds] as const
          )
        ),
      adaptiveConsume: (options) =>
        retrying(
          "adaptiveConsume",
          adaptiveStep(client, keyOf(`${options.key}:adaptive`), (state, now) => Adaptive.consume(state, now, options))
        ),
      adaptiveFeedback: (options) =>
        retrying(
          "adaptiveFeedback",
          adaptiveStep(
            client,
            keyOf(`${options.key}:adaptive`),
            (state, now) => [undefined, Adaptive.feedback(state, now, options)] as const
          )
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
  Layer.effect(RateLimiter.RateLimiterStore)(make(options))

/**
 * `RateLimiter` over the memcached store. Never fails to build; `consume` fails with `RateLimiterError`
 * whose reason is `RateLimitExceeded` (over the limit, `onExceeded: "fail"`) or `RateLimitStoreError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RateLimiter.RateLimiter, never, MemcachedClient.MemcachedClient> =>
  RateLimiter.layer.pipe(Layer.provide(layerStore(options)))
