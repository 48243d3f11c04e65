/**
 * The connections of one server: a small pool of pipelined connections, opened lazily, replaced when
 * they close.
 *
 * @since 0.1.0
 */
import { PassThrough } from "node:stream"
import { Connection, type Timers } from "./Connection.js"
import { MemcachedConnectionError, type MemcachedError } from "./MemcachedError.js"
import type { Transport } from "./MemcachedTransport.js"
import type * as ServerSpec from "./ServerSpec.js"

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
}

/**
 * The connections of one server; a closed connection is replaced on the next request.
 *
 * @since 0.1.0
 * @category models
 */
export class ServerPool {
  private readonly connections: Array<Connection | undefined>
  private next = 0
  closed = false
  constructor(
    readonly spec: ServerSpec.ServerSpec,
    private readonly transport: Transport,
    private readonly settings: Settings,
    private readonly timers: Timers,
    private readonly log: (message: string, server: string) => void
  ) {
    this.connections = new Array(settings.poolSize).fill(undefined)
  }

  /** A live (or connecting) connection; opens one if needed. */
  connection(): Connection {
    let i = 0
    if (this.connections.length > 1) {
      i = this.next
      this.next = (i + 1) % this.connections.length
    }
    const c = this.connections[i]
    if (c !== undefined && c.state !== "closed") return c
    return this.open(i)
  }

  private open(i: number): Connection {
    const server = this.spec.name
    if (this.closed) return this.failed(new MemcachedConnectionError({ reason: "Closed", server, message: `${server}: client closed` }))
    let conn: Connection
    try {
      conn = new Connection(this.transport.connect(this.spec), this.connectionOptions())
    } catch (cause) {
      return this.failed(new MemcachedConnectionError({ reason: "Connect", server, message: `${server}: ${String(cause)}`, cause }))
    }
    this.connections[i] = conn
    return conn
  }

  /** A connection that is already closed with `error`: every request on it fails at once. */
  private failed(error: MemcachedError): Connection {
    const conn = new Connection(new PassThrough(), { ...this.connectionOptions(), onClose: undefined })
    conn.close(error)
    return conn
  }

  private connectionOptions() {
    const server = this.spec.name
    return {
      server,
      connectTimeout: this.settings.connectTimeout,
      maxInFlight: this.settings.maxInFlight,
      maxInFlightBytes: 16 * 1024 * 1024,
      maxQueued: this.settings.maxQueued,
      limits: { maxValueSize: this.settings.maxValueSize },
      timers: this.timers,
      onClose: (_: Connection, error: MemcachedError) => {
        if (!this.closed) this.log(`connection closed: ${error.message}`, server)
      }
    }
  }

  shutdown(): void {
    this.closed = true
    for (const c of this.connections) c?.shutdown()
  }
}


