/**
 * The one incremental framer under both parsers (replies in `client.ts`, commands in `server.ts`).
 * It owns everything about *where* a message ends: finding line ends with `Buffer.indexOf`, the
 * bound on a line, data blocks framed by their declared length (never by scanning), the CRLF after
 * a data block, blocks that span chunks, skipping a block too large to keep, and the bytes held
 * between chunks. A subclass says what a line *means* ({@link Framer.line}) and how a violation is
 * answered (the reply parser stops with a `ProtocolViolation`, the command parser answers and carries
 * on like memcached).
 *
 * @since 0.2.0
 */
import { CR, LF, toBuffer } from "./bytes.js"

/** {@link Framer.blockEnd}: the block is complete but its data is not followed by CRLF. @since 0.2.0 @category constants */
export const BLOCK_BAD_END = -2

/** {@link Framer.blockEnd}: the block continues in later chunks. @since 0.2.0 @category constants */
export const BLOCK_PENDING = -1

/**
 * Where a framer puts the messages it completes, in order: an array (`push`), or a consumer that takes
 * each one as soon as it is framed (`feed`), so that nothing is collected per chunk.
 *
 * @since 0.2.0
 * @category models
 */
export interface Sink<T> {
  push(message: T): unknown
}

/**
 * How a framer treats lines.
 *
 * @since 0.2.0
 * @category models
 */
export interface FramerOptions {
  /** Longest line accepted, LF excluded (a longer complete line calls {@link Framer.lineTooLong}). */
  readonly lineBound: number
  /** True: a line must end with CRLF (else {@link Framer.badLineEnd}); false: a bare LF also ends one. */
  readonly strictCrlf: boolean
  /** True: a partial line is copied when held, so a few bytes never pin a large chunk. */
  readonly copyHeld: boolean
}

/**
 * Base class of the incremental parsers: `push` bytes in any split, get the complete messages back.
 * Subclasses must not throw; the framer never does.
 *
 * @since 0.2.0
 * @category models
 */
export abstract class Framer<T> {
  /** True once the parser accepts nothing more (a violation, or a fatal command). */
  protected stopped = false
  private held: Buffer | undefined = undefined
  // A data block that spans chunks: its buffer (declared size + CRLF), how much arrived, and what
  // to emit when it is complete (`bad` when its CRLF is wrong, or `badBlockEnd()` when undefined).
  private pending: Buffer | undefined = undefined
  private pendingHave = 0
  private pendingMake: ((data: Buffer) => T) | undefined = undefined
  private pendingBad: T | undefined = undefined
  // A data block being discarded, and the message to emit once it is gone.
  private skipLeft = 0
  private skipped: T | undefined = undefined
  private readonly lineBound: number
  private readonly strictCrlf: boolean
  private readonly copyHeld: boolean

  constructor(options: FramerOptions) {
    this.lineBound = options.lineBound
    this.strictCrlf = options.strictCrlf
    this.copyHeld = options.copyHeld
    // `push` and `feed` are function properties in the parser interfaces: they work detached from their parser.
    this.push = this.push.bind(this)
    this.feed = this.feed.bind(this)
  }

  /** Bytes held for an incomplete message (a skipped block is not held). */
  get buffered(): number {
    return (this.held?.length ?? 0) + this.pendingHave
  }

  /** Feeds bytes; returns the messages they complete. Never throws. */
  push(chunk: Uint8Array): Array<T> {
    const out: Array<T> = []
    this.feed(chunk, out)
    return out
  }

  /**
   * Feeds bytes; each message they complete goes to `out` as soon as it is framed. Throws only what
   * `out` throws (then the framer's state is undefined: its owner must drop it).
   */
  feed(chunk: Uint8Array, out: Sink<T>): void {
    if (this.stopped) return
    let buf = toBuffer(chunk)
    let pos = 0
    if (this.skipLeft > 0) {
      const n = Math.min(this.skipLeft, buf.length)
      this.skipLeft -= n
      pos = n
      if (this.skipLeft > 0) return
      out.push(this.skipped!)
      this.skipped = undefined
    }
    if (this.pending !== undefined) {
      pos = this.fillPending(buf, pos, out)
      if (pos < 0) return
    }
    if (this.held !== undefined) {
      buf = Buffer.concat([this.held, buf.subarray(pos)])
      this.held = undefined
      pos = 0
    }
    const end = buf.length
    while (pos < end) {
      const eol = buf.indexOf(LF, pos)
      if (eol === -1) {
        if (this.partialLine(buf, pos, end, out)) {
          this.held = this.copyHeld ? Buffer.from(buf.subarray(pos, end)) : buf.subarray(pos, end)
        }
        return
      }
      if (eol - pos > this.lineBound) {
        this.lineTooLong(out)
        return
      }
      let lineEnd = eol
      if (eol > pos && buf[eol - 1] === CR) lineEnd = eol - 1
      else if (this.strictCrlf) {
        this.badLineEnd(out)
        return
      }
      pos = this.line(buf, pos, lineEnd, eol + 1, out)
      if (pos < 0 || this.stopped) return
    }
  }

  /** Continues a block that spans chunks; returns where the bytes after it start, or -1 (need more / stopped). */
  private fillPending(buf: Buffer, pos: number, out: Sink<T>): number {
    const target = this.pending!
    const n = Math.min(target.length - this.pendingHave, buf.length - pos)
    buf.copy(target, this.pendingHave, pos, pos + n)
    this.pendingHave += n
    if (this.pendingHave < target.length) return -1
    const make = this.pendingMake!
    const bad = this.pendingBad
    this.pending = undefined
    this.pendingMake = undefined
    this.pendingBad = undefined
    this.pendingHave = 0
    const len = target.length - 2
    if (target[len] === CR && target[len + 1] === LF) out.push(make(target.subarray(0, len)))
    else if (bad !== undefined) out.push(bad)
    else {
      this.badBlockEnd(out)
      return -1
    }
    return this.stopped ? -1 : pos + n
  }

  /**
   * Frames the data block of `bytes` bytes plus CRLF that starts at `after`. Returns the index after
   * its CRLF when it is all in `buf` and well terminated (the data is `buf[after, after + bytes)`),
   * {@link BLOCK_BAD_END} when it is all there but not followed by CRLF (the next message starts at
   * `after + bytes + 2`, as memcached reads exactly that many bytes), or {@link BLOCK_PENDING} when
   * it continues: the caller then calls {@link Framer.hold}.
   */
  protected blockEnd(buf: Buffer, bytes: number, after: number): number {
    const dataEnd = after + bytes
    if (dataEnd + 2 > buf.length) return BLOCK_PENDING
    return buf[dataEnd] === CR && buf[dataEnd + 1] === LF ? dataEnd + 2 : BLOCK_BAD_END
  }

  /**
   * Keeps the incomplete block that starts at `after` (copied into a buffer of its declared size);
   * once complete, `make(data)` is emitted, or `bad` (when given) if the CRLF is wrong, else
   * {@link Framer.badBlockEnd} is called. Returns -1 (nothing more in this chunk).
   */
  protected hold(buf: Buffer, bytes: number, after: number, make: (data: Buffer) => T, bad: T | undefined): -1 {
    const target = Buffer.allocUnsafe(bytes + 2)
    buf.copy(target, 0, after, buf.length)
    this.pending = target
    this.pendingHave = buf.length - after
    this.pendingMake = make
    this.pendingBad = bad
    return -1
  }

  /**
   * Discards `bytes` bytes from `after` (possibly spanning chunks) and then emits `message`. Returns
   * where the next message starts, or -1 when the skip continues in later chunks.
   */
  protected skip(buf: Buffer, bytes: number, after: number, message: T, out: Sink<T>): number {
    const avail = buf.length - after
    if (avail >= bytes) {
      out.push(message)
      return after + bytes
    }
    this.skipLeft = bytes - avail
    this.skipped = message
    return -1
  }

  /** Stops the parser for good and drops everything held. */
  protected stop(): void {
    this.stopped = true
    this.held = undefined
    this.pending = undefined
    this.pendingMake = undefined
    this.pendingBad = undefined
    this.pendingHave = 0
    this.skipLeft = 0
    this.skipped = undefined
  }

  /**
   * Handles the line `buf[start, end)` (line end excluded); `after` is where the next message starts.
   * Returns where parsing continues (after a data block, possibly), or -1 to stop for this chunk.
   */
  protected abstract line(buf: Buffer, start: number, end: number, after: number, out: Sink<T>): number
  /** `buf[pos, end)` holds no line end yet: true to hold it for the next chunk, false after stopping. */
  protected abstract partialLine(buf: Buffer, pos: number, end: number, out: Sink<T>): boolean
  /** A complete line beyond the bound. The subclass must stop. */
  protected abstract lineTooLong(out: Sink<T>): void
  /** With `strictCrlf`, a line ended by a bare LF. The subclass must stop. */
  protected abstract badLineEnd(out: Sink<T>): void
  /** A held block whose data was not followed by CRLF and that has no `bad` message. The subclass must stop. */
  protected abstract badBlockEnd(out: Sink<T>): void
}
