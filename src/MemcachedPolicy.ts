/**
 * What the client does when a server fails: when to eject it from the ring, when to try it again, where
 * its keys go meanwhile (failover), and which requests are retried (a `Schedule`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
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
  readonly failureWindow?: Duration.DurationInput | undefined
  /** How long an ejected server stays out before it is probed. Default 2 seconds. */
  readonly retryInterval?: Duration.DurationInput | undefined
  /** Cap of the anti-flap backoff: a server ejected again soon after readmission stays out twice as long, up to this. Default 60 seconds. */
  readonly maxRetryInterval?: Duration.DurationInput | undefined
  /** A readmitted server that fails within this window counts as flapping. Default 30 seconds. */
  readonly flapWindow?: Duration.DurationInput | undefined
  /**
   * Retries of idempotent requests (get, gets, gat, touch, set, delete, getMany, version, stats) that
   * failed with a transient `MemcachedConnectionError`. Default: no retry.
   */
  readonly retry?: Schedule.Schedule<unknown, MemcachedError> | undefined
  /** Also retry add, replace, append, prepend, cas, incr and decr (their outcome may be unknown). Default false. */
  readonly retryNonIdempotent?: boolean | undefined
}

/**
 * The failure policy of clients built in its scope; options given to `MemcachedClient.layer` take
 * precedence field by field.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemcachedPolicy extends Context.Tag("effect-memcached/MemcachedPolicy")<MemcachedPolicy, Policy>() {}

/**
 * Provides a policy.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (policy: Policy): Layer.Layer<MemcachedPolicy> => Layer.succeed(MemcachedPolicy, policy)

/**
 * Failover to the rebuilt ring (`"next"`), with the other settings at their defaults or as given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFailoverNext = (policy: Omit<Policy, "failover"> = {}): Layer.Layer<MemcachedPolicy> =>
  Layer.succeed(MemcachedPolicy, { ...policy, failover: "next" })

/**
 * Retries idempotent requests on transient connection errors with `schedule`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRetry = (
  schedule: Schedule.Schedule<unknown, MemcachedError>,
  policy: Omit<Policy, "retry"> = {}
): Layer.Layer<MemcachedPolicy> => Layer.succeed(MemcachedPolicy, { ...policy, retry: schedule })
