/**
 * What the client's method groups share: its pools and router, settings and clock, the engine's
 * request facade over the Effect 3 edition, the retry policy applied per command row, and the call's
 * timeout decoding. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type { CommandRow } from "../../../../src/engine/commands.js"
import type { Timers } from "../../../../src/engine/connection.js"
import type { ServerPool, Settings } from "../../../../src/engine/pool.js"
import { makeRequests, type Requests, type Timeout } from "../../../../src/engine/requests.js"
import type { Router } from "../../../../src/engine/router.js"
import { inputError } from "../../../../src/engine/types.js"
import { positiveFiniteMillis } from "../Key.js"
import type { MemcachedError } from "../MemcachedError.js"
import type { ServerSpec } from "../ServerSpec.js"
import { effectEdition, type Resume } from "./request.js"
import type { CallOptions } from "./models.js"

/**
 * The retry policy, applied per command from the command table.
 *
 * @since 0.1.0
 * @category models
 */
export interface Retry {
  readonly schedule: Schedule.Schedule<unknown, MemcachedError>
  /** Also retry the commands that are not idempotent. */
  readonly all: boolean
  readonly while: (e: MemcachedError) => boolean
}

/**
 * The shared context of the client's methods.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientContext {
  readonly servers: ReadonlyArray<ServerSpec>
  readonly pools: ReadonlyArray<ServerPool<ServerSpec>>
  readonly router: Router<ServerSpec>
  readonly settings: Settings
  readonly timers: Timers
  /** The engine's requests, completing `Effect.callback` resumes. */
  readonly requests: Requests<Resume>
  /** `effect` retried per the policy when the row's command may be retried; as is otherwise. */
  readonly retrying: <A, E extends MemcachedError>(row: CommandRow, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly serverFor: (key: string) => number
  /** The call's timeout in ms, or the `InvalidArgument` error of an invalid one. */
  readonly timeoutOf: (options: CallOptions | undefined) => Timeout
}

/**
 * Builds the context. Never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeContext = (
  servers: ReadonlyArray<ServerSpec>,
  pools: ReadonlyArray<ServerPool<ServerSpec>>,
  router: Router<ServerSpec>,
  settings: Settings,
  timers: Timers,
  retry: Retry | undefined
): ClientContext => {
  /** `effect` retried per the policy when the row's command may be retried; as is otherwise (no wrapper on the default path). */
  const retrying = retry === undefined
    ? <A, E extends MemcachedError>(_row: CommandRow, effect: Effect.Effect<A, E>) => effect
    : <A, E extends MemcachedError>(row: CommandRow, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      row.idempotent || retry.all ? Effect.retry(effect, { schedule: retry.schedule, while: retry.while }) : effect
  const timeoutOf = (options: CallOptions | undefined): Timeout => {
    const t = options?.timeout
    if (t === undefined) return settings.timeout
    const ms = positiveFiniteMillis(t)
    return ms === undefined
      ? inputError("InvalidArgument", `timeout must be a positive finite duration, got ${String(t)}`)
      : ms
  }
  const requests = makeRequests({ servers, pools, router, settings, timers }, effectEdition)
  return { servers, pools, router, settings, timers, requests, retrying, serverFor: router.route, timeoutOf }
}
