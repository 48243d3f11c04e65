/**
 * Key and expiration rules of the Effect 4 edition. What makes a key invalid and how a TTL is sent are
 * the shared rules of the Effect 3 package; this module gives them Effect 4 types (`Duration.Input`, the
 * v4 `MemcachedInputError`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { keyProblem, MAX_KEY_LENGTH, RELATIVE_TTL_LIMIT } from "../../../src/engine/keys.js"
import { MemcachedInputError } from "./MemcachedError.js"

export {
  /**
   * The reason a key is invalid, or `undefined`: 1 to 250 bytes of UTF-8, no whitespace or control
   * characters. Never throws.
   *
   * @since 0.1.0
   * @category validation
   */
  keyProblem,
  /**
   * The longest key memcached accepts, in bytes.
   *
   * @since 0.1.0
   * @category constants
   */
  MAX_KEY_LENGTH,
  /**
   * Expiration times above this many seconds (30 days) are read by memcached as absolute Unix times.
   *
   * @since 0.1.0
   * @category constants
   */
  RELATIVE_TTL_LIMIT
}

/**
 * A time to live: seconds, or an Effect 4 `Duration.Input` (`"5 minutes"`, `Duration.seconds(30)`).
 * 0 never expires; more than 30 days is sent as an absolute Unix time.
 *
 * @since 0.1.0
 * @category models
 */
export type Ttl = number | Duration.Input

/**
 * `MemcachedInputError("InvalidKey")` for an invalid key, `undefined` for a valid one. Never throws.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateKey = (key: string): MemcachedInputError | undefined => {
  const problem = typeof key === "string" ? keyProblem(key) : "key must be a string"
  return problem === undefined
    ? undefined
    : new MemcachedInputError({ reason: "InvalidKey", message: `invalid key: ${problem}`, key: String(key) })
}

const negative = (input: unknown): boolean =>
  (typeof input === "number" && input < 0) || (typeof input === "string" && /^\s*-/.test(input)) ||
  (typeof input === "bigint" && input < 0n) ||
  (Array.isArray(input) && input.some((n) => typeof n === "number" && n < 0))

/** Milliseconds of a duration input, `undefined` when it does not decode; `NaN`/infinities kept. */
const decodeMillis = (input: Duration.Input): number | undefined => {
  if (typeof input === "number") return input
  let decoded: ReturnType<typeof Duration.fromInput>
  try {
    decoded = Duration.fromInput(input)
  } catch {
    return undefined
  }
  if (decoded._tag === "None") return undefined
  return Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : Infinity
}

/**
 * Milliseconds of a positive finite duration (a per-call timeout, a layer or policy interval), or
 * `undefined` for anything else: zero, negative, infinite, NaN or unparseable input. Never throws.
 *
 * @since 0.1.0
 * @category validation
 */
export const positiveFiniteMillis = (input: Duration.Input): number | undefined => {
  if (negative(input) || (typeof input === "string" && /infinity|nan/i.test(input))) return undefined
  const ms = decodeMillis(input)
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : undefined
}

/**
 * Converts a TTL into the exptime memcached expects: whole seconds (fractions round up, so a sub-second
 * TTL never turns into "forever"), more than 30 days as an absolute Unix time from `nowMillis`. Returns
 * `MemcachedInputError("InvalidTtl")` for negative, non-finite or unparseable TTLs, or one past 2038.
 *
 * @since 0.1.0
 * @category validation
 */
export const toExptime = (ttl: Ttl | undefined, nowMillis: number): number | MemcachedInputError => {
  if (ttl === undefined) return 0
  if (negative(ttl)) {
    return new MemcachedInputError({ reason: "InvalidTtl", message: `TTL must not be negative, got ${String(ttl)}` })
  }
  let seconds: number
  if (typeof ttl === "number") {
    seconds = ttl
  } else {
    const ms = decodeMillis(ttl)
    if (ms === undefined) {
      return new MemcachedInputError({ reason: "InvalidTtl", message: `invalid TTL ${String(ttl)}` })
    }
    if (!Number.isFinite(ms)) {
      return new MemcachedInputError({ reason: "InvalidTtl", message: "TTL must be finite (use 0 for no expiry)" })
    }
    seconds = ms / 1000
  }
  if (!Number.isFinite(seconds) || seconds < 0) {
    return new MemcachedInputError({
      reason: "InvalidTtl",
      message: `TTL must be a finite number of seconds >= 0, got ${seconds}`
    })
  }
  const whole = Math.ceil(seconds)
  if (whole <= RELATIVE_TTL_LIMIT) return whole
  const absolute = Math.ceil(nowMillis / 1000) + whole
  // memcached keeps exptime in a signed 32-bit integer: a larger value is stored as already expired.
  if (absolute > 0x7fffffff) {
    return new MemcachedInputError({ reason: "InvalidTtl", message: `TTL of ${whole}s is beyond January 2038` })
  }
  return absolute
}
