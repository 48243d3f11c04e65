/**
 * The connection driver and fault injection: feeds a transport's bytes to a session, applies the
 * server's faults (delay, black hole, injected replies) and delivers replies in order, always
 * asynchronously. Time for delayed replies comes from a {@link Scheduler}: real timers by default,
 * the Effect `Clock` when the server is made through the Effect layer (so `TestClock` drives it).
 *
 * @since 0.2.0
 */
import type { ConnectionInfo, ServerContext } from "./context.js"
import { SessionImpl } from "./session.js"

/**
 * A clock and a timer. `schedule` runs `f` once `ms` of this clock have passed and returns a cancel.
 *
 * @since 0.2.0
 * @category models
 */
export interface Scheduler {
  readonly now: () => number
  readonly schedule: (ms: number, f: () => void) => () => void
}

/**
 * Real time: `Date.now`, `setTimeout`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const realScheduler: Scheduler = {
  now: Date.now,
  schedule: (ms, f) => {
    const t = setTimeout(f, ms)
    return () => clearTimeout(t)
  }
}

/**
 * The fault-injection handle. Faults apply to duplex and TCP connections alike, to current and
 * future connections, until `reset()`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  /** Delays every reply by `ms` of the server's scheduler (0 = off). Replies stay in order. */
  readonly delay: (ms: number) => void
  /** Accept connections and read commands, but neither execute nor answer them. */
  readonly blackHole: (on?: boolean) => void
  /** The reply to the next command (on any connection) is replaced by these raw bytes. Queued. */
  readonly replyWith: (bytes: Uint8Array | string) => void
  /** Destroys every open connection. */
  readonly dropConnections: () => void
  /** New TCP connections are destroyed on accept; `connect()` duplexes fail with ECONNREFUSED. */
  readonly refuseConnections: (on?: boolean) => void
  /** Clears every fault. */
  readonly reset: () => void
}

/**
 * The current faults of a server.
 *
 * @since 0.2.0
 * @category models
 */
export interface FaultState {
  delay: number
  blackHole: boolean
  replies: Array<Buffer>
  refuse: boolean
}

/**
 * What a transport (duplex or socket) must offer to the connection driver.
 *
 * @since 0.2.0
 * @category models
 */
export interface Transport {
  write(data: Buffer): void
  end(): void
  destroy(): void
}

/**
 * Drives one connection: session, fault handling and in-order (possibly delayed) delivery.
 *
 * @since 0.2.0
 * @category models
 */
export class Connection implements ConnectionInfo {
  private readonly session: SessionImpl
  private readonly queue: Array<{ data: Buffer | undefined; due: number }> = []
  private cancel: (() => void) | undefined = undefined
  private closing = false
  closed = false

  constructor(
    ctx: ServerContext,
    private readonly faults: FaultState,
    private readonly scheduler: Scheduler,
    private readonly transport: Transport,
    private readonly onClose: (c: Connection) => void,
    readonly id: number,
    readonly addr: string,
    readonly listenAddr: string | undefined
  ) {
    this.session = new SessionImpl(ctx)
  }

  get lastCommand(): number {
    return this.session.lastCommand
  }

  /** Bytes from the peer. */
  receive(chunk: Buffer): void {
    if (this.closed || this.closing) return
    if (this.faults.blackHole) return
    const { close, replies } = this.session.receive(chunk)
    const due = this.scheduler.now() + this.faults.delay
    let out: Array<Buffer> = replies
    if (this.faults.replies.length > 0 && replies.length > 0) {
      out = replies.slice()
      for (let i = 0; i < out.length && this.faults.replies.length > 0; i++) out[i] = this.faults.replies.shift()!
    }
    if (out.length > 0) {
      this.queue.push({ data: out.length === 1 ? out[0]! : Buffer.concat(out), due })
    }
    if (close) {
      this.closing = true
      this.queue.push({ data: undefined, due })
    }
    this.pump()
  }

  private pump(): void {
    if (this.cancel !== undefined || this.queue.length === 0) return
    const wait = this.queue[0]!.due - this.scheduler.now()
    const run = (): void => {
      this.cancel = undefined
      const now = this.scheduler.now()
      while (this.queue.length > 0 && this.queue[0]!.due <= now) {
        const next = this.queue.shift()!
        if (this.closed) return
        if (next.data === undefined) {
          this.transport.end()
          this.finish()
          return
        }
        this.transport.write(next.data)
      }
      this.pump()
    }
    if (wait > 0) {
      this.cancel = this.scheduler.schedule(wait, run)
    } else {
      // Always asynchronous, never inside the write that delivered the command.
      const i = setImmediate(run)
      this.cancel = () => clearImmediate(i)
    }
  }

  /** Destroys the transport. */
  destroy(): void {
    if (this.closed) return
    this.transport.destroy()
    this.finish()
  }

  /** Marks the connection closed (the transport is gone or going). */
  finish(): void {
    if (this.closed) return
    this.closed = true
    this.cancel?.()
    this.cancel = undefined
    this.queue.length = 0
    this.onClose(this)
  }
}

/**
 * A fault handle over `state`; `drop` destroys every connection.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeFaults = (state: FaultState, drop: () => void): Faults => ({
  delay: (ms) => {
    state.delay = Math.max(0, ms)
  },
  blackHole: (on = true) => {
    state.blackHole = on
  },
  replyWith: (bytes) => {
    state.replies.push(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes))
  },
  dropConnections: drop,
  refuseConnections: (on = true) => {
    state.refuse = on
  },
  reset: () => {
    state.delay = 0
    state.blackHole = false
    state.replies.length = 0
    state.refuse = false
  }
})
