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
 * the `MemcachedError`), including `MemcachedInputError("Unsupported")` on a text-only server.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RateLimiter from "effect/persistence/RateLimiter"
import * as MemcachedClient from "./MemcachedClient.js"
import type { MemcachedError } from "./MemcachedError.js"
import * as NamespaceGeneration from "./NamespaceGeneration.js"
import * as Adaptive from "./rateLimiter/adaptive.js"

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

const COUNT_BITS = 20n
const COUNT_MASK = (1n << COUNT_BITS) - 1n

/** TTL (seconds) that keeps an item at least `ms` longer, with a second of margin for rounding. */
const secondsFor = (ms: number): number => Math.max(1, Math.ceil(ms / 1000) + 1)

class Conflict {
  readonly _tag = "Conflict"
}

const storeError = (what: string) => (cause: unknown) =>
  new RateLimiter.RateLimiterError({
    reason: new RateLimiter.RateLimitStoreError({ message: `memcached rate limiter: ${what} failed`, cause })
  })

/**
 * Applies `step` to the adaptive state stored under `key` (JSON) with compare-and-swap (`add` when there
 * is none): fails with `Conflict` when another writer got there first (the caller retries), or with the
 * client's errors.
 */
const adaptiveStep = <A>(
  client: MemcachedClient.Service,
  key: string,
  step: (state: Adaptive.AdaptiveState | undefined, now: number) => readonly [A, Adaptive.AdaptiveState | undefined]
): Effect.Effect<A, MemcachedError | Conflict> =>
  Effect.clockWith((clock) =>
    Effect.gen(function*() {
      const found = yield* client.gets(key)
      const now = clock.currentTimeMillisUnsafe()
      const current = Option.isNone(found)
        ? undefined
        : Adaptive.parseState(Buffer.from(found.value.value).toString("utf8"))
      const [result, next] = step(current, now)
      if (next === undefined) return result
      const text = JSON.stringify(next)
      const ttl = secondsFor(next.expiresAt - now)
      const write = Option.isNone(found)
        ? client.add(key, text, { ttl })
        : client.cas(key, text, found.value.cas, { ttl })
      yield* Effect.catchIf(write, (e) => e._tag === "MemcachedStoreError", () => Effect.fail(new Conflict()))
      return result
    })
  )

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

    /** Replaces outdated state with `value`, if nobody changed it since (`Conflict` otherwise). */
    const reset = (key: string, value: bigint, cas: bigint | undefined, ttl: number | undefined) =>
      client.metaSet(key, value.toString(), { cas, ttl }).pipe(
        Effect.asVoid,
        Effect.catchIf(
          (e) => e._tag === "MemcachedStoreError",
          () => Effect.fail(new Conflict())
        )
      )

    /** Keeps an item alive at least `ms` more (the counter's TTL only ever grows here). */
    const extend = (key: string, ttlLeft: number | undefined, ms: number) => {
      const need = secondsFor(ms)
      return ttlLeft === -1 || (ttlLeft !== undefined && ttlLeft >= need)
        ? Effect.void
        : Effect.catchIf(client.touch(key, need), (e) => e._tag === "MemcachedStoreError", () => Effect.void)
    }

    const retrying = <A>(what: string, run: Effect.Effect<A, MemcachedError | Conflict>) => {
      const loop = (left: number): Effect.Effect<A, RateLimiter.RateLimiterError> =>
        Effect.catch(run, (e) =>
          e instanceof Conflict
            ? left > 1 ? loop(left - 1) : Effect.fail(storeError(`${what} (${attempts} conflicting writes)`)(e))
            : Effect.fail(storeError(what)(e)))
      return loop(attempts)
    }

    /** `onExceeded: "fail"` (a limit): a counter per window, `<key>:<window index>`, one `ma`. */
    const windowed = (key: string, tokens: number, limit: number, r: number, now: number) => {
      const window = Math.max(1, Math.round(r * limit))
      const index = Math.floor(now / window)
      const left = (index + 1) * window - now
      const k = keyOf(`${key}:${index}`)
      const t = BigInt(tokens)
      return Effect.gen(function*() {
        const counter = yield* client.metaArithmetic(k, { delta: t, vivify: secondsFor(left), initial: t })
        const count = Number(counter.value)
        // Over the limit: give the tokens back so a smaller consume later in the window still fits.
        if (count > limit) yield* client.metaArithmetic(k, { mode: "decr", delta: t })
        return [count, left] as const
      })
    }

    /**
     * `onExceeded: "delay"` (no limit): the Redis store's semantics, where each consume extends the
     * window by `refillRate × tokens`, on one counter holding `start × 2^20 + count`.
     */
    const extending = (key: string, tokens: number, r: number, now: number) => {
      const k = keyOf(key)
      const t = BigInt(tokens)
      const fresh = (BigInt(Math.floor(now)) << COUNT_BITS) | t
      return Effect.gen(function*() {
        const counter = yield* client.metaArithmetic(k, { delta: t, vivify: secondsFor(r * tokens), initial: fresh })
        let start = Number(counter.value >> COUNT_BITS)
        let count = Number(counter.value & COUNT_MASK)
        const before = count - tokens
        if (before > 0 && start + r * before <= now) {
          // The previous window is over but its item lived on (TTLs are whole seconds): start anew.
          yield* reset(k, fresh, counter.cas, secondsFor(r * tokens))
          start = now
          count = tokens
        }
        const expires = start + r * count
        yield* extend(k, counter.ttl, expires - now)
        return [count, expires - now] as const
      })
    }

    const fixedWindow: RateLimiter.RateLimiterStore["Service"]["fixedWindow"] = ({ key, limit, refillRate, tokens }) =>
      Effect.clockWith((clock) => {
        const r = Duration.toMillis(refillRate)
        return retrying(
          "fixedWindow",
          Effect.suspend(() => {
            const now = clock.currentTimeMillisUnsafe()
            return limit === undefined ? extending(key, tokens, r, now) : windowed(key, tokens, limit, r, now)
          })
        )
      })

    const tokenBucket: RateLimiter.RateLimiterStore["Service"]["tokenBucket"] = (
      { allowOverflow, key, limit, refillRate, tokens }
    ) =>
      Effect.clockWith((clock) => {
        const k = keyOf(key)
        const r = Duration.toMillis(refillRate) * 1000
        const cost = BigInt(Math.max(0, Math.round(tokens * r)))
        return retrying(
          "tokenBucket",
          Effect.gen(function*() {
            const now = BigInt(Math.floor(clock.currentTimeMillisUnsafe() * 1000))
            const bound = allowOverflow ? undefined : secondsFor((limit * r + Number(cost)) / 1000)
            const counter = yield* client.metaArithmetic(k, {
              delta: cost,
              vivify: bound ?? secondsFor(Number(cost) / 1000),
              initial: now + cost,
              ttl: bound
            })
            let tat = counter.value
            if (tat - cost < now) {
              // The bucket had refilled completely: its arrival time restarts from now.
              tat = now + cost
              yield* reset(k, tat, counter.cas, bound ?? secondsFor(Number(cost) / 1000))
            }
            const debt = Number(tat - now)
            const owed = Math.ceil(debt / r - 1e-6)
            const remaining = limit - owed
            // How far the bucket is into refilling its next token (what RateLimiter subtracts from delays).
            const elapsed = Math.max(0, (owed * r - debt) / 1000)
            if (remaining < 0 && !allowOverflow) {
              yield* client.metaArithmetic(k, { mode: "decr", delta: cost })
              return [remaining, elapsed] as const
            }
            if (allowOverflow) yield* extend(k, counter.ttl, debt / 1000)
            return [remaining, elapsed] as const
          })
        )
      })

    const adaptiveConsume: RateLimiter.RateLimiterStore["Service"]["adaptiveConsume"] = (options) =>
      retrying(
        "adaptiveConsume",
        adaptiveStep(client, keyOf(`${options.key}:adaptive`), (state, now) => Adaptive.consume(state, now, options))
      )

    const adaptiveFeedback: RateLimiter.RateLimiterStore["Service"]["adaptiveFeedback"] = (options) =>
      retrying(
        "adaptiveFeedback",
        adaptiveStep(
          client,
          keyOf(`${options.key}:adaptive`),
          (state, now) => [undefined, Adaptive.feedback(state, now, options)] as const
        )
      )

    return RateLimiter.RateLimiterStore.of({ fixedWindow, tokenBucket, adaptiveConsume, adaptiveFeedback })
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
