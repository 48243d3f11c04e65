/**
 * Values larger than the server's item size, split into chunks under derived keys with a manifest under
 * the user key: mcrouter's random-suffix scheme, so a reader never assembles chunks from two different
 * writes.
 *
 * A write of `n` bytes over `chunkSize`:
 *
 * 1. picks a random 64-bit write id;
 * 2. stores chunk `i` under `<base>|<writeId>|<i>` (`base` is the key, or, when the chunk key would pass
 *    250 bytes, a prefix of the key followed by `#` and the key's SHA-1);
 * 3. only then stores the manifest under the user key, with the value's flags plus {@link Flags.SPLIT}:
 *    `EMCSPLIT1 <writeId> <length> <chunkCount> <chunkSize> <crc32>`.
 *
 * Concurrent writers use different write ids, so the manifest a reader sees always names chunks of one
 * write; a reader fetches them with one multiget and verifies count, sizes and the CRC-32 of the whole
 * value. A missing chunk (evicted, expired) or a mismatch is a miss, never a wrong value. A value over
 * `maxValueSize` fails with `TooLarge` before anything is sent. Chunks of an overwritten value are left
 * to expire or be evicted ({@link remove} deletes them).
 *
 * Values split by douban/libmc (flag `1 << 12`, master value = chunk count, chunks at
 * `~<keyLength><key>/<i>`) are read too.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { createHash, randomBytes } from "node:crypto"
import * as zlib from "node:zlib"
import { crc32Bytes } from "./Hash.js"
import type { Ttl } from "./Key.js"
import { MAX_KEY_LENGTH } from "./Key.js"
import type { CallOptions, StoreOptions } from "./MemcachedClient.js"
import type { Encoded } from "./ValueCodec.js"
import { Flags, MemcachedValueError } from "./ValueCodec.js"

// ---------------------------------------------------------------------------------------------
// The store this module needs
// ---------------------------------------------------------------------------------------------

/**
 * The bytes and client flags of an item as read from the server, before any decoding: what this module
 * needs of the client's `Item` (which also carries a CAS unique).
 *
 * @since 0.1.0
 * @category models
 */
export interface RawItem {
  readonly value: Uint8Array
  readonly flags: number
}

/**
 * The part of the client this module uses, with the client's per-call options (`timeout`) and storage
 * options (`ttl`, `flags`). `MemcachedClient` satisfies it structurally. `E` is what its methods fail
 * with; `delete` of a missing key is expected to fail (with `MemcachedStoreError("NotFound")`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ChunkStore<E> {
  get(key: string, options?: CallOptions): Effect.Effect<Option.Option<RawItem>, E>
  getMany(keys: ReadonlyArray<string>, options?: CallOptions): Effect.Effect<ReadonlyMap<string, RawItem>, E>
  set(key: string, value: Uint8Array, options?: StoreOptions): Effect.Effect<void, E>
  delete(key: string, options?: CallOptions): Effect.Effect<void, E>
}

/**
 * A {@link ChunkStore} that can also update a key's TTL, for {@link touchChunks}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TouchableChunkStore<E> extends ChunkStore<E> {
  touch(key: string, ttl: Ttl, options?: CallOptions): Effect.Effect<void, E>
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * - `itemSize`: the server's item size limit (`-I`, default 1 MiB). Values of up to `chunkSize` bytes
 *   are stored as they are; longer ones are split.
 * - `chunkSize`: bytes per chunk (default `itemSize - 1024`, leaving room for the item header and key).
 * - `maxValueSize`: the largest value written or read (default 16 MiB); more is a `TooLarge` error.
 * - `concurrency`: chunk writes in flight at once (default 4).
 * - `readLibmc`: also read values split by libmc (default `true`).
 * - `timeout`: the per-call timeout given to every store call this operation makes (each chunk's
 *   request has its own), overriding the client's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends CallOptions {
  readonly itemSize?: number | undefined
  readonly chunkSize?: number | undefined
  readonly maxValueSize?: number | undefined
  readonly concurrency?: number | undefined
  readonly readLibmc?: boolean | undefined
}

/**
 * memcached's default item size limit: 1 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_ITEM_SIZE = 1024 * 1024

/**
 * The default cap on a (split) value: 16 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_VALUE_SIZE = 16 * 1024 * 1024

const MANIFEST_MAGIC = "EMCSPLIT1"
const MAX_CHUNKS = 100_000
const LIBMC_CHUNK_SIZE = 1_000_000
const LIBMC_MAX_CHUNKS = 10

interface Resolved {
  readonly call: CallOptions
  readonly chunkSize: number
  readonly maxValueSize: number
  readonly concurrency: number
  readonly readLibmc: boolean
}

const resolve = (options: Options | undefined): Resolved => {
  const itemSize = options?.itemSize ?? DEFAULT_ITEM_SIZE
  const chunkSize = Math.max(1, Math.floor(options?.chunkSize ?? itemSize - 1024))
  const timeout = options?.timeout
  return {
    call: timeout === undefined ? {} : { timeout },
    chunkSize,
    maxValueSize: options?.maxValueSize ?? DEFAULT_MAX_VALUE_SIZE,
    concurrency: Math.max(1, options?.concurrency ?? 4),
    readLibmc: options?.readLibmc ?? true
  }
}

// ---------------------------------------------------------------------------------------------
// Keys, checksum, manifest
// ---------------------------------------------------------------------------------------------

// The manifest's checksum is the CRC-32 (IEEE) of `Hash.crc32Bytes`, the package's one implementation.
// Node 20.15+ has the same function natively as `zlib.crc32` (13x faster on a 16 MiB value), used when
// present; the tests check that the two agree.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
const checksum = (bytes: Uint8Array): number =>
  nativeCrc32 === undefined ? crc32Bytes(bytes, bytes.length) : nativeCrc32(bytes) >>> 0

/**
 * Cuts `key` to at most `maxBytes` UTF-8 bytes without splitting a character. Pure; never fails.
 *
 * @since 0.1.0
 * @category keys
 */
export const truncateUtf8 = (key: string, maxBytes: number): string => {
  if (Buffer.byteLength(key, "utf8") <= maxBytes) return key
  let bytes = 0
  let end = 0
  for (const ch of key) {
    const n = Buffer.byteLength(ch, "utf8")
    if (bytes + n > maxBytes) break
    bytes += n
    end += ch.length
  }
  return key.slice(0, end)
}

/**
 * Returns `key` when `key + suffix` fits in 250 bytes, otherwise a prefix of `key`, `#` and the SHA-1 of
 * the whole key (hex), sized so that `result + suffix` fits. Pure; never fails (validity is the store's).
 *
 * @since 0.1.0
 * @category keys
 */
export const fitKey = (key: string, suffixBytes = 0): string => {
  if (Buffer.byteLength(key, "utf8") + suffixBytes <= MAX_KEY_LENGTH) return key
  const digest = createHash("sha1").update(key, "utf8").digest("hex")
  return truncateUtf8(key, Math.max(0, MAX_KEY_LENGTH - suffixBytes - 41)) + "#" + digest
}

/**
 * The key of chunk `index` of write `writeId` of `key`; always at most 250 bytes. Pure; never fails.
 *
 * @since 0.1.0
 * @category keys
 */
export const chunkKey = (key: string, writeId: string, index: number): string => {
  const suffix = `|${writeId}|${index}`
  return fitKey(key, suffix.length) + suffix
}

/**
 * The keys under which libmc stores the chunks of a split value: `~<keyBytes><key>/<i>`. Pure; never fails.
 *
 * @since 0.1.0
 * @category keys
 */
export const libmcChunkKeys = (key: string, count: number): ReadonlyArray<string> => {
  const len = Buffer.byteLength(key, "utf8")
  return Array.from({ length: count }, (_, i) => `~${len}${key}/${i}`)
}

/**
 * A split-value manifest.
 *
 * @since 0.1.0
 * @category models
 */
export interface Manifest {
  readonly writeId: string
  readonly length: number
  readonly chunkCount: number
  readonly chunkSize: number
  readonly crc32: number
}

/**
 * Serialises a manifest: `EMCSPLIT1 <writeId> <length> <chunkCount> <chunkSize> <crc32 hex>`. Never fails.
 *
 * @since 0.1.0
 * @category manifest
 */
export const encodeManifest = (m: Manifest): Uint8Array =>
  Buffer.from(
    `${MANIFEST_MAGIC} ${m.writeId} ${m.length} ${m.chunkCount} ${m.chunkSize} ${
      m.crc32.toString(16).padStart(8, "0")
    }`,
    "latin1"
  )

const manifestPattern = /^EMCSPLIT1 ([0-9a-f]{16}) (\d{1,15}) (\d{1,9}) (\d{1,15}) ([0-9a-f]{8})$/

/**
 * Parses and checks a manifest: the chunk count must be `ceil(length / chunkSize)`. Returns (does not
 * throw) a `MemcachedValueError` with reason `Corrupt` for anything else.
 *
 * @since 0.1.0
 * @category manifest
 */
export const decodeManifest = (bytes: Uint8Array, key?: string): Manifest | MemcachedValueError => {
  const corrupt = (why: string) =>
    new MemcachedValueError({ reason: "Corrupt", message: `split-value manifest of ${key ?? "?"}: ${why}`, key })
  if (bytes.length > 128) return corrupt("too long")
  const m = manifestPattern.exec(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1"))
  if (m === null) return corrupt("not a manifest")
  const length = Number(m[2]!)
  const chunkCount = Number(m[3]!)
  const chunkSize = Number(m[4]!)
  if (chunkSize < 1 || chunkCount < 1 || chunkCount > MAX_CHUNKS || Math.ceil(length / chunkSize) !== chunkCount) {
    return corrupt(`impossible layout (length ${length}, ${chunkCount} chunks of ${chunkSize})`)
  }
  return { writeId: m[1]!, length, chunkCount, chunkSize, crc32: parseInt(m[5]!, 16) }
}

/**
 * A random 64-bit write id as 16 hex digits. Never fails.
 *
 * @since 0.1.0
 * @category manifest
 */
export const newWriteId = (): string => randomBytes(8).toString("hex")

// ---------------------------------------------------------------------------------------------
// Write
// ---------------------------------------------------------------------------------------------

/**
 * The plan of a write: either one item, or chunks then a manifest. Pure; exposed for tests and for
 * clients that batch the writes themselves.
 *
 * @since 0.1.0
 * @category write
 */
export type WritePlan =
  | { readonly _tag: "Single"; readonly value: Uint8Array; readonly flags: number }
  | {
    readonly _tag: "Split"
    readonly manifest: Manifest
    readonly manifestBytes: Uint8Array
    readonly flags: number
    readonly chunks: ReadonlyArray<{ readonly key: string; readonly value: Uint8Array }>
  }

/**
 * Plans the write of `encoded` under `key`; fails with `TooLarge` over `maxValueSize` and with `Encode`
 * when the value already carries a split bit.
 *
 * @since 0.1.0
 * @category write
 */
export const plan = (
  key: string,
  encoded: Encoded,
  options?: Options,
  writeId: string = newWriteId()
): WritePlan | MemcachedValueError => {
  const o = resolve(options)
  const { bytes, flags } = encoded
  if ((flags & (Flags.SPLIT | Flags.LIBMC_CHUNKED)) !== 0) {
    return new MemcachedValueError({ reason: "Encode", message: `flags ${flags} already carry a split bit`, key })
  }
  if (bytes.length > o.maxValueSize) {
    return new MemcachedValueError({
      reason: "TooLarge",
      message: `value of ${bytes.length} bytes for ${key} is over maxValueSize (${o.maxValueSize})`,
      key
    })
  }
  if (bytes.length <= o.chunkSize) return { _tag: "Single", value: bytes, flags }
  const chunkCount = Math.ceil(bytes.length / o.chunkSize)
  const manifest: Manifest = {
    writeId,
    length: bytes.length,
    chunkCount,
    chunkSize: o.chunkSize,
    crc32: checksum(bytes)
  }
  const chunks = Array.from({ length: chunkCount }, (_, i) => ({
    key: chunkKey(key, writeId, i),
    value: bytes.subarray(i * o.chunkSize, Math.min(bytes.length, (i + 1) * o.chunkSize))
  }))
  return { _tag: "Split", manifest, manifestBytes: encodeManifest(manifest), flags: flags | Flags.SPLIT, chunks }
}

/**
 * Stores `encoded` under `key`, splitting it when it is over `chunkSize`. The manifest (or the single
 * item) is written last with `writeManifest` (default: the store's `set`; pass its `add`, `replace` or a
 * `cas` for those semantics); a failure before it leaves the previous value in place, and chunks written
 * before a refused manifest are left to expire. Fails with `MemcachedValueError` (`TooLarge` over
 * `maxValueSize`, `Encode` when the flags already carry a split bit) before anything is sent, or with
 * the store's `set` / `writeManifest` errors.
 *
 * @since 0.1.0
 * @category write
 */
export const write = <S extends ChunkStore<unknown>, E2 = never>(
  store: S,
  key: string,
  encoded: Encoded,
  options?: Options & { readonly ttl?: Ttl | undefined },
  writeManifest?: (key: string, value: Uint8Array, options: StoreOptions) => Effect.Effect<void, E2>
): Effect.Effect<void, ErrorOf<S, "set"> | E2 | MemcachedValueError> =>
  Effect.suspend((): Effect.Effect<void, unknown> => {
    const p = plan(key, encoded, options)
    if (p instanceof MemcachedValueError) return Effect.fail(p)
    const o = resolve(options)
    const ttl = options?.ttl
    const storeOptions = (flags: number): StoreOptions => ({ ...o.call, flags, ...(ttl === undefined ? {} : { ttl }) })
    const last = writeManifest ?? ((k: string, v: Uint8Array, so: StoreOptions) => store.set(k, v, so))
    if (p._tag === "Single") return last(key, p.value, storeOptions(p.flags))
    return Effect.andThen(
      Effect.forEach(p.chunks, (c) => store.set(c.key, c.value, storeOptions(0)), {
        concurrency: o.concurrency,
        discard: true
      }),
      last(key, p.manifestBytes, storeOptions(p.flags))
    )
  }) as Effect.Effect<void, ErrorOf<S, "set"> | E2 | MemcachedValueError>

// ---------------------------------------------------------------------------------------------
// Read
// ---------------------------------------------------------------------------------------------

/**
 * The error type of method `K` (or of any of the methods in a union `K`) of store `S`: how the
 * functions here narrow their errors to the store methods they call.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorOf<S, K extends keyof S> = K extends keyof S
  ? S[K] extends (...args: Array<any>) => Effect.Effect<any, infer E, any> ? E : never
  : never

const concat = (parts: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  const out = Buffer.allocUnsafe(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** The chunk keys a split item under `key` refers to, or a `Corrupt` error; `undefined` for a plain item. */
const ourChunkKeys = (key: string, item: RawItem): ReadonlyArray<string> | MemcachedValueError | undefined => {
  if ((item.flags & Flags.SPLIT) === 0) return undefined
  const manifest = decodeManifest(item.value, key)
  if (manifest instanceof MemcachedValueError) return manifest
  return chunkKeysOf(key, manifest)
}

/** The keys of every chunk a manifest under `key` names, in order. */
const chunkKeysOf = (key: string, manifest: Manifest): Array<string> =>
  Array.from({ length: manifest.chunkCount }, (_, i) => chunkKey(key, manifest.writeId, i))

const assembleOurs = (
  store: ChunkStore<unknown>,
  key: string,
  item: RawItem,
  o: Resolved
): Effect.Effect<Option.Option<Encoded>, unknown> => {
  const manifest = decodeManifest(item.value, key)
  if (manifest instanceof MemcachedValueError) return Effect.fail(manifest)
  if (manifest.length > o.maxValueSize) return Effect.fail(tooLarge(key, manifest.length, o.maxValueSize))
  const keys = chunkKeysOf(key, manifest)
  return Effect.flatMap(store.getMany(keys, o.call), (found) => {
    const parts: Array<Uint8Array> = []
    for (let i = 0; i < keys.length; i++) {
      const chunk = found.get(keys[i]!)
      const expected = i < keys.length - 1 ? manifest.chunkSize : manifest.length - i * manifest.chunkSize
      if (chunk === undefined) return miss(key, `chunk ${i} of ${keys.length} is missing`)
      if (chunk.value.length !== expected) {
        return miss(key, `chunk ${i} has ${chunk.value.length} bytes, expected ${expected}`)
      }
      parts.push(chunk.value)
    }
    const bytes = concat(parts, manifest.length)
    if (checksum(bytes) !== manifest.crc32) return miss(key, "checksum mismatch")
    return Effect.succeed(Option.some({ bytes, flags: item.flags & ~Flags.SPLIT }))
  })
}

const assembleLibmc = (
  store: ChunkStore<unknown>,
  key: string,
  item: RawItem,
  o: Resolved
): Effect.Effect<Option.Option<Encoded>, unknown> => {
  const text = Buffer.from(item.value.buffer, item.value.byteOffset, item.value.byteLength).toString("latin1")
  const m = /^\s*(\d{1,6})\0*\s*$/.exec(text)
  if (m === null) {
    return Effect.fail(
      new MemcachedValueError({ reason: "Corrupt", message: `libmc chunked master of ${key} is not a count`, key })
    )
  }
  const count = Number(m[1]!)
  if (count < 1 || count > Math.max(LIBMC_MAX_CHUNKS, Math.ceil(o.maxValueSize / LIBMC_CHUNK_SIZE))) {
    return Effect.fail(
      new MemcachedValueError({ reason: "Corrupt", message: `libmc chunk count ${count} of ${key}`, key })
    )
  }
  const keys = libmcChunkKeys(key, count)
  if (keys.some((k) => Buffer.byteLength(k, "utf8") > MAX_KEY_LENGTH)) return miss(key, "libmc chunk keys too long")
  return Effect.flatMap(store.getMany(keys, o.call), (found) => {
    const parts: Array<Uint8Array> = []
    let length = 0
    for (const k of keys) {
      const chunk = found.get(k)
      if (chunk === undefined) return miss(key, `libmc chunk ${k} is missing`)
      parts.push(chunk.value)
      length += chunk.value.length
    }
    if (length > o.maxValueSize) return Effect.fail(tooLarge(key, length, o.maxValueSize))
    return Effect.succeed(Option.some({ bytes: concat(parts, length), flags: item.flags & ~Flags.LIBMC_CHUNKED }))
  })
}

/**
 * Turns an item read under `key` into the stored value: plain items as they are, split manifests (ours
 * or libmc's) by fetching and verifying their chunks with one `getMany`. A missing or mismatched chunk
 * is `None`; fails with `MemcachedValueError` `Corrupt` (unparseable manifest) or `TooLarge` (over
 * `maxValueSize`), or with the store's `getMany` errors.
 *
 * @since 0.1.0
 * @category read
 */
export const assemble = <S extends ChunkStore<unknown>>(
  store: S,
  key: string,
  item: RawItem,
  options?: Options
): Effect.Effect<Option.Option<Encoded>, ErrorOf<S, "getMany"> | MemcachedValueError> => {
  const o = resolve(options)
  const out = (item.flags & Flags.SPLIT) !== 0
    ? assembleOurs(store, key, item, o)
    : (item.flags & Flags.LIBMC_CHUNKED) !== 0 && o.readLibmc
    ? assembleLibmc(store, key, item, o)
    : Effect.succeed(Option.some({ bytes: item.value, flags: item.flags }))
  return out as Effect.Effect<Option.Option<Encoded>, ErrorOf<S, "getMany"> | MemcachedValueError>
}

const miss = (key: string, why: string) =>
  Effect.as(
    Effect.logDebug(`split value ${key} read as a miss: ${why}`),
    Option.none<Encoded>()
  )

const tooLarge = (key: string, length: number, max: number) =>
  new MemcachedValueError({
    reason: "TooLarge",
    message: `split value ${key} of ${length} bytes is over maxValueSize (${max})`,
    key
  })

/**
 * Reads `key`, assembling a split value (see {@link assemble}). Fails with the store's `get` /
 * `getMany` errors or a `MemcachedValueError` (`Corrupt`, `TooLarge`).
 *
 * @since 0.1.0
 * @category read
 */
export const read = <S extends ChunkStore<unknown>>(
  store: S,
  key: string,
  options?: Options
): Effect.Effect<Option.Option<Encoded>, ErrorOf<S, "get" | "getMany"> | MemcachedValueError> =>
  Effect.flatMap(
    store.get(key, resolve(options).call),
    Option.match({
      onNone: () => Effect.succeed(Option.none<Encoded>()),
      onSome: (item) => assemble(store, key, item, options)
    })
  ) as Effect.Effect<Option.Option<Encoded>, ErrorOf<S, "get" | "getMany"> | MemcachedValueError>

/**
 * Reads many keys with one multiget, then assembles the split values among them (their chunks with one
 * multiget each, concurrently). Misses are absent from the result. Fails with the store's `getMany`
 * errors or the first `MemcachedValueError` of a split value.
 *
 * @since 0.1.0
 * @category read
 */
export const readMany = <S extends ChunkStore<unknown>>(
  store: S,
  keys: ReadonlyArray<string>,
  options?: Options
): Effect.Effect<ReadonlyMap<string, Encoded>, ErrorOf<S, "getMany"> | MemcachedValueError> =>
  Effect.flatMap(store.getMany(keys, resolve(options).call), (items) => {
    const out = new Map<string, Encoded>()
    const split: Array<readonly [string, RawItem]> = []
    for (const [k, item] of items) {
      if ((item.flags & (Flags.SPLIT | Flags.LIBMC_CHUNKED)) === 0) out.set(k, { bytes: item.value, flags: item.flags })
      else split.push([k, item])
    }
    if (split.length === 0) return Effect.succeed(out)
    return Effect.as(
      Effect.forEach(
        split,
        ([k, item]) =>
          Effect.map(assemble(store, k, item, options), (o) => {
            if (Option.isSome(o)) out.set(k, o.value)
          }),
        { concurrency: 8, discard: true }
      ),
      out
    )
  }) as Effect.Effect<ReadonlyMap<string, Encoded>, ErrorOf<S, "getMany"> | MemcachedValueError>

/**
 * Deletes `key` and, when it holds one of our split manifests, its chunks (best effort: chunk deletes
 * that fail are ignored). Fails with the store's `get` errors or the manifest `delete`'s
 * (`MemcachedStoreError("NotFound")` for a missing key).
 *
 * @since 0.1.0
 * @category write
 */
export const remove = <S extends ChunkStore<unknown>>(
  store: S,
  key: string,
  options?: CallOptions
): Effect.Effect<void, ErrorOf<S, "get" | "delete">> => {
  const call = resolve(options).call
  return Effect.flatMap(store.get(key, call), (item) => {
    const del = store.delete(key, call)
    const chunks = Option.isNone(item) ? undefined : ourChunkKeys(key, item.value)
    if (chunks === undefined || chunks instanceof MemcachedValueError) return del
    return Effect.andThen(
      del,
      Effect.forEach(chunks, (k) => Effect.ignore(store.delete(k, call)), { concurrency: 4, discard: true })
    )
  }) as Effect.Effect<void, ErrorOf<S, "get" | "delete">>
}

/**
 * Gives the chunks of a split `item` (read under `key`) the TTL `ttl`, so that they live as long as a
 * manifest touched to `ttl`. Best effort, like chunk deletes: a chunk that is gone (the value then reads
 * as a miss) or a failed touch is ignored; a plain item, libmc's or an unparseable manifest touches
 * nothing. Never fails.
 *
 * @since 0.1.0
 * @category write
 */
export const touchChunks = <S extends TouchableChunkStore<unknown>>(
  store: S,
  key: string,
  item: RawItem,
  ttl: Ttl,
  options?: CallOptions
): Effect.Effect<void> => {
  const chunks = ourChunkKeys(key, item)
  if (chunks === undefined || chunks instanceof MemcachedValueError) return Effect.void
  const call = resolve(options).call
  return Effect.forEach(chunks, (k) => Effect.ignore(store.touch(k, ttl, call)), { concurrency: 4, discard: true })
}
