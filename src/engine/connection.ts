/**
 * One pipelined connection to one memcached server: the thin socket driver of a {@link Pipeline}.
 * The pipeline (pipeline.ts, sans-IO) owns the FIFO of pending requests, the backlog, auto-batching,
 * the output buffer, reply parsing and deadlines; this driver owns the socket, the one deadline timer
 * per connection and the per-tick flush: it writes the pipeline's output once per tick (or at once
 * when 64 KiB are buffered or an auto-batch is full), corked, and waits for `drain` when the socket
 * asks it to. Requests complete through their slot's {@link Completion}; the Effect edge implements it
 * with one `Effect.async` per request.
 *
 * Failure model (the pipeline's): a request whose deadline passes while in flight fails with `Timeout`
 * and the connection is closed, so a late reply can never reach another request. A socket error, a
 * close or a protocol violation fails every pending request with a typed error. An interrupted request
 * keeps its slot: its reply is read and dropped.
 *
 * @since 0.1.0
 */
import type { Duplex } from "node:stream"
import type { ParserLimits } from "../protocol/client.js"
import { Pipeline, Want } from "./pipeline.js"
import type { RequestSink, Slot } from "./slot.js"
import { connectionError, type EngineError, type Timers } from "./types.js"

export { type Command, type Finish, Group, Refusal, type RequestSink, Slot, SlotKind } from "./slot.js"
export type { Timers } from "./types.js"

/**
 * Options of one connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions {
  /** The server's label, used in errors and logs. */
  readonly server: string
  readonly connectTimeout: number
  readonly maxInFlight: number
  readonly maxInFlightBytes: number
  readonly maxQueued: number
  /**
   * Most keys merged into one auto-batched get (0 disables auto-batching). A batch that reaches it is
   * closed and later callers of the same tick join the next: the tick's write carries several batches.
   */
  readonly autoBatch?: number | undefined
  readonly limits?: ParserLimits | undefined
  readonly timers: Timers
  readonly onClose?: ((connection: Connection, error: EngineError) => void) | undefined
  readonly onOpen?: ((connection: Connection) => void) | undefined
  /** Called once per received chunk that completed at least one reply (health tracking). */
  readonly onReply?: (() => void) | undefined
  /** Called with the number of gets of each auto-batch written (telemetry; absent: nothing is called). */
  readonly onBatch?: ((size: number) => void) | undefined
}

/**
 * A pipelined connection over any `Duplex` (a TCP, TLS or unix socket, or the in-memory server).
 *
 * @since 0.1.0
 * @category models
 */
export class Connection implements RequestSink {
  /** The sans-IO state machine this driver feeds. */
  readonly pipeline: Pipeline
  private flushScheduled = false
  private writable = true
  /** The socket was destroyed and `onClose` called (after the pipeline closed). */
  private finished = false
  private cancelTimer: (() => void) | undefined = undefined
  private timerAt = Infinity
  private readonly flushBound = () => this.flush()
  private readonly timerBound = () => this.onTimer()

  constructor(readonly socket: Duplex, readonly options: ConnectionOptions) {
    const connecting = (socket as { connecting?: boolean }).connecting === true
    this.pipeline = new Pipeline(options, connecting ? options.timers.now() + options.connectTimeout : Infinity)
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("drain", () => {
      this.writable = true
      this.flush()
    })
    socket.on("error", (cause: Error & { code?: string }) => {
      // ECONNREFUSED is a failed connect even on a stream that did not report `connecting` (a custom
      // Duplex such as the in-memory transport).
      const reason = this.state === "connecting" || cause.code === "ECONNREFUSED"
        ? "Connect"
        : cause.code === "ECONNRESET" || cause.code === "EPIPE"
        ? "Reset"
        : "Closed"
      this.close(
        connectionError(reason, options.server, `${options.server}: ${cause.message}`, cause)
      )
    })
    // A stream that ends without closing (a custom Duplex) must not leave requests waiting.
    socket.on("end", () => {
      this.close(
        connectionError("Closed", options.server, `${options.server}: connection ended by the server`)
      )
    })
    socket.on("close", () => {
      this.close(
        connectionError("Closed", options.server, `${options.server}: connection closed`)
      )
    })
    if (connecting) {
      // A TLS socket is ready after its handshake, a plain one when connected.
      socket.once("encrypted" in socket ? "secureConnect" : "connect", () => this.opened())
      this.arm(this.pipeline.connectDeadline)
    } else {
      queueMicrotask(() => this.opened())
    }
  }

  /** "connecting" until the socket connects, "open", then "closed" for good. */
  get state(): "connecting" | "open" | "closed" {
    return this.pipeline.state
  }

  /** Why the connection closed. */
  get closeError(): EngineError | undefined {
    return this.pipeline.closeError
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.pipeline.inFlight
  }

  /** Requests waiting for room in the pipeline. */
  get queued(): number {
    return this.pipeline.queued
  }

  private opened(): void {
    if (this.pipeline.state !== "connecting") return
    this.pipeline.open()
    this.options.onOpen?.(this)
    this.flush()
  }

  /** Sends a request whose reply is read and dropped (fire and forget, yet never desynchronizing). */
  send(slot: Slot): void {
    this.enqueue(slot)
  }

  /** Pushes a slot onto the pipeline (or its backlog when full); fails it at once when closed. */
  enqueue(slot: Slot): void {
    // The clock is read per request, not once per tick: a tick's microtasks can run for milliseconds
    // (many resumed fibers, a loaded machine), and a deadline counted from an earlier read would fire
    // early (the live FaultMatrix test caught a 60 ms timeout firing after 50 ms).
    if (!this.pipeline.submit(slot, this.options.timers.now())) return
    if (slot.deadline < this.timerAt) this.arm(slot.deadline)
    this.wanted()
  }

  /** Acts on the pipeline's output wish: write now, or once at the end of the tick. */
  private wanted(): void {
    const want = this.pipeline.want
    if (want === Want.Now) this.flush()
    else if (want === Want.Soon && !this.flushScheduled) {
      this.flushScheduled = true
      process.nextTick(this.flushBound)
    }
  }

  /** Writes everything buffered, unless connecting, closed, or the socket asked us to wait. */
  flush(): void {
    this.flushScheduled = false
    if (this.pipeline.state !== "open" || !this.writable) return
    const parts = this.pipeline.takeOutput()
    if (parts === undefined) return
    if (!Array.isArray(parts)) {
      this.writable = this.socket.write(parts)
      return
    }
    this.socket.cork()
    let ok = true
    for (let i = 0; i < parts.length; i++) ok = this.socket.write(parts[i]!)
    this.socket.uncork()
    this.writable = ok
  }

  /** The socket's `data` handler: the pipeline completes requests, or closes (never throws). */
  private onData(chunk: Buffer): void {
    const pipeline = this.pipeline
    if (pipeline.state === "closed") return
    if (pipeline.receive(chunk) > 0) this.options.onReply?.()
    if (pipeline.closed()) this.finish()
    // Requests taken from the backlog as replies made room.
    else if (pipeline.want !== Want.None) this.wanted()
  }

  private arm(at: number): void {
    this.cancelTimer?.()
    this.timerAt = at
    const delay = Math.max(0, at - this.options.timers.now())
    this.cancelTimer = this.options.timers.schedule(delay, this.timerBound)
  }

  private onTimer(): void {
    this.cancelTimer = undefined
    this.timerAt = Infinity
    const pipeline = this.pipeline
    if (pipeline.state === "closed") return
    const next = pipeline.expire(this.options.timers.now())
    if (pipeline.closed()) this.finish()
    else if (next !== Infinity) this.arm(next)
  }

  /**
   * Closes the connection for good and fails every pending request: requests whose deadline has passed
   * fail with `Timeout`, the others with `error`.
   */
  close(error: EngineError): void {
    if (this.pipeline.fail(error, this.options.timers.now())) this.finish()
  }

  /** After the pipeline closed: stop the timer, destroy the socket, tell the owner (once). */
  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.cancelTimer?.()
    this.cancelTimer = undefined
    this.socket.destroy()
    this.options.onClose?.(this, this.pipeline.closeError!)
  }

  /** Closes gracefully: pending requests fail with `Closed`. */
  shutdown(): void {
    this.close(
      connectionError("Closed", this.options.server, `${this.options.server}: client closed`)
    )
  }
}
