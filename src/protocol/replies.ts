/**
 * The replies of the text and meta protocols (client direction) and their incremental parser, on the
 * shared {@link Framer}. Values are framed by their declared byte count (never by scanning for
 * `END`), the CRLF after a value is checked, line length and value size are bounded, and every number
 * is validated as it is parsed (`limits.ts`, `metaScan.ts`): a violation is terminal for the parser
 * and surfaces as a {@link ProtocolViolation}, which the engine maps to `MemcachedProtocolError`.
 *
 * @since 0.2.0
 */
import { EMPTY, equalsAscii, latin1, SP, utf8 } from "./bytes.js"
import { ProtocolViolation } from "./errors.js"
import { BLOCK_BAD_END, Framer, type Sink } from "./framer.js"
import { parseU32, parseU64, parseUint } from "./limits.js"
import { findMetaToken, makeMetaScan, type MetaScan, scanMetaFlags } from "./metaScan.js"

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
  /**
   * True when the key's bytes are the UTF-8 of `key`. Decodes only for a non-ASCII `key` whose UTF-8 can
   * have this length: a mismatch (a multi-get scanning past misses) costs no allocation.
   */
  keyEquals(key: string): boolean {
    return keyBytesEqual(this.line, this.keyStart, this.keyEnd, key)
  }
}

/**
 * True when `buf[start, end)` is the UTF-8 of `key`. Decodes only for a non-ASCII `key` whose UTF-8 can
 * have this length: a mismatch (a multi-get scanning past misses) costs no allocation.
 *
 * @since 0.2.0
 * @category predicates
 */
export const keyBytesEqual = (buf: Buffer, start: number, end: number, key: string): boolean => {
  const n = end - start
  const len = key.length
  // UTF-8 never has fewer bytes than UTF-16 code units, and the same number only when all are ASCII.
  if (n < len) return false
  if (n === len) {
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(i)
      if (c >= 0x80 || buf[start + i] !== c) return false
    }
    return true
  }
  for (let i = 0; i < len; i++) if (key.charCodeAt(i) >= 0x80) return utf8(buf, start, end) === key
  return false
}

/**
 * A meta-protocol reply: `HD`, `VA` (with its value), `EN`, `NS`, `EX`, `NF` or `MN`. Its return flags
 * were validated by the parser (see `metaScan.ts`); what the hot path reads — the client flags, the
 * CAS unique and where the `k` key token is — is pre-parsed into fields, the rest is decoded on demand
 * (`metaFlags` in meta.ts).
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
    readonly value: Uint8Array | undefined,
    /** The `f` return flag (32-bit client flags), 0 when absent. */
    readonly clientFlags: number = 0,
    /** The `c` return flag (CAS unique), undefined when absent. */
    readonly cas: bigint | undefined = undefined,
    /** @internal Start of the `k` token's key in `line`, -1 when absent. */
    readonly keyStart: number = -1,
    /** @internal End of the `k` token's key in `line`. */
    readonly keyEnd: number = -1
  ) {}
  /**
   * The token of return flag `flag` without its letter (`""` for a bare flag such as `W`), or
   * `undefined` when the flag is absent.
   */
  flag(flag: string): string | undefined {
    return findMetaToken(this.line, this.flagsStart, this.flagsEnd, flag.charCodeAt(0), RANGE)
      ? latin1(this.line, RANGE[0], RANGE[1])
      : undefined
  }
  /** True when return flag `flag` is present. */
  has(flag: string): boolean {
    return findMetaToken(this.line, this.flagsStart, this.flagsEnd, flag.charCodeAt(0), RANGE)
  }
  /** The raw return flags, e.g. `"c123 t-1 f0"`. */
  get flags(): string {
    return latin1(this.line, this.flagsStart, this.flagsEnd)
  }
}

const RANGE: [number, number] = [0, 0]

/**
 * A `CONFIG <key> <flags> <bytes>` reply with its data block (ElastiCache's `config get <key>`; the
 * payload is parsed by `discovery.ts`). Followed by `END`, like a `VALUE`.
 *
 * @since 0.2.0
 * @category models
 */
export class ConfigReply {
  readonly _tag = "Config" as const
  constructor(readonly key: string, readonly flags: number, readonly value: Uint8Array) {}
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
  | ConfigReply

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
 * before the violation are still returned, and every later `push` returns nothing. `push` never throws.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplyParser {
  readonly push: (chunk: Uint8Array) => Array<Reply>
  /** Like `push`, but each reply goes to `sink` as soon as it is framed (see {@link ReplySink}). */
  readonly feed: (chunk: Uint8Array, sink: ReplySink) => void
  /** The terminal protocol error, once one happened. */
  readonly error: ProtocolViolation | undefined
  /** Bytes held for an incomplete reply. */
  readonly buffered: number
}

/**
 * A consumer of replies as they are framed. `value`, when present, is offered each complete text
 * `VALUE` first, as its fields: returning true takes it (no {@link ValueReply} is made: a multi-get
 * stores the hit straight away), false has it pushed as a `ValueReply` like any reply. `buf[keyStart,
 * keyEnd)` is the key; `value` is a view of the received bytes.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReplySink extends Sink<Reply> {
  readonly value?: (
    buf: Buffer,
    keyStart: number,
    keyEnd: number,
    flags: number,
    value: Uint8Array,
    cas: bigint | undefined
  ) => boolean
}

/** The meta replies without return flags, shared: a `MetaReply` is immutable. */
const BARE_META: Record<Exclude<MetaCode, "VA">, MetaReply> = {
  HD: new MetaReply("HD", EMPTY, 0, 0, undefined),
  EN: new MetaReply("EN", EMPTY, 0, 0, undefined),
  NS: new MetaReply("NS", EMPTY, 0, 0, undefined),
  EX: new MetaReply("EX", EMPTY, 0, 0, undefined),
  NF: new MetaReply("NF", EMPTY, 0, 0, undefined),
  MN: new MetaReply("MN", EMPTY, 0, 0, undefined)
}

const DEFAULT_MAX_LINE = 8192
const DEFAULT_MAX_VALUE = 128 * 1024 * 1024
/** The parser's scratch for meta flags (the parser is synchronous, one scan at a time). */
const SCAN: MetaScan = makeMetaScan()
/** The parser's scratch for the fields of a `VALUE`/`CONFIG` line (see `blockHeader`). */
const HEAD = { ks: 0, ke: 0, flags: 0, be: 0 }

class ReplyParserImpl extends Framer<Reply> implements ReplyParser {
  error: ProtocolViolation | undefined = undefined
  private readonly maxLine: number
  private readonly maxValue: number

  constructor(limits?: ParserLimits) {
    const maxLine = limits?.maxLineLength ?? DEFAULT_MAX_LINE
    // The bound counts the CR: a line of maxLine bytes plus its CR is accepted.
    super({ lineBound: maxLine + 1, strictCrlf: true, copyHeld: false })
    this.maxLine = maxLine
    this.maxValue = limits?.maxValueSize ?? DEFAULT_MAX_VALUE
  }

  private fail(reason: ProtocolViolation["reason"], message: string): -1 {
    this.error = new ProtocolViolation(reason, message)
    this.stop()
    return -1
  }

  protected partialLine(_buf: Buffer, pos: number, end: number): boolean {
    if (end - pos <= this.maxLine + 1) return true
    this.fail("LineTooLong", `reply line longer than ${this.maxLine} bytes`)
    return false
  }
  protected lineTooLong(): void {
    this.fail("LineTooLong", `reply line longer than ${this.maxLine} bytes`)
  }
  protected badLineEnd(): void {
    this.fail("Malformed", "reply line does not end with CRLF")
  }
  protected badBlockEnd(): void {
    this.fail("Malformed", "value data block is not followed by CRLF")
  }

  /** Parses the line `buf[start, end)`; returns where the next reply starts, or -1 (error / need more). */
  protected line(buf: Buffer, start: number, end: number, after: number, out: ReplySink): number {
    let te = start
    while (te < end && buf[te] !== SP) te++
    const c0 = buf[start]!
    if (te - start === 2) {
      const c1 = buf[start + 1]!
      const code = metaCode(c0, c1)
      if (code !== undefined) {
        if (code === "VA") return this.metaValue(buf, te, end, after, out)
        if (te === end) { // no return flags: one shared reply per code (a set's HD, a quiet batch's MN)
          out.push(BARE_META[code])
          return after
        }
        // The raw flags start after the separating space (`"c123 t-1"`, not `" c123 t-1"`).
        const fs = Math.min(te + 1, end)
        const problem = scanMetaFlags(buf, fs, end, SCAN)
        if (problem !== undefined) return this.fail("Malformed", `${code} reply: ${problem}`)
        out.push(
          new MetaReply(
            code,
            buf,
            fs,
            end,
            undefined,
            SCAN.flags < 0 ? 0 : SCAN.flags,
            SCAN.cas,
            SCAN.keyStart,
            SCAN.keyEnd
          )
        )
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
      // incr/decr: 1 to 20 digits, ≤ 2^64−1, nothing else on the line.
      const v = parseU64(buf, start, end)
      if (v < 0n) return this.fail("Malformed", "numeric reply is not an unsigned 64-bit integer")
      out.push({ _tag: "Numeric", value: v })
      return after
    }
    const fixed = textLine(buf, start, te, end)
    if (fixed !== undefined) {
      out.push(fixed)
      return after
    }
    if (c0 === 86 && equalsAscii(buf, start, te, "VALUE")) return this.textValue(buf, te, end, after, out)
    if (c0 === 67 && equalsAscii(buf, start, te, "CONFIG")) return this.configValue(buf, te, end, after, out)
    if (c0 === 83 && equalsAscii(buf, start, te, "STAT")) {
      const ns = te + 1
      let ne = ns
      while (ne < end && buf[ne] !== SP) ne++
      if (ns >= end) return this.fail("Malformed", "STAT line without a name")
      out.push({ _tag: "Stat", name: latin1(buf, ns, ne), value: utf8(buf, Math.min(ne + 1, end), end) })
      return after
    }
    return this.fail(
      "Malformed",
      `unexpected reply line ${JSON.stringify(latin1(buf, start, Math.min(end, start + 64)))}`
    )
  }

  /**
   * The fields `<key> <flags> <bytes>` that start a `VALUE` and a `CONFIG` line (after the word that
   * ends at `te`), validated: returns the length (the key's bounds, the flags and where the length ends
   * are left in {@link HEAD}), or -1 after failing the parser.
   */
  private blockHeader(buf: Buffer, te: number, end: number, name: "VALUE" | "CONFIG"): number {
    const ks = te + 1
    let ke = ks
    while (ke < end && buf[ke] !== SP) ke++
    const fs = ke + 1
    let fe = fs
    while (fe < end && buf[fe] !== SP) fe++
    const bs = fe + 1
    let be = bs
    while (be < end && buf[be] !== SP) be++
    if (ke === ks || fs >= end || bs >= end) return this.fail("Malformed", `${name} line has too few fields`)
    const flags = parseU32(buf, fs, fe)
    if (flags < 0) return this.fail("Malformed", `${name} line has invalid flags`)
    const bytes = parseUint(buf, bs, be, Number.MAX_SAFE_INTEGER)
    if (bytes < 0) return this.fail("Malformed", `${name} line has an invalid length`)
    if (bytes > this.maxValue) return this.fail("ValueTooLarge", `value of ${bytes} bytes exceeds ${this.maxValue}`)
    HEAD.ks = ks
    HEAD.ke = ke
    HEAD.flags = flags
    HEAD.be = be
    return bytes
  }

  // VALUE <key> <flags> <bytes> [<cas unique>]
  private textValue(buf: Buffer, te: number, end: number, after: number, out: ReplySink): number {
    const bytes = this.blockHeader(buf, te, end, "VALUE")
    if (bytes < 0) return -1
    const ks = HEAD.ks
    const ke = HEAD.ke
    const flags = HEAD.flags
    const be = HEAD.be
    let cas: bigint | undefined = undefined
    if (be < end) {
      const cs = be + 1
      let ce = cs
      while (ce < end && buf[ce] !== SP) ce++
      if (ce !== end) return this.fail("Malformed", "VALUE line has too many fields")
      cas = parseU64(buf, cs, ce)
      if (cas < 0n) return this.fail("Malformed", "VALUE line has an invalid CAS unique")
    }
    const next = this.blockEnd(buf, bytes, after)
    if (next >= 0) {
      const value = buf.subarray(after, after + bytes)
      if (out.value === undefined || !out.value(buf, ks, ke, flags, value, cas)) {
        out.push(new ValueReply(buf, ks, ke, flags, value, cas))
      }
      return next
    }
    if (next === BLOCK_BAD_END) return this.fail("Malformed", "value data block is not followed by CRLF")
    return this.holdValue(buf, bytes, after, ks, ke, flags, cas)
  }

  /**
   * Holds a `VALUE` whose data spans chunks. Its own function: the closure's captured variables would
   * otherwise make {@link textValue} allocate a context object on every call, hits in one chunk too.
   */
  private holdValue(
    buf: Buffer,
    bytes: number,
    after: number,
    ks: number,
    ke: number,
    flags: number,
    cas: bigint | undefined
  ): -1 {
    return this.hold(buf, bytes, after, (value) => new ValueReply(buf, ks, ke, flags, value, cas), undefined)
  }

  // CONFIG <key> <flags> <bytes>: framed by its declared length, exactly like a VALUE block.
  private configValue(buf: Buffer, te: number, end: number, after: number, out: ReplySink): number {
    const bytes = this.blockHeader(buf, te, end, "CONFIG")
    if (bytes < 0) return -1
    if (HEAD.be !== end) return this.fail("Malformed", "CONFIG line has an invalid length")
    const flags = HEAD.flags
    const key = latin1(buf, HEAD.ks, HEAD.ke)
    const next = this.blockEnd(buf, bytes, after)
    if (next >= 0) {
      out.push(new ConfigReply(key, flags, buf.subarray(after, after + bytes)))
      return next
    }
    if (next === BLOCK_BAD_END) return this.fail("Malformed", "CONFIG data block is not followed by CRLF")
    return this.hold(buf, bytes, after, (value) => new ConfigReply(key, flags, value), undefined)
  }

  // VA <size> <flags>*
  private metaValue(buf: Buffer, te: number, end: number, after: number, out: ReplySink): number {
    const ss = te + 1
    let se = ss
    while (se < end && buf[se] !== SP) se++
    const bytes = parseUint(buf, ss, se, Number.MAX_SAFE_INTEGER)
    if (bytes < 0) return this.fail("Malformed", "VA line has an invalid length")
    if (bytes > this.maxValue) return this.fail("ValueTooLarge", `value of ${bytes} bytes exceeds ${this.maxValue}`)
    const fs = Math.min(se + 1, end)
    const problem = scanMetaFlags(buf, fs, end, SCAN)
    if (problem !== undefined) return this.fail("Malformed", `VA reply: ${problem}`)
    const flags = SCAN.flags < 0 ? 0 : SCAN.flags
    const cas = SCAN.cas
    const ks = SCAN.keyStart
    const ke = SCAN.keyEnd
    const next = this.blockEnd(buf, bytes, after)
    if (next >= 0) {
      out.push(new MetaReply("VA", buf, fs, end, buf.subarray(after, after + bytes), flags, cas, ks, ke))
      return next
    }
    if (next === BLOCK_BAD_END) return this.fail("Malformed", "value data block is not followed by CRLF")
    return this.holdMetaValue(buf, bytes, after, fs, end, flags, cas, ks, ke)
  }

  /** Holds a `VA` whose data spans chunks (its own function for the reason of {@link holdValue}). */
  private holdMetaValue(
    buf: Buffer,
    bytes: number,
    after: number,
    fs: number,
    end: number,
    flags: number,
    cas: bigint | undefined,
    ks: number,
    ke: number
  ): -1 {
    return this.hold(
      buf,
      bytes,
      after,
      (value) => new MetaReply("VA", buf, fs, end, value, flags, cas, ks, ke),
      undefined
    )
  }
}

/** The fixed-text reply lines (`END`, `STORED`, `ERROR <msg>`, …), or undefined for the others. */
const textLine = (buf: Buffer, start: number, te: number, end: number): Reply | undefined => {
  const bare = te === end
  switch (buf[start]) {
    case 69: // E
      if (bare && equalsAscii(buf, start, end, "END")) return End
      if (bare && equalsAscii(buf, start, end, "EXISTS")) return Exists
      if (equalsAscii(buf, start, te, "ERROR")) {
        return { _tag: "Error", message: latin1(buf, Math.min(te + 1, end), end) }
      }
      break
    case 83: // S
      if (bare && equalsAscii(buf, start, end, "STORED")) return Stored
      if (equalsAscii(buf, start, te, "SERVER_ERROR")) {
        return { _tag: "ServerError", message: utf8(buf, Math.min(te + 1, end), end) }
      }
      break
    case 78: // N
      if (bare && equalsAscii(buf, start, end, "NOT_FOUND")) return NotFound
      if (bare && equalsAscii(buf, start, end, "NOT_STORED")) return NotStored
      break
    case 68: // D
      if (bare && equalsAscii(buf, start, end, "DELETED")) return Deleted
      break
    case 84: // T
      if (bare && equalsAscii(buf, start, end, "TOUCHED")) return Touched
      break
    case 86: // V
      if (equalsAscii(buf, start, te, "VERSION")) {
        return { _tag: "Version", version: latin1(buf, Math.min(te + 1, end), end) }
      }
      break
    case 67: // C
      if (equalsAscii(buf, start, te, "CLIENT_ERROR")) {
        return { _tag: "ClientError", message: utf8(buf, Math.min(te + 1, end), end) }
      }
      break
  }
  return undefined
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
