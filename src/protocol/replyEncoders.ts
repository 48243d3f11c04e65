/**
 * Reply encoders of the server direction: the fixed reply lines, `VALUE` blocks, `STAT` lists and an
 * append-only {@link ReplyWriter} that batches a chunk's replies into one write.
 *
 * @since 0.2.0
 */
import { CR, LF } from "./bytes.js"

// ---------------------------------------------------------------------------------------------
// Reply encoders
// ---------------------------------------------------------------------------------------------

const line = (s: string): Buffer => Buffer.from(s + "\r\n", "latin1")

/**
 * The fixed reply lines, CRLF included.
 *
 * @since 0.1.0
 * @category constants
 */
export const Replies = {
  END: line("END"),
  STORED: line("STORED"),
  NOT_STORED: line("NOT_STORED"),
  EXISTS: line("EXISTS"),
  NOT_FOUND: line("NOT_FOUND"),
  DELETED: line("DELETED"),
  TOUCHED: line("TOUCHED"),
  OK: line("OK"),
  ERROR: line("ERROR"),
  RESET: line("RESET"),
  MN: line("MN"),
  HD: line("HD"),
  NS: line("NS"),
  EX: line("EX"),
  NF: line("NF"),
  EN: line("EN")
} as const

/**
 * Encodes `VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n` (without the final `END`).
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeValue = (key: string, flags: number, data: Uint8Array, cas?: bigint): Buffer => {
  const w = new ReplyWriter(key.length + data.length + 64)
  w.value(key, flags, data, cas)
  return w.take()
}

/**
 * Encodes an arbitrary reply line, adding CRLF: `encodeLine("CLIENT_ERROR bad data chunk")`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeLine = (text: string): Buffer => line(text)

/**
 * Encodes the reply to incr/decr: the new value in decimal.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeNumeric = (value: bigint): Buffer => line(value.toString())

/**
 * Encodes `VERSION <version>`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeVersion = (version: string): Buffer => line(`VERSION ${version}`)

/**
 * Encodes `CLIENT_ERROR <message>`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeClientError = (message: string): Buffer => line(`CLIENT_ERROR ${message}`)

/**
 * Encodes `SERVER_ERROR <message>`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeServerError = (message: string): Buffer => line(`SERVER_ERROR ${message}`)

/**
 * Encodes `STAT <name> <value>` lines followed by `END`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStats = (stats: ReadonlyArray<readonly [string, string | number | bigint]>): Buffer => {
  const w = new ReplyWriter(stats.length * 32 + 8)
  for (const [name, value] of stats) w.stat(name, value)
  w.raw(Replies.END)
  return w.take()
}

/**
 * An append-only output buffer for replies: the session writes every reply of a chunk of commands
 * into one, then sends it with a single write.
 *
 * @since 0.1.0
 * @category models
 */
export class ReplyWriter {
  private buf: Buffer
  private len = 0
  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialSize))
  }
  /** Bytes written so far. */
  get length(): number {
    return this.len
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }
  /** Appends raw bytes. */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.len)
    this.len += bytes.length
    return this
  }
  /** Appends `text` (latin1) and CRLF. */
  line(text: string): this {
    this.ensure(text.length + 2)
    this.len += this.buf.latin1Write(text, this.len)
    this.buf[this.len++] = CR
    this.buf[this.len++] = LF
    return this
  }
  /** Appends a `VALUE` header, the data block and CRLF. */
  value(key: string, flags: number, data: Uint8Array, cas?: bigint): this {
    this.line(
      cas === undefined ? `VALUE ${key} ${flags} ${data.length}` : `VALUE ${key} ${flags} ${data.length} ${cas}`
    )
    this.ensure(data.length + 2)
    this.buf.set(data, this.len)
    this.len += data.length
    this.buf[this.len++] = CR
    this.buf[this.len++] = LF
    return this
  }
  /** Appends `STAT <name> <value>`. */
  stat(name: string, value: string | number | bigint): this {
    return this.line(`STAT ${name} ${value}`)
  }
  /** Returns a copy of the bytes written and empties the writer. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len))
    this.len = 0
    return out
  }
}

declare global {
  interface Buffer {
    latin1Write(string: string, offset?: number, length?: number): number
  }
}

/**
 * Encodes a meta reply: `VA <bytes> <flag>*\r\n<data>\r\n` when `value` is given (code `VA`), else
 * `<code> <flag>*\r\n`. Flags are raw tokens (`"f0"`, `"c12"`, `"kfoo"`, `"W"`).
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeMetaReply = (
  code: "HD" | "VA" | "EN" | "NS" | "EX" | "NF" | "MN",
  flags: ReadonlyArray<string>,
  value?: Uint8Array
): Buffer => {
  const tail = flags.length === 0 ? "" : " " + flags.join(" ")
  if (value === undefined) return line(code + tail)
  const w = new ReplyWriter(value.length + tail.length + 32)
  w.line(`VA ${value.length}${tail}`)
  w.raw(value)
  w.raw(CRLF_BYTES)
  return w.take()
}

const CRLF_BYTES = Buffer.from("\r\n")
