/**
 * Key and expiration rules of the memcached protocol, checked before any byte is sent. The rules are the
 * engine's (src/engine/keys.ts, no Effect); this module adds the `Duration` forms and the typed errors.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { decodeDuration, type DurationInput } from "./edition.js"
import { toMemcachedError } from "./client/errors.js"
import { ttlSeconds } from "./client/decode.js"
import { exptimeOf, keyError } from "./engine/keys.js"
import { inputError } from "./engine/types.js"
import type { MemcachedInputError } from "./MemcachedError.js"

export { keyProblem, MAX_KEY_LENGTH, RELATIVE_TTL_LIMIT } from "./engine/keys.js"

/**
 * Builds the typed error for an invalid key, or `undefined` when the key is valid.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateKey = (key: string): MemcachedInputError | undefined => {
  const e = typeof key === "string" ? keyError(key) : inputError("InvalidKey", "key must be a string", String(key))
  return e === undefined ? undefined : toMemcachedError(e) as MemcachedInputError
}

/**
 * A time to live: a number of seconds, or any `Duration` input (`"5 minutes"`, `Duration.seconds(30)`).
 * `0` means "never expires"; more than 30 days is sent as an absolute Unix time.
 *
 * @since 0.1.0
 * @category models
 */
export type Ttl = number | DurationInput

/**
 * Converts a TTL into the exptime field memcached expects: whole seconds (fractions round up, so a
 * sub-second TTL never turns into "forever"), and more than 30 days as an absolute Unix time computed
 * from `nowMillis`. Returns a typed error for negative, non-finite or unparseable TTLs.
 *
 * @since 0.1.0
 * @category validation
 */
export const toExptime = (ttl: Ttl | undefined, nowMillis: number): number | MemcachedInputError => {
  const seconds = ttlSeconds(ttl)
  const e = typeof seconds === "number" ? exptimeOf(seconds, nowMillis) : seconds ?? 0
  return typeof e === "number" ? e : toMemcachedError(e) as MemcachedInputError
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
export const positiveFiniteMillis = (input: DurationInput): number | undefined => {
  if (typeof input === "number" && !(Number.isFinite(input) && input > 0)) return undefined
  if (typeof input === "bigint" && input <= 0n) return undefined
  if (typeof input === "string" && /^\s*-|infinity|nan/i.test(input)) return undefined
  if (Array.isArray(input) && input.some((n) => typeof n !== "number" || !Number.isFinite(n) || n < 0)) return undefined
  let decoded: ReturnType<typeof decodeDuration>
  try {
    decoded = decodeDuration(input)
  } catch {
    return undefined
  }
  if (decoded._tag === "None" || !Duration.isFinite(decoded.value)) return undefined
  const ms = Duration.toMillis(decoded.value)
  return Number.isFinite(ms) && ms > 0 ? ms : undefined
}
