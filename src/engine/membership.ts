/**
 * A client's server list changing at run time (auto-discovery): a new list rebuilds the ring; nodes
 * are identified by their `name` (`host:port`), so a node in both lists keeps its pool, connections
 * and health; a new node gets a pool made like the others (same transport, settings, timers); a
 * removed node's pool leaves the lists at once (no new request reaches it) and drains: the requests
 * already on its connections complete normally, then they close. No in-flight request fails because
 * of a change. Plain JavaScript, no Effect.
 *
 * @since 0.2.0
 */
import type { ServerPool } from "./pool.js"
import type { Router } from "./router.js"
import type { Endpoint } from "./types.js"

/**
 * What an {@link Membership.update} changed, by node name.
 *
 * @since 0.2.0
 * @category models
 */
export interface MembershipChange {
  readonly added: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
  readonly kept: ReadonlyArray<string>
}

/**
 * Owns the client's server and pool lists (the same arrays the router and the client's methods read,
 * changed in place) and the pools still draining.
 *
 * @since 0.2.0
 * @category models
 */
export class Membership<S extends Endpoint> {
  /** Pools of removed nodes whose connections have not closed yet. */
  readonly draining = new Set<ServerPool<S>>()
  private closed = false

  constructor(
    readonly servers: Array<S>,
    readonly pools: Array<ServerPool<S>>,
    private readonly router: Router<S>,
    /** Makes the pool of a new node (the client's transport, settings, timers and events). */
    private readonly makePool: (spec: S, index: number) => ServerPool<S>,
    /** Called after a removed node's pool drained and closed. */
    private readonly onDrained?: (name: string) => void
  ) {}

  /**
   * Replaces the server list with `next` (duplicates by name: the first wins). Returns what changed,
   * or `undefined` without changing anything when `next` is empty or the membership is closed. Never
   * throws unless the distribution or a new pool's transport does.
   */
  update(next: ReadonlyArray<S>): MembershipChange | undefined {
    if (this.closed || next.length === 0) return undefined
    const current = new Map<string, ServerPool<S>>()
    for (const p of this.pools) current.set(p.spec.name, p)
    const seen = new Set<string>()
    const nextPools: Array<ServerPool<S>> = []
    const added: Array<string> = []
    const kept: Array<string> = []
    for (const spec of next) {
      if (seen.has(spec.name)) continue
      seen.add(spec.name)
      const existing = current.get(spec.name)
      if (existing !== undefined) {
        kept.push(spec.name)
        nextPools.push(existing)
      } else {
        added.push(spec.name)
        nextPools.push(this.makePool(spec, nextPools.length))
      }
    }
    const removed = this.pools.filter((p) => !seen.has(p.spec.name))
    this.pools.splice(0, this.pools.length, ...nextPools)
    this.servers.splice(0, this.servers.length, ...nextPools.map((p) => p.spec))
    this.router.reset()
    for (const pool of removed) {
      this.draining.add(pool)
      pool.drain(() => {
        this.draining.delete(pool)
        this.onDrained?.(pool.spec.name)
      })
    }
    return { added, removed: removed.map((p) => p.spec.name), kept }
  }

  /** Closes every pool, draining ones included: pending requests fail with `Closed`. */
  shutdown(): void {
    this.closed = true
    for (const p of this.pools) p.shutdown()
    for (const p of this.draining) p.shutdown()
    this.draining.clear()
  }
}
