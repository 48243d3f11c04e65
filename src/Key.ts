/**
 * Key and expiration rules of the memcached protocol, checked before any byte is sent.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { MemcachedInputError } from "./MemcachedError.js"

/**
 * The longest key memcached accepts, in bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_KEY_LENGTH = 250

/**
 * Expiration times above this many seconds (30 days) are read by memcached as absolute Unix times.
 *
 * @since 0.1.0
 * @category constants
 */
export const RELATIVE_TTL_LIMIT = 60 * 60 * 24 * 30

// Whitespace, C1 controls, and lone surrogates (\p{Cs} only matches unpaired ones in a `u` regex):
// a lone surrogate would be sent as U+FFFD, so its VALUE line could never match the requested key.
const nonAsciiForbidden = /[\s\u0080-\u009f\p{Cs}]/u

/**
 * Returns the reason a key is invalid, or `undefined` when it is valid: 1 to 250 bytes of UTF-8 with no
 * whitespace and no control characters. Fast for ASCII keys; allocates nothing.
 *
 * @since 0.1.0
 * @category validation
 */
export const keyProblem = (key: string): string | undefined => {
  const n = key.length
  if (n === 0) return "key is empty"
  let ascii = true
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i)
    if (c <= 0x20 || c === 0x7f) return c === 0x20 ? "key contains a space" : "key contains a control character"
    if (c >= 0x80) ascii = false
  }
  if (ascii) return n > MAX_KEY_LENGTH ? `key is ${n} bytes, more than ${MAX_KEY_LENGTH}` : undefined
  if (nonAsciiForbidden.test(key)) return "key contains whitespace or a control character"
  const bytes = Buffer.byteLength(key, "utf8")
  return bytes > MAX_KEY_LENGTH ? `key is ${bytes} bytes, more than ${MAX_KEY_LENGTH}` : undefined
}

/**
 * Builds the typed error for an invalid key, or `undefined` when the key is valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateKey = (key: string): MemcachedInputError | undefined => {
  const problem = keyProblem(key)
  return problem === undefined ? undefined : new MemcachedInputError({
    reason: "InvalidKey",
    message: `invalid key ${JSON.stringify(key.length > 40 ? key.slice(0, 40) + "…" : key)}: ${problem}`,
    key
  })
}

/**
 * A time to live: a number of seconds, or any `Duration` input. `0` means "never expires".
 *
 * @since 0.1.0
 * @category models
 */
export type Ttl = number | Duration.DurationInput

/**
 * Converts a TTL into the exptime field memcached expects: whole seconds (fractions round up, so a
 * sub-second TTL never turns into "forever"), and more than 30 days as an absolute Unix time computed
 * from `nowMillis`. Returns a typed error for negative, non-finite or unparseable TTLs.
 *
 * @since 0.1.0
 * @category validation
 */
export const toExptime = (ttl: Ttl | undefined, nowMillis: number): number | MemcachedInputError => {
  if (ttl === undefined) return 0
  let seconds: number
  if (typeof ttl === "number") {
    seconds = ttl
  } else {
    // Effect's decoder clamps negative inputs to zero, which memcached reads as "never expires".
    if (
      (typeof ttl === "string" && /^\s*-/.test(ttl)) ||
      (typeof ttl === "bigint" && ttl < 0n) ||
      (Array.isArray(ttl) && ttl.some((n) => typeof n === "number" && n < 0))
    ) {
      return new MemcachedInputError({ reason: "InvalidTtl", message: `TTL must not be negative, got ${String(ttl)}` })
    }
    const decoded = Duration.decodeUnknown(ttl)
    if (decoded._tag === "None") {
      return new MemcachedInputError({ reason: "InvalidTtl", message: `invalid TTL ${String(ttl)}` })
    }
    const d = decoded.value
    if (!Duration.isFinite(d)) {
      return new MemcachedInputError({ reason: "InvalidTtl", message: "TTL must be finite (use 0 for no expiry)" })
    }
    seconds = Duration.toMillis(d) / 1000
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

/**
 * A duration given by a caller (a per-call timeout, a layer or policy interval) as whole-or-fractional
 * milliseconds, or `undefined` when it is not a positive finite duration: `Infinity`,
 * `Duration.infinity`, `NaN`, zero, negative inputs (which Effect's decoder would clamp to zero) and
 * strings such as `"Infinity millis"` are all rejected. Never throws.
 *
 * @since 0.1.0
 * @category validation
 */
export const positiveFiniteMillis = (input: Duration.DurationInput): number | undefined => {
  if (typeof input === "number" && !(Number.isFinite(input) && input > 0)) return undefined
  if (typeof input === "bigint" && input <= 0n) return undefined
  if (typeof input === "string" && /^\s*-|infinity|nan/i.test(input)) return undefined
  if (Array.isArray(input) && input.some((n) => typeof n !== "number" || !Number.isFinite(n) || n < 0)) return undefined
  let decoded: ReturnType<typeof Duration.decodeUnknown>
  try {
    decoded = Duration.decodeUnknown(input)
  } catch {
    return undefined
  }
  if (decoded._tag === "None" || !Duration.isFinite(decoded.value)) return undefined
  const ms = Duration.toMillis(decoded.value)
  return Number.isFinite(ms) && ms > 0 ? ms : undefined
}
