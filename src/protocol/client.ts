/**
 * The sans-IO memcached codec, client direction: encoders for every text command and an incremental
 * parser for the replies of both the text and the meta protocol. Nothing here opens a socket, keeps
 * time or tracks which request a reply belongs to; bytes go in, typed replies come out. The server
 * direction (command parser, reply encoder) is `ServerProtocol`.
 *
 * Values are framed by their declared byte count (never by scanning for `END`), the CRLF after a value
 * is checked, and both the line length and the value size are bounded: a violation is terminal for the
 * parser and surfaces as a {@link ProtocolViolation} (the engine maps it to `MemcachedProtocolError`).
 *
 * @since 0.1.0
 */
import { ProtocolViolation } from "./errors.js"
import { CR, equalsAscii, LF, latin1, parseU64, parseUint, SP, toBuffer, utf8 } from "./bytes.js"

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

/**
 * A `VALUE <key> <flags> <bytes> [<cas>]` reply with its data block. The value is a zero-copy view of
 * the received bytes; the key is decoded only when read.
 *
 * @since 0.1.0
 * @category models
 */
export class ValueReply {
  readonly _tag = "Value" as const
  constructor(
    /** @internal */ readonly line: Buffer,
    /** @internal */ readonly keyStart: number,
    /** @internal */ readonly keyEnd: number,
    readonly flags: number,
    readonly value: Uint8Array,
    readonly cas: bigint | undefined
  ) {}
  /** The key, decoded as UTF-8. */
  get key(): string {
    return utf8(this.line, this.keyStart, this.keyEnd)
  }
  /** True when the key equals `key` (compared as UTF-8 bytes for ASCII keys, without decoding). */
  keyEquals(key: string): boolean {
    return equalsAscii(this.line, this.keyStart, this.keyEnd, key) || this.key === key
  }
}

/**
 * A meta-protocol reply: `HD`, `VA` (with its value), `EN`, `NS`, `EX`, `NF` or `MN`, with its return
 * flags kept as raw bytes and parsed on demand.
 *
 * @since 0.1.0
 * @category models
 */
export class MetaReply {
  readonly _tag = "Meta" as const
  constructor(
    readonly code: MetaCode,
    /** @internal */ readonly line: Buffer,
    /** @internal */ readonly flagsStart: number,
    /** @internal */ readonly flagsEnd: number,
    readonly value: Uint8Array | undefined
  ) {}
  /**
   * The token of return flag `flag` without its letter (`""` for a bare flag such as `W`), or
   * `undefined` when the flag is absent.
   */
  flag(flag: string): string | undefined {
    const code = flag.charCodeAt(0)
    const buf = this.line
    let i = this.flagsStart
    const end = this.flagsEnd
    while (i < end) {
      while (i < end && buf[i] === SP) i++
      const s = i
      while (i < end && buf[i] !== SP) i++
      if (i > s && buf[s] === code) return latin1(buf, s + 1, i)
    }
    return undefined
  }
  /** True when return flag `flag` is present. */
  has(flag: string): boolean {
    return this.flag(flag) !== undefined
  }
  /** The raw return flags, e.g. `"c123 t-1 f0"`. */
  get flags(): string {
    return latin1(this.line, this.flagsStart, this.flagsEnd)
  }
}

/**
 * The two-letter status codes of meta replies.
 *
 * @since 0.1.0
 * @category models
 */
export type MetaCode = "HD" | "VA" | "EN" | "NS" | "EX" | "NF" | "MN"

/**
 * Every reply the parser produces.
 *
 * @since 0.1.0
 * @category models
 */
export type Reply =
  | ValueReply
  | MetaReply
  | { readonly _tag: "End" }
  | { readonly _tag: "Stored" }
  | { readonly _tag: "NotStored" }
  | { readonly _tag: "Exists" }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Deleted" }
  | { readonly _tag: "Touched" }
  | { readonly _tag: "Ok" }
  | { readonly _tag: "Error"; readonly message: string }
  | { readonly _tag: "Numeric"; readonly value: bigint }
  | { readonly _tag: "Version"; readonly version: string }
  | { readonly _tag: "Stat"; readonly name: string; readonly value: string }
  | { readonly _tag: "MetaDebug"; readonly key: string; readonly fields: string }
  | { readonly _tag: "ClientError"; readonly message: string }
  | { readonly _tag: "ServerError"; readonly message: string }

/** @since 0.1.0 @category constants */
export const End: Reply = { _tag: "End" }
/** @since 0.1.0 @category constants */
export const Stored: Reply = { _tag: "Stored" }
/** @since 0.1.0 @category constants */
export const NotStored: Reply = { _tag: "NotStored" }
/** @since 0.1.0 @category constants */
export const Exists: Reply = { _tag: "Exists" }
/** @since 0.1.0 @category constants */
export const NotFound: Reply = { _tag: "NotFound" }
/** @since 0.1.0 @category constants */
export const Deleted: Reply = { _tag: "Deleted" }
/** @since 0.1.0 @category constants */
export const Touched: Reply = { _tag: "Touched" }
/** @since 0.1.0 @category constants */
export const Ok: Reply = { _tag: "Ok" }

// ---------------------------------------------------------------------------------------------
// Reply parser
// ---------------------------------------------------------------------------------------------

/**
 * Bounds that keep the parser's memory finite.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParserLimits {
  /** Longest reply line accepted, without CRLF. Default 8192. */
  readonly maxLineLength?: number | undefined
  /** Largest value accepted, in bytes. Default 128 MiB. */
  readonly maxValueSize?: number | undefined
}

/**
 * An incremental reply parser. Feed it the bytes from the socket in any split; it returns the replies
 * that are complete and keeps the rest. After a protocol violation `error` is set, the replies parsed
 * before the violation are still returned, and every later `push` returns nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplyParser {
  readonly push: (chunk: Uint8Array) => Array<Reply>
  /** The terminal protocol error, once one happened. */
  readonly error: ProtocolViolation | undefined
  /** Bytes held for an incomplete reply. */
  readonly buffered: number
}

const DEFAULT_MAX_LINE = 8192
const DEFAULT_MAX_VALUE = 128 * 1024 * 1024
const U32 = 0xffffffff

class ReplyParserImpl implements ReplyParser {
  error: ProtocolViolation | undefined = undefined
  private rest: Buffer | undefined = undefined
  // A value whose data block spans chunks: the line it came from and its parsed header.
  private pending: Buffer | undefined = undefined
  private pendingHave = 0
  private pendingMake: ((value: Buffer) => Reply) | undefined = undefined
  private readonly maxLine: number
  private readonly maxValue: number

  constructor(limits?: ParserLimits) {
    this.maxLine = limits?.maxLineLength ?? DEFAULT_MAX_LINE
    this.maxValue = limits?.maxValueSize ?? DEFAULT_MAX_VALUE
  }

  get buffered(): number {
    return (this.rest?.length ?? 0) + this.pendingHave
  }

  push(chunk: Uint8Array): Array<Reply> {
    const out: Array<Reply> = []
    if (this.error !== undefined) return out
    let buf = toBuffer(chunk)
    let pos = 0
    if (this.pending !== undefined) {
      const target = this.pending
      const n = Math.min(target.length - this.pendingHave, buf.length)
      buf.copy(target, this.pendingHave, 0, n)
      this.pendingHave += n
      pos = n
      if (this.pendingHave < target.length) return out
      const make = this.pendingMake!
      this.pending = undefined
      this.pendingMake = undefined
      this.pendingHave = 0
      const len = target.length - 2
      if (target[len] !== CR || target[len + 1] !== LF) {
        this.fail("Malformed", "value data block is not followed by CRLF")
        return out
      }
      out.push(make(target.subarray(0, len)))
    }
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, buf.subarray(pos)])
      this.rest = undefined
      pos = 0
    }
    const end = buf.length
    while (pos < end) {
      const eol = buf.indexOf(LF, pos)
      if (eol === -1) {
        if (end - pos > this.maxLine + 1) {
          this.fail("LineTooLong", `reply line longer than ${this.maxLine} bytes`)
          return out
        }
        this.rest = buf.subarray(pos)
        return out
      }
      if (eol - pos > this.maxLine + 1) {
        this.fail("LineTooLong", `reply line longer than ${this.maxLine} bytes`)
        return out
      }
      if (eol === pos || buf[eol - 1] !== CR) {
        this.fail("Malformed", "reply line does not end with CRLF")
        return out
      }
      const next = this.line(buf, pos, eol - 1, eol + 1, out)
      if (next < 0) return out
      pos = next
    }
    return out
  }

  private fail(reason: ProtocolViolation["reason"], message: string): -1 {
    this.error = new ProtocolViolation(reason, message)
    this.rest = undefined
    this.pending = undefined
    this.pendingMake = undefined
    return -1
  }

  /** Parses the line `buf[start, end)`; returns where the next reply starts, or -1 (error / need more). */
  private line(buf: Buffer, start: number, end: number, after: number, out: Array<Reply>): number {
    let te = start
    while (te < end && buf[te] !== SP) te++
    const tlen = te - start
    const c0 = buf[start]!
    if (tlen === 2) {
      const c1 = buf[start + 1]!
      const code = metaCode(c0, c1)
      if (code !== undefined) {
        if (code === "VA") return this.metaValue(buf, te, end, after, out)
        // The raw flags start after the separating space (`"c123 t-1"`, not `" c123 t-1"`).
        out.push(new MetaReply(code, buf, Math.min(te + 1, end), end, undefined))
        return after
      }
      if (c0 === 79 && c1 === 75 && te === end) { // OK
        out.push(Ok)
        return after
      }
      if (c0 === 77 && c1 === 69) { // ME <key> <k=v>*
        const ks = te + 1
        let ke = ks
        while (ke < end && buf[ke] !== SP) ke++
        out.push({ _tag: "MetaDebug", key: utf8(buf, ks, ke), fields: latin1(buf, Math.min(ke + 1, end), end) })
        return after
      }
    }
    if (c0 >= 48 && c0 <= 57) {
      const v = parseU64(buf, start, end)
      if (v < 0n) return this.fail("Malformed", "invalid numeric reply")
      out.push({ _tag: "Numeric", value: v })
      return after
    }
    switch (c0) {
      case 86: // V
        if (equalsAscii(buf, start, te, "VALUE")) return this.textValue(buf, te, end, after, out)
        if (equalsAscii(buf, start, te, "VERSION")) {
          out.push({ _tag: "Version", version: latin1(buf, Math.min(te + 1, end), end) })
          return after
        }
        break
      case 69: // E
        if (te === end) {
          if (equalsAscii(buf, start, end, "END")) {
            out.push(End)
            return after
          }
          if (equalsAscii(buf, start, end, "EXISTS")) {
            out.push(Exists)
            return after
          }
        }
        if (equalsAscii(buf, start, te, "ERROR")) {
          out.push({ _tag: "Error", message: latin1(buf, Math.min(te + 1, end), end) })
          return after
        }
        break
      case 83: // S
        if (te === end && equalsAscii(buf, start, end, "STORED")) {
          out.push(Stored)
          return after
        }
        if (equalsAscii(buf, start, te, "STAT")) {
          const ns = te + 1
          let ne = ns
          while (ne < end && buf[ne] !== SP) ne++
          if (ns >= end) return this.fail("Malformed", "STAT line without a name")
          out.push({ _tag: "Stat", name: latin1(buf, ns, ne), value: utf8(buf, Math.min(ne + 1, end), end) })
          return after
        }
        if (equalsAscii(buf, start, te, "SERVER_ERROR")) {
          out.push({ _tag: "ServerError", message: utf8(buf, Math.min(te + 1, end), end) })
          return after
        }
        break
      case 78: // N
        if (te === end) {
          if (equalsAscii(buf, start, end, "NOT_FOUND")) {
            out.push(NotFound)
            return after
          }
          if (equalsAscii(buf, start, end, "NOT_STORED")) {
            out.push(NotStored)
            return after
          }
        }
        break
      case 68: // D
        if (te === end && equalsAscii(buf, start, end, "DELETED")) {
          out.push(Deleted)
          return after
        }
        break
      case 84: // T
        if (te === end && equalsAscii(buf, start, end, "TOUCHED")) {
          out.push(Touched)
          return after
        }
        break
      case 67: // C
        if (equalsAscii(buf, start, te, "CLIENT_ERROR")) {
          out.push({ _tag: "ClientError", message: utf8(buf, Math.min(te + 1, end), end) })
          return after
        }
        break
    }
    return this.fail("Malformed", `unexpected reply line ${JSON.stringify(latin1(buf, start, Math.min(end, start + 64)))}`)
  }

  // VALUE <key> <flags> <bytes> [<cas unique>]
  private textValue(buf: Buffer, te: number, end: number, after: number, out: Array<Reply>): number {
    const ks = te + 1
    let ke = ks
    while (ke < end && buf[ke] !== SP) ke++
    const fs = ke + 1
    let fe = fs
    while (fe < end && buf[fe] !== SP) fe++
    const bs = fe + 1
    let be = bs
    while (be < end && buf[be] !== SP) be++
    if (ke === ks || fs >= end || bs >= end) return this.fail("Malformed", "VALUE line has too few fields")
    const flags = parseUint(buf, fs, fe, U32)
    if (flags < 0) return this.fail("Malformed", "VALUE line has invalid flags")
    const bytes = parseUint(buf, bs, be, Number.MAX_SAFE_INTEGER)
    if (bytes < 0) return this.fail("Malformed", "VALUE line has an invalid length")
    if (bytes > this.maxValue) return this.fail("ValueTooLarge", `value of ${bytes} bytes exceeds ${this.maxValue}`)
    let cas: bigint | undefined = undefined
    if (be < end) {
      const cs = be + 1
      let ce = cs
      while (ce < end && buf[ce] !== SP) ce++
      if (ce !== end) return this.fail("Malformed", "VALUE line has too many fields")
      cas = parseU64(buf, cs, ce)
      if (cas < 0n) return this.fail("Malformed", "VALUE line has an invalid CAS unique")
    }
    return this.data(buf, bytes, after, out, (value) => new ValueReply(buf, ks, ke, flags, value, cas))
  }

  // VA <size> <flags>*
  private metaValue(buf: Buffer, te: number, end: number, after: number, out: Array<Reply>): number {
    const ss = te + 1
    let se = ss
    while (se < end && buf[se] !== SP) se++
    const bytes = parseUint(buf, ss, se, Number.MAX_SAFE_INTEGER)
    if (bytes < 0) return this.fail("Malformed", "VA line has an invalid length")
    if (bytes > this.maxValue) return this.fail("ValueTooLarge", `value of ${bytes} bytes exceeds ${this.maxValue}`)
    const fs = Math.min(se + 1, end)
    return this.data(buf, bytes, after, out, (value) => new MetaReply("VA", buf, fs, end, value))
  }

  private data(
    buf: Buffer,
    bytes: number,
    after: number,
    out: Array<Reply>,
    make: (value: Buffer) => Reply
  ): number {
    const dataEnd = after + bytes
    if (dataEnd + 2 <= buf.length) {
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) {
        return this.fail("Malformed", "value data block is not followed by CRLF")
      }
      out.push(make(buf.subarray(after, dataEnd)))
      return dataEnd + 2
    }
    // The data block continues in later chunks: copy what we have into a buffer of the declared size.
    const target = Buffer.allocUnsafe(bytes + 2)
    const have = buf.length - after
    buf.copy(target, 0, after, buf.length)
    this.pending = target
    this.pendingHave = have
    this.pendingMake = make
    return -1
  }
}

const metaCode = (c0: number, c1: number): MetaCode | undefined => {
  switch (c0) {
    case 72: // H
      return c1 === 68 ? "HD" : undefined
    case 86: // V
      return c1 === 65 ? "VA" : undefined
    case 69: // E
      return c1 === 78 ? "EN" : c1 === 88 ? "EX" : undefined
    case 78: // N
      return c1 === 83 ? "NS" : c1 === 70 ? "NF" : undefined
    case 77: // M
      return c1 === 78 ? "MN" : undefined
  }
  return undefined
}

/**
 * Creates an incremental reply parser for the text and meta protocols.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReplyParser = (limits?: ParserLimits): ReplyParser => new ReplyParserImpl(limits)

// ---------------------------------------------------------------------------------------------
// Command encoders (text protocol)
// ---------------------------------------------------------------------------------------------

/**
 * The storage commands of the text protocol.
 *
 * @since 0.1.0
 * @category models
 */
export type StorageCommand = "set" | "add" | "replace" | "append" | "prepend" | "cas"

/**
 * The retrieval commands of the text protocol.
 *
 * @since 0.1.0
 * @category models
 */
export type RetrievalCommand = "get" | "gets"

const nr = (noreply: boolean | undefined): string => (noreply === true ? " noreply\r\n" : "\r\n")

/**
 * `get|gets <key>*`. Keys must already be valid.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeGet = (command: RetrievalCommand, keys: ReadonlyArray<string>): string =>
  keys.length === 1 ? `${command} ${keys[0]}\r\n` : `${command} ${keys.join(" ")}\r\n`

/**
 * `gat|gats <exptime> <key>*`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeGat = (command: "gat" | "gats", exptime: number, keys: ReadonlyArray<string>): string =>
  `${command} ${exptime} ${keys.join(" ")}\r\n`

/**
 * The header line of a storage command: `<cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply]`.
 * The data block and a CRLF must follow it.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStorageHeader = (
  command: StorageCommand,
  key: string,
  flags: number,
  exptime: number,
  bytes: number,
  cas?: bigint | undefined,
  noreply?: boolean | undefined
): string =>
  command === "cas"
    ? `cas ${key} ${flags} ${exptime} ${bytes} ${cas ?? 0n}${nr(noreply)}`
    : `${command} ${key} ${flags} ${exptime} ${bytes}${nr(noreply)}`

/**
 * `touch <key> <exptime> [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeTouch = (key: string, exptime: number, noreply?: boolean): string =>
  `touch ${key} ${exptime}${nr(noreply)}`

/**
 * `delete <key> [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeDelete = (key: string, noreply?: boolean): string => `delete ${key}${nr(noreply)}`

/**
 * `incr|decr <key> <delta> [noreply]`; the delta is an unsigned 64-bit integer.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeIncrDecr = (command: "incr" | "decr", key: string, delta: bigint, noreply?: boolean): string =>
  `${command} ${key} ${delta}${nr(noreply)}`

/**
 * `flush_all [delay] [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeFlushAll = (delay?: number, noreply?: boolean): string =>
  delay === undefined || delay === 0 ? `flush_all${nr(noreply)}` : `flush_all ${delay}${nr(noreply)}`

/**
 * `version`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeVersion = (): string => "version\r\n"

/**
 * `stats [<argument>]`, e.g. `stats settings`, `stats items`, `stats slabs`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStats = (argument?: string): string =>
  argument === undefined || argument === "" ? "stats\r\n" : `stats ${argument}\r\n`

/**
 * `verbosity <level> [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeVerbosity = (level: number, noreply?: boolean): string => `verbosity ${level}${nr(noreply)}`

/**
 * `quit`: the server closes the connection without replying.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeQuit = (): string => "quit\r\n"

/**
 * A full storage command as bytes (header, data block, CRLF); the connection writes the parts
 * without concatenating them, this is for tests and tools.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStorage = (
  command: StorageCommand,
  key: string,
  flags: number,
  exptime: number,
  data: Uint8Array,
  cas?: bigint | undefined,
  noreply?: boolean | undefined
): Buffer =>
  Buffer.concat([
    Buffer.from(encodeStorageHeader(command, key, flags, exptime, data.length, cas, noreply)),
    data,
    Buffer.from("\r\n")
  ])
