/**
 * Byte-level helpers shared by both directions of the codec. Hand-parsed integers over Buffer ranges;
 * nothing here decodes a whole line to a string.
 */

/** CR */
export const CR = 13
/** LF */
export const LF = 10
/** space */
export const SP = 32

/** The line end of the protocol, as a string (appended after a data block). @since 0.2.0 */
export const CRLF = "\r\n"

/** The line end of the protocol, as bytes. @since 0.2.0 */
export const CRLF_BYTES: Buffer = Buffer.from(CRLF, "latin1")

/** An empty Buffer, shared. */
export const EMPTY = Buffer.alloc(0)

/**
 * The strict number parsers and limits live in `limits.ts`; re-exported here for the modules that
 * imported them from `bytes.ts`.
 *
 * @since 0.1.0
 */
export { parseU64, parseUint, U64_MAX } from "./limits.js"

/** Decodes `buf[start, end)` as latin1 (one char per byte). */
export const latin1 = (buf: Buffer, start: number, end: number): string => buf.latin1Slice(start, end)

/** Decodes `buf[start, end)` as UTF-8. */
export const utf8 = (buf: Buffer, start: number, end: number): string => buf.utf8Slice(start, end)

declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string
    utf8Slice(start: number, end: number): string
  }
}

/** True when `buf[start, end)` equals the ASCII string `s`. */
export const equalsAscii = (buf: Uint8Array, start: number, end: number, s: string): boolean => {
  if (end - start !== s.length) return false
  for (let i = 0; i < s.length; i++) {
    if (buf[start + i] !== s.charCodeAt(i)) return false
  }
  return true
}

/** Index of the next space in `buf[start, end)`, or `end`. */
export const nextSpace = (buf: Uint8Array, start: number, end: number): number => {
  let i = start
  while (i < end && buf[i] !== SP) i++
  return i
}

/**
 * Splits `buf[start, end)` on single spaces into `[start, end)` pairs appended to `out`
 * (cleared first). Runs of spaces are tolerated. Returns the number of tokens.
 */
export const tokenize = (buf: Uint8Array, start: number, end: number, out: Array<number>): number => {
  out.length = 0
  let i = start
  while (i < end) {
    while (i < end && buf[i] === SP) i++
    if (i >= end) break
    const s = i
    while (i < end && buf[i] !== SP) i++
    out.push(s, i)
  }
  return out.length >> 1
}

/** A Buffer view of `chunk` (no copy). */
export const toBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
