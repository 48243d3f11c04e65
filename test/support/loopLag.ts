/**
 * Measures how long this process's event loop was unable to run timers (CPU starvation by other
 * processes, GC pauses, long synchronous work), so live-clock tests can tell a client that times out
 * on its own from one whose process was simply not running. A short interval timer records every
 * gap between its runs that is longer than its period.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { MemcachedClient } from "../../src/MemcachedClient.js"
import type { MemcachedError } from "../../src/MemcachedError.js"
import { valueFor } from "./load.js"

/** Stall measurements over the life of a {@link loopLag} scope (wall-clock milliseconds, `Date.now`). */
export interface LoopLag {
  /**
   * Milliseconds of stall (gap beyond the sampling period) overlapping `[from, to]`, counting only
   * stalls of at least `minStall` ms (default 0): the loop being merely busy with this process's own
   * work shows as many short gaps, a GC pause or the CPU taken by others as long ones.
   */
  readonly stalledWithin: (from: number, to: number, minStall?: number) => number
  /** The longest single stall seen so far. */
  readonly maxStall: () => number
  /** Total stall seen so far. */
  readonly totalStall: () => number
}

/**
 * Samples the event loop every `periodMs` until the scope closes. Never fails.
 */
export const loopLag = (periodMs = 2): Effect.Effect<LoopLag, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        // gaps[i] = [start, end] of a sampling interval that took longer than the period
        const gaps: Array<readonly [number, number]> = []
        let last = Date.now()
        const timer = setInterval(() => {
          const now = Date.now()
          if (now - last > periodMs) gaps.push([last, now])
          last = now
        }, periodMs)
        const lag: LoopLag = {
          stalledWithin: (from, to, minStall = 0) => {
            let sum = 0
            for (const [a, b] of gaps) {
              if (b - a - periodMs < minStall) continue
              const overlap = Math.min(b, to) - Math.max(a, from)
              if (overlap > periodMs) sum += overlap - periodMs
            }
            return sum
          },
          maxStall: () => gaps.reduce((m, [a, b]) => Math.max(m, b - a - periodMs), 0),
          totalStall: () => gaps.reduce((m, [a, b]) => m + b - a - periodMs, 0)
        }
        return { timer, lag }
      }),
      ({ timer }) => Effect.sync(() => clearInterval(timer))
    ),
    ({ lag }) => lag
  )

/**
 * Whether an error is what a stall of this process causes under a short live-clock timeout: the
 * request timed out, or its connection was closed because another request on it timed out.
 */
export const stalledOut = (e: MemcachedError): boolean =>
  e._tag === "MemcachedConnectionError" && (e.reason === "Timeout" || e.reason === "Closed")

/** Asks again after 10, 20, 40 … ms, 8 times at most (≈ 2.5 s): a stall passes, a hang does not. */
export const afterStalls = Schedule.intersect(Schedule.exponential("10 millis"), Schedule.recurs(8))

/**
 * Seeds every key with generation 0 like `seed` in ./load.ts, asking again ({@link afterStalls}) for a
 * set that {@link stalledOut}: preparation, not the thing under test. Returns how many sets still failed.
 */
export const seedRetrying = (client: MemcachedClient, keys: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.forEach(
    keys,
    (k) => Effect.exit(Effect.retry(client.set(k, valueFor(k, 0)), { schedule: afterStalls, while: stalledOut })),
    { concurrency: 16 }
  ).pipe(Effect.map((exits) => exits.filter(Exit.isFailure).length))
