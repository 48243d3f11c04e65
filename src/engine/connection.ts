/**
 * One pipelined connection to one memcached server. Plain JavaScript inside: a FIFO of pending
 * slots, an output buffer flushed once per tick (or when it passes 64 KiB) that respects the socket's
 * backpressure, a cap on requests in flight, and deadlines checked by a single timer per connection.
 * Requests complete through their slot's {@link Completion}; the Effect edge implements it with one
 * `Effect.async` per request.
 *
 * Failure model: a request whose deadline passes while in flight fails with `Timeout` and the
 * connection is closed, so a late reply can never reach another request. A socket error, a close or a
 * protocol violation fails every pending request with a typed error. An interrupted request keeps its
 * slot: its reply is read and dropped.
 *
 * @since 0.1.0
 */
import type { Duplex } from "node:stream"
import { CRLF } from "../protocol/bytes.js"
import { encodeGet, makeReplyParser, type ParserLimits, type Reply, type ReplyParser } from "../protocol/client.js"
import { FLUSH_AT, OutputBuffer } from "./output.js"
import { Group, type RequestSink, type Slot, SlotKind } from "./slot.js"
import { connectionError, EngineError, protocolError, type Timers } from "./types.js"

export { type Command, type Finish, Group, Refusal, type RequestSink, Slot, SlotKind } from "./slot.js"
export type { Timers } from "./types.js"

const MAX_GROUP_LINE = 8 * 1024

/** "get" / "gets" when the slot is a single-key retrieval that may join an auto-batch. */
const batchCommand = (slot: Slot): "get" | "gets" | undefined =>
  slot.keys === undefined && slot.data === undefined ? slot.command.batch : undefined

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
   * written at once, so several batches are in flight while later callers of the same tick join the next.
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
  /** "connecting" until the socket connects, "open", then "closed" for good. */
  state: "connecting" | "open" | "closed" = "connecting"
  /** Why the connection closed. */
  closeError: EngineError | undefined = undefined
  private head: Slot | undefined = undefined
  private tail: Slot | undefined = undefined
  private backlogHead: Slot | undefined = undefined
  private backlogTail: Slot | undefined = undefined
  /** Requests written and not yet answered. */
  inFlight = 0
  private inFlightBytes = 0
  /** Requests waiting for room in the pipeline. */
  queued = 0
  private readonly parser: ReplyParser
  /** The auto-batch being collected; written out before any other command and at flush. */
  private group: Group | undefined = undefined
  private readonly output = new OutputBuffer()
  private flushScheduled = false
  private writable = true
  private cancelTimer: (() => void) | undefined = undefined
  private timerAt = Infinity
  private connectDeadline = Infinity
  private readonly flushBound = () => this.flush()

  constructor(readonly socket: Duplex, readonly options: ConnectionOptions) {
    this.parser = makeReplyParser(options.limits)
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
    if ((socket as { connecting?: boolean }).connecting === true) {
      // A TLS socket is ready after its handshake, a plain one when connected.
      socket.once("encrypted" in socket ? "secureConnect" : "connect", () => this.opened())
      this.connectDeadline = options.timers.now() + options.connectTimeout
      this.arm(this.connectDeadline)
    } else {
      queueMicrotask(() => this.opened())
    }
  }

  private opened(): void {
    if (this.state !== "connecting") return
    this.state = "open"
    this.options.onOpen?.(this)
    this.flush()
  }

  /** Sends a request whose reply is read and dropped (fire and forget, yet never desynchronizing). */
  send(slot: Slot): void {
    this.enqueue(slot)
  }

  /** Pushes a slot onto the pipeline, or the backlog when the pipeline is full. */
  enqueue(slot: Slot): void {
    if (this.state === "closed") {
      const done = slot.done
      slot.done = undefined
      done?.fail(this.closeError!)
      return
    }
    slot.server = this.options.server
    // The clock is read per request, not once per tick: a tick's microtasks can run for milliseconds
    // (many resumed fibers, a loaded machine), and a deadline counted from an earlier read would fire
    // early (the live FaultMatrix test caught a 60 ms timeout firing after 50 ms).
    slot.deadline = this.options.timers.now() + slot.timeout
    if (slot.deadline < this.timerAt) this.arm(slot.deadline)
    const size = slot.head.length + (slot.data?.length ?? 0)
    if (
      this.backlogHead === undefined &&
      (this.inFlight === 0 ||
        (this.inFlight < this.options.maxInFlight && this.inFlightBytes + size <= this.options.maxInFlightBytes))
    ) {
      this.write(slot, size)
      return
    }
    if (this.queued >= this.options.maxQueued) {
      const done = slot.done
      slot.done = undefined
      done?.fail(
        connectionError(
          "Overloaded",
          this.options.server,
          `${this.options.server}: ${this.queued} requests already queued`
        )
      )
      return
    }
    this.queued++
    if (this.backlogTail === undefined) this.backlogHead = slot
    else this.backlogTail.next = slot
    this.backlogTail = slot
  }

  private write(slot: Slot, size: number): void {
    this.inFlight++
    this.inFlightBytes += size
    if (this.tail === undefined) this.head = slot
    else this.tail.next = slot
    this.tail = slot
    const max = this.options.autoBatch ?? 0
    if (max > 0) {
      const command = batchCommand(slot)
      if (command !== undefined) {
        let g = this.group
        if (g === undefined || g.command !== command) {
          this.closeGroup()
          g = this.group = new Group(command)
        }
        g.slots.push(slot)
        g.keyBytes += slot.key.length + 1
        slot.group = g
        if (g.slots.length >= max || g.keyBytes > MAX_GROUP_LINE) {
          // A full batch goes out now: the server starts on it while this tick's later callers fill the next.
          this.closeGroup()
          this.flush()
        } else this.scheduleFlush()
        return
      }
    }
    if (this.group !== undefined) this.closeGroup()
    this.output.writeString(slot.head)
    if (slot.data !== undefined) {
      this.output.writeBytes(slot.data)
      this.output.writeString(CRLF)
    }
    if (this.output.length >= FLUSH_AT) this.flush()
    else this.scheduleFlush()
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true
      process.nextTick(this.flushBound)
    }
  }

  /** Writes the collected auto-batch as one command (a batch of one as its own line). */
  private closeGroup(): void {
    const g = this.group
    if (g === undefined) return
    this.group = undefined
    this.options.onBatch?.(g.slots.length)
    if (g.slots.length === 1) {
      const only = g.slots[0]!
      only.group = undefined
      this.output.writeString(only.head)
    } else {
      const keys = new Array<string>(g.slots.length)
      for (let i = 0; i < keys.length; i++) keys[i] = g.slots[i]!.key
      this.output.writeString(encodeGet(g.command, keys))
    }
  }

  /** Writes everything buffered, unless connecting, closed, or the socket asked us to wait. */
  flush(): void {
    this.flushScheduled = false
    if (this.state !== "open" || !this.writable) return
    if (this.group !== undefined) this.closeGroup()
    const parts = this.output.take()
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

  /**
   * The socket's `data` handler, guarded as a whole: anything thrown while parsing or completing
   * requests (a bug, a number a finisher could not take) becomes a protocol error on this connection,
   * which closes and fails every pending request typed. Nothing escapes into the event loop.
   */
  private onData(chunk: Buffer): void {
    if (this.state === "closed") return
    try {
      this.receive(chunk)
    } catch (cause) {
      this.close(
        protocolError(
          "Malformed",
          this.options.server,
          `${this.options.server}: reply could not be handled: ${
            cause instanceof Error ? cause.message : String(cause)
          }`
        )
      )
    }
  }

  private receive(chunk: Buffer): void {
    const replies = this.parser.push(chunk)
    if (replies.length > 0) this.options.onReply?.()
    for (let i = 0; i < replies.length; i++) {
      if (!this.dispatch(replies[i]!)) return
    }
    const error = this.parser.error
    if (error !== undefined) {
      this.close(protocolError(error.reason, this.options.server, error.message))
    }
  }

  /** Routes one reply to the slot at the head of the FIFO. Returns false when the connection closed. */
  private dispatch(reply: Reply): boolean {
    const slot = this.head
    if (slot === undefined) return this.unexpected(reply, "no request is waiting for a reply")
    if (slot.group !== undefined) return this.dispatchGroup(slot.group, reply)
    switch (slot.kind) {
      case SlotKind.Single:
        switch (reply._tag) {
          case "Value":
          case "End":
          case "Stat":
            return this.unexpected(reply, "a single status line was expected")
        }
        break
      case SlotKind.Values:
        switch (reply._tag) {
          case "Value": {
            if (!this.matchValue(slot, reply)) return this.unexpected(reply, "VALUE for a key that was not requested")
            if (slot.acc === undefined) slot.acc = [reply]
            else slot.acc.push(reply)
            return true
          }
          case "End":
          case "Error":
          case "ClientError":
          case "ServerError":
            break
          default:
            return this.unexpected(reply, "VALUE or END was expected")
        }
        break
      case SlotKind.Stats:
        switch (reply._tag) {
          case "Stat": {
            if (slot.acc === undefined) slot.acc = [reply]
            else slot.acc.push(reply)
            return true
          }
          case "End":
          case "Error":
          case "ClientError":
          case "ServerError":
            break
          default:
            return this.unexpected(reply, "STAT or END was expected")
        }
        break
      case SlotKind.Barrier:
        if (reply._tag !== "Meta" || reply.code !== "MN") {
          if (reply._tag === "Value" || reply._tag === "End" || reply._tag === "Stat") {
            return this.unexpected(reply, "a meta reply was expected")
          }
          if (slot.acc === undefined) slot.acc = [reply]
          else slot.acc.push(reply)
          return true
        }
        break
    }
    this.complete(slot, reply)
    return true
  }

  private dispatchGroup(g: Group, reply: Reply): boolean {
    switch (reply._tag) {
      case "Value": {
        const slots = g.slots
        for (let i = g.cursor; i < slots.length; i++) {
          const s = slots[i]!
          if (s.acc === undefined && reply.keyEquals(s.key)) {
            s.acc = [reply]
            g.cursor = i + 1
            return true
          }
        }
        return this.unexpected(reply, "VALUE for a key that was not requested")
      }
      case "End":
      case "Error":
      case "ClientError":
      case "ServerError": {
        const slots = g.slots
        for (let i = 0; i < slots.length; i++) {
          const s = slots[i]!
          if (this.head !== s) return this.unexpected(reply, "auto-batch out of order")
          s.group = undefined
          this.complete(s, reply, s.command.batchFinish ?? s.command.finish)
        }
        return true
      }
      default:
        return this.unexpected(reply, "VALUE or END was expected")
    }
  }

  private matchValue(slot: Slot, reply: Reply & { _tag: "Value" }): boolean {
    const keys = slot.keys
    if (keys === undefined) return slot.acc === undefined && reply.keyEquals(slot.key)
    // memcached answers hits in request order and omits misses.
    for (let i = slot.cursor; i < keys.length; i++) {
      if (reply.keyEquals(keys[i]!)) {
        slot.cursor = i + 1
        return true
      }
    }
    return false
  }

  private complete(slot: Slot, reply: Reply, finish = slot.command.finish): void {
    this.head = slot.next
    if (this.head === undefined) this.tail = undefined
    slot.next = undefined
    this.inFlight--
    this.inFlightBytes -= slot.head.length + (slot.data?.length ?? 0)
    // The reply is mapped even for an interrupted request: a reply that does not fit its request means
    // the stream is shifted, and the connection must close before the next reply reaches anyone.
    let result: unknown
    try {
      result = finish(slot, reply)
    } catch (cause) {
      // The slot is already unlinked: it must be completed here, or nothing would ever complete it.
      result = protocolError(
        "Malformed",
        this.options.server,
        `${this.options.server}: malformed reply: ${cause instanceof Error ? cause.message : String(cause)}`
      )
    }
    const done = slot.done
    slot.done = undefined
    if (result instanceof EngineError) {
      done?.fail(result)
      if (result.kind === "Protocol") {
        this.close(new EngineError("Protocol", result.reason, result.message, this.options.server))
        return
      }
    } else done?.succeed(result)
    if (this.backlogHead !== undefined) this.drainBacklog()
  }

  private drainBacklog(): void {
    while (this.backlogHead !== undefined && this.inFlight < this.options.maxInFlight) {
      const slot = this.backlogHead
      const size = slot.head.length + (slot.data?.length ?? 0)
      if (this.inFlight > 0 && this.inFlightBytes + size > this.options.maxInFlightBytes) break
      this.backlogHead = slot.next
      if (this.backlogHead === undefined) this.backlogTail = undefined
      slot.next = undefined
      this.queued--
      this.write(slot, size)
    }
  }

  private unexpected(reply: Reply, why: string): false {
    this.close(
      protocolError(
        "Unexpected",
        this.options.server,
        `${this.options.server}: unexpected ${reply._tag} reply (${why})`
      )
    )
    return false
  }

  private arm(at: number): void {
    this.cancelTimer?.()
    this.timerAt = at
    const delay = Math.max(0, at - this.options.timers.now())
    this.cancelTimer = this.options.timers.schedule(delay, () => this.onTimer())
  }

  private onTimer(): void {
    this.cancelTimer = undefined
    this.timerAt = Infinity
    if (this.state === "closed") return
    const now = this.options.timers.now()
    const server = this.options.server
    if (this.state === "connecting") {
      if (now >= this.connectDeadline) {
        this.close(
          connectionError("ConnectTimeout", server, `${server}: connect timed out`)
        )
        return
      }
      // A request whose own deadline passes while connecting fails alone with `Timeout`; the connection
      // attempt goes on for the others. Its slot stays (its bytes are already queued) and its reply will
      // be dropped; its deadline is cleared so it cannot close the connection once open.
      let nextAt = Math.min(this.connectDeadline, this.expireBacklog(now))
      for (let s = this.head; s !== undefined; s = s.next) {
        if (s.deadline <= now) {
          s.deadline = Infinity
          const done = s.done
          s.done = undefined
          done?.fail(connectionError("Timeout", server, `${server}: request timed out while connecting`))
        } else if (s.deadline < nextAt) nextAt = s.deadline
      }
      this.arm(nextAt)
      return
    }
    let next = Infinity
    for (let s = this.head; s !== undefined; s = s.next) {
      if (s.deadline <= now) {
        this.close(
          connectionError("Timeout", server, `${server}: request timed out`)
        )
        return
      }
      if (s.deadline < next) next = s.deadline
    }
    next = Math.min(next, this.expireBacklog(now))
    if (next !== Infinity) this.arm(next)
  }

  /**
   * Fails and unlinks the queued (never written) requests whose deadline has passed: nothing of them
   * is on the wire, so the connection stays in sync and the others go on. Returns the earliest
   * remaining deadline in the queue.
   */
  private expireBacklog(now: number): number {
    const server = this.options.server
    let next = Infinity
    let prev: Slot | undefined = undefined
    let s = this.backlogHead
    while (s !== undefined) {
      const following: Slot | undefined = s.next
      if (s.deadline <= now) {
        if (prev === undefined) this.backlogHead = following
        else prev.next = following
        if (this.backlogTail === s) this.backlogTail = prev
        s.next = undefined
        this.queued--
        const done = s.done
        s.done = undefined
        done?.fail(connectionError("Timeout", server, `${server}: request timed out in the queue`))
      } else {
        if (s.deadline < next) next = s.deadline
        prev = s
      }
      s = following
    }
    return next
  }

  /**
   * Closes the connection for good and fails every pending request: requests whose deadline has passed
   * fail with `Timeout`, the others with `error`.
   */
  close(error: EngineError): void {
    if (this.state === "closed") return
    this.state = "closed"
    this.closeError = error
    this.cancelTimer?.()
    this.cancelTimer = undefined
    this.output.clear()
    this.group = undefined
    const server = this.options.server
    const now = this.options.timers.now()
    const timeout = error.kind === "Connection" && error.reason === "Timeout"
    const others = timeout
      ? connectionError("Closed", server, `${server}: connection closed because another request timed out`)
      : error
    const fail = (s: Slot | undefined) => {
      while (s !== undefined) {
        const next = s.next
        s.next = undefined
        const done = s.done
        s.done = undefined
        done?.fail(timeout && s.deadline <= now ? error : others)
        s = next
      }
    }
    const inflight = this.head
    const backlog = this.backlogHead
    this.head =
      this.tail =
      this.backlogHead =
      this.backlogTail =
        undefined
    this.inFlight = this.queued = this.inFlightBytes = 0
    this.socket.destroy()
    fail(inflight)
    fail(backlog)
    this.options.onClose?.(this, error)
  }

  /** Closes gracefully: pending requests fail with `Closed`. */
  shutdown(): void {
    this.close(
      connectionError("Closed", this.options.server, `${this.options.server}: client closed`)
    )
  }
}
