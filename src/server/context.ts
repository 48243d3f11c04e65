/**
 * What every session of one in-memory server shares besides the engine: the emulated version, the
 * runtime settings that admin commands change, per-prefix statistics, and views of the connections
 * and listeners (for `stats conns`, `stats settings`).
 *
 * @since 0.2.0
 */
import type { AuthEntry } from "./auth.js"
import type { Engine } from "./engine.js"

/**
 * The memcached behaviour emulated: `"newest"` (the default) accepts the meta flags of current
 * releases (`E`, `md x`, `ms` `N` with append/prepend); `"1.6.18"` answers them exactly as 1.6.18 does.
 *
 * @since 0.2.0
 * @category models
 */
export type Emulation = "1.6.18" | "newest"

/**
 * The version each emulation reports to `version` and `stats`.
 *
 * @since 0.2.0
 * @category constants
 */
export const VERSIONS: Readonly<Record<Emulation, string>> = {
  "1.6.18": "1.6.18-effect-memory",
  newest: "1.6.38-effect-memory"
}

/**
 * Settings reported by `stats settings` and changed by admin commands.
 *
 * @since 0.2.0
 * @category models
 */
export interface Settings {
  readonly emulate: Emulation
  readonly version: string
  /** `shutdown` is accepted (memcached `-A`). */
  readonly shutdownEnabled: boolean
  /** The users of ASCII authentication (memcached `-Y`); unset = no authentication. */
  readonly auth?: ReadonlyArray<AuthEntry> | undefined
  detailEnabled: boolean
  slabAutomove: number
  lruSegmented: boolean
  lruCrawler: boolean
}

/**
 * `stats detail` counters of one key prefix.
 *
 * @since 0.2.0
 * @category models
 */
export interface PrefixCounters {
  get: number
  hit: number
  set: number
  del: number
}

/**
 * A connection as `stats conns` shows it.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectionInfo {
  readonly id: number
  /** `tcp:127.0.0.1:50432`, `unix:/path`, `local:memory` for in-process duplexes. */
  readonly addr: string
  readonly listenAddr: string | undefined
  /** Time of the last command, ms of the engine clock. */
  readonly lastCommand: number
}

/**
 * A listener as `stats conns` and `stats settings` show it.
 *
 * @since 0.2.0
 * @category models
 */
export interface ListenerInfo {
  readonly id: number
  readonly kind: "tcp" | "tls" | "unix"
  /** Host and port (tcp/tls) or path (unix). */
  readonly host: string
  readonly port: number
  readonly path: string | undefined
}

/**
 * The state shared by the sessions of one server.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServerContext {
  readonly engine: Engine
  readonly settings: Settings
  readonly prefixes: Map<string, PrefixCounters>
  readonly connections: () => ReadonlyArray<ConnectionInfo>
  readonly listeners: () => ReadonlyArray<ListenerInfo>
  /** Called by an enabled `shutdown` after its reply; the owner stops the server. */
  readonly shutdown: () => void
}

/**
 * The prefix `stats detail` files a key under (up to the first `:`), or undefined when it has none.
 *
 * @since 0.2.0
 * @category constructors
 */
export const prefixCounters = (ctx: ServerContext, key: string): PrefixCounters | undefined => {
  if (!ctx.settings.detailEnabled) return undefined
  const i = key.indexOf(":")
  if (i < 0) return undefined
  const prefix = key.slice(0, i)
  let p = ctx.prefixes.get(prefix)
  if (p === undefined) {
    p = { get: 0, hit: 0, set: 0, del: 0 }
    ctx.prefixes.set(prefix, p)
  }
  return p
}
