/**
 * Value codecs: what goes into memcached is a byte string and a 32-bit flags word; what applications want
 * is their own types. A {@link ValueCodec} turns a value into `{ bytes, flags }` and back, failing with a
 * typed {@link MemcachedValueError} (never a thrown exception, never a silently wrong value).
 *
 * Built in: {@link bytes}, {@link string} (UTF-8), {@link json}, {@link schema} (a `Schema`-typed value stored
 * as its JSON form), {@link number} and {@link bigint} (decimal text, what `incr`/`decr` operate on),
 * and the {@link compressed} combinator (zlib/gzip/brotli above a size threshold, bounded on the way back).
 *
 * The flags layout ({@link Flags}) reuses the bits other clients use for the same types, so values can be
 * read and written across clients: `0` raw bytes/string (everyone), `2` JSON (node `memcached`,
 * memcache-plus, memcache-client, OpenStack Swift; also python-memcached/pymemcache/pylibmc/libmc's
 * "int", whose decimal text is valid JSON), `4` python "long", `8` zlib-compressed (python-memcached,
 * pymemcache, pylibmc), `16` python 3 text. See `docs/values.md` for the full table.
 *
 * Both editions share this module (packages/effect4/editions.json): `encode`/`decode` return the edition's
 * synchronous outcome, an `Either` in Effect 3 (itself an `Effect`) and a `Result` in Effect 4 (not an
 * `Effect`: pipelines use {@link encodeEffect}/{@link decodeEffect}). The flags layout and the bytes written
 * are the same in both, so the two editions read each other's values.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { constants as bufferConstants } from "node:buffer"
import * as zlib from "node:zlib"
import * as Edition from "./edition.js"

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * A value could not be encoded or decoded: `Encode` (the value has no representation, e.g. a cyclic
 * object for JSON or a Schema encode failure), `Decode` (the bytes/flags are not a value of the expected
 * type: wrong type flags, invalid UTF-8, invalid JSON, a Schema decode failure, pickled Python data),
 * `Decompress` (the compressed data is not a valid zlib/gzip/brotli stream), `TooLarge` (the value, or
 * what a compressed value inflates to, is over the configured limit) or `Corrupt` (a split-value
 * manifest that cannot be parsed or describes an impossible layout).
 *
 * @since 0.1.0
 * @category errors
 */
export class MemcachedValueError extends Data.TaggedError("MemcachedValueError")<{
  readonly reason: "Decode" | "Encode" | "Decompress" | "TooLarge" | "Corrupt"
  readonly message: string
  readonly key?: string | undefined
  readonly cause?: unknown
}> {}

// ---------------------------------------------------------------------------------------------
// Flags layout
// ---------------------------------------------------------------------------------------------

/**
 * The flags layout. Type bits (a value, not a bitset: at most one is set) are the low byte without bit 3;
 * bit 3 and bits 12–14 are modifiers.
 *
 * | bit | value | meaning | same bit in |
 * |---|---|---|---|
 * | – | `0` | raw bytes / UTF-8 string | every client |
 * | 0 | `1` | Python pickle (read: Decode error, never written) | python-memcached, pymemcache, pylibmc, libmc |
 * | 1 | `2` | JSON; decimal integers | node `memcached` `FLAG_JSON`, memcache-plus, memcache-client, Swift; python `int` |
 * | 2 | `4` | decimal integer | python-memcached/pylibmc/libmc `long` |
 * | 3 | `8` | compressed (zlib or gzip; brotli with bit 14) | python-memcached, pymemcache, pylibmc `ZLIB` |
 * | 4 | `16` | UTF-8 text | python-memcached/pymemcache `FLAG_TEXT` |
 * | 12 | `4096` | libmc chunked master (read only) | libmc `_FLAG_DOUBAN_CHUNKED` |
 * | 13 | `8192` | split-value manifest (ours) | – |
 * | 14 | `16384` | compressed with brotli (with bit 3) | – |
 *
 * @since 0.1.0
 * @category flags
 */
export const Flags = {
  NONE: 0,
  PICKLE: 1 << 0,
  JSON: 1 << 1,
  LONG: 1 << 2,
  COMPRESSED: 1 << 3,
  TEXT: 1 << 4,
  LIBMC_CHUNKED: 1 << 12,
  SPLIT: 1 << 13,
  BROTLI: 1 << 14
} as const

/**
 * The bits holding the value type: bits 0–7 except bit 3 (the compressed bit).
 *
 * @since 0.1.0
 * @category flags
 */
export const TYPE_MASK = 0xf7

/**
 * The modifier bits a plain (non-compressing, non-splitting) codec refuses to decode.
 *
 * @since 0.1.0
 * @category flags
 */
export const MODIFIER_MASK = Flags.COMPRESSED | Flags.LIBMC_CHUNKED | Flags.SPLIT | Flags.BROTLI

/**
 * A readable breakdown of a flags word.
 *
 * @since 0.1.0
 * @category flags
 */
export interface FlagsInfo {
  readonly type: "bytes" | "pickle" | "json" | "long" | "text" | "unknown"
  readonly typeBits: number
  readonly compressed: false | "zlib" | "brotli"
  readonly split: boolean
  readonly libmcChunked: boolean
}

/**
 * Splits a flags word into its type and modifier bits.
 *
 * @since 0.1.0
 * @category flags
 */
export const describeFlags = (flags: number): FlagsInfo => {
  const typeBits = flags & TYPE_MASK
  const type = typeBits === 0
    ? "bytes"
    : typeBits === Flags.PICKLE
    ? "pickle"
    : typeBits === Flags.JSON
    ? "json"
    : typeBits === Flags.LONG
    ? "long"
    : typeBits === Flags.TEXT
    ? "text"
    : "unknown"
  return {
    type,
    typeBits,
    compressed: (flags & Flags.COMPRESSED) === 0 ? false : (flags & Flags.BROTLI) === 0 ? "zlib" : "brotli",
    split: (flags & Flags.SPLIT) !== 0,
    libmcChunked: (flags & Flags.LIBMC_CHUNKED) !== 0
  }
}

// ---------------------------------------------------------------------------------------------
// The codec abstraction
// ---------------------------------------------------------------------------------------------

/**
 * What is stored: the value bytes and the item's 32-bit flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface Encoded {
  readonly bytes: Uint8Array
  readonly flags: number
}

/**
 * A two-way mapping between `A` and `{ bytes, flags }`. `encode` and `decode` are synchronous and return
 * the edition's outcome: an `Either` in Effect 3 (which is an `Effect`, so it can be used with `yield*` or
 * `Effect.flatMap`), a `Result` in Effect 4 ({@link encodeEffect}/{@link decodeEffect} lift it).
 *
 * @since 0.1.0
 * @category models
 */
export interface ValueCodec<in out A> {
  readonly name: string
  readonly encode: (value: A) => Edition.Outcome<Encoded, MemcachedValueError>
  readonly decode: (bytes: Uint8Array, flags: number) => Edition.Outcome<A, MemcachedValueError>
}

/**
 * Builds a codec from two functions that may throw; a throw becomes a `MemcachedValueError` (`Encode` or
 * `Decode`) with the thrown value as `cause`. Encoded values must not carry modifier bits
 * ({@link MODIFIER_MASK}); decoding a value that carries one fails instead of handing compressed or
 * split data to `decode`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A>(options: {
  readonly name: string
  readonly encode: (value: A) => Encoded
  readonly decode: (bytes: Uint8Array, flags: number) => A
}): ValueCodec<A> => ({
  name: options.name,
  encode: (value) => {
    try {
      const encoded = options.encode(value)
      if ((encoded.flags & MODIFIER_MASK) !== 0 || !isFlags(encoded.flags)) {
        return Edition.fail(encodeError(options.name, `flags ${encoded.flags} use a reserved bit or are not u32`))
      }
      return Edition.succeed(encoded)
    } catch (cause) {
      return Edition.fail(encodeError(options.name, errorText(cause), cause))
    }
  },
  decode: (bytes, flags) => {
    const modifier = checkPlain(options.name, flags)
    if (modifier !== undefined) return Edition.fail(modifier)
    try {
      return Edition.succeed(options.decode(bytes, flags))
    } catch (cause) {
      return Edition.fail(
        cause instanceof MemcachedValueError ? cause : decodeError(options.name, errorText(cause), cause)
      )
    }
  }
})

/**
 * Maps a codec to another type with two total functions.
 *
 * @since 0.1.0
 * @category combinators
 */
export const transform = <A, B>(
  codec: ValueCodec<A>,
  decode: (a: A) => B,
  encode: (b: B) => A,
  name = codec.name
): ValueCodec<B> => ({
  name,
  encode: (b) => codec.encode(encode(b)),
  decode: (bytes, flags) => Edition.map(codec.decode(bytes, flags), decode)
})

const isFlags = (flags: number): boolean => Number.isInteger(flags) && flags >= 0 && flags <= 0xffffffff

const errorText = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

const encodeError = (codec: string, message: string, cause?: unknown) =>
  new MemcachedValueError({ reason: "Encode", message: `${codec} codec: ${message}`, cause })

const decodeError = (codec: string, message: string, cause?: unknown) =>
  new MemcachedValueError({ reason: "Decode", message: `${codec} codec: ${message}`, cause })

const checkPlain = (codec: string, flags: number): MemcachedValueError | undefined => {
  if ((flags & MODIFIER_MASK) === 0) return undefined
  if ((flags & Flags.COMPRESSED) !== 0) {
    return decodeError(codec, `value is compressed (flags ${flags}); read it with ValueCodec.compressed(...)`)
  }
  return decodeError(codec, `value is a split-value manifest (flags ${flags}); read it through LargeValue`)
}

const typeError = (codec: string, flags: number, accepted: string) =>
  decodeError(
    codec,
    (flags & TYPE_MASK) === Flags.PICKLE
      ? `value is a Python pickle (flags ${flags}), which is never decoded`
      : `flags ${flags} (type ${describeFlags(flags).type}) are not ${accepted}`
  )

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const decodeUtf8 = (codec: string, bytes: Uint8Array): string => {
  try {
    return textDecoder.decode(bytes)
  } catch (cause) {
    throw decodeError(codec, "value is not valid UTF-8", cause)
  }
}

const encodeUtf8 = (s: string): Uint8Array => Buffer.from(s, "utf8")

// ---------------------------------------------------------------------------------------------
// Built-in codecs
// ---------------------------------------------------------------------------------------------

/**
 * Raw bytes, written with flags `0`. Reads any type bits (the raw view of any value), but not compressed
 * or split values.
 *
 * @since 0.1.0
 * @category codecs
 */
export const bytes: ValueCodec<Uint8Array> = make({
  name: "bytes",
  encode: (value) => ({ bytes: value, flags: Flags.NONE }),
  decode: (value) => value
})

/**
 * A UTF-8 string, written with flags `0` (read as a string by node `memcached`, as bytes by Python
 * clients). Reads type `0` and Python 3's text type `16`; invalid UTF-8 is a `Decode` error.
 *
 * @since 0.1.0
 * @category codecs
 */
export const string: ValueCodec<string> = make({
  name: "string",
  encode: (value) => ({ bytes: encodeUtf8(value), flags: Flags.NONE }),
  decode: (value, flags) => {
    const type = flags & TYPE_MASK
    if (type !== 0 && type !== Flags.TEXT) throw typeError("string", flags, "bytes (0) or text (16)")
    return decodeUtf8("string", value)
  }
})

/**
 * Any JSON value, written with flags `2` (node `memcached`'s `FLAG_JSON`, Swift's JSON flag). Reads type
 * `2` and `4` (decimal integers, which are JSON). `undefined`, functions, cycles and `bigint`s fail with
 * `Encode`; invalid JSON fails with `Decode`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const json: ValueCodec<unknown> = make<unknown>({
  name: "json",
  encode: (value) => {
    const text = JSON.stringify(value)
    if (text === undefined) throw new Error(`${typeof value} has no JSON representation`)
    return { bytes: encodeUtf8(text), flags: Flags.JSON }
  },
  decode: (value, flags) => {
    const type = flags & TYPE_MASK
    if (type !== Flags.JSON && type !== Flags.LONG) throw typeError("json", flags, "JSON (2) or long (4)")
    const text = decodeUtf8("json", value)
    try {
      return JSON.parse(text)
    } catch (cause) {
      throw decodeError("json", `invalid JSON: ${errorText(cause)}`, cause)
    }
  }
})

/**
 * A `Schema`-typed value stored as JSON (flags `2`): encodes with the schema then `JSON.stringify`, decodes
 * with `JSON.parse` then the schema. Effect 3 takes any `Schema<A, I>` whose encoded side is JSON; Effect 4
 * any Schema 4 codec, serialised through `Schema.toCodecJson` (its canonical JSON form, so `Schema.Date`,
 * `Schema.BigInt`, `Schema.Option`, ... are stored as their canonical JSON). The schema must need no
 * services. A value that does not match the schema is a `Decode` (writing: `Encode`) error carrying the
 * schema's error (`ParseError` / `SchemaError`) as `cause`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const schema = <S extends Edition.AnySchema>(
  schema: S,
  name = "schema"
): ValueCodec<Edition.SchemaType<S>> => {
  const serializer = Edition.schemaJson(schema)
  return {
    name,
    encode: (value) =>
      Edition.flatMap(
        Edition.mapError(serializer.encode(value), (e) => encodeError(name, Edition.schemaErrorMessage(e), e)),
        json.encode
      ),
    decode: (value, flags) =>
      Edition.flatMap(
        json.decode(value, flags),
        (u) => Edition.mapError(serializer.decode(u), (e) => decodeError(name, Edition.schemaErrorMessage(e), e))
      )
  }
}

const integerText = /^\s*(-?\d+)[\s\0]*$/
const numberText = /^\s*(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)[\s\0]*$/

const numericType = (codec: string, flags: number): void => {
  const type = flags & TYPE_MASK
  if (type !== 0 && type !== Flags.JSON && type !== Flags.LONG && type !== Flags.TEXT) {
    throw typeError(codec, flags, "bytes (0), JSON/int (2), long (4) or text (16)")
  }
}

/**
 * An integer as decimal text, written with flags `2` (Python's `int`, and valid JSON): the format
 * `incr`/`decr` operate on. Reads types `0`, `2`, `4` and `16` and tolerates the trailing spaces
 * memcached leaves after a `decr` that shortens a number.
 *
 * @since 0.1.0
 * @category codecs
 */
export const bigint: ValueCodec<bigint> = make({
  name: "bigint",
  encode: (value) => ({ bytes: encodeUtf8(value.toString(10)), flags: Flags.JSON }),
  decode: (value, flags) => {
    numericType("bigint", flags)
    const m = integerText.exec(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1"))
    if (m === null) throw decodeError("bigint", "value is not a decimal integer")
    return BigInt(m[1]!)
  }
})

/**
 * A finite number as JSON number text, written with flags `2`. Reads the same types as {@link bigint};
 * `NaN` and infinities fail with `Encode`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const number: ValueCodec<number> = make({
  name: "number",
  encode: (value) => {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a finite number`)
    return { bytes: encodeUtf8(JSON.stringify(value)), flags: Flags.JSON }
  },
  decode: (value, flags) => {
    numericType("number", flags)
    const m = numberText.exec(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1"))
    if (m === null) throw decodeError("number", "value is not a decimal number")
    const n = Number(m[1]!)
    if (!Number.isFinite(n)) throw decodeError("number", "value is out of range")
    return n
  }
})

// ---------------------------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link compressed}.
 *
 * - `threshold`: encoded values of at least this many bytes are compressed (default 1024). The compressed
 *   form is kept only when it is smaller.
 * - `algorithm`: `"deflate"` (zlib format, RFC 1950, the default: what python-memcached, pymemcache and
 *   pylibmc write and read under bit 3), `"gzip"` (RFC 1952, same bit; readers detect it by its magic
 *   bytes), or `"brotli"` (bits 3 + 14, readable by this library only).
 * - `level`: zlib level 0–9 or brotli quality 0–11 (default: the library default).
 * - `maxInflatedSize`: the largest value decompression may produce (default 64 MiB); more is a
 *   `TooLarge` error, detected while inflating without materialising the rest.
 *
 * @since 0.1.0
 * @category compression
 */
export interface CompressionOptions {
  readonly threshold?: number | undefined
  readonly algorithm?: "deflate" | "gzip" | "brotli" | undefined
  readonly level?: number | undefined
  readonly maxInflatedSize?: number | undefined
}

/**
 * The default compression threshold in bytes.
 *
 * @since 0.1.0
 * @category compression
 */
export const DEFAULT_COMPRESSION_THRESHOLD = 1024

/**
 * The default bound on what a compressed value may inflate to: 64 MiB.
 *
 * @since 0.1.0
 * @category compression
 */
export const DEFAULT_MAX_INFLATED_SIZE = 64 * 1024 * 1024

/**
 * Decompresses `bytes` according to `flags` (bit 3: zlib or gzip by magic bytes; bits 3 + 14: brotli),
 * producing at most `maxInflatedSize` bytes. Uncompressed values are returned as they are.
 *
 * @since 0.1.0
 * @category compression
 */
export const decompress = (
  value: Uint8Array,
  flags: number,
  maxInflatedSize: number = DEFAULT_MAX_INFLATED_SIZE
): Edition.Outcome<Encoded, MemcachedValueError> => {
  if ((flags & Flags.COMPRESSED) === 0) return Edition.succeed({ bytes: value, flags })
  const brotli = (flags & Flags.BROTLI) !== 0
  const rest = flags & ~(Flags.COMPRESSED | Flags.BROTLI)
  // zlib refuses a maxOutputLength below 1 and above buffer.constants.MAX_LENGTH.
  const maxOutputLength = Math.max(1, Math.min(maxInflatedSize, bufferConstants.MAX_LENGTH))
  try {
    const out = brotli
      ? zlib.brotliDecompressSync(value, { maxOutputLength })
      : zlib.unzipSync(value, { maxOutputLength })
    if (out.length > maxInflatedSize) throw tooLargeInflate(maxInflatedSize)
    return Edition.succeed({ bytes: out, flags: rest })
  } catch (cause) {
    if (cause instanceof MemcachedValueError) return Edition.fail(cause)
    if ((cause as { code?: unknown } | null)?.code === "ERR_BUFFER_TOO_LARGE") {
      return Edition.fail(tooLargeInflate(maxInflatedSize, cause))
    }
    return Edition.fail(
      new MemcachedValueError({
        reason: "Decompress",
        message: `invalid ${brotli ? "brotli" : "zlib/gzip"} data: ${errorText(cause)}`,
        cause
      })
    )
  }
}

const tooLargeInflate = (limit: number, cause?: unknown) =>
  new MemcachedValueError({
    reason: "TooLarge",
    message: `compressed value inflates to more than maxInflatedSize (${limit} bytes)`,
    cause
  })

/**
 * Compresses `encoded` when it is at least `threshold` bytes and compression saves space; sets bit 3
 * (and bit 14 for brotli). Already-compressed input is returned as it is.
 *
 * @since 0.1.0
 * @category compression
 */
export const compress = (
  encoded: Encoded,
  options: CompressionOptions = {}
): Edition.Outcome<Encoded, MemcachedValueError> => {
  const threshold = options.threshold ?? DEFAULT_COMPRESSION_THRESHOLD
  const maxInflatedSize = options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE
  const input = encoded.bytes
  if ((encoded.flags & Flags.COMPRESSED) !== 0) return Edition.succeed(encoded)
  if (input.length > maxInflatedSize) {
    return Edition.fail(
      new MemcachedValueError({
        reason: "TooLarge",
        message:
          `value of ${input.length} bytes is over maxInflatedSize (${maxInflatedSize}); readers could not inflate it`
      })
    )
  }
  if (input.length < threshold) return Edition.succeed(encoded)
  const algorithm = options.algorithm ?? "deflate"
  const level = options.level
  try {
    const out = algorithm === "brotli"
      ? zlib.brotliCompressSync(input, {
        params: {
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: input.length,
          ...(level === undefined ? {} : { [zlib.constants.BROTLI_PARAM_QUALITY]: level })
        }
      })
      : algorithm === "gzip"
      ? zlib.gzipSync(input, level === undefined ? {} : { level })
      : zlib.deflateSync(input, level === undefined ? {} : { level })
    if (out.length >= input.length) return Edition.succeed(encoded)
    const flags = encoded.flags | Flags.COMPRESSED | (algorithm === "brotli" ? Flags.BROTLI : 0)
    return Edition.succeed({ bytes: out, flags })
  } catch (cause) {
    return Edition.fail(encodeError(`${algorithm} compression`, errorText(cause), cause))
  }
}

/**
 * Wraps a codec with compression: values whose encoding is at least `threshold` bytes are compressed when
 * that saves space; compressed values (bit 3) are inflated, bounded by `maxInflatedSize`, before the inner
 * codec decodes them. Uncompressed values pass through, so turning compression on is backwards
 * compatible for readers.
 *
 * @since 0.1.0
 * @category compression
 */
export const compressed = <A>(codec: ValueCodec<A>, options: CompressionOptions = {}): ValueCodec<A> => {
  const maxInflatedSize = options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE
  return {
    name: `compressed(${codec.name})`,
    encode: (value) => Edition.flatMap(codec.encode(value), (encoded) => compress(encoded, options)),
    decode: (value, flags) =>
      Edition.flatMap(decompress(value, flags, maxInflatedSize), (plain) => codec.decode(plain.bytes, plain.flags))
  }
}

/**
 * Runs a codec's encode as an `Effect` (convenience for pipelines); fails with the codec's `MemcachedValueError`.
 *
 * @since 0.1.0
 * @category utils
 */
export const encodeEffect = <A>(codec: ValueCodec<A>, value: A): Effect.Effect<Encoded, MemcachedValueError> =>
  Effect.suspend(() => Edition.fromOutcome(codec.encode(value)))

/**
 * Runs a codec's decode as an `Effect` (convenience for pipelines); fails with the codec's `MemcachedValueError`.
 *
 * @since 0.1.0
 * @category utils
 */
export const decodeEffect = <A>(
  codec: ValueCodec<A>,
  value: Uint8Array,
  flags: number
): Effect.Effect<A, MemcachedValueError> => Effect.suspend(() => Edition.fromOutcome(codec.decode(value, flags)))
