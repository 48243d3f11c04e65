/**
 * The edge's decoding of Effect-specific inputs into the engine's plain ones: `Duration` TTLs
 * into seconds. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { type EngineError, inputError } from "../engine/types.js"
import type { Ttl } from "../Key.js"
import { decodeDuration } from "../edition.js"

/**
 * A TTL as seconds for the engine (`undefined` stays absent), or the `InvalidTtl` error of a negative,
 * infinite or unparseable `Duration` input. Never throws.
 *
 * @since 0.1.0
 * @category validation
 */
export const ttlSeconds = (ttl: Ttl | undefined): number | undefined | EngineError => {
  if (ttl === undefined || typeof ttl === "number") return ttl
  // Effect's decoder clamps negative inputs to zero, which memcached reads as "never expires".
  if (
    (typeof ttl === "string" && /^\s*-/.test(ttl)) ||
    (typeof ttl === "bigint" && ttl < 0n) ||
    (Array.isArray(ttl) && ttl.some((n) => typeof n === "number" && n < 0))
  ) {
    return inputError("InvalidTtl", `TTL must not be negative, got ${String(ttl)}`)
  }
  const decoded = decodeDuration(ttl)
  if (decoded._tag === "None") return inputError("InvalidTtl", `invalid TTL ${String(ttl)}`)
  const d = decoded.value
  if (!Duration.isFinite(d)) return inputError("InvalidTtl", "TTL must be finite (use 0 for no expiry)")
  return Duration.toMillis(d) / 1000
}
