/**
 * The rate limiter's memcached algorithms, written once for both editions (the Effect 3 store over
 * `@effect/experimental`'s `RateLimiter`, the Effect 4 store over `effect/persistence/RateLimiter`; each
 * edition's `MemcachedRateLimiter` keeps only its store glue):
 *
 * - **Fixed window**, with a limit: one counter per window (`<key>:<window index>`); `ma` with vivify
 *   (`N`, the window's remaining seconds) and an initial value (`J`) creates it and counts in the same
 *   request, so it is exact under any concurrency. A consume beyond `limit` is refunded (a second `ma`,
 *   only on rejection).
 * - **Extending window**, without a limit (`onExceeded: "delay"`): each consume extends the window by
 *   `refillRate × tokens`; one counter holds `start (ms) × 2^20 + count`, still one `ma`.
 * - **Token bucket** as GCRA: one counter holds the theoretical arrival time (µs); a consume adds
 *   `tokens × refillRate` with one `ma`; a rejected consume (without `allowOverflow`) is refunded.
 * - State found outdated (the server's second-granular TTL kept it a little longer) is reset with
 *   compare-and-swap; a lost race is a {@link Conflict}, which {@link retrying} retries.
 *
 * Time is the caller's `Clock` (so `TestClock` drives it). The operations fail with the client's
 * `MemcachedError` or `Conflict`; {@link retrying} turns those into the edition's store error.
 *
 * @since 0.1.0
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { MemcachedClient } from "../client/models.js"
import type { MemcachedError } from "../MemcachedError.js"

const COUNT_BITS = 20n
const COUNT_MASK = (1n << COUNT_BITS) - 1n

/**
 * TTL (seconds) that keeps an item at least `ms` longer, with a second of margin for rounding. Never
 * fails.
 *
 * @since 0.1.0
 * @internal
 */
export const secondsFor = (ms: number): number => Math.max(1, Math.ceil(ms / 1000) + 1)

/**
 * A compare-and-swap write lost to another writer: the step is retried.
 *
 * @since 0.1.0
 * @internal
 */
export class Conflict {
  readonly _tag = "Conflict"
}

/**
 * Fails a write's `MemcachedStoreError` (a lost compare-and-swap, or an `add` of an existing key) as a
 * {@link Conflict}; other errors pass through.
 *
 * @since 0.1.0
 * @internal
 */
export const conflictOnStoreError = <A, R>(
  write: Effect.Effect<A, MemcachedError, R>
): Effect.Effect<A, MemcachedError | Conflict, R> =>
  Effect.catchIf(write, (e) => e._tag === "MemcachedStoreError", () => Effect.fail(new Conflict()))

/**
 * Runs `run` up to `attempts` times while it fails with {@link Conflict}; fails with `toError(message,
 * cause)` once the attempts are spent or for any other error (naming `what`).
 *
 * @since 0.1.0
 * @internal
 */
export const retrying = <A, E>(
  attempts: number,
  what: string,
  run: Effect.Effect<A, MemcachedError | Conflict>,
  toError: (message: string, cause: unknown) => E
): Effect.Effect<A, E> => {
  const loop = (left: number): Effect.Effect<A, E> =>
    Effect.matchEffect(run, {
      onFailure: (e) =>
        e instanceof Conflict
          ? left > 1
            ? loop(left - 1)
            : Effect.fail(toError(`memcached rate limiter: ${what} (${attempts} conflicting writes) failed`, e))
          : Effect.fail(toError(`memcached rate limiter: ${what} failed`, e)),
      onSuccess: (a) => Effect.succeed(a)
    })
  return loop(attempts)
}

/**
 * What a token-bucket consume reports: the tokens left (negative: short by that many) and how far, in
 * seconds, the bucket is into refilling its next token.
 *
 * @since 0.1.0
 * @internal
 */
export interface BucketState {
  readonly remaining: number
  readonly elapsedSeconds: number
}

/**
 * The counter operations over `client`, with `keyOf` mapping a limiter key to its memcached key.
 * Never fails to build; each operation fails with `MemcachedError` or {@link Conflict}.
 *
 * @since 0.1.0
 * @internal
 */
export const make = (client: MemcachedClient, keyOf: (key: string) => string) => {
  /** Replaces outdated state with `value`, if nobody changed it since (`Conflict` otherwise). */
  const reset = (key: string, value: bigint, cas: bigint | undefined, ttl: number | undefined) =>
    conflictOnStoreError(Effect.asVoid(client.metaSet(key, value.toString(), { cas, ttl })))

  /** Keeps an item alive at least `ms` more (the counter's TTL only ever grows here). */
  const extend = (key: string, ttlLeft: number | undefined, ms: number) => {
    const need = secondsFor(ms)
    return ttlLeft === -1 || (ttlLeft !== undefined && ttlLeft >= need)
      ? Effect.void
      : Effect.catchIf(client.touch(key, need), (e) => e._tag === "MemcachedStoreError", () => Effect.void)
  }

  /** A limit: a counter per window, `<key>:<window index>`, one `ma`; `[count, ms left in the window]`. */
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
   * No limit: the Redis store's semantics, where each consume extends the window by `refillRate ×
   * tokens`, on one counter holding `start × 2^20 + count`; `[count, ms until the window ends]`.
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

  /**
   * A fixed-window consume of `tokens` (`refillMillis` per token; `limit` undefined: the extending
   * window): `[count in the window, ms until it ends]`.
   */
  const fixedWindow = (key: string, tokens: number, limit: number | undefined, refillMillis: number) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        limit === undefined
          ? extending(key, tokens, refillMillis, now)
          : windowed(key, tokens, limit, refillMillis, now)
    )

  /** A GCRA token-bucket consume of `tokens` (`refillMillis` per token, bucket of `limit`). */
  const tokenBucket = (
    key: string,
    tokens: number,
    limit: number,
    refillMillis: number,
    allowOverflow: boolean
  ): Effect.Effect<BucketState, MemcachedError | Conflict> => {
    const k = keyOf(key)
    const r = refillMillis * 1000
    const cost = BigInt(Math.max(0, Math.round(tokens * r)))
    return Effect.gen(function*() {
      const now = BigInt(Math.floor((yield* Clock.currentTimeMillis) * 1000))
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
      const elapsedSeconds = Math.max(0, (owed * r - debt) / 1000)
      if (remaining < 0 && !allowOverflow) {
        yield* client.metaArithmetic(k, { mode: "decr", delta: cost })
        return { remaining, elapsedSeconds }
      }
      if (allowOverflow) yield* extend(k, counter.ttl, debt / 1000)
      return { remaining, elapsedSeconds }
    })
  }

  return { fixedWindow, tokenBucket } as const
}
