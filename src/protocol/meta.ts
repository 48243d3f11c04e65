/**
 * The meta protocol, client direction and sans-IO: typed flag options → request lines (`mg`, `ms`,
 * `md`, `ma`, `mn`, `me`), and typed decoding of the return flags of a {@link MetaReply} (the reply
 * parser of `Protocol` already frames meta replies; this module gives their flags meaning).
 *
 * Keys are strings. With `base64: true` the key's UTF-8 bytes (or the given bytes) are sent base64
 * encoded with the `b` flag, so any byte sequence, spaces included, can be a key; a key returned
 * with `k` and `b` is decoded back.
 *
 * Flags are written in a fixed order: the base64 marker, then the flags that act on the item
 * (`T`, `N`, `R`, `E`, `C`, `I`, `M`, …), then the flags that ask for data, then `O` and `q`. memcached
 * evaluates flags left to right, so a `t` after a `T` reports the new TTL.
 *
 * @since 0.1.0
 */
import { ReplyItem } from "./item.js"
import { MAX_KEY_LENGTH } from "./limits.js"
import { makeMetaScan, MetaBit, scanMetaFlags } from "./metaScan.js"
import type { MetaReply } from "./replies.js"

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/**
 * The longest key memcached accepts on the wire; base64 keys count with their encoded length.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_WIRE_KEY = MAX_KEY_LENGTH

/**
 * The most raw bytes a base64 key may have (its encoding must fit in {@link MAX_WIRE_KEY}).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_BASE64_KEY_BYTES = 186

/**
 * The key as it goes on the wire: unchanged, or base64 of its UTF-8 bytes (or of the bytes given).
 *
 * @since 0.1.0
 * @category keys
 */
export const wireKey = (key: string | Uint8Array, base64: boolean | undefined): string =>
  base64 === true
    ? (typeof key === "string" ? Buffer.from(key, "utf8") : Buffer.from(key.buffer, key.byteOffset, key.byteLength))
      .toString("base64")
    : typeof key === "string"
    ? key
    : Buffer.from(key).toString("latin1")

/**
 * Returns why `key` can not be sent as a base64 key, or undefined: 1 to 186 bytes once UTF-8 encoded.
 *
 * @since 0.1.0
 * @category keys
 */
export const base64KeyProblem = (key: string | Uint8Array): string | undefined => {
  const n = typeof key === "string" ? Buffer.byteLength(key, "utf8") : key.length
  if (n === 0) return "key is empty"
  return Buffer.byteLength(wireKey(key, true), "latin1") > MAX_WIRE_KEY
    ? `key is ${n} bytes, more than ${MAX_BASE64_KEY_BYTES} (base64 encoded beyond ${MAX_WIRE_KEY})`
    : undefined
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Decodes a base64 key token (strict: padded, standard alphabet); undefined when invalid or empty.
 *
 * @since 0.1.0
 * @category keys
 */
export const decodeBase64Key = (token: string): Buffer | undefined =>
  token.length === 0 || !BASE64.test(token) ? undefined : Buffer.from(token, "base64")

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * Flags common to every keyed meta command.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaCommonFlags {
  /** `b`: the key is sent base64 encoded (any bytes, spaces included). */
  readonly base64?: boolean | undefined
  /** `O<token>`: an opaque token (≤ 32 printable characters) echoed in the reply. */
  readonly opaque?: string | undefined
  /** `q`: quiet mode, the usual success reply (`HD`, or `EN` for mg) is not sent. */
  readonly quiet?: boolean | undefined
  /** `k`: return the key. */
  readonly returnKey?: boolean | undefined
}

/**
 * `mg` flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaGetFlags extends MetaCommonFlags {
  /** `v`: return the value (`VA`); without it the reply is `HD`. */
  readonly value?: boolean | undefined
  /** `f`: return the client flags. */
  readonly flags?: boolean | undefined
  /** `c`: return the CAS unique. */
  readonly cas?: boolean | undefined
  /** `t`: return the remaining TTL in seconds (-1: never expires). */
  readonly ttl?: boolean | undefined
  /** `s`: return the value's size. */
  readonly size?: boolean | undefined
  /** `h`: return whether the item was fetched before (0/1). */
  readonly hit?: boolean | undefined
  /** `l`: return the seconds since the last access. */
  readonly lastAccess?: boolean | undefined
  /** `u`: do not bump the item in the LRU (nor mark it fetched / accessed). */
  readonly noLru?: boolean | undefined
  /** `T<exptime>`: update the TTL (touch). */
  readonly touch?: number | undefined
  /** `N<exptime>`: vivify on miss: create an empty item with this TTL and win the recache token. */
  readonly vivify?: number | undefined
  /** `R<seconds>`: win the recache token when the remaining TTL is below this. */
  readonly recache?: number | undefined
  /** `E<cas>`: the CAS unique to give an item this command creates (memcached ≥ 1.6.21). */
  readonly newCas?: bigint | undefined
}

/**
 * The `ms` modes: `E` add, `A` append, `P` prepend, `R` replace, `S` set.
 *
 * @since 0.1.0
 * @category models
 */
export type MetaSetMode = "E" | "A" | "P" | "R" | "S"

/**
 * `ms` flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaSetFlags extends MetaCommonFlags {
  /** `F<flags>`: the client flags. */
  readonly flags?: number | undefined
  /** `T<exptime>`: the TTL. */
  readonly ttl?: number | undefined
  /** `C<cas>`: compare and swap. */
  readonly compareCas?: bigint | undefined
  /** `E<cas>`: the CAS unique the stored item gets (memcached ≥ 1.6.21). */
  readonly newCas?: bigint | undefined
  /** `I`: invalidate: with a `C` older than the item's, store the value but mark it stale. */
  readonly invalidate?: boolean | undefined
  /** `M<mode>`; default set. */
  readonly mode?: MetaSetMode | undefined
  /** `N<exptime>`: with append/prepend, create the item when missing (memcached ≥ 1.6.21). */
  readonly vivify?: number | undefined
  /** `c`: return the new CAS unique. */
  readonly returnCas?: boolean | undefined
  /** `s`: return the size (accepted, memcached 1.6.18 sends nothing back). */
  readonly returnSize?: boolean | undefined
}

/**
 * `md` flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaDeleteFlags extends MetaCommonFlags {
  /** `C<cas>`: delete only if the CAS unique matches. */
  readonly compareCas?: bigint | undefined
  /** `E<cas>`: the CAS unique an invalidated item gets (memcached ≥ 1.6.21). */
  readonly newCas?: bigint | undefined
  /** `I`: mark the item stale instead of deleting it (the next `mg` wins the recache token). */
  readonly invalidate?: boolean | undefined
  /** `T<exptime>`: with `I`, the stale item's new TTL. */
  readonly ttl?: number | undefined
  /** `x`: remove the value but keep the item (memcached ≥ 1.6.21). */
  readonly removeValue?: boolean | undefined
}

/**
 * `ma` modes: increment or decrement.
 *
 * @since 0.1.0
 * @category models
 */
export type MetaArithmeticMode = "incr" | "decr"

/**
 * `ma` flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaArithmeticFlags extends MetaCommonFlags {
  /** `D<delta>`, default 1. */
  readonly delta?: bigint | undefined
  /** `MI` / `MD`; default incr. */
  readonly mode?: MetaArithmeticMode | undefined
  /** `N<exptime>`: create the counter when missing, with this TTL. */
  readonly vivify?: number | undefined
  /** `J<initial>`: the value of a vivified counter (default 0). */
  readonly initial?: bigint | undefined
  /** `T<exptime>`: update the TTL. */
  readonly ttl?: number | undefined
  /** `C<cas>`: only if the CAS unique matches. */
  readonly compareCas?: bigint | undefined
  /** `E<cas>`: the CAS unique the updated item gets (memcached ≥ 1.6.21). */
  readonly newCas?: bigint | undefined
  /** `v`: return the new value (`VA`). */
  readonly value?: boolean | undefined
  /** `t`: return the remaining TTL. */
  readonly returnTtl?: boolean | undefined
  /** `c`: return the CAS unique. */
  readonly returnCas?: boolean | undefined
}

// ---------------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------------

const tail = (f: MetaCommonFlags, s: string): string => {
  if (f.returnKey === true) s += " k"
  if (f.opaque !== undefined) s += " O" + f.opaque
  if (f.quiet === true) s += " q"
  return s + "\r\n"
}

/**
 * `mg <key> <flags>*\r\n`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaGet = (key: string | Uint8Array, f: MetaGetFlags = {}): string => {
  let s = "mg " + wireKey(key, f.base64)
  if (f.base64 === true) s += " b"
  if (f.touch !== undefined) s += " T" + f.touch
  if (f.vivify !== undefined) s += " N" + f.vivify
  if (f.recache !== undefined) s += " R" + f.recache
  if (f.newCas !== undefined) s += " E" + f.newCas
  if (f.value === true) s += " v"
  if (f.flags === true) s += " f"
  if (f.cas === true) s += " c"
  if (f.ttl === true) s += " t"
  if (f.size === true) s += " s"
  if (f.hit === true) s += " h"
  if (f.lastAccess === true) s += " l"
  if (f.noLru === true) s += " u"
  return tail(f, s)
}

/**
 * The header line of `ms <key> <datalen> <flags>*`; the data block and CRLF follow it.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaSetHeader = (key: string | Uint8Array, bytes: number, f: MetaSetFlags = {}): string => {
  let s = "ms " + wireKey(key, f.base64) + " " + bytes
  if (f.base64 === true) s += " b"
  if (f.flags !== undefined && f.flags !== 0) s += " F" + f.flags
  if (f.ttl !== undefined && f.ttl !== 0) s += " T" + f.ttl
  if (f.compareCas !== undefined) s += " C" + f.compareCas
  if (f.newCas !== undefined) s += " E" + f.newCas
  if (f.invalidate === true) s += " I"
  if (f.mode !== undefined && f.mode !== "S") s += " M" + f.mode
  if (f.vivify !== undefined) s += " N" + f.vivify
  if (f.returnCas === true) s += " c"
  if (f.returnSize === true) s += " s"
  return tail(f, s)
}

/**
 * A whole `ms` command as bytes (header, data, CRLF).
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaSet = (key: string | Uint8Array, data: Uint8Array, f: MetaSetFlags = {}): Buffer =>
  Buffer.concat([Buffer.from(encodeMetaSetHeader(key, data.length, f), "latin1"), data, CRLF])

const CRLF = Buffer.from("\r\n")

/**
 * `md <key> <flags>*\r\n`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaDelete = (key: string | Uint8Array, f: MetaDeleteFlags = {}): string => {
  let s = "md " + wireKey(key, f.base64)
  if (f.base64 === true) s += " b"
  if (f.compareCas !== undefined) s += " C" + f.compareCas
  if (f.newCas !== undefined) s += " E" + f.newCas
  if (f.invalidate === true) s += " I"
  if (f.ttl !== undefined) s += " T" + f.ttl
  if (f.removeValue === true) s += " x"
  return tail(f, s)
}

/**
 * `ma <key> <flags>*\r\n`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaArithmetic = (key: string | Uint8Array, f: MetaArithmeticFlags = {}): string => {
  let s = "ma " + wireKey(key, f.base64)
  if (f.base64 === true) s += " b"
  if (f.mode === "decr") s += " MD"
  if (f.delta !== undefined && f.delta !== 1n) s += " D" + f.delta
  if (f.vivify !== undefined) s += " N" + f.vivify
  if (f.initial !== undefined) s += " J" + f.initial
  if (f.ttl !== undefined) s += " T" + f.ttl
  if (f.compareCas !== undefined) s += " C" + f.compareCas
  if (f.newCas !== undefined) s += " E" + f.newCas
  if (f.value === true) s += " v"
  if (f.returnTtl === true) s += " t"
  if (f.returnCas === true) s += " c"
  return tail(f, s)
}

/**
 * `mn\r\n`: the no-op whose `MN` ends a quiet batch.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaNoop = (): string => "mn\r\n"

/**
 * The client's `get`-family request on the meta protocol: `mg <key>[ T<exptime>] v f[ c] k\r\n`
 * (`touch` set for gat/gats; `cas` for gets/gats). The `k` ties the reply to its key.
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeMetaGetItem = (key: string, cas: boolean, touch?: number): string =>
  touch === undefined
    ? "mg " + key + (cas ? " v f c k\r\n" : " v f k\r\n")
    : "mg " + key + " T" + touch + (cas ? " v f c k\r\n" : " v f k\r\n")

/**
 * A touch on the meta protocol: `mg <key> T<exptime>\r\n` (`HD` when touched, `EN` when missing).
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeMetaTouch = (key: string, exptime: number): string => "mg " + key + " T" + exptime + "\r\n"

/**
 * A quiet multi-get: `mg <key> k v f[ c] q\r\n` per key, then `mn\r\n`. Only hits come back (each
 * with its key), then `MN`.
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeMetaGetMany = (
  keys: ReadonlyArray<string>,
  options?: { readonly cas?: boolean | undefined }
): string => {
  const tail = options?.cas === true ? " k v f c q\r\n" : " k v f q\r\n"
  let s = ""
  for (let i = 0; i < keys.length; i++) s += "mg " + keys[i] + tail
  return s + "mn\r\n"
}

/**
 * `me <key> [b]\r\n`: the debug dump of an item.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeMetaDebug = (key: string | Uint8Array, base64?: boolean): string =>
  base64 === true ? `me ${wireKey(key, true)} b\r\n` : `me ${wireKey(key, false)}\r\n`

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * The return flags of a meta reply, typed. Absent flags are `undefined`; `win`, `stale` and
 * `alreadyWon` are the bare `W`, `X` and `Z` flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaFlags {
  /** `f` */
  readonly flags: number | undefined
  /** `c` */
  readonly cas: bigint | undefined
  /** `t`: seconds left, -1 for never. */
  readonly ttl: number | undefined
  /** `s` */
  readonly size: number | undefined
  /** `h`: fetched before this request. */
  readonly hit: boolean | undefined
  /** `l`: seconds since the last access. */
  readonly lastAccess: number | undefined
  /** `W`: this client won the right to recache the item. */
  readonly win: boolean
  /** `X`: the item is stale (invalidated). */
  readonly stale: boolean
  /** `Z`: another client already holds the win token. */
  readonly alreadyWon: boolean
  /** `O` */
  readonly opaque: string | undefined
  /** `k`, base64-decoded (as UTF-8) when the reply carries `b`. */
  readonly key: string | undefined
}

/**
 * A meta item: the reply's return flags plus its value (for `VA`).
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaItem extends MetaFlags {
  readonly value: Uint8Array | undefined
}

/**
 * Decodes every return flag of `reply` with the one meta flag scanner (`metaScan.ts`). The parser
 * already validated them, so no number here is NaN or made up; absent flags are `undefined`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const metaFlags = (reply: MetaReply): MetaFlags => {
  const buf = reply.line
  const m = makeMetaScan()
  // A reply built by the parser always scans clean; one built by hand with bad flags reads as absent.
  scanMetaFlags(buf, reply.flagsStart, reply.flagsEnd, m)
  let key: string | undefined
  if (m.keyStart >= 0) {
    const token = buf.latin1Slice(m.keyStart, m.keyEnd)
    if ((m.bits & MetaBit.b) !== 0) key = decodeBase64Key(token)?.toString("utf8") ?? token
    else key = buf.utf8Slice(m.keyStart, m.keyEnd)
  }
  return {
    flags: m.flags < 0 ? undefined : m.flags,
    cas: m.cas,
    ttl: m.ttl === -2 ? undefined : m.ttl,
    size: m.size < 0 ? undefined : m.size,
    hit: m.hit < 0 ? undefined : m.hit === 1,
    lastAccess: m.lastAccess < 0 ? undefined : m.lastAccess,
    win: (m.bits & MetaBit.W) !== 0,
    stale: (m.bits & MetaBit.X) !== 0,
    alreadyWon: (m.bits & MetaBit.Z) !== 0,
    opaque: m.opaqueStart < 0 ? undefined : buf.latin1Slice(m.opaqueStart, m.opaqueEnd),
    key
  }
}

/**
 * The hot-path view of a `VA` reply: its value, client flags (`f`, 0 when absent) and CAS unique
 * (`c`), read from the fields the parser pre-parsed (no rescan). For a reply without a value
 * (`HD`), `value` is empty. A {@link ReplyItem} (a class: see item.ts on why not a literal).
 *
 * @since 0.2.0
 * @category decoding
 */
export const metaToItem = (
  r: MetaReply
): ReplyItem => new ReplyItem(r.value ?? EMPTY_VALUE, r.clientFlags, r.cas)

const EMPTY_VALUE = new Uint8Array(0)

/**
 * True when the reply's `k` token is `key`: compared byte by byte for ASCII keys, else as UTF-8.
 * False when the reply has no `k`.
 *
 * @since 0.2.0
 * @category decoding
 */
export const metaKeyIs = (r: MetaReply, key: string): boolean => {
  const s = r.keyStart
  if (s < 0) return false
  const buf = r.line
  const n = r.keyEnd - s
  if (n === key.length) {
    let i = 0
    while (i < n && buf[s + i] === key.charCodeAt(i)) i++
    if (i === n) return true
  }
  if (buf.utf8Slice(s, r.keyEnd) === key) return true
  // An item stored under a base64 key (`b`) comes back with its key base64-encoded and `b`, even to a
  // plain request (memcached 1.6): compare the decoded bytes. Only reached when the plain compare fails.
  const m = makeMetaScan()
  scanMetaFlags(buf, r.flagsStart, r.flagsEnd, m)
  if ((m.bits & MetaBit.b) === 0) return false
  const decoded = decodeBase64Key(buf.latin1Slice(s, r.keyEnd))
  return decoded !== undefined && decoded.equals(Buffer.from(key, "utf8"))
}

/**
 * A `VA` or `HD` reply as a typed item (for `EN` and the other codes, see {@link MetaReply.code}).
 *
 * @since 0.1.0
 * @category decoding
 */
export const metaItem = (reply: MetaReply): MetaItem => ({ ...metaFlags(reply), value: reply.value })

/**
 * The fields of an `ME <key> <k>=<v>*` debug line.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parseMetaDebug = (fields: string): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const part of fields.split(" ")) {
    if (part === "") continue
    const eq = part.indexOf("=")
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1))
  }
  return out
}

/**
 * Why an opaque token can not be sent, or undefined: at most 32 printable ASCII characters, no space.
 *
 * @since 0.1.0
 * @category validation
 */
export const opaqueProblem = (opaque: string): string | undefined =>
  opaque.length > 32
    ? "opaque token longer than 32 characters"
    : /^[\x21-\x7e]*$/.test(opaque)
    ? undefined
    : "opaque token must be printable ASCII without spaces"
