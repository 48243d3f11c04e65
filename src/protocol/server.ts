/**
 * The sans-IO memcached codec, server direction: an incremental parser for the commands of the text
 * protocol (and the meta protocol's `mg`/`ms`/`md`/`ma`/`mn`/`me`) and encoders for the replies.
 * The client direction is `Protocol`.
 *
 * Malformed input is not an exception: it becomes an {@link InvalidCommand} carrying the exact error
 * line memcached 1.6 sends for it, so a server answers it and carries on, as memcached does. Only an
 * unbounded line ends the connection ({@link FatalCommand}). Data blocks are framed by their declared
 * length, the CRLF after them is checked, and buffering is bounded by the line limit and the item
 * size limit (larger values are swallowed without being buffered).
 *
 * Keys are decoded as latin1, one char per byte, so any byte sequence round-trips exactly.
 *
 * @since 0.1.0
 */
import type { StorageCommand } from "./client.js"
import { CR, EMPTY, LF, SP, toBuffer, tokenize, U64_MAX } from "./bytes.js"

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/**
 * `get|gets|gat|gats [<exptime>] <key>*`. `exptime` is 0 for get/gets.
 *
 * @since 0.1.0
 * @category models
 */
export interface GetCommand {
  readonly _tag: "Get"
  readonly command: "get" | "gets" | "gat" | "gats"
  readonly keys: ReadonlyArray<string>
  readonly exptime: number
}

/**
 * A storage command with its data block. `tooLarge` is set when the declared length exceeded the
 * item size limit: the data was swallowed (and `data` is empty) and the server must answer
 * `SERVER_ERROR object too large for cache`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreCommand {
  readonly _tag: "Store"
  readonly command: StorageCommand
  readonly key: string
  readonly flags: number
  readonly exptime: number
  /** The compare-and-swap unique of `cas`; 0n for the other commands. */
  readonly cas: bigint
  readonly data: Buffer
  readonly noreply: boolean
  readonly tooLarge: boolean
}

/**
 * `touch <key> <exptime> [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TouchCommand {
  readonly _tag: "Touch"
  readonly key: string
  readonly exptime: number
  readonly noreply: boolean
}

/**
 * `delete <key> [0] [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeleteCommand {
  readonly _tag: "Delete"
  readonly key: string
  readonly noreply: boolean
}

/**
 * `incr|decr <key> <delta> [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArithmeticCommand {
  readonly _tag: "Arithmetic"
  readonly command: "incr" | "decr"
  readonly key: string
  readonly delta: bigint
  readonly noreply: boolean
}

/**
 * `flush_all [<delay>] [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FlushAllCommand {
  readonly _tag: "FlushAll"
  readonly delay: number
  readonly noreply: boolean
}

/**
 * `verbosity <level> [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerbosityCommand {
  readonly _tag: "Verbosity"
  readonly level: number
  readonly noreply: boolean
}

/**
 * `stats [<argument>*]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StatsCommand {
  readonly _tag: "Stats"
  readonly args: ReadonlyArray<string>
}

/**
 * The meta commands.
 *
 * @since 0.1.0
 * @category models
 */
export type MetaCommandName = "mg" | "ms" | "md" | "ma" | "mn" | "me"

/**
 * A meta command: `<cmd> <key> <flag>*`, `ms <key> <datalen> <flag>*` with its data block, or `mn`
 * (empty key). Flags are kept as raw tokens (`"v"`, `"T30"`, `"Oopaque"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaCommand {
  readonly _tag: "Meta"
  readonly command: MetaCommandName
  readonly key: string
  readonly flags: ReadonlyArray<string>
  /** The data block of `ms`. */
  readonly data: Buffer | undefined
}

/**
 * Input the server must answer with an error line and otherwise ignore. `reply` is the line without
 * CRLF (`ERROR`, `CLIENT_ERROR bad command line format`, …); memcached suppresses it when the
 * command carried `noreply`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidCommand {
  readonly _tag: "Invalid"
  readonly reply: string
  readonly noreply: boolean
}

/**
 * The input can not be framed any more (a line without an end beyond the bound). The server sends
 * `reply` if present and closes the connection; the parser accepts nothing after it.
 *
 * @since 0.1.0
 * @category models
 */
export interface FatalCommand {
  readonly _tag: "Fatal"
  readonly reply: string | undefined
}

/**
 * Every command the parser produces.
 *
 * @since 0.1.0
 * @category models
 */
export type Command =
  | GetCommand
  | StoreCommand
  | TouchCommand
  | DeleteCommand
  | ArithmeticCommand
  | FlushAllCommand
  | VerbosityCommand
  | StatsCommand
  | { readonly _tag: "Version" }
  | { readonly _tag: "Quit" }
  | MetaCommand
  | InvalidCommand
  | FatalCommand

/**
 * The error lines memcached sends for malformed input.
 *
 * @since 0.1.0
 * @category constants
 */
export const ErrorLines = {
  unknownCommand: "ERROR",
  badFormat: "CLIENT_ERROR bad command line format",
  badDataChunk: "CLIENT_ERROR bad data chunk",
  badDelete: "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
  invalidExptime: "CLIENT_ERROR invalid exptime argument",
  invalidDelta: "CLIENT_ERROR invalid numeric delta argument",
  nonNumeric: "CLIENT_ERROR cannot increment or decrement non-numeric value",
  lineTooLong: "CLIENT_ERROR line too long",
  tooLarge: "SERVER_ERROR object too large for cache",
  outOfMemory: "SERVER_ERROR out of memory storing object"
} as const

// ---------------------------------------------------------------------------------------------
// Command parser
// ---------------------------------------------------------------------------------------------

/**
 * Bounds of the command parser.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandParserLimits {
  /**
   * Longest `get`/`gets` line accepted without its end, in bytes (default 1 MiB): beyond it the
   * connection ends with `CLIENT_ERROR line too long`. Other commands end the connection without a
   * reply past 2048 bytes without a line end, as memcached does.
   */
  readonly maxLineLength?: number | undefined
  /** The item size limit (memcached `-I`, default 1 MiB), see {@link itemSize}. */
  readonly maxItemSize?: number | undefined
}

/**
 * An incremental command parser: feed it bytes in any split, it returns the complete commands and
 * keeps the rest. After a {@link FatalCommand} it returns nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandParser {
  readonly push: (chunk: Uint8Array) => Array<Command>
  /** Bytes held for an incomplete command (the swallowed part of a too-large value is not held). */
  readonly buffered: number
  /** True after a fatal error. */
  readonly closed: boolean
}

/**
 * The bytes memcached accounts for an item (header with CAS, key, NUL, value, CRLF); an item is
 * too large when this exceeds the item size limit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const itemSize = (keyLength: number, valueLength: number): number => 56 + keyLength + 1 + valueLength + 2

/** memcached closes a connection that sends this many bytes without a line end (unless it is a get). */
const SHORT_LINE_LIMIT = 2048
const MAX_KEY = 250
const DEFAULT_MAX_LINE = 1024 * 1024
const DEFAULT_MAX_ITEM = 1024 * 1024
const INT32_MAX = 2147483647
const UINT32_MAX = 4294967295

const latin1 = (buf: Buffer, start: number, end: number): string => buf.latin1Slice(start, end)

/** Signed decimal (strtol into 32 bits): optional sign, digits only. Returns undefined when invalid. */
const parseInt32 = (buf: Buffer, start: number, end: number): number | undefined => {
  let i = start
  let neg = false
  const c = buf[i]
  if (c === 45 || c === 43) {
    neg = c === 45
    i++
  }
  if (i >= end || end - i > 11) return undefined
  let n = 0
  for (; i < end; i++) {
    const d = buf[i]! - 48
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  if (neg) n = -n
  return n > INT32_MAX || n < -INT32_MAX - 1 ? undefined : n
}

/** Unsigned decimal up to `max` (strtoul): digits only, leading zeros allowed. */
const parseUnsigned = (buf: Buffer, start: number, end: number, max: number): number | undefined => {
  let i = start
  if (buf[i] === 43) i++
  while (i < end - 1 && buf[i] === 48) i++
  if (i >= end || end - i > 15) return undefined
  let n = 0
  for (; i < end; i++) {
    const d = buf[i]! - 48
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  return n > max ? undefined : n
}

/** Unsigned 64-bit decimal (strtoull): digits only, leading zeros allowed. */
const parseUint64 = (buf: Buffer, start: number, end: number): bigint | undefined => {
  let i = start
  if (buf[i] === 43) i++
  while (i < end - 1 && buf[i] === 48) i++
  const len = end - i
  if (len <= 0 || len > 20) return undefined
  if (len <= 15) {
    const n = parseUnsigned(buf, i, end, Number.MAX_SAFE_INTEGER)
    return n === undefined ? undefined : BigInt(n)
  }
  for (let j = i; j < end; j++) {
    const c = buf[j]!
    if (c < 48 || c > 57) return undefined
  }
  const v = BigInt(latin1(buf, i, end))
  return v > U64_MAX ? undefined : v
}

const isNoreply = (buf: Buffer, start: number, end: number): boolean =>
  end - start === 7 &&
  buf[start] === 110 && buf[start + 1] === 111 && buf[start + 2] === 114 && buf[start + 3] === 101 &&
  buf[start + 4] === 112 && buf[start + 5] === 108 && buf[start + 6] === 121

const invalid = (reply: string, noreply = false): InvalidCommand => ({ _tag: "Invalid", reply, noreply })
const UNKNOWN: InvalidCommand = invalid(ErrorLines.unknownCommand)
const VERSION: Command = { _tag: "Version" }
const QUIT: Command = { _tag: "Quit" }

class CommandParserImpl implements CommandParser {
  closed = false
  private rest: Buffer | undefined = undefined
  // A data block that spans chunks: the buffer of its declared size + CRLF and the command it ends.
  private pending: Buffer | undefined = undefined
  private pendingHave = 0
  private pendingMake: ((data: Buffer) => Command) | undefined = undefined
  private pendingNoreply = false
  // A too-large data block being discarded.
  private swallow = 0
  private swallowed: Command | undefined = undefined
  private readonly toks: Array<number> = []
  private readonly maxLine: number
  private readonly maxItem: number

  constructor(limits?: CommandParserLimits) {
    this.maxLine = limits?.maxLineLength ?? DEFAULT_MAX_LINE
    this.maxItem = limits?.maxItemSize ?? DEFAULT_MAX_ITEM
  }

  get buffered(): number {
    return (this.rest?.length ?? 0) + this.pendingHave
  }

  push(chunk: Uint8Array): Array<Command> {
    const out: Array<Command> = []
    if (this.closed) return out
    let buf = toBuffer(chunk)
    let pos = 0
    if (this.swallow > 0) {
      const n = Math.min(this.swallow, buf.length)
      this.swallow -= n
      pos = n
      if (this.swallow > 0) return out
      out.push(this.swallowed!)
      this.swallowed = undefined
    }
    if (this.pending !== undefined) {
      const target = this.pending
      const n = Math.min(target.length - this.pendingHave, buf.length - pos)
      buf.copy(target, this.pendingHave, pos, pos + n)
      this.pendingHave += n
      pos += n
      if (this.pendingHave < target.length) return out
      const make = this.pendingMake!
      this.pending = undefined
      this.pendingMake = undefined
      this.pendingHave = 0
      const len = target.length - 2
      out.push(
        target[len] === CR && target[len + 1] === LF
          ? make(target.subarray(0, len))
          : invalid(ErrorLines.badDataChunk, this.pendingNoreply)
      )
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
        const have = end - pos
        if (have > SHORT_LINE_LIMIT && !isGetLine(buf, pos, end)) {
          this.fatal(out, undefined)
        } else if (have > this.maxLine) {
          this.fatal(out, ErrorLines.lineTooLong)
        } else {
          // Copied so that a small partial line never pins a large chunk.
          this.rest = Buffer.from(buf.subarray(pos, end))
        }
        return out
      }
      if (eol - pos > this.maxLine) {
        this.fatal(out, ErrorLines.lineTooLong)
        return out
      }
      const lineEnd = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol
      pos = this.line(buf, pos, lineEnd, eol + 1, out)
      if (pos < 0) return out
    }
    return out
  }

  private fatal(out: Array<Command>, reply: string | undefined): void {
    out.push({ _tag: "Fatal", reply })
    this.closed = true
    this.rest = undefined
    this.pending = undefined
    this.pendingMake = undefined
    this.pendingHave = 0
  }

  /** Parses the command line `buf[start, end)`; returns where the next command starts, or -1. */
  private line(buf: Buffer, start: number, end: number, after: number, out: Array<Command>): number {
    const t = this.toks
    const n = tokenize(buf, start, end, t)
    if (n === 0 || t[1]! - t[0]! < 2 || t[1]! - t[0]! > 9) {
      out.push(UNKNOWN)
      return after
    }
    const name = latin1(buf, t[0]!, t[1]!)
    switch (name) {
      case "get":
      case "gets":
        out.push(n < 2 ? UNKNOWN : this.get(buf, name, 1, 0))
        return after
      case "gat":
      case "gats": {
        if (n < 2) {
          out.push(UNKNOWN)
          return after
        }
        const exptime = parseInt32(buf, t[2]!, t[3]!)
        out.push(exptime === undefined ? invalid(ErrorLines.invalidExptime) : this.get(buf, name, 2, exptime))
        return after
      }
      case "set":
      case "add":
      case "replace":
      case "append":
      case "prepend":
        if (n !== 5 && n !== 6) break
        return this.store(buf, name, n, after, out)
      case "cas":
        if (n !== 6 && n !== 7) break
        return this.store(buf, name, n, after, out)
      case "delete": {
        if (n < 2 || n > 4) break
        const noreply = n > 2 && isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        if (n > 2) {
          const holdIsZero = t[5]! - t[4]! === 1 && buf[t[4]!] === 48
          if (!((n === 3 && (holdIsZero || noreply)) || (n === 4 && holdIsZero && noreply))) {
            out.push(invalid(ErrorLines.badDelete, noreply))
            return after
          }
        }
        if (t[3]! - t[2]! > MAX_KEY) {
          out.push(invalid(ErrorLines.badFormat, noreply))
          return after
        }
        out.push({ _tag: "Delete", key: latin1(buf, t[2]!, t[3]!), noreply })
        return after
      }
      case "incr":
      case "decr": {
        if (n !== 3 && n !== 4) break
        const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        if (t[3]! - t[2]! > MAX_KEY) {
          out.push(invalid(ErrorLines.badFormat, noreply))
          return after
        }
        const delta = parseUint64(buf, t[4]!, t[5]!)
        out.push(
          delta === undefined
            ? invalid(ErrorLines.invalidDelta, noreply)
            : { _tag: "Arithmetic", command: name, key: latin1(buf, t[2]!, t[3]!), delta, noreply }
        )
        return after
      }
      case "touch": {
        if (n !== 3 && n !== 4) break
        const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        if (t[3]! - t[2]! > MAX_KEY) {
          out.push(invalid(ErrorLines.badFormat, noreply))
          return after
        }
        const exptime = parseInt32(buf, t[4]!, t[5]!)
        out.push(
          exptime === undefined
            ? invalid(ErrorLines.invalidExptime, noreply)
            : { _tag: "Touch", key: latin1(buf, t[2]!, t[3]!), exptime, noreply }
        )
        return after
      }
      case "flush_all": {
        if (n > 3) break
        const noreply = n > 1 && isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        let delay = 0
        if (n !== (noreply ? 2 : 1)) {
          const d = parseInt32(buf, t[2]!, t[3]!)
          if (d === undefined) {
            out.push(invalid(ErrorLines.invalidExptime, noreply))
            return after
          }
          delay = d
        }
        out.push({ _tag: "FlushAll", delay, noreply })
        return after
      }
      case "version":
        out.push(VERSION)
        return after
      case "quit":
        out.push(QUIT)
        return after
      case "verbosity": {
        if (n !== 2 && n !== 3) break
        const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        const level = parseUnsigned(buf, t[2]!, t[3]!, UINT32_MAX)
        out.push(
          level === undefined ? invalid(ErrorLines.badFormat, noreply) : { _tag: "Verbosity", level, noreply }
        )
        return after
      }
      case "stats": {
        const args: Array<string> = []
        for (let k = 1; k < n; k++) args.push(latin1(buf, t[2 * k]!, t[2 * k + 1]!))
        out.push({ _tag: "Stats", args })
        return after
      }
      case "mg":
      case "md":
      case "ma":
      case "me":
      case "ms":
      case "mn":
        return this.meta(buf, name, n, after, out)
    }
    out.push(UNKNOWN)
    return after
  }

  private get(buf: Buffer, command: GetCommand["command"], first: number, exptime: number): Command {
    const t = this.toks
    const n = t.length >> 1
    const keys: Array<string> = []
    for (let k = first; k < n; k++) {
      const s = t[2 * k]!
      const e = t[2 * k + 1]!
      if (e - s > MAX_KEY) return invalid(ErrorLines.badFormat)
      keys.push(latin1(buf, s, e))
    }
    return { _tag: "Get", command, keys, exptime }
  }

  // <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]
  private store(buf: Buffer, command: StorageCommand, n: number, after: number, out: Array<Command>): number {
    const t = this.toks
    const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
    const ks = t[2]!
    const ke = t[3]!
    if (ke - ks > MAX_KEY) {
      out.push(invalid(ErrorLines.badFormat, noreply))
      return after
    }
    const flags = parseUnsigned(buf, t[4]!, t[5]!, UINT32_MAX)
    const exptime = parseInt32(buf, t[6]!, t[7]!)
    const bytes = parseInt32(buf, t[8]!, t[9]!)
    let cas = 0n
    if (command === "cas") {
      const c = parseUint64(buf, t[10]!, t[11]!)
      if (c === undefined) {
        out.push(invalid(ErrorLines.badFormat, noreply))
        return after
      }
      cas = c
    }
    if (flags === undefined || exptime === undefined || bytes === undefined || bytes < 0 || bytes > INT32_MAX - 2) {
      out.push(invalid(ErrorLines.badFormat, noreply))
      return after
    }
    const key = latin1(buf, ks, ke)
    if (itemSize(ke - ks, bytes) > this.maxItem) {
      const cmd: StoreCommand = { _tag: "Store", command, key, flags, exptime, cas, data: EMPTY, noreply, tooLarge: true }
      const avail = buf.length - after
      if (avail >= bytes + 2) {
        out.push(cmd)
        return after + bytes + 2
      }
      this.swallow = bytes + 2 - avail
      this.swallowed = cmd
      return -1
    }
    return this.data(buf, bytes, after, out, noreply, (data) => ({
      _tag: "Store",
      command,
      key,
      flags,
      exptime,
      cas,
      data,
      noreply,
      tooLarge: false
    }))
  }

  private meta(buf: Buffer, command: MetaCommandName, n: number, after: number, out: Array<Command>): number {
    const t = this.toks
    if (command === "mn") {
      out.push({ _tag: "Meta", command, key: "", flags: [], data: undefined })
      return after
    }
    if (n < 2) {
      out.push(UNKNOWN)
      return after
    }
    if (t[3]! - t[2]! > MAX_KEY) {
      out.push(invalid(ErrorLines.badFormat))
      return after
    }
    const key = latin1(buf, t[2]!, t[3]!)
    let first = 2
    let bytes = -1
    if (command === "ms") {
      const b = n < 3 ? undefined : parseInt32(buf, t[4]!, t[5]!)
      if (b === undefined || b < 0) {
        out.push(invalid(ErrorLines.badFormat))
        return after
      }
      bytes = b
      first = 3
    }
    const flags: Array<string> = []
    let noreply = false
    for (let k = first; k < n; k++) {
      const s = t[2 * k]!
      if (t[2 * k + 1]! - s === 1 && buf[s] === 113) noreply = true // q
      flags.push(latin1(buf, s, t[2 * k + 1]!))
    }
    if (bytes < 0) {
      out.push({ _tag: "Meta", command, key, flags, data: undefined })
      return after
    }
    if (itemSize(key.length, bytes) > this.maxItem) {
      const cmd: InvalidCommand = invalid(ErrorLines.tooLarge, false)
      const avail = buf.length - after
      if (avail >= bytes + 2) {
        out.push(cmd)
        return after + bytes + 2
      }
      this.swallow = bytes + 2 - avail
      this.swallowed = cmd
      return -1
    }
    return this.data(buf, bytes, after, out, noreply, (data) => ({ _tag: "Meta", command, key, flags, data }))
  }

  private data(
    buf: Buffer,
    bytes: number,
    after: number,
    out: Array<Command>,
    noreply: boolean,
    make: (data: Buffer) => Command
  ): number {
    const dataEnd = after + bytes
    if (dataEnd + 2 <= buf.length) {
      // memcached reads exactly <bytes>+2 and then checks the last two; what follows is the next command.
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) {
        out.push(invalid(ErrorLines.badDataChunk, noreply))
      } else {
        out.push(make(Buffer.from(buf.subarray(after, dataEnd))))
      }
      return dataEnd + 2
    }
    const target = Buffer.allocUnsafe(bytes + 2)
    buf.copy(target, 0, after, buf.length)
    this.pending = target
    this.pendingHave = buf.length - after
    this.pendingMake = make
    this.pendingNoreply = noreply
    return -1
  }
}

/** memcached lets only `get `/`gets ` lines (after at most 100 leading spaces) grow past 2048 bytes. */
const isGetLine = (buf: Buffer, start: number, end: number): boolean => {
  let i = start
  while (i < end && buf[i] === SP) i++
  if (i - start > 100 || end - i < 5) return false
  if (buf[i] !== 103 || buf[i + 1] !== 101 || buf[i + 2] !== 116) return false
  return buf[i + 3] === SP || (buf[i + 3] === 115 && buf[i + 4] === SP)
}

/**
 * Creates an incremental command parser.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeCommandParser = (limits?: CommandParserLimits): CommandParser => new CommandParserImpl(limits)

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
