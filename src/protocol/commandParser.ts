/**
 * The incremental command parser of the server direction, on the shared {@link Framer}. It answers
 * malformed input the way memcached 1.6.18 does (an {@link InvalidCommand} with memcached's error
 * line) and carries on; only an unbounded line or an HTTP request line ends the connection.
 *
 * @since 0.2.0
 */
import { EMPTY, latin1, SP, tokenize } from "./bytes.js"
import type { StorageCommand } from "./client.js"
import {
  type AdminCommandName,
  type Command,
  type CommandParser,
  type CommandParserLimits,
  ErrorLines,
  type GetCommand,
  type InvalidCommand,
  itemSize,
  type MetaCommandName,
  type StoreCommand
} from "./commands.js"
import { BLOCK_BAD_END, BLOCK_PENDING, Framer, type Sink } from "./framer.js"
import { INT32_MAX, MAX_KEY_LENGTH, parseStrtol32, parseStrtoul, parseStrtoull, U32_MAX } from "./limits.js"

/** memcached closes a connection that sends this many bytes without a line end (unless it is a get). */
const SHORT_LINE_LIMIT = 2048
const DEFAULT_MAX_LINE = 1024 * 1024
const DEFAULT_MAX_ITEM = 1024 * 1024
/** Command names are decoded only up to this length (the longest memcached knows is 14). */
const MAX_NAME = 16

const isNoreply = (buf: Buffer, start: number, end: number): boolean =>
  end - start === 7 &&
  buf[start] === 110 && buf[start + 1] === 111 && buf[start + 2] === 114 && buf[start + 3] === 101 &&
  buf[start + 4] === 112 && buf[start + 5] === 108 && buf[start + 6] === 121

const invalid = (reply: string, noreply = false): InvalidCommand => ({ _tag: "Invalid", reply, noreply })
const UNKNOWN: InvalidCommand = invalid(ErrorLines.unknownCommand)
const VERSION: Command = { _tag: "Version" }
const QUIT: Command = { _tag: "Quit" }

// The closures that finish a command whose data block spans chunks are made here, not in the parsing
// methods: a closure there would make each call allocate a context for the fields it captures, held
// commands or not.
const heldStore = (
  command: StorageCommand,
  key: string,
  flags: number,
  exptime: number,
  cas: bigint,
  noreply: boolean
) =>
(data: Buffer): Command => ({ _tag: "Store", command, key, flags, exptime, cas, data, noreply, tooLarge: false })
const heldMeta = (command: MetaCommandName, key: string, flags: ReadonlyArray<string>) => (data: Buffer): Command => ({
  _tag: "Meta",
  command,
  key,
  flags,
  data
})

/**
 * Client flags of a text storage command as memcached 1.6.18 takes them: `safe_strtoul` into 64 bits
 * (an optional `+`, leading zeros; no sign, at most 2^64−1), then stored in 32 bits, so 2^32 … 2^64−1
 * are truncated (`4294967297` is stored as 1). -1 when invalid.
 */
const parseTextFlags = (buf: Buffer, start: number, end: number): number => {
  const small = parseStrtoul(buf, start, end, U32_MAX)
  if (small !== undefined) return small
  const big = parseStrtoull(buf, start, end)
  return big === undefined ? -1 : Number(big & 0xffffffffn)
}

/**
 * The names memcached 1.6.18 dispatches by their first letter (`a`dd, `c`as, `d`elete, `g`et, `i`ncr,
 * `s`et, `t`ouch, and two-letter `m`eta names): an unknown name there is answered `ERROR`. Any other
 * unknown name whose line ends in a token starting with `HTTP/` makes memcached close the connection.
 */
const FIRST_LETTER_DISPATCH = new Set([97, 99, 100, 103, 105, 115, 116])
/** Names memcached knows (in its full-name chain) that this parser does not model: answered `ERROR`. */
const KNOWN_UNMODELLED = new Set(["watch", "extstore", "refresh_certs"])

class CommandParserImpl extends Framer<Command> implements CommandParser {
  private readonly toks: Array<number> = []
  private readonly maxLine: number
  private readonly maxItem: number

  constructor(limits?: CommandParserLimits) {
    const maxLine = limits?.maxLineLength ?? DEFAULT_MAX_LINE
    super({ lineBound: maxLine, strictCrlf: false, copyHeld: true })
    this.maxLine = maxLine
    this.maxItem = limits?.maxItemSize ?? DEFAULT_MAX_ITEM
  }

  get closed(): boolean {
    return this.stopped
  }

  private fatal(out: Sink<Command>, reply: string | undefined): void {
    out.push({ _tag: "Fatal", reply })
    this.stop()
  }

  protected partialLine(buf: Buffer, pos: number, end: number, out: Sink<Command>): boolean {
    const have = end - pos
    if (have > SHORT_LINE_LIMIT && !isGetLine(buf, pos, end)) this.fatal(out, undefined)
    else if (have > this.maxLine) this.fatal(out, ErrorLines.lineTooLong)
    else return true
    return false
  }
  protected lineTooLong(out: Sink<Command>): void {
    this.fatal(out, ErrorLines.lineTooLong)
  }
  // Lines may end with a bare LF and every data block is given a `bad` reply: never called.
  protected badLineEnd(out: Sink<Command>): void {
    this.fatal(out, undefined)
  }
  protected badBlockEnd(out: Sink<Command>): void {
    this.fatal(out, undefined)
  }

  /** Parses the command line `buf[start, end)`; returns where the next command starts, or -1. */
  protected line(buf: Buffer, start: number, end: number, after: number, out: Sink<Command>): number {
    const t = this.toks
    const n = tokenize(buf, start, end, t)
    const nameLength = n === 0 ? 0 : t[1]! - t[0]!
    if (nameLength < 2) {
      out.push(UNKNOWN)
      return after
    }
    const name = nameLength > MAX_NAME ? "" : latin1(buf, t[0]!, t[1]!)
    switch (name) {
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
      case "mg":
      case "md":
      case "ma":
      case "me":
      case "ms":
      case "mn":
        return this.meta(buf, name, n, after, out)
      case "cache_memlimit":
      case "slabs":
      case "lru_crawler":
      case "lru":
      case "shutdown":
        out.push(this.admin(buf, name, n))
        return after
      default: {
        const command = this.simple(buf, name, n) ?? this.unknown(buf, name, n)
        if (command._tag === "Fatal") this.fatal(out, undefined)
        else out.push(command)
        return after
      }
    }
    out.push(UNKNOWN)
    return after
  }

  /** An unknown (or malformed) command: `ERROR`, or the close memcached gives an HTTP request line. */
  private unknown(buf: Buffer, name: string, n: number): Command {
    const t = this.toks
    const c0 = buf[t[0]!]!
    if (FIRST_LETTER_DISPATCH.has(c0) || (c0 === 109 && t[1]! - t[0]! === 2) || KNOWN_UNMODELLED.has(name)) {
      return UNKNOWN
    }
    const ls = t[2 * n - 2]!
    const isHttp = t[2 * n - 1]! - ls >= 5 &&
      buf[ls] === 72 && buf[ls + 1] === 84 && buf[ls + 2] === 84 && buf[ls + 3] === 80 && buf[ls + 4] === 47 // "HTTP/"
    return isHttp ? { _tag: "Fatal", reply: undefined } : UNKNOWN
  }

  /** `cache_memlimit`, `slabs`, `lru_crawler`, `lru`, `shutdown`: tokens handed on, not interpreted. */
  private admin(buf: Buffer, command: AdminCommandName, n: number): Command {
    const t = this.toks
    // memcached's dispatcher: cache_memlimit takes 1 or 2 tokens (value [noreply]), lru at least one.
    if ((command === "cache_memlimit" && (n < 2 || n > 3)) || (command === "lru" && n < 2)) return UNKNOWN
    const noreply = n > 1 && isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
    const last = noreply ? n - 1 : n
    const args: Array<string> = []
    for (let k = 1; k < last; k++) args.push(latin1(buf, t[2 * k]!, t[2 * k + 1]!))
    return { _tag: "Admin", command, args, noreply }
  }

  /** The commands without a data block; undefined for a name it does not know or a wrong token count. */
  private simple(buf: Buffer, name: string, n: number): Command | undefined {
    const t = this.toks
    switch (name) {
      case "get":
      case "gets":
        return n < 2 ? undefined : this.get(buf, name, 1, 0)
      case "gat":
      case "gats": {
        if (n < 2) return undefined
        const exptime = parseStrtol32(buf, t[2]!, t[3]!)
        return exptime === undefined ? invalid(ErrorLines.invalidExptime) : this.get(buf, name, 2, exptime)
      }
      case "delete":
        return n < 2 || n > 4 ? undefined : this.delete(buf, n)
      case "incr":
      case "decr": {
        if (n !== 3 && n !== 4) return undefined
        const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        if (t[3]! - t[2]! > MAX_KEY_LENGTH) return invalid(ErrorLines.badFormat, noreply)
        const delta = parseStrtoull(buf, t[4]!, t[5]!)
        return delta === undefined
          ? invalid(ErrorLines.invalidDelta, noreply)
          : { _tag: "Arithmetic", command: name, key: latin1(buf, t[2]!, t[3]!), delta, noreply }
      }
      case "touch": {
        if (n !== 3 && n !== 4) return undefined
        const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        if (t[3]! - t[2]! > MAX_KEY_LENGTH) return invalid(ErrorLines.badFormat, noreply)
        const exptime = parseStrtol32(buf, t[4]!, t[5]!)
        return exptime === undefined
          ? invalid(ErrorLines.invalidExptime, noreply)
          : { _tag: "Touch", key: latin1(buf, t[2]!, t[3]!), exptime, noreply }
      }
      case "flush_all": {
        if (n > 3) return undefined
        const noreply = n > 1 && isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        if (n === (noreply ? 2 : 1)) return { _tag: "FlushAll", delay: 0, noreply }
        const delay = parseStrtol32(buf, t[2]!, t[3]!)
        return delay === undefined ? invalid(ErrorLines.invalidExptime, noreply) : { _tag: "FlushAll", delay, noreply }
      }
      case "version":
        return VERSION
      case "quit":
        return QUIT
      case "verbosity": {
        if (n !== 2 && n !== 3) return undefined
        const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
        const level = parseStrtoul(buf, t[2]!, t[3]!, U32_MAX)
        return level === undefined ? invalid(ErrorLines.badFormat, noreply) : { _tag: "Verbosity", level, noreply }
      }
      case "stats": {
        const args: Array<string> = []
        for (let k = 1; k < n; k++) args.push(latin1(buf, t[2 * k]!, t[2 * k + 1]!))
        return { _tag: "Stats", args }
      }
      case "config": {
        const args: Array<string> = []
        for (let k = 1; k < n; k++) args.push(latin1(buf, t[2 * k]!, t[2 * k + 1]!))
        return { _tag: "Config", args }
      }
    }
    return undefined
  }

  // delete <key> [0] [noreply]
  private delete(buf: Buffer, n: number): Command {
    const t = this.toks
    const noreply = n > 2 && isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
    if (n > 2) {
      const holdIsZero = t[5]! - t[4]! === 1 && buf[t[4]!] === 48
      if (!((n === 3 && (holdIsZero || noreply)) || (n === 4 && holdIsZero && noreply))) {
        return invalid(ErrorLines.badDelete, noreply)
      }
    }
    if (t[3]! - t[2]! > MAX_KEY_LENGTH) return invalid(ErrorLines.badFormat, noreply)
    return { _tag: "Delete", key: latin1(buf, t[2]!, t[3]!), noreply }
  }

  private get(buf: Buffer, command: GetCommand["command"], first: number, exptime: number): Command {
    const t = this.toks
    const n = t.length >> 1
    const keys: Array<string> = []
    for (let k = first; k < n; k++) {
      const s = t[2 * k]!
      const e = t[2 * k + 1]!
      if (e - s > MAX_KEY_LENGTH) return invalid(ErrorLines.badFormat)
      keys.push(latin1(buf, s, e))
    }
    return { _tag: "Get", command, keys, exptime }
  }

  // <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]
  private store(buf: Buffer, command: StorageCommand, n: number, after: number, out: Sink<Command>): number {
    const t = this.toks
    const noreply = isNoreply(buf, t[2 * n - 2]!, t[2 * n - 1]!)
    const ks = t[2]!
    const ke = t[3]!
    if (ke - ks > MAX_KEY_LENGTH) {
      out.push(invalid(ErrorLines.badFormat, noreply))
      return after
    }
    const flags = parseTextFlags(buf, t[4]!, t[5]!)
    const exptime = parseStrtol32(buf, t[6]!, t[7]!)
    const bytes = parseStrtol32(buf, t[8]!, t[9]!)
    let cas = 0n
    if (command === "cas") {
      const c = parseStrtoull(buf, t[10]!, t[11]!)
      if (c === undefined) {
        out.push(invalid(ErrorLines.badFormat, noreply))
        return after
      }
      cas = c
    }
    if (flags < 0 || exptime === undefined || bytes === undefined || bytes < 0 || bytes > INT32_MAX - 2) {
      out.push(invalid(ErrorLines.badFormat, noreply))
      return after
    }
    const key = latin1(buf, ks, ke)
    if (itemSize(ke - ks, bytes) > this.maxItem) {
      const cmd: StoreCommand = {
        _tag: "Store",
        command,
        key,
        flags,
        exptime,
        cas,
        data: EMPTY,
        noreply,
        tooLarge: true
      }
      return this.skip(buf, bytes + 2, after, cmd, out)
    }
    const next = this.blockEnd(buf, bytes, after)
    if (next >= 0) {
      const data = Buffer.from(buf.subarray(after, after + bytes))
      out.push({ _tag: "Store", command, key, flags, exptime, cas, data, noreply, tooLarge: false })
      return next
    }
    const bad = invalid(ErrorLines.badDataChunk, noreply)
    if (next === BLOCK_BAD_END) {
      // memcached reads exactly <bytes>+2 and then checks the last two; what follows is the next command.
      out.push(bad)
      return after + bytes + 2
    }
    return this.hold(buf, bytes, after, heldStore(command, key, flags, exptime, cas, noreply), bad)
  }

  private meta(buf: Buffer, command: MetaCommandName, n: number, after: number, out: Sink<Command>): number {
    const t = this.toks
    if (command === "mn") {
      out.push({ _tag: "Meta", command, key: "", flags: [], data: undefined })
      return after
    }
    if (n < 2) {
      out.push(UNKNOWN)
      return after
    }
    if (t[3]! - t[2]! > MAX_KEY_LENGTH) {
      out.push(invalid(ErrorLines.badFormat))
      return after
    }
    const key = latin1(buf, t[2]!, t[3]!)
    let first = 2
    let bytes = -1
    if (command === "ms") {
      const b = n < 3 ? undefined : parseStrtol32(buf, t[4]!, t[5]!)
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
      return this.skip(buf, bytes + 2, after, invalid(ErrorLines.tooLarge, false), out)
    }
    const next = this.blockEnd(buf, bytes, after)
    if (next >= 0) {
      out.push({ _tag: "Meta", command, key, flags, data: Buffer.from(buf.subarray(after, after + bytes)) })
      return next
    }
    const bad = invalid(ErrorLines.badDataChunk, noreply)
    if (next === BLOCK_BAD_END) {
      out.push(bad)
      return after + bytes + 2
    }
    return next === BLOCK_PENDING
      ? this.hold(buf, bytes, after, heldMeta(command, key, flags), bad)
      : -1
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
 * Creates an incremental command parser. Its `push` never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeCommandParser = (limits?: CommandParserLimits): CommandParser => new CommandParserImpl(limits)
