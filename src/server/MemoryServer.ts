/**
 * An in-memory memcached for tests and local development: an engine with memcached 1.6 semantics
 * for every text and meta command, a per-connection session on top of the server-direction codec,
 * an in-process `stream.Duplex` transport, TCP/TLS/unix listeners and a fault-injection handle.
 *
 * The parts live beside this module: `engine` (store, LRU, expiry, counters), `session` (text
 * commands), `meta`/`metaFlags` (meta commands), `admin`/`stats` (admin commands and stats),
 * `connection` (driver and faults), `listener` (sockets), `layer` (the Effect-facing constructor).
 *
 * @since 0.1.0
 */
import { Duplex } from "node:stream"
import {
  type ClusterSetting,
  type Emulation,
  type ListenerInfo,
  type PrefixCounters,
  type ServerContext,
  type Settings,
  VERSIONS
} from "./context.js"
import {
  Connection,
  type Faults,
  type FaultState,
  makeFaults,
  realScheduler,
  type Scheduler,
  type Transport
} from "./connection.js"
import { Engine, type StoredItem, type Stats } from "./engine.js"
import type { AuthEntry } from "./auth.js"
import { type Listener, listen as startListener, type ListenOptions } from "./listener.js"
import { type Session, SessionImpl } from "./session.js"

export { type AuthEntry, parseAuthFile } from "./auth.js"
export type { ClusterSetting, Emulation } from "./context.js"
export { VERSIONS } from "./context.js"
export type { Faults, Scheduler, Transport } from "./connection.js"
export { Engine, type StoredItem, type Stats } from "./engine.js"
export type { ListenOptions } from "./listener.js"
export type { Session } from "./session.js"

/**
 * The version the server reports by default (the `"newest"` emulation).
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION: string = VERSIONS.newest

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryServerOptions {
  /** The clock of item expiry, in ms since the epoch (default `Date.now`). */
  readonly now?: (() => number) | undefined
  /** The memory limit (memcached `-m`), default 64 MiB. */
  readonly maxBytes?: number | undefined
  /** The item size limit (memcached `-I`), default 1 MiB. */
  readonly maxItemSize?: number | undefined
  /**
   * The memcached behaviour to emulate (default `"newest"`); `"1.6.18"` rejects the meta flags
   * newer than 1.6.18 exactly as it does and reports version `1.6.18-effect-memory`.
   */
  readonly emulate?: Emulation | undefined
  /** Accept `shutdown` (memcached `-A`): it closes every connection and listener. Default false. */
  readonly enableShutdown?: boolean | undefined
  /**
   * ASCII authentication (memcached `-Y`): the users of the auth file (see `parseAuthFile`). Every
   * connection must authenticate with the authentication `set` first, exactly as memcached 1.6.18
   * answers it (src/server/auth.ts). Default: none.
   */
  readonly auth?: ReadonlyArray<AuthEntry> | undefined
  /** Clock and timer of the `delay` fault (default real time). The Effect layer passes its `Clock`. */
  readonly scheduler?: Scheduler | undefined
  /**
   * Serve an auto-discovery configuration, as an ElastiCache configuration endpoint does: `config get
   * cluster` answers `CONFIG cluster 0 <len>\r\n<version>\n<host|ip|port …>\n\r\nEND\r\n` and `get
   * AmazonElastiCache:cluster` the same payload as a value. Without it both behave as on memcached
   * (`ERROR`, and a miss). Change it with {@link MemoryServer.setCluster}.
   */
  readonly cluster?: ClusterSetting | undefined
}

/**
 * The address a listener is bound to: host and port, or the unix socket path (port 0).
 *
 * @since 0.2.0
 * @category models
 */
export interface BoundAddress {
  readonly port: number
  readonly host: string
  readonly path?: string | undefined
}

/**
 * The in-memory memcached.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryServer {
  /** Opens an in-process connection speaking the protocol. */
  readonly connect: () => Duplex
  /**
   * Starts a listener (TCP by default, port 0 = ephemeral; TLS with `tls`; a unix socket with
   * `path`) and resolves with the bound address. Several listeners may run at once. Rejects with
   * the socket error (e.g. `EADDRINUSE`).
   */
  readonly listen: (options?: ListenOptions) => Promise<BoundAddress>
  /** Stops every listener and destroys every connection. */
  readonly close: () => Promise<void>
  /** A bare protocol session, without transport or faults. */
  readonly session: () => Session
  readonly faults: Faults
  /** Number of items held (expired and flushed items not yet reclaimed included). */
  readonly size: number
  /** The live item under `key`, without touching stats or LRU order. */
  readonly peek: (key: string) => StoredItem | undefined
  /** A snapshot of the counters. */
  readonly stats: () => Readonly<Stats>
  /** Removes every item (no stats effect). */
  readonly clear: () => void
  /**
   * Replaces the served auto-discovery configuration (undefined: answer like memcached, `ERROR`).
   * Never throws; the nodes are served as given (a test may serve a malformed list on purpose only
   * through a raw reply fault).
   */
  readonly setCluster: (cluster: ClusterSetting | undefined) => void
  /** Resolves once the server was stopped by `close()` or an enabled `shutdown` command. */
  readonly closed: Promise<void>
  /**
   * Serves one connection accepted by a listener of your own (the Effect layer's platform listener
   * uses it): feed it the peer's bytes with `receive`, call `finish` when the socket is gone.
   * Undefined when the server refuses connections (fault `refuseConnections`): destroy the socket.
   */
  readonly attach: (transport: Transport, addr: string) => AttachedConnection | undefined
}

/**
 * A connection served through {@link MemoryServer.attach}.
 *
 * @since 0.2.0
 * @category models
 */
export interface AttachedConnection {
  readonly receive: (chunk: Buffer) => void
  readonly finish: () => void
}

const refusedError = (): Error =>
  Object.assign(new Error("connect ECONNREFUSED (memory server refuses connections)"), { code: "ECONNREFUSED" })

/**
 * Creates an in-memory memcached.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: MemoryServerOptions): MemoryServer => {
  const engine = new Engine(
    options?.now ?? Date.now,
    options?.maxBytes ?? 64 * 1024 * 1024,
    options?.maxItemSize ?? 1024 * 1024
  )
  const emulate = options?.emulate ?? "newest"
  const settings: Settings = {
    emulate,
    version: VERSIONS[emulate],
    shutdownEnabled: options?.enableShutdown ?? false,
    auth: options?.auth,
    detailEnabled: false,
    slabAutomove: 1,
    lruSegmented: true,
    lruCrawler: true,
    cluster: options?.cluster
  }
  const scheduler = options?.scheduler ?? realScheduler
  const faultState: FaultState = { delay: 0, blackHole: false, replies: [], refuse: false }
  const connections = new Set<Connection>()
  const listeners: Array<Listener> = []
  // memcached numbers connections by file descriptor: listeners first, then clients.
  let nextId = 10
  let stopped: (() => void) | undefined
  const closedPromise = new Promise<void>((resolve) => void (stopped = resolve))

  const ctx: ServerContext = {
    engine,
    settings,
    prefixes: new Map<string, PrefixCounters>(),
    connections: () => [...connections],
    listeners: (): Array<ListenerInfo> => listeners.map((l) => l.info),
    shutdown: () => void setImmediate(() => void close())
  }

  const track = (transport: Transport, addr: string, listenAddr: string | undefined): Connection => {
    const conn = new Connection(
      ctx,
      faultState,
      scheduler,
      transport,
      (c) => {
        if (connections.delete(c)) engine.counters.curr_connections--
      },
      nextId++,
      addr,
      listenAddr
    )
    connections.add(conn)
    engine.counters.curr_connections++
    engine.counters.total_connections++
    return conn
  }

  const connect = (): Duplex => {
    let conn: Connection | undefined = undefined
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, callback) {
        conn?.receive(chunk)
        callback()
      },
      final(callback) {
        // The client half-closed: like memcached, close the connection.
        setImmediate(() => {
          duplex.push(null)
          conn?.finish()
        })
        callback()
      },
      destroy(err, callback) {
        conn?.finish()
        callback(err)
      }
    })
    if (faultState.refuse) {
      engine.counters.rejected_connections++
      setImmediate(() => duplex.destroy(refusedError()))
      return duplex
    }
    conn = track(
      {
        write: (data) => void duplex.push(data),
        end: () => {
          duplex.push(null)
          duplex.end()
        },
        destroy: () => void duplex.destroy()
      },
      "local:memory",
      undefined
    )
    return duplex
  }

  const listen = async (opts?: ListenOptions): Promise<BoundAddress> => {
    const listener = await startListener(nextId++, opts ?? {}, () => {
      if (faultState.refuse) engine.counters.rejected_connections++
      return faultState.refuse
    }, (a) => {
      const conn = track(a.transport, a.addr, a.listenAddr)
      a.onData((chunk) => conn.receive(chunk))
      a.onGone(() => conn.finish())
    })
    listeners.push(listener)
    const info = listener.info
    return info.kind === "unix" ? { port: 0, host: "", path: info.path } : { port: info.port, host: info.host }
  }

  const dropConnections = (): void => {
    for (const c of [...connections]) c.destroy()
  }

  const close = async (): Promise<void> => {
    dropConnections()
    const all = listeners.splice(0)
    await Promise.all(all.map((l) => l.close()))
    stopped?.()
  }

  return {
    connect,
    listen,
    close,
    session: () => new SessionImpl(ctx),
    faults: makeFaults(faultState, dropConnections),
    get size() {
      return engine.items.size
    },
    peek: (key) => engine.peek(key),
    stats: () => {
      engine.settle()
      return { ...engine.counters }
    },
    clear: () => engine.clear(),
    setCluster: (cluster) => void (settings.cluster = cluster),
    closed: closedPromise,
    attach: (transport, addr) => {
      if (faultState.refuse) {
        engine.counters.rejected_connections++
        return undefined
      }
      const conn = track(transport, addr, undefined)
      return { receive: (chunk) => conn.receive(chunk), finish: () => conn.finish() }
    }
  }
}
