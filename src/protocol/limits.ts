/**
 * The protocol's limits and number parsers, in one place: every protocol module (and, through the
 * re-exports of `bytes.ts`, the engine and the server) reads its bounds and parses its numbers here.
 *
 * Two families of parsers:
 * - strict (`parseUint`, `parseU32`, `parseU64`, `parseMetaTtl`): what a *client* accepts in a reply —
 *   ASCII digits only, no sign, no spaces, bounded length. memcached never sends anything else, so
 *   anything else is a protocol violation. They never throw; a bad number is a sentinel (-1 / -1n).
 * - strto* (`parseStrtol32`, `parseStrtoul`, `parseStrtoull`): what a *server* accepts in a command,
 *   the way memcached 1.6's `safe_strto*` do (a leading `+`, leading zeros). They return `undefined`.
 *
 * @since 0.2.0
 */

/** The largest unsigned 64-bit integer (CAS uniques, counters, `incr` deltas). @since 0.2.0 @category limits */
export const U64_MAX = 0xffffffffffffffffn

/** The largest unsigned 32-bit integer (client flags). @since 0.2.0 @category limits */
export const U32_MAX = 0xffffffff

/** The largest signed 32-bit integer (memcached's exptime and data length fields). @since 0.2.0 @category limits */
export const INT32_MAX = 0x7fffffff

/** The longest key memcached accepts on the wire, in bytes. @since 0.2.0 @category limits */
export const MAX_KEY_LENGTH = 250

/**
 * memcached's `REALTIME_MAXDELTA`: an exptime up to this many seconds (30 days) is relative to now,
 * a larger one is an absolute Unix time.
 *
 * @since 0.2.0
 * @category limits
 */
export const RELATIVE_TTL_MAX = 60 * 60 * 24 * 30

/**
 * Parses ASCII decimal digits in `buf[start, end)` as a non-negative safe integer.
 * Returns -1 when the range is empty, holds a non-digit, has more than 16 digits or exceeds `max`.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseUint = (buf: Uint8Array, start: number, end: number, max: number): number => {
  if (start >= end || end - start > 16) return -1
  let n = 0
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n > max ? -1 : n
}

/**
 * Parses `buf[start, end)` as an unsigned 32-bit integer (digits only); -1 when it is not one.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseU32 = (buf: Uint8Array, start: number, end: number): number => parseUint(buf, start, end, U32_MAX)

const E15 = 1_000_000_000_000_000n

/**
 * Parses ASCII decimal digits in `buf[start, end)` as an unsigned 64-bit integer (1 to 20 digits,
 * ≤ 2^64−1). Returns -1n when the range is empty, holds a non-digit or overflows 64 bits. No string
 * is built: 16 to 20 digits are combined from two safe integers.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseU64 = (buf: Uint8Array, start: number, end: number): bigint => {
  const len = end - start
  if (len <= 0 || len > 20) return -1n
  if (len <= 15) {
    const n = parseUint(buf, start, end, Number.MAX_SAFE_INTEGER)
    return n < 0 ? -1n : BigInt(n)
  }
  const hi = parseUint(buf, start, end - 15, Number.MAX_SAFE_INTEGER)
  const lo = parseUint(buf, end - 15, end, Number.MAX_SAFE_INTEGER)
  if (hi < 0 || lo < 0) return -1n
  const v = BigInt(hi) * E15 + BigInt(lo)
  return v > U64_MAX ? -1n : v
}

/**
 * The whole of `value` as an unsigned 64-bit decimal (an `ma … v` or text counter value): -1n unless
 * it is 1 to 20 ASCII digits ≤ 2^64−1.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseU64Value = (value: Uint8Array): bigint => parseU64(value, 0, value.length)

/**
 * A meta `t` return flag: `-1` (never expires) or a non-negative 32-bit count of seconds. Returns -2
 * when the token is neither.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseMetaTtl = (buf: Uint8Array, start: number, end: number): number => {
  if (end - start === 2 && buf[start] === 45 && buf[start + 1] === 49) return -1
  const n = parseUint(buf, start, end, U32_MAX)
  return n < 0 ? -2 : n
}

/**
 * Signed decimal as memcached's `safe_strtol` reads it into 32 bits: an optional sign, digits only.
 * `undefined` when invalid or out of range.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseStrtol32 = (buf: Uint8Array, start: number, end: number): number | undefined => {
  const c = buf[start]
  const signed = c === 45 || c === 43
  const digits = signed ? start + 1 : start
  const n = end - digits > 11 ? -1 : parseUint(buf, digits, end, INT32_MAX + 1)
  if (n < 0) return undefined
  if (c === 45) return n === 0 ? 0 : -n
  return n > INT32_MAX ? undefined : n
}

/**
 * Unsigned decimal up to `max` as `safe_strtoul` reads it: an optional `+`, leading zeros allowed,
 * digits only. `undefined` when invalid or above `max`.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseStrtoul = (buf: Uint8Array, start: number, end: number, max: number): number | undefined => {
  let i = start
  if (buf[i] === 43) i++
  while (i < end - 1 && buf[i] === 48) i++
  const n = end - i > 15 ? -1 : parseUint(buf, i, end, max)
  return n < 0 ? undefined : n
}

/**
 * Unsigned 64-bit decimal as `safe_strtoull` reads it: an optional `+`, leading zeros allowed, digits
 * only, ≤ 2^64−1. `undefined` otherwise.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseStrtoull = (buf: Uint8Array, start: number, end: number): bigint | undefined => {
  let i = start
  if (buf[i] === 43) i++
  while (i < end - 1 && buf[i] === 48) i++
  const v = parseU64(buf, i, end)
  return v < 0n ? undefined : v
}
