/**
 * Ejection backoff as an Effect `Schedule`: an ejected server stays out `retryInterval`, then twice as
 * long each time it is ejected again soon after its readmission (anti-flap), up to `maxRetryInterval`.
 * The engine's pool asks for the delay through a plain callback. Internal: not exported from the
 * package index.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/**
 * The backoff schedule: `retryInterval × 2ⁿ`, capped at `maxRetryInterval` (milliseconds).
 *
 * @since 0.1.0
 * @category constructors
 */
export const ejectionBackoff = (
  retryInterval: number,
  maxRetryInterval: number
): Schedule.Schedule<Duration.Duration> => {
  const max = Duration.millis(maxRetryInterval)
  return Schedule.exponential(Duration.millis(retryInterval), 2).pipe(Schedule.map((d) => Duration.min(d, max)))
}

/**
 * The pool's `retryDelay` callback over a schedule: the delay of its `flaps + 1`-th step, in
 * milliseconds. Never fails (the schedule needs nothing and never sleeps when run this way).
 *
 * @since 0.1.0
 * @category constructors
 */
export const retryDelayOf = (schedule: Schedule.Schedule<Duration.Duration>) => (flaps: number): number => {
  const steps = new Array<void>(Math.min(flaps, 62) + 1).fill(undefined)
  return Duration.toMillis(Chunk.unsafeLast(Effect.runSync(Schedule.run(schedule, 0, steps))))
}
