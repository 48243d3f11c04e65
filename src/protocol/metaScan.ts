/**
 * The one scanner of meta return flags (`f0 c123 t-1 kfoo W …`). The reply parser runs it on every
 * meta reply line, so a reply handed to the engine is well-formed: a bad number fails the parser.
 * `metaFlags` (meta.ts) runs it again to decode every flag; `MetaReply.flag` finds one token with
 * {@link findMetaToken}, which shares the tokenizer.
 *
 * Rules (what memcached 1.6 sends): every token starts with a letter; `f` is an unsigned 32-bit
 * integer; `c` an unsigned 64-bit one; `t` is -1 or an unsigned 32-bit integer; `s` and `l` are
 * non-negative safe integers; `h` is 0 or 1; `k` is non-empty; `W`, `X`, `Z`, `b` and `q` are
 * bare. Other letters (`O<opaque>`, flags a newer memcached may add) are accepted as they are.
 *
 * @since 0.2.0
 */
import { parseMetaTtl, parseU32, parseU64, parseUint } from "./limits.js"

/** Bits of {@link MetaScan.bits}. @since 0.2.0 @category constants */
export const MetaBit = { W: 1, X: 2, Z: 4, b: 8 } as const

/**
 * What a scan found; absent numbers are -1 (`ttl`: -2), absent ranges -1.
 *
 * @since 0.2.0
 * @category models
 */
export interface MetaScan {
  flags: number
  cas: bigint | undefined
  ttl: number
  size: number
  hit: number
  lastAccess: number
  bits: number
  opaqueStart: number
  opaqueEnd: number
  keyStart: number
  keyEnd: number
}

/**
 * A fresh, empty {@link MetaScan}.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMetaScan = (): MetaScan => ({
  flags: -1,
  cas: undefined,
  ttl: -2,
  size: -1,
  hit: -1,
  lastAccess: -1,
  bits: 0,
  opaqueStart: -1,
  opaqueEnd: -1,
  keyStart: -1,
  keyEnd: -1
})

/** The end of the token that starts at `i` (the next space, or `end`): the tokenizer both scans share. */
const tokenEnd = (buf: Uint8Array, i: number, end: number): number => {
  while (i < end && buf[i] !== 32) i++
  return i
}

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122)

/**
 * Scans the return flags in `buf[start, end)` into `out` (reset first). Returns undefined when they are
 * well-formed, else what is wrong (`"return flag c is not an unsigned 64-bit integer"`). Never throws.
 *
 * @since 0.2.0
 * @category decoding
 */
export const scanMetaFlags = (buf: Uint8Array, start: number, end: number, out: MetaScan): string | undefined => {
  out.flags = -1
  out.cas = undefined
  out.ttl = -2
  out.size = -1
  out.hit = -1
  out.lastAccess = -1
  out.bits = 0
  out.keyStart =
    out.keyEnd =
    out.opaqueStart =
    out.opaqueEnd =
      -1
  let i = start
  while (i < end) {
    if (buf[i] === 32) {
      i++
      continue
    }
    const s = i
    i = tokenEnd(buf, i, end)
    const c = buf[s]!
    const vs = s + 1
    switch (c) {
      case 102: // f
        if ((out.flags = parseU32(buf, vs, i)) < 0) return "return flag f is not an unsigned 32-bit integer"
        break
      case 99: { // c
        const v = parseU64(buf, vs, i)
        if (v < 0n) return "return flag c is not an unsigned 64-bit integer"
        out.cas = v
        break
      }
      case 116: // t
        if ((out.ttl = parseMetaTtl(buf, vs, i)) === -2) {
          return "return flag t is neither -1 nor an unsigned 32-bit integer"
        }
        break
      case 115: // s
        if ((out.size = parseUint(buf, vs, i, Number.MAX_SAFE_INTEGER)) < 0) return "return flag s is not a size"
        break
      case 108: // l
        if ((out.lastAccess = parseUint(buf, vs, i, Number.MAX_SAFE_INTEGER)) < 0) {
          return "return flag l is not a count of seconds"
        }
        break
      case 104: // h
        if (i !== vs + 1 || (buf[vs] !== 48 && buf[vs] !== 49)) return "return flag h is neither 0 nor 1"
        out.hit = buf[vs]! - 48
        break
      case 107: // k
        if (i === vs) return "return flag k has no key"
        out.keyStart = vs
        out.keyEnd = i
        break
      case 79: // O
        out.opaqueStart = vs
        out.opaqueEnd = i
        break
      case 87: // W
      case 88: // X
      case 90: // Z
      case 98: // b
        if (i !== vs) return `return flag ${String.fromCharCode(c)} takes no token`
        out.bits |= c === 87 ? MetaBit.W : c === 88 ? MetaBit.X : c === 90 ? MetaBit.Z : MetaBit.b
        break
      default:
        if (!isLetter(c)) return "return flags must start with a letter"
    }
  }
  return undefined
}

/**
 * Finds the first token of flag `code` (a char code) in `buf[start, end)`: writes the range of its
 * value (after the letter) to `range` and returns true, or returns false when the flag is absent.
 *
 * @since 0.2.0
 * @category decoding
 */
export const findMetaToken = (
  buf: Uint8Array,
  start: number,
  end: number,
  code: number,
  range: [number, number]
): boolean => {
  let i = start
  while (i < end) {
    if (buf[i] === 32) {
      i++
      continue
    }
    const s = i
    i = tokenEnd(buf, i, end)
    if (buf[s] === code) {
      range[0] = s + 1
      range[1] = i
      return true
    }
  }
  return false
}
