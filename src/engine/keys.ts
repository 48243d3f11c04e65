/**
 * The input rules of the memcached protocol, checked before any byte is sent, as plain data: keys, TTLs
 * (exptime conversion), flags, CAS uniques, 64-bit numbers, values, timeouts. Each check returns
 * `undefined` (fine) or an `Input` {@link EngineError}; none throws. Shared by every edition.
 *
 * @since 0.1.0
 */
import { U32_MAX, U64_MAX } from "../protocol/limits.js"
import { EngineError, inputError } from "./types.js"

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
 * The `InvalidKey` error of an invalid key, or `undefined` when the key is valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const keyError = (key: string): EngineError | undefined => {
  const problem = keyProblem(key)
  return problem === undefined ? undefined : inputError(
    "InvalidKey",
    `invalid key ${JSON.stringify(key.length > 40 ? key.slice(0, 40) + "…" : key)}: ${problem}`,
    key
  )
}

/**
 * Converts a TTL in seconds into the exptime field memcached expects: whole seconds (fractions round up,
 * so a sub-second TTL never turns into "forever"; `0` is "never expires"), and more than 30 days as an
 * absolute Unix time computed from `nowMillis`. `InvalidTtl` for negative or non-finite seconds and for
 * times beyond January 2038.
 *
 * @since 0.1.0
 * @category validation
 */
export const exptimeOf = (seconds: number, nowMillis: number): number | EngineError => {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return inputError("InvalidTtl", `TTL must be a finite number of seconds >= 0, got ${seconds}`)
  }
  const whole = Math.ceil(seconds)
  if (whole <= RELATIVE_TTL_LIMIT) return whole
  const absolute = Math.ceil(nowMillis / 1000) + whole
  // memcached keeps exptime in a signed 32-bit integer: a larger value is stored as already expired.
  if (absolute > 0x7fffffff) return inputError("InvalidTtl", `TTL of ${whole}s is beyond January 2038`)
  return absolute
}

/**
 * A TTL as an edition hands it to the engine: seconds (`undefined`: none given, i.e. 0), or the
 * edition's own decoding error of it (reported in the place a TTL problem has among the checks).
 *
 * @since 0.1.0
 * @category models
 */
export type TtlSeconds = number | undefined | EngineError

/**
 * The exptime of a {@link TtlSeconds} (0 when absent), or its error. The clock is read only when the TTL
 * needs it (beyond 30 days, an absolute time), not on the common path of a store without one.
 *
 * @since 0.1.0
 * @category validation
 */
export const exptimeAt = (ttl: TtlSeconds, clock: { readonly now: () => number }): number | EngineError =>
  ttl === undefined
    ? 0
    : typeof ttl !== "number"
    ? ttl
    : ttl >= 0 && ttl <= RELATIVE_TTL_LIMIT
    ? exptimeOf(ttl, 0)
    : exptimeOf(ttl, clock.now())

/**
 * The error of flags that are not a 32-bit unsigned integer, or `undefined`.
 *
 * @since 0.1.0
 * @category validation
 */
export const flagsError = (flags: number, key: string): EngineError | undefined =>
  Number.isInteger(flags) && flags >= 0 && flags <= U32_MAX
    ? undefined
    : inputError("InvalidArgument", `flags must be a 32-bit unsigned integer, got ${flags}`, key)

/**
 * The error of a CAS unique that is not an unsigned 64-bit integer, or `undefined` (also when absent).
 *
 * @since 0.1.0
 * @category validation
 */
export const casError = (key: string, cas: bigint | undefined): EngineError | undefined =>
  cas !== undefined && (typeof cas !== "bigint" || cas < 0n || cas > U64_MAX)
    ? inputError("InvalidArgument", `invalid CAS unique ${String(cas)}`, key)
    : undefined

/**
 * An unsigned 64-bit integer from a number or bigint: `undefined` when absent, `null` when invalid.
 *
 * @since 0.1.0
 * @category validation
 */
export const u64 = (n: number | bigint | undefined): bigint | undefined | null => {
  if (n === undefined) return undefined
  const b = typeof n === "bigint" ? n : Number.isSafeInteger(n) ? BigInt(n) : -1n
  return b < 0n || b > U64_MAX ? null : b
}

/**
 * An `incr`/`decr` delta as an unsigned 64-bit bigint, or its `InvalidArgument` error.
 *
 * @since 0.1.0
 * @category validation
 */
export const deltaOf = (command: string, d: number | bigint, key: string): bigint | EngineError => {
  const big = typeof d === "bigint" ? d : Number.isSafeInteger(d) ? BigInt(d) : -1n
  return big < 0n || big > U64_MAX
    ? inputError("InvalidArgument", `${command} delta must be an unsigned 64-bit integer, got ${d}`, key)
    : big
}

/**
 * The `InvalidValue` error of a value that is neither a `Uint8Array` nor a string, or `undefined`.
 *
 * @since 0.1.0
 * @category validation
 */
export const valueError = (value: unknown, key: string): EngineError | undefined =>
  typeof value === "string" || value instanceof Uint8Array
    ? undefined
    : inputError("InvalidValue", "value must be a Uint8Array or a string", key)

/**
 * The `ValueTooLarge` error of `bytes` bytes over `max`, or `undefined`.
 *
 * @since 0.1.0
 * @category validation
 */
export const sizeError = (bytes: number, max: number, key: string): EngineError | undefined =>
  bytes > max ? inputError("ValueTooLarge", `value of ${bytes} bytes exceeds maxValueSize ${max}`, key) : undefined

/**
 * Whether `ms` is a usable timeout: a positive finite number of milliseconds.
 *
 * @since 0.1.0
 * @category validation
 */
export const isTimeout = (ms: number): boolean => Number.isFinite(ms) && ms > 0

/**
 * Whether `x` is an {@link EngineError} (the failure branch of the engine's `value | EngineError` results).
 *
 * @since 0.1.0
 * @category guards
 */
export const isEngineError = (x: unknown): x is EngineError => x instanceof EngineError
