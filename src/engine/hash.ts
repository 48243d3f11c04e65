/**
 * Key hash functions used to pick a server, as pure functions on bytes with allocation-free fast paths for
 * JS strings (hashed as their UTF-8 bytes).
 *
 * Every function reproduces a real client bit for bit (see `docs/distribution.md` and the vectors in
 * `test/fixtures/vectors`). libmemcached reads key bytes through a signed `char` on x86-64, so its
 * one-at-a-time and FNV variants differ from the textbook versions for bytes >= 0x80; the `libmc` /
 * OMcache variants read bytes unsigned.
 *
 * @since 0.1.0
 */

/**
 * A 32-bit hash of a byte sequence, as an unsigned integer (0 .. 2^32-1).
 *
 * @since 0.1.0
 * @category models
 */
export type BytesHash = (bytes: Uint8Array, length: number) => number

/**
 * A named key hash: `bytes` hashes the first `length` bytes of a buffer, `string` hashes the UTF-8 bytes of
 * a string without allocating when it is ASCII (non-ASCII strings are encoded into a shared scratch buffer).
 *
 * @since 0.1.0
 * @category models
 */
export interface HashFunction {
  readonly name: HashName
  readonly bytes: BytesHash
  readonly string: (input: string) => number
}

/**
 * Names of the hash functions this module provides. `one_at_a_time`, `md5`, `crc`, `fnv1_64`, `fnv1a_64`,
 * `fnv1_32`, `fnv1a_32`, `murmur`, `murmur3` and `jenkins` are libmemcached's `memcached_hash_t` functions
 * (`default` is an alias of `one_at_a_time`); `one_at_a_time_unsigned` is OMcache's; `libmc_fnv1_32`,
 * `libmc_fnv1a_32` and `crc_32` are libmc's (unsigned bytes, full 32-bit CRC).
 *
 * @since 0.1.0
 * @category models
 */
export type HashName =
  | "one_at_a_time"
  | "one_at_a_time_unsigned"
  | "md5"
  | "crc"
  | "crc_32"
  | "fnv1_64"
  | "fnv1a_64"
  | "fnv1_32"
  | "fnv1a_32"
  | "libmc_fnv1_32"
  | "libmc_fnv1a_32"
  | "murmur"
  | "murmur3"
  | "jenkins"

// ---------------------------------------------------------------------------------------------------------
// scratch encoding

let scratch = new Uint8Array(1024)
const encoder = new TextEncoder()

const ensureScratch = (n: number): Uint8Array => {
  if (scratch.length < n) {
    let size = scratch.length
    while (size < n) size *= 2
    const next = new Uint8Array(size)
    next.set(scratch)
    scratch = next
  }
  return scratch
}

/**
 * Writes the UTF-8 bytes of `input` into the module's shared scratch buffer starting at `offset` and returns
 * the number of bytes written. ASCII strings are copied without any allocation. The buffer is reused by the
 * next call: read it synchronously ({@link scratchBuffer}).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeToScratch = (input: string, offset = 0): number => {
  const n = input.length
  let buf = ensureScratch(offset + n)
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i)
    if (c >= 0x80) {
      buf = ensureScratch(offset + n * 3)
      return encoder.encodeInto(input, buf.subarray(offset)).written
    }
    buf[offset + i] = c
  }
  return n
}

/**
 * The shared scratch buffer {@link encodeToScratch} writes into (it may be replaced by a larger one).
 *
 * @since 0.1.0
 * @category encoding
 */
export const scratchBuffer = (): Uint8Array => scratch

// ---------------------------------------------------------------------------------------------------------
// one_at_a_time

/** One byte (as an integer: signed or not is the caller's choice) mixed into a one-at-a-time state. */
const oneAtATimeStep = (h: number, byte: number): number => {
  h = (h + byte) | 0
  h = (h + (h << 10)) | 0
  return h ^ (h >>> 6)
}

/** The one-at-a-time avalanche after the last byte, as an unsigned 32-bit hash. */
const oneAtATimeFinal = (h: number): number => {
  h = (h + (h << 3)) | 0
  h ^= h >>> 11
  h = (h + (h << 15)) | 0
  return h >>> 0
}

/**
 * libmemcached's default hash (`MEMCACHED_HASH_DEFAULT`): Jenkins one-at-a-time, with bytes >= 0x80 read as
 * signed `char` (x86-64).
 *
 * @since 0.1.0
 * @category hashes
 */
export const oneAtATimeBytes: BytesHash = (b, len) => {
  let h = 0
  for (let i = 0; i < len; i++) {
    h = oneAtATimeStep(h, (b[i]! << 24) >> 24)
  }
  return oneAtATimeFinal(h)
}

/**
 * libmemcached's one-at-a-time (the default key hash) of a string, straight from its char codes while
 * they are ASCII (their UTF-8 bytes); the first non-ASCII one hands the key to `other` (the byte form
 * over its UTF-8). Saves copying every key into the scratch buffer first.
 */
const oneAtATimeString = (other: (input: string) => number) => (input: string): number => {
  let h = 0
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c >= 0x80) return other(input)
    h = oneAtATimeStep(h, c)
  }
  return oneAtATimeFinal(h)
}

/**
 * OMcache's one-at-a-time: the same as {@link oneAtATimeBytes} but reading bytes unsigned.
 *
 * @since 0.1.0
 * @category hashes
 */
export const oneAtATimeUnsignedBytes: BytesHash = (b, len) => {
  let h = 0
  for (let i = 0; i < len; i++) {
    h = oneAtATimeStep(h, b[i]!)
  }
  return oneAtATimeFinal(h)
}

// ---------------------------------------------------------------------------------------------------------
// md5 (pure JS so that key lookups allocate nothing; checked against node:crypto in the tests)

const md5State = new Int32Array(4)
const md5Block = new Int32Array(16)
const md5Tail = new Uint8Array(128)
const md5K = new Int32Array(64)
for (let i = 0; i < 64; i++) md5K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) | 0

const md5Compress = (x: Int32Array): void => {
  let a = md5State[0]!, b = md5State[1]!, c = md5State[2]!, d = md5State[3]!
  let t: number, s: number
  // four loops (one per round) instead of a branch per step: noticeably faster in V8
  for (let i = 0; i < 16; i++) {
    s = i & 3 ? (i & 3) === 1 ? 12 : (i & 3) === 2 ? 17 : 22 : 7
    t = (a + ((b & c) | (~b & d)) + md5K[i]! + x[i]!) | 0
    a = d
    d = c
    c = b
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0
  }
  for (let i = 16; i < 32; i++) {
    s = i & 3 ? (i & 3) === 1 ? 9 : (i & 3) === 2 ? 14 : 20 : 5
    t = (a + ((d & b) | (~d & c)) + md5K[i]! + x[(5 * i + 1) & 15]!) | 0
    a = d
    d = c
    c = b
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0
  }
  for (let i = 32; i < 48; i++) {
    s = i & 3 ? (i & 3) === 1 ? 11 : (i & 3) === 2 ? 16 : 23 : 4
    t = (a + (b ^ c ^ d) + md5K[i]! + x[(3 * i + 5) & 15]!) | 0
    a = d
    d = c
    c = b
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0
  }
  for (let i = 48; i < 64; i++) {
    s = i & 3 ? (i & 3) === 1 ? 10 : (i & 3) === 2 ? 15 : 21 : 6
    t = (a + (c ^ (b | ~d)) + md5K[i]! + x[(7 * i) & 15]!) | 0
    a = d
    d = c
    c = b
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0
  }
  md5State[0] = (md5State[0]! + a) | 0
  md5State[1] = (md5State[1]! + b) | 0
  md5State[2] = (md5State[2]! + c) | 0
  md5State[3] = (md5State[3]! + d) | 0
}

const loadBlock = (src: Uint8Array, at: number): void => {
  for (let j = 0; j < 16; j++) {
    const p = at + (j << 2)
    md5Block[j] = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)
  }
}

/**
 * Computes the MD5 digest of the first `length` bytes of `bytes`. The result is an internal `Int32Array` of
 * the four little-endian digest words, overwritten by the next call: copy what you need.
 *
 * @since 0.1.0
 * @category hashes
 */
export const md5Words = (bytes: Uint8Array, length: number): Int32Array => {
  md5State[0] = 0x67452301
  md5State[1] = 0xefcdab89 | 0
  md5State[2] = 0x98badcfe | 0
  md5State[3] = 0x10325476
  const full = length & ~63
  for (let i = 0; i < full; i += 64) {
    loadBlock(bytes, i)
    md5Compress(md5Block)
  }
  const rest = length - full
  for (let i = 0; i < rest; i++) md5Tail[i] = bytes[full + i]!
  md5Tail[rest] = 0x80
  const tailLen = rest < 56 ? 64 : 128
  for (let i = rest + 1; i < tailLen; i++) md5Tail[i] = 0
  const bitsLo = (length << 3) >>> 0
  const bitsHi = Math.floor(length / 0x20000000)
  const p = tailLen - 8
  md5Tail[p] = bitsLo & 0xff
  md5Tail[p + 1] = (bitsLo >>> 8) & 0xff
  md5Tail[p + 2] = (bitsLo >>> 16) & 0xff
  md5Tail[p + 3] = bitsLo >>> 24
  md5Tail[p + 4] = bitsHi & 0xff
  md5Tail[p + 5] = (bitsHi >>> 8) & 0xff
  md5Tail[p + 6] = (bitsHi >>> 16) & 0xff
  md5Tail[p + 7] = bitsHi >>> 24
  loadBlock(md5Tail, 0)
  md5Compress(md5Block)
  if (tailLen === 128) {
    loadBlock(md5Tail, 64)
    md5Compress(md5Block)
  }
  return md5State
}

/**
 * libmemcached's / libmc's md5 key hash: the first four digest bytes read little-endian.
 *
 * @since 0.1.0
 * @category hashes
 */
export const md5Bytes: BytesHash = (b, len) => md5Words(b, len)[0]! >>> 0

// ---------------------------------------------------------------------------------------------------------
// crc

const crcTable = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  crcTable[n] = c
}

/**
 * The standard CRC-32 (IEEE 802.3, as `zlib.crc32`); libmc's `crc_32` key hash.
 *
 * @since 0.1.0
 * @category hashes
 */
export const crc32Bytes: BytesHash = (b, len) => {
  let c = -1
  for (let i = 0; i < len; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/**
 * libmemcached's `crc` hash: only 15 bits of the CRC-32, `(crc32 >>> 16) & 0x7fff` (values 0 .. 32767).
 *
 * @since 0.1.0
 * @category hashes
 */
export const crcBytes: BytesHash = (b, len) => (crc32Bytes(b, len) >>> 16) & 0x7fff

// ---------------------------------------------------------------------------------------------------------
// fnv

const FNV32_OFFSET = 0x811c9dc5 | 0
const FNV32_PRIME = 0x01000193

/**
 * libmemcached's `fnv1_32` (signed bytes).
 *
 * @since 0.1.0
 * @category hashes
 */
export const fnv1_32Bytes: BytesHash = (b, len) => {
  let h = FNV32_OFFSET
  for (let i = 0; i < len; i++) h = Math.imul(h, FNV32_PRIME) ^ ((b[i]! << 24) >> 24)
  return h >>> 0
}

/**
 * libmemcached's `fnv1a_32` (signed bytes).
 *
 * @since 0.1.0
 * @category hashes
 */
export const fnv1a_32Bytes: BytesHash = (b, len) => {
  let h = FNV32_OFFSET
  for (let i = 0; i < len; i++) h = Math.imul(h ^ ((b[i]! << 24) >> 24), FNV32_PRIME)
  return h >>> 0
}

/**
 * libmc's `fnv1_32` (textbook FNV-1, unsigned bytes).
 *
 * @since 0.1.0
 * @category hashes
 */
export const libmcFnv1_32Bytes: BytesHash = (b, len) => {
  let h = FNV32_OFFSET
  for (let i = 0; i < len; i++) h = Math.imul(h, FNV32_PRIME) ^ b[i]!
  return h >>> 0
}

/**
 * libmc's `fnv1a_32` (textbook FNV-1a, unsigned bytes).
 *
 * @since 0.1.0
 * @category hashes
 */
export const libmcFnv1a_32Bytes: BytesHash = (b, len) => {
  let h = FNV32_OFFSET
  for (let i = 0; i < len; i++) h = Math.imul(h ^ b[i]!, FNV32_PRIME)
  return h >>> 0
}

/**
 * libmemcached's `fnv1_64`: 64-bit FNV-1 over signed bytes, returning the low 32 bits.
 *
 * @since 0.1.0
 * @category hashes
 */
export const fnv1_64Bytes: BytesHash = (b, len) => {
  let lo = 0x84222325
  let hi = 0xcbf29ce4
  for (let i = 0; i < len; i++) {
    // h * (2^40 + 0x1b3) mod 2^64, in 32-bit halves
    const loMul = lo * 0x1b3
    const carry = Math.floor(loMul / 4294967296)
    const newHi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) | 0
    lo = loMul >>> 0
    const s = (b[i]! << 24) >> 24
    lo = (lo ^ s) >>> 0
    hi = s < 0 ? ~newHi : newHi
  }
  return lo >>> 0
}

/**
 * libmemcached's `fnv1a_64`, which is really a 32-bit hash: both constants are truncated to 32 bits
 * (offset 0x84222325, prime 0x1b3), over signed bytes.
 *
 * @since 0.1.0
 * @category hashes
 */
export const fnv1a_64Bytes: BytesHash = (b, len) => {
  let h = 0x84222325 | 0
  for (let i = 0; i < len; i++) h = Math.imul(h ^ ((b[i]! << 24) >> 24), 0x1b3)
  return h >>> 0
}

// ---------------------------------------------------------------------------------------------------------
// murmur

/**
 * libmemcached's `murmur`: MurmurHash2 with seed `0xdeadbeef * length`.
 *
 * @since 0.1.0
 * @category hashes
 */
export const murmurBytes: BytesHash = (b, len) => {
  const m = 0x5bd1e995
  let h = Math.imul(0xdeadbeef | 0, len) ^ len
  let i = 0
  for (; i + 4 <= len; i += 4) {
    let k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = len - i
  if (rest > 0) {
    if (rest === 3) h ^= b[i + 2]! << 16
    if (rest >= 2) h ^= b[i + 1]! << 8
    h ^= b[i]!
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h >>> 0
}

/**
 * MurmurHash3_x86_32 of the first `length` bytes with the given seed.
 *
 * @since 0.1.0
 * @category hashes
 */
export const murmur3_32 = (b: Uint8Array, len: number, seed: number, start = 0): number => {
  const c1 = 0xcc9e2d51 | 0
  const c2 = 0x1b873593
  let h = seed | 0
  const end = start + len
  let i = start
  for (; i + 4 <= end; i += 4) {
    let k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + (0xe6546b64 | 0)) | 0
  }
  const rest = end - i
  if (rest > 0) {
    let k = 0
    if (rest === 3) k ^= b[i + 2]! << 16
    if (rest >= 2) k ^= b[i + 1]! << 8
    k ^= b[i]!
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= len
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b | 0)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35 | 0)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * libmemcached's `murmur3`: MurmurHash3_x86_32 with seed `0xdeadbeef * length`.
 *
 * @since 0.1.0
 * @category hashes
 */
export const murmur3Bytes: BytesHash = (b, len) => murmur3_32(b, len, Math.imul(0xdeadbeef | 0, len))

// ---------------------------------------------------------------------------------------------------------
// jenkins (lookup3 hashlittle)

const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k))
const le32 = (b: Uint8Array, p: number, avail: number): number => {
  if (avail >= 4) return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)
  let v = 0
  for (let j = 0; j < avail; j++) v |= b[p + j]! << (8 * j)
  return v
}

/**
 * libmemcached's `jenkins`: Bob Jenkins' lookup3 `hashlittle` with initval 13.
 *
 * @since 0.1.0
 * @category hashes
 */
export const jenkinsBytes: BytesHash = (k, len) => {
  let a = (0xdeadbeef + len + 13) | 0
  let b = a
  let c = a
  if (len === 0) return c >>> 0
  let p = 0
  let rest = len
  while (rest > 12) {
    a = (a + le32(k, p, 4)) | 0
    b = (b + le32(k, p + 4, 4)) | 0
    c = (c + le32(k, p + 8, 4)) | 0
    a = (a - c) | 0
    a ^= rot(c, 4)
    c = (c + b) | 0
    b = (b - a) | 0
    b ^= rot(a, 6)
    a = (a + c) | 0
    c = (c - b) | 0
    c ^= rot(b, 8)
    b = (b + a) | 0
    a = (a - c) | 0
    a ^= rot(c, 16)
    c = (c + b) | 0
    b = (b - a) | 0
    b ^= rot(a, 19)
    a = (a + c) | 0
    c = (c - b) | 0
    c ^= rot(b, 4)
    b = (b + a) | 0
    p += 12
    rest -= 12
  }
  a = (a + le32(k, p, Math.min(rest, 4))) | 0
  if (rest > 4) b = (b + le32(k, p + 4, Math.min(rest - 4, 4))) | 0
  if (rest > 8) c = (c + le32(k, p + 8, rest - 8)) | 0
  c ^= b
  c = (c - rot(b, 14)) | 0
  a ^= c
  a = (a - rot(c, 11)) | 0
  b ^= a
  b = (b - rot(a, 25)) | 0
  c ^= b
  c = (c - rot(b, 16)) | 0
  a ^= c
  a = (a - rot(c, 4)) | 0
  b ^= a
  b = (b - rot(a, 14)) | 0
  c ^= b
  c = (c - rot(b, 24)) | 0
  return c >>> 0
}

// ---------------------------------------------------------------------------------------------------------
// named functions

const byName: Record<HashName, BytesHash> = {
  one_at_a_time: oneAtATimeBytes,
  one_at_a_time_unsigned: oneAtATimeUnsignedBytes,
  md5: md5Bytes,
  crc: crcBytes,
  crc_32: crc32Bytes,
  fnv1_64: fnv1_64Bytes,
  fnv1a_64: fnv1a_64Bytes,
  fnv1_32: fnv1_32Bytes,
  fnv1a_32: fnv1a_32Bytes,
  libmc_fnv1_32: libmcFnv1_32Bytes,
  libmc_fnv1a_32: libmcFnv1a_32Bytes,
  murmur: murmurBytes,
  murmur3: murmur3Bytes,
  jenkins: jenkinsBytes
}

/**
 * Every hash name this module knows, in a stable order.
 *
 * @since 0.1.0
 * @category constants
 */
export const hashNames: ReadonlyArray<HashName> = Object.keys(byName) as Array<HashName>

const cache = new Map<HashName, HashFunction>()

/**
 * Returns the named hash function (with its byte and string forms).
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = (name: HashName): HashFunction => {
  let fn = cache.get(name)
  if (fn === undefined) {
    const bytes = byName[name]
    const viaScratch = (input: string): number => {
      const len = encodeToScratch(input) // may replace `scratch`: read it afterwards
      return bytes(scratch, len)
    }
    fn = { name, bytes, string: name === "one_at_a_time" ? oneAtATimeString(viaScratch) : viaScratch }
    cache.set(name, fn)
  }
  return fn
}

/**
 * Parses a hash name as written in client configurations (libmemcached / pylibmc names such as `default`,
 * `md5`, `crc`, `fnv1a_32`, `murmur3`, plus this module's own names). Returns `undefined` for an unknown name
 * (including `hsieh`, which is compiled out of common libmemcached builds).
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseName = (input: string): HashName | undefined => {
  const s = input.trim().toLowerCase().replace(/-/g, "_")
  if (s === "default" || s === "one_at_a_time" || s === "oneatatime") return "one_at_a_time"
  return Object.prototype.hasOwnProperty.call(byName, s) ? (s as HashName) : undefined
}

/**
 * Hashes a string (its UTF-8 bytes) with the named function.
 *
 * @since 0.1.0
 * @category hashing
 */
export const hashString = (name: HashName, input: string): number => get(name).string(input)

/**
 * Hashes bytes with the named function.
 *
 * @since 0.1.0
 * @category hashing
 */
export const hashBytes = (name: HashName, bytes: Uint8Array): number => byName[name](bytes, bytes.length)

/**
 * pymemcache's `murmur3_32(str)` (seed 0) as used by its rendezvous hasher: it hashes one byte per code point,
 * `codePoint & 0xff` - for non-ASCII text this is not murmur3 of the UTF-8 bytes.
 *
 * @since 0.1.0
 * @category hashes
 */
export const pymemcacheMurmur3 = (input: string): number => {
  const len = writeLatin1Truncated(input, 0)
  return murmur3_32(scratch, len, 0)
}

/**
 * Writes one byte per code point (`codePoint & 0xff`) of `input` into the scratch buffer at `offset`; returns
 * the number of bytes written. Used for pymemcache compatibility.
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeLatin1Truncated = (input: string, offset: number): number => {
  const n = input.length
  const buf = ensureScratch(offset + n)
  let w = offset
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = input.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        // a surrogate pair is one Python code point: (0x10000 + ...) & 0xff == d & 0xff
        buf[w++] = d & 0xff
        i++
        continue
      }
    }
    buf[w++] = c & 0xff
  }
  return w - offset
}
