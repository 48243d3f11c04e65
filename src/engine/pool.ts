/**
 * The connections of one server and its health: a small pool of pipelined connections, opened lazily
 * and replaced when they close, and the ejection state machine (up → ejected → probing → up).
 *
 * Failures are connection-level events (a connect error or timeout, a request timeout, a reset, a
 * protocol error), counted in a sliding window; successes do not erase them, so a cheap probe that
 * succeeds cannot mask real requests that keep failing. A server ejected again soon after its
 * readmission stays out twice as long each time (anti-flap), up to a cap.
 *
 * @since 0.1.0
 */
import { encodeVersion, type Reply } from "../protocol/client.js"
import { encodeMetaNoop } from "../protocol/meta.js"
import { type Command, Connection, Refusal, type RequestSink, Slot, SlotKind } from "./connection.js"
import type { EngineObserver, PoolUsage } from "./telemetry.js"
import { connectionError, type Connector, type Endpoint, type EngineError, type Timers } from "./types.js"

/**
 * Resolved client settings (milliseconds and counts).
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly connectTimeout: number
  readonly timeout: number
  readonly poolSize: number
  readonly maxInFlight: number
  readonly maxQueued: number
  readonly maxValueSize: number
  readonly maxKeysPerGet: number
  readonly autoBatch: boolean
  readonly failureLimit: number
  readonly failureWindow: number
  readonly retryInterval: number
  readonly maxRetryInterval: number
  readonly flapWindow: number
  /** The protocol to speak (default text); `auto` probes each server once with `mn`. */
  readonly protocol?: "meta" | "text" | "auto" | undefined
  /** The servers are text-only proxies (twemproxy): protocol text, see {@link ServerPool.proxy}. */
  readonly textProxy?: boolean | undefined
}

/**
 * Commands a text-only proxy (twemproxy/nutcracker) does not forward: it closes the connection on
 * them (checked against nutcracker 0.5). `version`, `touch` and the storage and retrieval commands
 * other than `gat`/`gats` pass.
 *
 * @since 0.1.0
 * @category models
 */
export const proxyUnsupported: ReadonlySet<string> = new Set(["gat", "gats", "stats", "flush_all", "verbosity"])

/**
 * The protocol a server speaks.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerProtocolName = "meta" | "text"

/**
 * Health of a server.
 *
 * @since 0.1.0
 * @category models
 */
export type Health = "up" | "ejected" | "probing"

/**
 * Events a pool reports to its owner (for logs and ring rebuilds).
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolEvents {
  readonly log: (level: "debug" | "warning" | "info", message: string, server: string) => void
  readonly healthChanged: (pool: ServerPool<any>) => void
  /**
   * How long an ejected server stays out, given how many times in a row it was ejected again soon
   * after its readmission (0 the first time): the edge's backoff schedule.
   */
  readonly retryDelay: (flaps: number) => number
  /** Telemetry's view of the engine (auto-batch sizes); absent when telemetry is off. */
  readonly observer?: EngineObserver | undefined
}

const finishProbe = (slot: Slot, reply: Reply): unknown =>
  reply._tag === "Version"
    ? undefined
    : connectionError("Closed", slot.server, `probe answered ${reply._tag}`)

const finishDetect = (slot: Slot, reply: Reply): unknown =>
  reply._tag === "Meta" && reply.code === "MN"
    ? "meta"
    : reply._tag === "Error" || reply._tag === "ClientError" || reply._tag === "ServerError"
    ? "text"
    : connectionError("Closed", slot.server, `mn probe answered ${reply._tag}`)

const PROBE: Command = { name: "version", kind: SlotKind.Single, finish: finishProbe }
const DETECT: Command = { name: "mn", kind: SlotKind.Single, finish: finishDetect }

/**
 * The connections of one server; a closed connection is replaced on the next request.
 *
 * @since 0.1.0
 * @category models
 */
export class ServerPool<S extends Endpoint = Endpoint> {
  private readonly connections: Array<Connection | undefined>
  private next = 0
  closed = false
  health: Health = "up"
  /** Timestamps of recent failures (ms). */
  private failures: Array<number> = []
  /** When the ejected server will be probed (ms). */
  ejectedUntil = 0
  private flaps = 0
  private readmittedAt = -Infinity
  private ejectedConnection: Refusal | undefined = undefined
  private cancelProbe: (() => void) | undefined = undefined
  /** Times this server was ejected. */
  ejections = 0
  /**
   * The protocol this server speaks: fixed by the settings, or detected once (auto) by a `mn` probe
   * on a connection of its own (`MN` → meta; `ERROR` or a close, as text-only proxies do → text).
   * `undefined` until detected: requests use the text protocol meanwhile.
   */
  protocol: ServerProtocolName | undefined
  /**
   * True when the server is a text-only proxy: the settings say so (`textProxy`), or it closed the
   * connection on the `mn` probe as twemproxy does (memcached before 1.6 answers `ERROR` instead).
   * The client then fails the commands in {@link proxyUnsupported} before sending anything, so the
   * proxy never closes a connection over them and is never ejected for them.
   */
  proxy = false
  private probing = false
  /** When the last probe failed (ms): no new probe before `retryInterval` has passed. */
  private probeFailedAt = -Infinity
  private waiters: Array<(result: ServerProtocolName | EngineError) => void> = []

  constructor(
    readonly index: number,
    readonly spec: S,
    private readonly transport: Connector<S>,
    private readonly settings: Settings,
    private readonly timers: Timers,
    private readonly events: PoolEvents
  ) {
    this.connections = new Array(settings.poolSize).fill(undefined)
    this.protocol = settings.protocol === "meta" || settings.protocol === "text" ? settings.protocol : undefined
    if (settings.textProxy === true) {
      this.protocol = "text"
      this.proxy = true
    }
  }

  /**
   * Calls `f` once the server's protocol is known (probing first in `auto` mode). A failed probe or a
   * closed pool calls `f` too: the request then fails on its connection like any other.
   */
  whenKnown(f: () => void): void {
    if (this.protocol !== undefined || this.closed) return f()
    this.detect(() => f())
  }

  /**
   * Calls `f` with the server's protocol once known (at once when it is), detecting it if needed, or
   * with the error that prevented the detection.
   */
  detect(f: (result: ServerProtocolName | EngineError) => void): void {
    if (this.protocol !== undefined) return f(this.protocol)
    if (this.closed) {
      // No probe will start on a closed pool: answer now rather than leave the caller waiting.
      const server = this.spec.name
      return f(connectionError("Closed", server, `${server}: client closed`))
    }
    this.waiters.push(f)
    this.startProbe()
  }

  private startProbe(): void {
    if (this.probing || this.protocol !== undefined || this.closed) return
    this.probing = true
    const server = this.spec.name
    const done = (result: ServerProtocolName | EngineError) => {
      this.probing = false
      if (typeof result === "string") this.protocol = result
      else this.probeFailedAt = this.timers.now()
      this.events.log(
        "debug",
        typeof result === "string" ? `protocol: ${result}` : `protocol probe failed: ${result.message}`,
        server
      )
      const waiters = this.waiters
      this.waiters = []
      for (const w of waiters) w(result)
    }
    let conn: Connection
    try {
      conn = new Connection(this.transport.connect(this.spec), {
        ...this.connectionOptions(),
        onClose: undefined,
        onReply: undefined
      })
    } catch (cause) {
      return done(connectionError("Connect", server, `${server}: ${String(cause)}`, cause))
    }
    const slot = new Slot(DETECT, encodeMetaNoop(), undefined, "mn", this.settings.timeout)
    slot.done = {
      succeed: (protocol) => {
        conn.shutdown()
        done(protocol as ServerProtocolName)
      },
      fail: (e) => {
        conn.shutdown()
        const error = e as EngineError
        // A text-only proxy (twemproxy) closes the connection on an unknown command.
        if (error.kind === "Connection" && (error.reason === "Closed" || error.reason === "Reset")) {
          this.proxy = true
          return done("text")
        }
        done(error)
      }
    }
    conn.enqueue(slot)
  }

  /** True unless the server is ejected (a server being probed is available). */
  get available(): boolean {
    return this.health !== "ejected"
  }

  /**
   * A live (or connecting) connection; opens one if needed. While the server is ejected, a connection
   * that fails every request at once with `Ejected`.
   */
  connection(): RequestSink {
    if (this.health === "ejected") return this.ejectedConnection ?? this.open(0)
    if (
      this.protocol === undefined && !this.probing &&
      this.timers.now() - this.probeFailedAt >= this.settings.retryInterval
    ) {
      this.startProbe()
    }
    let i = 0
    if (this.connections.length > 1) {
      i = this.next
      this.next = (i + 1) % this.connections.length
    }
    const c = this.connections[i]
    if (c !== undefined && c.state !== "closed") return c
    return this.open(i)
  }

  /** Opens every connection of the pool now (eager mode), and starts protocol detection if needed. */
  openAll(): void {
    if (this.closed || this.health === "ejected") return
    if (this.protocol === undefined && !this.probing) this.startProbe()
    for (let i = 0; i < this.connections.length; i++) {
      const c = this.connections[i]
      if (c === undefined || c.state === "closed") this.open(i)
    }
  }

  private open(i: number): RequestSink {
    const server = this.spec.name
    if (this.closed) return this.failed(connectionError("Closed", server, `${server}: client closed`))
    let conn: Connection
    try {
      conn = new Connection(this.transport.connect(this.spec), this.connectionOptions())
    } catch (cause) {
      this.recordFailure()
      return this.failed(connectionError("Connect", server, `${server}: ${String(cause)}`, cause))
    }
    this.connections[i] = conn
    return conn
  }

  /** A sink that fails every request at once with `error` (no socket, no fake connection). */
  private failed(error: EngineError): Refusal {
    return new Refusal(error)
  }

  /** The pool's connections by state and its requests right now (telemetry's pool gauges). */
  usage(): PoolUsage {
    let idle = 0
    let used = 0
    let pending = 0
    let inFlight = 0
    for (const c of this.connections) {
      if (c === undefined || c.state === "closed") continue
      if (c.inFlight === 0 && c.queued === 0 && c.state === "open") idle++
      else used++
      pending += c.queued
      inFlight += c.inFlight
    }
    return { idle, used, pending, inFlight }
  }

  private connectionOptions() {
    const server = this.spec.name
    const batch = this.events.observer?.batch
    return {
      onBatch: batch === undefined ? undefined : (size: number) => batch(server, size),
      server,
      connectTimeout: this.settings.connectTimeout,
      maxInFlight: this.settings.maxInFlight,
      maxInFlightBytes: 16 * 1024 * 1024,
      maxQueued: this.settings.maxQueued,
      autoBatch: this.settings.autoBatch ? this.settings.maxKeysPerGet : 0,
      limits: { maxValueSize: this.settings.maxValueSize },
      timers: this.timers,
      onClose: (_: Connection, error: EngineError) => {
        if (this.closed) return
        this.events.log("debug", `connection closed: ${error.message}`, server)
        if (error.kind === "Protocol" || error.reason !== "Overloaded") {
          this.recordFailure()
        }
      },
      onReply: () => {
        if (this.health === "probing") this.readmit()
      }
    }
  }

  /** Counts a connection-level failure; ejects the server when the limit is reached in the window. */
  recordFailure(): void {
    if (this.closed || this.health === "ejected") return
    const now = this.timers.now()
    if (this.health === "probing") {
      this.eject(now, "probe failed")
      return
    }
    const window = this.settings.failureWindow
    const failures = this.failures
    failures.push(now)
    while (failures.length > 0 && failures[0]! <= now - window) failures.shift()
    if (failures.length >= this.settings.failureLimit) {
      this.eject(now, `${failures.length} failures within ${window} ms`)
    }
  }

  private eject(now: number, why: string): void {
    this.flaps = now - this.readmittedAt < this.settings.flapWindow ? this.flaps + 1 : 0
    const delay = this.events.retryDelay(this.flaps)
    this.health = "ejected"
    this.ejections++
    this.failures = []
    this.ejectedUntil = now + delay
    const server = this.spec.name
    this.ejectedConnection = this.failed(
      connectionError("Ejected", server, `${server} is ejected (${why}); retry in ${delay} ms`)
    )
    for (let i = 0; i < this.connections.length; i++) {
      const c = this.connections[i]
      this.connections[i] = undefined
      c?.close(connectionError("Ejected", server, `${server} ejected: ${why}`))
    }
    this.events.log("warning", `ejected: ${why}; retry in ${delay} ms`, server)
    this.events.healthChanged(this)
    this.cancelProbe?.()
    this.cancelProbe = this.timers.schedule(delay, () => this.probe())
  }

  /** After the retry interval: let requests through and send a `version` probe. */
  private probe(): void {
    this.cancelProbe = undefined
    if (this.closed || this.health !== "ejected") return
    this.health = "probing"
    this.ejectedConnection = undefined
    this.events.log("info", "probing", this.spec.name)
    this.events.healthChanged(this)
    const slot = new Slot(PROBE, encodeVersion(), undefined, "version", this.settings.timeout)
    slot.done = {
      succeed: () => {
        if (this.health === "probing") this.readmit()
      },
      fail: () => this.recordFailure()
    }
    this.connection().enqueue(slot)
  }

  private readmit(): void {
    this.health = "up"
    this.readmittedAt = this.timers.now()
    this.failures = []
    this.events.log("info", "readmitted", this.spec.name)
    this.events.healthChanged(this)
  }

  /** Closes every connection; pending requests fail with `Closed`. */
  shutdown(): void {
    this.closed = true
    this.cancelProbe?.()
    this.cancelProbe = undefined
    for (const c of this.connections) c?.shutdown()
  }
}
