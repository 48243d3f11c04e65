/**
 * The sans-IO request pipeline of one connection, in the style of h11: a pure state machine with no
 * socket, no timer and no clock. It owns the FIFO of pending requests, the backlog of requests waiting
 * for room, auto-batching of single-key gets, the output buffer, reply parsing and deadlines. A driver
 * (`connection.ts`) feeds it: {@link Pipeline.submit} a request at time `now`,
 * {@link Pipeline.receive} the bytes read, {@link Pipeline.takeOutput} the bytes to write when
 * {@link Pipeline.want} says so, {@link Pipeline.expire} at time `now` (returns the next deadline), and
 * {@link Pipeline.fail} when the stream dies.
 *
 * Completions are delivered through each request's own {@link Completion} (its slot's `done`, called
 * once and cleared), so receiving replies allocates nothing per request beyond the parsed replies.
 *
 * Failure model: a request past its deadline while in flight closes the pipeline (its reply could
 * otherwise reach another request) and fails it `Timeout`, the others `Closed`. A reply that does not
 * fit, a malformed number, or anything thrown while handling replies closes the pipeline with a
 * `Protocol` error and fails every pending request with it. Once closed, the driver must close the
 * stream ({@link Pipeline.state} is `"closed"`, {@link Pipeline.closeError} says why).
 *
 * @since 0.1.0
 */
import { CRLF } from "../protocol/bytes.js"
import {
  encodeGet,
  keyBytesEqual,
  makeReplyParser,
  type ParserLimits,
  type Reply,
  type ReplyParser,
  type ReplySink,
  type ValueReply
} from "../protocol/client.js"
import { ReplyItem } from "../protocol/item.js"
import { FLUSH_AT, OutputBuffer } from "./output.js"
import { Group, type KeyedSlot, newList, type Slot, SlotKind } from "./slot.js"
import { connectionError, EngineError, protocolError } from "./types.js"

const MAX_GROUP_LINE = 8 * 1024
const NOT_REQUESTED = "VALUE for a key that was not requested"

/** "get" / "gets" when the slot is a single-key retrieval that may join an auto-batch. */
const batchCommand = (slot: Slot): "get" | "gets" | undefined =>
  slot.keys === undefined && slot.data === undefined ? slot.command.batch : undefined

const sizeOf = (slot: Slot): number => slot.head.length + (slot.data?.length ?? 0)

/**
 * What the pipeline wants from its driver about output: nothing new (`None`), a write before the end
 * of the tick (`Soon`: coalesce), or a write now (`Now`: 64 KiB buffered, or a full auto-batch).
 *
 * @since 0.1.0
 * @category models
 */
export const Want = { None: 0, Soon: 1, Now: 2 } as const

/**
 * One of the {@link Want} values.
 *
 * @since 0.1.0
 * @category models
 */
export type Want = typeof Want[keyof typeof Want]

/**
 * Options of one pipeline.
 *
 * @since 0.1.0
 * @category models
 */
export interface PipelineOptions {
  /** The server's label, used in errors. */
  readonly server: string
  readonly maxInFlight: number
  readonly maxInFlightBytes: number
  readonly maxQueued: number
  /**
   * Most keys merged into one auto-batched get (0 disables auto-batching). A batch that reaches it is
   * closed and later callers of the same tick join the next: the tick's write carries several batches,
   * all in flight at once.
   */
  readonly autoBatch?: number | undefined
  readonly limits?: ParserLimits | undefined
  /** Called with the number of gets of each auto-batch written (telemetry; absent: nothing is called). */
  readonly onBatch?: ((size: number) => void) | undefined
}

/**
 * The request pipeline of one connection. Never throws.
 *
 * @since 0.1.0
 * @category models
 */
export class Pipeline implements ReplySink {
  /** "connecting" until {@link Pipeline.open}, "open", then "closed" for good. */
  state: "connecting" | "open" | "closed" = "connecting"
  /** Why the pipeline closed. */
  closeError: EngineError | undefined = undefined
  /** Requests written and not yet answered. */
  inFlight = 0
  /** Requests waiting for room in the pipeline. */
  queued = 0
  /** What the driver should do about output; back to `None` when it takes the output. */
  want: Want = Want.None
  private head: Slot | undefined = undefined
  private tail: Slot | undefined = undefined
  private backlogHead: Slot | undefined = undefined
  private backlogTail: Slot | undefined = undefined
  private inFlightBytes = 0
  private readonly parser: ReplyParser
  /** The auto-batch being collected; written out before any other command and when output is taken. */
  private group: Group | undefined = undefined
  private readonly output = new OutputBuffer()
  /** Replies framed by the current {@link Pipeline.receive}. */
  private framed = 0

  /**
   * @param connectDeadline when the stream must be open (`Infinity`: no connect deadline); while
   * connecting, {@link Pipeline.expire} fails past it with `ConnectTimeout`.
   */
  constructor(readonly options: PipelineOptions, readonly connectDeadline = Infinity) {
    this.parser = makeReplyParser(options.limits)
  }

  /** True once closed (a method, so that a check after a call that may close is not narrowed away). */
  closed(): boolean {
    return this.state === "closed"
  }

  /** The stream is open: output may now be written (and in-flight deadlines close the pipeline). */
  open(): void {
    if (this.state === "connecting") this.state = "open"
  }

  /**
   * Takes a request at time `now`: sets its deadline (`now + slot.timeout`) and appends it to the
   * pipeline, or to the backlog when the pipeline is full. Returns false when the request failed at
   * once (through its completion): the pipeline is closed (with its close error), or the backlog is
   * full (`Overloaded`). Then read {@link Pipeline.want}.
   */
  submit(slot: Slot, now: number): boolean {
    if (this.state === "closed") {
      const done = slot.done
      slot.done = undefined
      done?.fail(this.closeError!)
      return false
    }
    slot.server = this.options.server
    slot.deadline = now + slot.timeout
    const size = sizeOf(slot)
    if (
      this.backlogHead === undefined &&
      (this.inFlight === 0 ||
        (this.inFlight < this.options.maxInFlight && this.inFlightBytes + size <= this.options.maxInFlightBytes))
    ) {
      this.write(slot, size)
      return true
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
      return false
    }
    this.queued++
    if (this.backlogTail === undefined) this.backlogHead = slot
    else this.backlogTail.next = slot
    this.backlogTail = slot
    return true
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
          // A full batch is closed, and this tick's later callers fill the next: the batches go out together
          // in the tick's one write, pipelined. (Writing each full batch at once, for the server to start on
          // it sooner, measured ~10% fewer gets/s at 1 000 in flight: a socket write and a reply chunk per
          // batch instead of per tick.)
          this.closeGroup()
          if (this.output.length >= FLUSH_AT) this.want = Want.Now
          else if (this.want === Want.None) this.want = Want.Soon
        } else if (this.want === Want.None) this.want = Want.Soon
        return
      }
    }
    if (this.group !== undefined) this.closeGroup()
    this.output.writeString(slot.head)
    if (slot.data !== undefined) {
      this.output.writeBytes(slot.data)
      this.output.writeString(CRLF)
    }
    if (this.output.length >= FLUSH_AT) this.want = Want.Now
    else if (this.want === Want.None) this.want = Want.Soon
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

  /**
   * Everything to write, in order (the auto-batch being collected is closed first): one `Buffer`,
   * several chunks (write them corked), or `undefined` when there is nothing. Resets
   * {@link Pipeline.want}. The driver calls it only while the stream is open and writable.
   */
  takeOutput(): Buffer | Array<Uint8Array> | undefined {
    this.want = Want.None
    if (this.group !== undefined) this.closeGroup()
    return this.output.take()
  }

  /**
   * Feeds bytes read from the stream. Replies complete requests in FIFO order through their
   * completions; a reply that does not fit, a malformed number, or anything thrown closes the pipeline
   * with a `Protocol` error that fails every pending request. Returns the number of replies framed
   * (0 when the pipeline is closed). Requests moved from the backlog may set {@link Pipeline.want}.
   */
  receive(chunk: Uint8Array): number {
    if (this.state === "closed") return 0
    this.framed = 0
    try {
      // Each reply is dispatched as soon as it is framed (see push and value): no list per chunk.
      this.parser.feed(chunk, this)
    } catch (cause) {
      this.fail(
        protocolError(
          "Malformed",
          this.options.server,
          `${this.options.server}: reply could not be handled: ${
            cause instanceof Error ? cause.message : String(cause)
          }`
        )
      )
      return this.framed
    }
    const error = this.parser.error
    if (error !== undefined && !this.closed()) {
      this.fail(protocolError(error.reason, this.options.server, error.message))
    }
    return this.framed
  }

  /** The parser's sink (during {@link Pipeline.receive} only): one framed reply. */
  push(reply: Reply): void {
    this.framed++
    if (!this.closed()) this.dispatch(reply)
  }

  /**
   * The parser's sink (during {@link Pipeline.receive} only): a text `VALUE` as its fields, taken
   * without a {@link ValueReply} when it is the next hit the head expects: one of a multi-key get's keys,
   * one of an auto-batch's, or a single-key retrieval's key (first hit). Anything else returns false and
   * comes back through `push`, where it closes the pipeline.
   */
  value(
    buf: Buffer,
    keyStart: number,
    keyEnd: number,
    flags: number,
    value: Uint8Array,
    cas: bigint | undefined
  ): boolean {
    const slot = this.head
    if (slot === undefined || this.closed()) return false
    const g = slot.group
    if (g !== undefined) {
      const i = groupIndex(g, buf, keyStart, keyEnd)
      if (i < 0) return false
      g.slots[i]!.hit = new ReplyItem(value, flags, cas)
      this.framed++
      return true
    }
    if (slot.kind !== SlotKind.Values) return false
    if (slot.keys === undefined) {
      if (slot.hit !== undefined || !keyBytesEqual(buf, keyStart, keyEnd, slot.key)) return false
      slot.hit = new ReplyItem(value, flags, cas)
      this.framed++
      return true
    }
    const i = keyIndex(slot, slot.keys, buf, keyStart, keyEnd)
    if (i < 0) return false
    this.framed++
    ;(slot as KeyedSlot).found(i, value, flags, cas)
    return true
  }

  /** Routes one reply to the slot at the head of the FIFO (the pipeline may close). */
  private dispatch(reply: Reply): void {
    const slot = this.head
    if (slot === undefined) return this.unexpected(reply, "no request is waiting for a reply")
    if (slot.group !== undefined) return this.dispatchGroup(slot.group, reply)
    switch (slot.kind) {
      case SlotKind.Single:
        switch (reply._tag) {
          case "Value":
          case "End":
          case "Stat":
          case "Config":
            return this.unexpected(reply, "a single status line was expected")
        }
        break
      case SlotKind.Values:
        switch (reply._tag) {
          case "Value":
            return this.valueReply(slot, reply)
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
          case "Stat":
          case "Config":
            return collect(slot, reply)
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
          return collect(slot, reply)
        }
        break
    }
    this.complete(slot, reply)
  }

  /**
   * A `VALUE` for a retrieval slot: a single-key slot keeps it until `END`, a multi-key one takes it
   * as soon as its key is matched. A key that was not requested (or a second VALUE for a single key)
   * means replies and requests are out of step: the pipeline closes.
   */
  private valueReply(slot: Slot, reply: ValueReply): void {
    const keys = slot.keys
    if (keys === undefined) {
      if (slot.hit !== undefined || !reply.keyEquals(slot.key)) return this.unexpected(reply, NOT_REQUESTED)
      slot.hit = new ReplyItem(reply.value, reply.flags, reply.cas)
      return
    }
    const i = keyIndex(slot, keys, reply.line, reply.keyStart, reply.keyEnd)
    if (i < 0) return this.unexpected(reply, NOT_REQUESTED)
    return (slot as KeyedSlot).found(i, reply.value, reply.flags, reply.cas)
  }

  private dispatchGroup(g: Group, reply: Reply): void {
    switch (reply._tag) {
      case "Value": {
        const i = groupIndex(g, reply.line, reply.keyStart, reply.keyEnd)
        if (i < 0) return this.unexpected(reply, NOT_REQUESTED)
        g.slots[i]!.hit = new ReplyItem(reply.value, reply.flags, reply.cas)
        return
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
        return
      }
      default:
        return this.unexpected(reply, "VALUE or END was expected")
    }
  }

  private complete(slot: Slot, reply: Reply, finish = slot.command.finish): void {
    this.head = slot.next
    if (this.head === undefined) this.tail = undefined
    slot.next = undefined
    this.inFlight--
    this.inFlightBytes -= sizeOf(slot)
    // The reply is mapped even for an interrupted request: a reply that does not fit its request means
    // the stream is shifted, and the pipeline must close before the next reply reaches anyone.
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
        this.fail(new EngineError("Protocol", result.reason, result.message, this.options.server))
        return
      }
    } else done?.succeed(result)
    if (this.backlogHead !== undefined && !this.closed()) this.drainBacklog()
  }

  private drainBacklog(): void {
    while (this.backlogHead !== undefined && this.inFlight < this.options.maxInFlight) {
      const slot = this.backlogHead
      const size = sizeOf(slot)
      if (this.inFlight > 0 && this.inFlightBytes + size > this.options.maxInFlightBytes) break
      this.backlogHead = slot.next
      if (this.backlogHead === undefined) this.backlogTail = undefined
      slot.next = undefined
      this.queued--
      this.write(slot, size)
    }
  }

  private unexpected(reply: Reply, why: string): void {
    this.fail(
      protocolError(
        "Unexpected",
        this.options.server,
        `${this.options.server}: unexpected ${reply._tag} reply (${why})`
      )
    )
  }

  /**
   * Checks deadlines at time `now` and returns the next one to wake up at (`Infinity`: none).
   *
   * - Past the connect deadline while connecting: the pipeline closes, every request fails
   *   `ConnectTimeout`.
   * - A request past its deadline while connecting fails alone with `Timeout` (its bytes stay queued
   *   and its reply will be dropped; its deadline is cleared so it cannot close the pipeline later).
   * - A written request past its deadline once open closes the pipeline: it fails `Timeout`, the
   *   others `Closed`.
   * - A request of the backlog (nothing of it written) past its deadline fails alone with `Timeout`.
   */
  expire(now: number): number {
    if (this.state === "closed") return Infinity
    const server = this.options.server
    if (this.state === "connecting") {
      if (now >= this.connectDeadline) {
        this.fail(connectionError("ConnectTimeout", server, `${server}: connect timed out`))
        return Infinity
      }
      let nextAt = Math.min(this.connectDeadline, this.expireBacklog(now))
      for (let s = this.head; s !== undefined; s = s.next) {
        if (s.deadline <= now) {
          s.deadline = Infinity
          const done = s.done
          s.done = undefined
          done?.fail(connectionError("Timeout", server, `${server}: request timed out while connecting`))
        } else if (s.deadline < nextAt) nextAt = s.deadline
      }
      return nextAt
    }
    let next = Infinity
    for (let s = this.head; s !== undefined; s = s.next) {
      if (s.deadline <= now) {
        this.fail(connectionError("Timeout", server, `${server}: request timed out`), now)
        return Infinity
      }
      if (s.deadline < next) next = s.deadline
    }
    return Math.min(next, this.expireBacklog(now))
  }

  /**
   * Fails and unlinks the queued (never written) requests whose deadline has passed: nothing of them
   * is on the wire, so the stream stays in sync and the others go on. Returns the earliest remaining
   * deadline in the queue.
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
   * Closes the pipeline for good and fails every pending request, written or queued, with `error`;
   * when `error` is a `Timeout`, requests whose deadline has passed at `now` fail with it and the
   * others with `Closed`. Drops the output. Returns false when it was already closed.
   */
  fail(error: EngineError, now = Infinity): boolean {
    if (this.state === "closed") return false
    this.state = "closed"
    this.closeError = error
    this.want = Want.None
    this.output.clear()
    this.group = undefined
    const server = this.options.server
    const timeout = error.kind === "Connection" && error.reason === "Timeout"
    const others = timeout
      ? connectionError("Closed", server, `${server}: connection closed because another request timed out`)
      : error
    const inflight = this.head
    const backlog = this.backlogHead
    this.head =
      this.tail =
      this.backlogHead =
      this.backlogTail =
        undefined
    this.inFlight = this.queued = this.inFlightBytes = 0
    failAll(inflight, timeout ? error : others, others, now)
    failAll(backlog, timeout ? error : others, others, now)
    return true
  }
}

/**
 * Adds a reply to the collected replies of a multi-reply slot (multi-key Values, Stats, Barrier; a
 * single-key retrieval keeps its one VALUE in `hit`, no list), made by {@link newList}, not a
 * `[reply]` literal (see protocol/item.ts).
 */
const collect = (slot: Slot, reply: Reply): void => {
  const acc = slot.acc ?? (slot.acc = newList())
  acc.push(reply)
}

/**
 * The index of the requested key that `buf[start, end)` (a `VALUE`'s key) is, searched from the slot's
 * cursor (memcached answers hits in request order and omits misses), moving the cursor past it; -1 when
 * none is.
 */
const keyIndex = (slot: Slot, keys: ReadonlyArray<string>, buf: Buffer, start: number, end: number): number => {
  for (let i = slot.cursor; i < keys.length; i++) {
    if (keyBytesEqual(buf, start, end, keys[i]!)) {
      slot.cursor = i + 1
      return i
    }
  }
  return -1
}

/**
 * The index of the next slot of auto-batch `g` (from its cursor, without a hit yet) whose key is the
 * UTF-8 in `buf[start, end)`, moving the cursor past it; -1 when none (a key not asked, or out of order).
 */
const groupIndex = (g: Group, buf: Buffer, start: number, end: number): number => {
  const slots = g.slots
  for (let i = g.cursor; i < slots.length; i++) {
    const s = slots[i]!
    if (s.hit === undefined && keyBytesEqual(buf, start, end, s.key)) {
      g.cursor = i + 1
      return i
    }
  }
  return -1
}

/** Fails a detached list of slots: those past their deadline at `now` with `late`, the others with `others`. */
const failAll = (s: Slot | undefined, late: EngineError, others: EngineError, now: number): void => {
  while (s !== undefined) {
    const next = s.next
    s.next = undefined
    const done = s.done
    s.done = undefined
    done?.fail(s.deadline <= now ? late : others)
    s = next
  }
}
