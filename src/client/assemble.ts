/**
 * The client's engine assembly, shared by both editions: one pool per server, the router over them
 * (rebuilt when a pool's health changes), and the membership that discovery grows and shrinks. Plain
 * TypeScript over the effect-free engine; what the edition supplies (its logger, clock, telemetry
 * hooks, backoff) comes in as callbacks. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import type { Timers } from "../engine/connection.js"
import { Membership } from "../engine/membership.js"
import { type Health, type PoolEvents, ServerPool, type Settings } from "../engine/pool.js"
import { Router } from "../engine/router.js"
import type { Connector } from "../engine/types.js"
import type { Distribution } from "../Distribution.js"
import type { ServerSpec } from "../ServerSpec.js"

/**
 * What the engine is built from.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineInput {
  /** The current server list; discovery's membership updates this very array in place. */
  readonly servers: Array<ServerSpec>
  readonly transport: Connector<ServerSpec>
  readonly settings: Settings
  readonly timers: Timers
  readonly distribution: Distribution
  readonly failover: "none" | "next"
  /** Open every connection at once instead of on first use. */
  readonly eager: boolean
  readonly log: PoolEvents["log"]
  readonly retryDelay: PoolEvents["retryDelay"]
  readonly observer: PoolEvents["observer"]
  /** Telemetry's health counter; absent without metrics. */
  readonly countHealth: ((server: string, health: Health) => void) | undefined
}

/**
 * The assembled engine. `onEjected` sets what runs when a server is ejected (discovery polls soon).
 *
 * @since 0.1.0
 * @category models
 */
export interface Engine {
  readonly pools: ReadonlyArray<ServerPool<ServerSpec>>
  readonly router: Router<ServerSpec>
  readonly membership: Membership<ServerSpec>
  readonly onEjected: (f: () => void) => void
}

/**
 * Builds the pools, router and membership. Never throws; opens connections only when `eager`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const assemble = (input: EngineInput): Engine => {
  const { countHealth, servers, settings, timers, transport } = input
  // The pools report health changes to the router, which is built over them right after.
  let router: Router<ServerSpec> | undefined = undefined
  let ejected: (() => void) | undefined = undefined
  const events: PoolEvents = {
    log: input.log,
    healthChanged: (pool) => {
      router?.invalidate()
      countHealth?.(pool.spec.name, pool.health)
      if (pool.health === "ejected") ejected?.()
    },
    retryDelay: input.retryDelay,
    observer: input.observer
  }
  const makePool = (spec: ServerSpec, i: number) => {
    const pool = new ServerPool(i, spec, transport, settings, timers, events)
    if (input.eager) pool.openAll()
    return pool
  }
  const pools = servers.map(makePool)
  const built = new Router(servers, pools, input.distribution, input.failover)
  router = built
  const membership = new Membership(servers, pools, built, makePool)
  return { pools, router: built, membership, onEjected: (f) => void (ejected = f) }
}
