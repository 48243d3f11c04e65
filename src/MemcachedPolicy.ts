/**
 * What the client does when a server fails: when to eject it from the ring, when to try it again, where
 * its keys go meanwhile (failover), and which requests are retried (a `Schedule`).
 *
 * A policy is a plain value spread into the client's options — there is no policy service or layer,
 * so a policy can never be provided beside a client and silently ignored (issue 11.4):
 *
 * ```ts
 * MemcachedClient.layer({ servers, ...MemcachedPolicy.failoverNext({ failureLimit: 5 }) })
 * ```
 *
 * @since 0.1.0
 */
import type * as Schedule from "effect/Schedule"
import type { DurationInput } from "./edition.js"
import type { MemcachedError } from "./MemcachedError.js"

/**
 * Where the keys of an ejected server go.
 *
 * - `"none"` (the default): they fail at once with `MemcachedConnectionError("Ejected")`. Nothing is
 *   served from or written to a server that does not own the key, so no stale value can appear when
 *   the server comes back.
 * - `"next"`: they go to the ring rebuilt without the ejected servers (libmemcached
 *   `REMOVE_FAILED_SERVERS`, OMcache). Reads of those keys miss until re-populated; after readmission
 *   the keys move back and may find values written before the ejection.
 *
 * @since 0.1.0
 * @category models
 */
export type Failover = "none" | "next"

/**
 * The failure policy. Durations are `DurationInput`s.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /** Where an ejected server's keys go. Default `"none"`. */
  readonly failover?: Failover | undefined
  /** Connection failures (connect errors, timeouts, resets, protocol errors) that eject a server. Default 3. */
  readonly failureLimit?: number | undefined
  /** Failures count only within this sliding window; successes do not reset them. Default 10 seconds. */
  readonly failureWindow?: DurationInput | undefined
  /** How long an ejected server stays out before it is probed. Default 2 seconds. */
  readonly retryInterval?: DurationInput | undefined
  /** Cap of the anti-flap backoff: a server ejected again soon after readmission stays out twice as long, up to this. Default 60 seconds. */
  readonly maxRetryInterval?: DurationInput | undefined
  /** A readmitted server that fails within this window counts as flapping. Default 30 seconds. */
  readonly flapWindow?: DurationInput | undefined
  /**
   * Retries of idempotent requests (get, gets, gat, touch, set, delete, getMany, version, stats) that
   * failed with a transient `MemcachedConnectionError`. Default: no retry.
   */
  readonly retry?: Schedule.Schedule<unknown, MemcachedError> | undefined
  /** Also retry add, replace, append, prepend, cas, incr and decr (their outcome may be unknown). Default false. */
  readonly retryNonIdempotent?: boolean | undefined
}

/**
 * A policy with failover `next`: an ejected server's keys go to the ring rebuilt without it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failoverNext = (policy: Omit<Policy, "failover"> = {}): Policy => ({ ...policy, failover: "next" })

/**
 * A policy that retries transient failures of idempotent commands with `schedule`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const retry = (
  schedule: Schedule.Schedule<unknown, MemcachedError>,
  policy: Omit<Policy, "retry"> = {}
): Policy => ({
  ...policy,
  retry: schedule
})
