/**
 * What the client's method groups share: its pools and router, settings and clock, the retry policy
 * applied per command row, and the per-call checks (timeout, text-only proxy). Internal: not exported
 * from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import type { Timers } from "../../../../src/engine/connection.js"
import { proxyUnsupported, type ServerPool, type Settings } from "../../../../src/engine/pool.js"
import type { Router } from "../../../../src/engine/router.js"
import { positiveFiniteMillis } from "../Key.js"
import { type MemcachedError, MemcachedInputError } from "../MemcachedError.js"
import type { ServerSpec } from "../ServerSpec.js"
import type { CommandRow } from "../../../../src/engine/commands.js"
import type { CallOptions } from "./models.js"
import { submit, type Submit } from "./request.js"

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
  /** `effect` retried per the policy when the row's command may be retried; as is otherwise. */
  readonly retrying: <A, E extends MemcachedError>(row: CommandRow, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly submit: Submit
  readonly serverFor: (key: string) => number
  readonly poolOf: (key: string) => ServerPool<ServerSpec>
  /** The call's timeout in ms, or the input error for an invalid one. */
  readonly timeoutOf: (options: CallOptions | undefined) => number | MemcachedInputError
  /** `Unsupported` when `pool` is a text-only proxy that does not forward `command` (nothing is sent). */
  readonly proxyRejects: (pool: ServerPool, command: string, key?: string) => MemcachedInputError | undefined
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
  const serverFor = router.route
  const poolOf = pools.length === 1 ? () => pools[0]! : (key: string) => pools[router.route(key)]!
  const timeoutOf = (options: CallOptions | undefined): number | MemcachedInputError => {
    const t = options?.timeout
    if (t === undefined) return settings.timeout
    const ms = positiveFiniteMillis(t)
    return ms === undefined
      ? new MemcachedInputError({
        reason: "InvalidArgument",
        message: `timeout must be a positive finite duration, got ${String(t)}`
      })
      : ms
  }

  /** `Unsupported` when `pool` is a text-only proxy that does not forward `command` (nothing is sent). */
  const proxyRejects = (pool: ServerPool, command: string, key?: string): MemcachedInputError | undefined =>
    pool.proxy && proxyUnsupported.has(command)
      ? new MemcachedInputError({
        reason: "Unsupported",
        message: `${command} is not forwarded by ${pool.spec.name}, a text-only proxy (twemproxy); nothing was sent`,
        ...(key === undefined ? {} : { key })
      })
      : undefined
  return { servers, pools, router, settings, timers, retrying, submit, serverFor, poolOf, timeoutOf, proxyRejects }
}
