/**
 * Key → pool routing: the home server of a key from the distribution built over every server, and,
 * with failover `next`, the ring rebuilt (lazily, after a health change) without the ejected servers.
 * Plain JavaScript; given its pools at construction (lists that `Membership` may change in place, then
 * calls {@link Router.reset}).
 *
 * @since 0.1.0
 */
import type { Placement, PlacementBuilder } from "./types.js"

/**
 * Maps keys to pools. Never throws unless the distribution does.
 *
 * @since 0.1.0
 * @category models
 */
export class Router<S = unknown> {
  private placement: Placement | undefined
  private live: Placement | undefined = undefined
  private liveIndex: Array<number> = []
  private degraded = false
  private dirty = false
  constructor(
    readonly servers: ReadonlyArray<S>,
    readonly pools: ReadonlyArray<{ readonly available: boolean }>,
    private readonly distribution: PlacementBuilder<S>,
    private readonly failover: "none" | "next"
  ) {
    this.placement = servers.length === 1 ? undefined : distribution.build(servers)
  }
  /** The server a key belongs to when every server is up. */
  readonly home = (key: string): number => (this.placement === undefined ? 0 : this.placement.serverFor(key))
  invalidate(): void {
    this.dirty = true
  }
  /**
   * Rebuilds the distribution over `servers` as they are now: the owner (`Membership`) changed the
   * server and pool lists in place (same length, same order).
   */
  reset(): void {
    this.placement = this.servers.length === 1 ? undefined : this.distribution.build(this.servers)
    this.live = undefined
    this.liveIndex = []
    this.degraded = false
    this.dirty = true
  }
  /** The pool that serves `key` now. */
  readonly route = (key: string): number => {
    if (this.dirty) this.rebuild()
    if (!this.degraded) return this.home(key)
    const home = this.home(key)
    if (this.pools[home]!.available || this.live === undefined) return home
    return this.liveIndex[this.live.serverFor(key)]!
  }
  private rebuild(): void {
    this.dirty = false
    if (this.failover === "none") return
    const alive: Array<number> = []
    for (let i = 0; i < this.pools.length; i++) if (this.pools[i]!.available) alive.push(i)
    this.degraded = alive.length < this.pools.length
    if (!this.degraded || alive.length === 0) {
      this.live = undefined
      return
    }
    this.liveIndex = alive
    this.live = this.distribution.build(alive.map((i) => this.servers[i]!))
  }
}
