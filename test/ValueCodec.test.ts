import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as zlib from "node:zlib"
import * as ValueCodec from "../src/ValueCodec.js"
import { failureOf, fromOutcome, isFailure, isSuccess } from "./support/edition.js"

const { Flags } = ValueCodec

const roundTrip = <A>(codec: ValueCodec.ValueCodec<A>, value: A) =>
  Effect.gen(function*() {
    const encoded = yield* fromOutcome(codec.encode(value))
    const decoded = yield* fromOutcome(codec.decode(encoded.bytes, encoded.flags))
    return { encoded, decoded }
  })

const decodeFailure = <A>(codec: ValueCodec.ValueCodec<A>, bytes: Uint8Array, flags: number) => {
  const r = codec.decode(bytes, flags)
  assert.isTrue(isFailure(r), `expected ${codec.name} to fail on flags ${flags}`)
  return failureOf(r)
}

const ascii = (s: string) => Buffer.from(s, "latin1")

/** 1 GiB of zeros, zlib-compressed in a stream (about 1 MB), built without allocating the 1 GiB. */
const zipBomb = (gzip: boolean): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const z = gzip ? zlib.createGzip({ level: 9 }) : zlib.createDeflate({ level: 9 })
    const parts: Array<Buffer> = []
    z.on("data", (b: Buffer) => parts.push(b))
    z.on("end", () => resolve(Buffer.concat(parts)))
    z.on("error", reject)
    const zeros = Buffer.alloc(1024 * 1024)
    let written = 0
    const pump = () => {
      while (written < 1024) {
        written++
        if (!z.write(zeros)) return void z.once("drain", pump)
      }
      z.end()
    }
    pump()
  })

describe("ValueCodec", () => {
  describe("flags layout", () => {
    it("uses the documented bits", () => {
      assert.strictEqual(Flags.PICKLE, 1)
      assert.strictEqual(Flags.JSON, 2)
      assert.strictEqual(Flags.LONG, 4)
      assert.strictEqual(Flags.COMPRESSED, 8)
      assert.strictEqual(Flags.TEXT, 16)
      assert.strictEqual(Flags.LIBMC_CHUNKED, 4096)
      assert.strictEqual(Flags.SPLIT, 8192)
      assert.strictEqual(Flags.BROTLI, 16384)
      assert.strictEqual(ValueCodec.TYPE_MASK & Flags.COMPRESSED, 0)
      assert.strictEqual(ValueCodec.MODIFIER_MASK, 8 | 4096 | 8192 | 16384)
    })

    it("describes flags words", () => {
      assert.deepStrictEqual(ValueCodec.describeFlags(0), {
        type: "bytes",
        typeBits: 0,
        compressed: false,
        split: false,
        libmcChunked: false
      })
      assert.strictEqual(ValueCodec.describeFlags(2 | 8).type, "json")
      assert.strictEqual(ValueCodec.describeFlags(2 | 8).compressed, "zlib")
      assert.strictEqual(ValueCodec.describeFlags(2 | 8 | 16384).compressed, "brotli")
      assert.strictEqual(ValueCodec.describeFlags(16 | 8192).type, "text")
      assert.isTrue(ValueCodec.describeFlags(16 | 8192).split)
      assert.isTrue(ValueCodec.describeFlags(4096).libmcChunked)
      assert.strictEqual(ValueCodec.describeFlags(1).type, "pickle")
      assert.strictEqual(ValueCodec.describeFlags(4).type, "long")
      assert.strictEqual(ValueCodec.describeFlags(64).type, "unknown")
    })

    it.effect("writes each built-in codec with its type bits", () =>
      Effect.gen(function*() {
        assert.strictEqual((yield* fromOutcome(ValueCodec.bytes.encode(new Uint8Array([1])))).flags, 0)
        assert.strictEqual((yield* fromOutcome(ValueCodec.string.encode("x"))).flags, 0)
        assert.strictEqual((yield* fromOutcome(ValueCodec.json.encode({ a: 1 }))).flags, 2)
        assert.strictEqual((yield* fromOutcome(ValueCodec.schema(Schema.Number).encode(1))).flags, 2)
        assert.strictEqual((yield* fromOutcome(ValueCodec.bigint.encode(1n))).flags, 2)
        assert.strictEqual((yield* fromOutcome(ValueCodec.number.encode(1.5))).flags, 2)
      }))
  })

  describe("round trips", () => {
    it.effect("bytes", () =>
      Effect.gen(function*() {
        const value = new Uint8Array([0, 1, 2, 13, 10, 255])
        const { decoded, encoded } = yield* roundTrip(ValueCodec.bytes, value)
        assert.deepStrictEqual([...decoded], [...value])
        assert.strictEqual(encoded.flags, 0)
        // the raw view reads any type bits
        assert.deepStrictEqual([...(yield* fromOutcome(ValueCodec.bytes.decode(value, Flags.JSON)))], [...value])
      }))

    it.effect("string (UTF-8, empty, non-BMP)", () =>
      Effect.gen(function*() {
        for (const s of ["", "hello", "héllo wörld", "日本語", "emoji 🎉", "line\r\nbreak"]) {
          const { decoded, encoded } = yield* roundTrip(ValueCodec.string, s)
          assert.strictEqual(decoded, s)
          assert.deepStrictEqual(Buffer.from(encoded.bytes), Buffer.from(s, "utf8"))
        }
        // python-memcached / pymemcache text flag
        assert.strictEqual(
          yield* fromOutcome(ValueCodec.string.decode(Buffer.from("py3 text"), Flags.TEXT)),
          "py3 text"
        )
      }))

    it.effect("json", () =>
      Effect.gen(function*() {
        for (const v of [null, true, 0, -1.5, "s", [1, "2", null], { a: { b: [1, 2] }, c: "ü" }]) {
          const { decoded } = yield* roundTrip(ValueCodec.json, v)
          assert.deepStrictEqual(decoded, v)
        }
      }))

    it.effect("schema", () =>
      Effect.gen(function*() {
        const User = Schema.Struct({
          id: Schema.Number,
          name: Schema.String,
          created: Schema.Date,
          tags: Schema.Array(Schema.String)
        })
        const codec = ValueCodec.schema(User)
        const user = { id: 7, name: "Ada", created: new Date("2024-01-02T03:04:05.000Z"), tags: ["a"] }
        const { decoded, encoded } = yield* roundTrip(codec, user)
        assert.deepStrictEqual(decoded, user)
        assert.instanceOf(decoded.created, Date)
        assert.deepStrictEqual(JSON.parse(Buffer.from(encoded.bytes).toString()), {
          id: 7,
          name: "Ada",
          created: "2024-01-02T03:04:05.000Z",
          tags: ["a"]
        })
      }))

    it.effect("bigint, including beyond 2^53 and 2^64-1", () =>
      Effect.gen(function*() {
        for (const v of [0n, 1n, -5n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
          const { decoded, encoded } = yield* roundTrip(ValueCodec.bigint, v)
          assert.strictEqual(decoded, v)
          assert.strictEqual(Buffer.from(encoded.bytes).toString(), v.toString())
        }
      }))

    it.effect("number", () =>
      Effect.gen(function*() {
        for (const v of [0, 1, -2, 3.25, 1e21, -1.5e-7, Number.MAX_SAFE_INTEGER]) {
          assert.strictEqual((yield* roundTrip(ValueCodec.number, v)).decoded, v)
        }
      }))

    it.effect("transform", () =>
      Effect.gen(function*() {
        const upper = ValueCodec.transform(ValueCodec.string, (s) => s.toUpperCase(), (s) => s.toLowerCase())
        assert.strictEqual((yield* roundTrip(upper, "AbC")).decoded, "ABC")
      }))
  })

  describe("reading other clients' values", () => {
    it.effect("python int (flags 2) and long (flags 4), node memcached JSON (flags 2)", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* fromOutcome(ValueCodec.bigint.decode(ascii("42"), 2)), 42n)
        assert.strictEqual(
          yield* fromOutcome(ValueCodec.bigint.decode(ascii("123456789012345678901"), 4)),
          123456789012345678901n
        )
        assert.strictEqual(yield* fromOutcome(ValueCodec.json.decode(ascii("42"), 2)), 42)
        assert.strictEqual(yield* fromOutcome(ValueCodec.json.decode(ascii("9"), 4)), 9)
        assert.deepStrictEqual(yield* fromOutcome(ValueCodec.json.decode(ascii("{\"a\":[1]}"), 2)), { a: [1] })
        // a counter set with flags 0, and memcached's space padding after a shrinking decr
        assert.strictEqual(yield* fromOutcome(ValueCodec.bigint.decode(ascii("9 "), 0)), 9n)
        assert.strictEqual(yield* fromOutcome(ValueCodec.number.decode(ascii("10  "), 2)), 10)
      }))

    it.effect("python-memcached zlib-compressed text (flags 8|16)", () =>
      Effect.gen(function*() {
        const text = "x".repeat(5000)
        const codec = ValueCodec.compressed(ValueCodec.string)
        assert.strictEqual(
          yield* fromOutcome(codec.decode(zlib.deflateSync(Buffer.from(text)), Flags.COMPRESSED | Flags.TEXT)),
          text
        )
        // gzip under the same bit is detected by its magic bytes
        assert.strictEqual(yield* fromOutcome(codec.decode(zlib.gzipSync(Buffer.from(text)), Flags.COMPRESSED)), text)
      }))
  })

  describe("typed decode errors", () => {
    it("string: invalid UTF-8, wrong type, pickle", () => {
      const e1 = decodeFailure(ValueCodec.string, new Uint8Array([0xc3, 0x28]), 0)
      assert.strictEqual(e1._tag, "MemcachedValueError")
      assert.strictEqual(e1.reason, "Decode")
      assert.strictEqual(decodeFailure(ValueCodec.string, ascii("{}"), Flags.JSON).reason, "Decode")
      const pickle = decodeFailure(ValueCodec.json, ascii("\x80\x04K*."), Flags.PICKLE)
      assert.strictEqual(pickle.reason, "Decode")
      assert.match(pickle.message, /pickle/)
    })

    it("json: invalid JSON, wrong type", () => {
      assert.strictEqual(decodeFailure(ValueCodec.json, ascii("{nope"), 2).reason, "Decode")
      assert.strictEqual(decodeFailure(ValueCodec.json, ascii("{}"), 0).reason, "Decode")
    })

    it("json: encode failures are typed", () => {
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      for (const v of [cyclic, undefined, 1n, () => 1]) {
        const r = ValueCodec.json.encode(v)
        assert.isTrue(isFailure(r))
        assert.strictEqual(failureOf(r).reason, "Encode")
      }
    })

    it("schema: a value of the wrong shape is a Decode error with the schema's error", () => {
      const codec = ValueCodec.schema(Schema.Struct({ id: Schema.Number }))
      const e = decodeFailure(codec, ascii("{\"id\":\"seven\"}"), 2)
      assert.strictEqual(e.reason, "Decode")
      assert.match(e.message, /id/)
      assert.isDefined(e.cause)
      const enc = ValueCodec.schema(Schema.Struct({ n: Schema.NumberFromString })).encode({ n: 1 })
      assert.isTrue(isSuccess(enc))
    })

    it("numbers: garbage, NaN", () => {
      assert.strictEqual(decodeFailure(ValueCodec.bigint, ascii("12a"), 0).reason, "Decode")
      assert.strictEqual(decodeFailure(ValueCodec.bigint, ascii(""), 0).reason, "Decode")
      assert.strictEqual(decodeFailure(ValueCodec.number, ascii("0x10"), 2).reason, "Decode")
      assert.strictEqual(decodeFailure(ValueCodec.bigint, ascii("1"), Flags.PICKLE).reason, "Decode")
      const nan = ValueCodec.number.encode(NaN)
      assert.strictEqual(failureOf(nan).reason, "Encode")
    })

    it("a plain codec refuses compressed and split values", () => {
      assert.match(decodeFailure(ValueCodec.string, ascii("x"), Flags.COMPRESSED).message, /compressed/)
      assert.match(decodeFailure(ValueCodec.bytes, ascii("x"), Flags.SPLIT).message, /split/)
      assert.match(decodeFailure(ValueCodec.bytes, ascii("2"), Flags.LIBMC_CHUNKED).message, /split/)
    })

    it("make: a thrown exception becomes a typed error, reserved flags are refused", () => {
      const bad = ValueCodec.make<number>({
        name: "bad",
        encode: () => ({ bytes: new Uint8Array(), flags: Flags.SPLIT }),
        decode: () => {
          throw new TypeError("boom")
        }
      })
      const enc = bad.encode(1)
      assert.strictEqual(failureOf(enc).reason, "Encode")
      const dec = decodeFailure(bad, new Uint8Array(), 0)
      assert.strictEqual(dec.reason, "Decode")
      assert.match(dec.message, /boom/)
    })
  })

  describe("compression", () => {
    const text = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i, name: `user-${i}`, active: i % 2 === 0 })))

    it.effect("compresses over the threshold with zlib (python-compatible), round trips", () =>
      Effect.gen(function*() {
        const codec = ValueCodec.compressed(ValueCodec.string, { threshold: 100 })
        const { decoded, encoded } = yield* roundTrip(codec, text)
        assert.strictEqual(decoded, text)
        assert.strictEqual(encoded.flags, Flags.COMPRESSED)
        assert.isBelow(encoded.bytes.length, text.length / 3)
        assert.strictEqual(encoded.bytes[0], 0x78) // zlib header, what python's zlib.compress writes
        assert.strictEqual(zlib.inflateSync(encoded.bytes).toString(), text)
      }))

    it.effect("gzip and brotli", () =>
      Effect.gen(function*() {
        const gz = yield* roundTrip(
          ValueCodec.compressed(ValueCodec.json, { algorithm: "gzip", level: 9 }),
          JSON.parse(text)
        )
        assert.strictEqual(gz.encoded.flags, Flags.JSON | Flags.COMPRESSED)
        assert.strictEqual(gz.encoded.bytes[0], 0x1f)
        assert.deepStrictEqual(gz.decoded, JSON.parse(text))
        const br = yield* roundTrip(ValueCodec.compressed(ValueCodec.string, { algorithm: "brotli", level: 5 }), text)
        assert.strictEqual(br.encoded.flags, Flags.COMPRESSED | Flags.BROTLI)
        assert.strictEqual(br.decoded, text)
      }))

    it.effect("below the threshold, or when it does not save space, stores as is", () =>
      Effect.gen(function*() {
        const codec = ValueCodec.compressed(ValueCodec.bytes, { threshold: 16 })
        const small = yield* fromOutcome(codec.encode(Buffer.from("tiny")))
        assert.strictEqual(small.flags, 0)
        const random = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)))
        const incompressible = yield* fromOutcome(codec.encode(random))
        assert.strictEqual(incompressible.flags, 0)
        assert.strictEqual(incompressible.bytes, random)
        // uncompressed values read through a compressed codec
        assert.strictEqual(
          yield* fromOutcome(ValueCodec.compressed(ValueCodec.string).decode(Buffer.from("plain"), 0)),
          "plain"
        )
      }))

    it("invalid compressed data is a Decompress error", () => {
      const codec = ValueCodec.compressed(ValueCodec.bytes)
      const e = decodeFailure(codec, ascii("definitely not zlib"), Flags.COMPRESSED)
      assert.strictEqual(e.reason, "Decompress")
      const b = decodeFailure(codec, ascii("not brotli either"), Flags.COMPRESSED | Flags.BROTLI)
      assert.strictEqual(b.reason, "Decompress")
    })

    it("a value over maxInflatedSize is refused on encode", () => {
      const r = ValueCodec.compressed(ValueCodec.bytes, { maxInflatedSize: 10 }).encode(new Uint8Array(11))
      assert.strictEqual(failureOf(r).reason, "TooLarge")
    })

    it.effect("a zip bomb (1 GiB of zeros) fails with TooLarge without inflating it", () =>
      Effect.gen(function*() {
        for (const gzip of [false, true]) {
          const bomb = yield* Effect.promise(() => zipBomb(gzip))
          assert.isBelow(bomb.length, 2 * 1024 * 1024)
          const codec = ValueCodec.compressed(ValueCodec.bytes, { maxInflatedSize: 8 * 1024 * 1024 })
          const before = process.memoryUsage().arrayBuffers
          const e = decodeFailure(codec, bomb, Flags.COMPRESSED)
          const grew = process.memoryUsage().arrayBuffers - before
          assert.strictEqual(e.reason, "TooLarge")
          assert.isBelow(grew, 256 * 1024 * 1024, `inflating allocated ${grew} bytes`)
        }
        // the same for brotli
        const brBomb = zlib.brotliCompressSync(Buffer.alloc(64 * 1024 * 1024))
        const e = decodeFailure(
          ValueCodec.compressed(ValueCodec.bytes, { maxInflatedSize: 1024 * 1024 }),
          brBomb,
          Flags.COMPRESSED | Flags.BROTLI
        )
        assert.strictEqual(e.reason, "TooLarge")
      }), 120_000)

    it("exactly maxInflatedSize is allowed", () => {
      const data = zlib.deflateSync(Buffer.alloc(1000))
      const ok = ValueCodec.compressed(ValueCodec.bytes, { maxInflatedSize: 1000 }).decode(data, Flags.COMPRESSED)
      assert.isTrue(isSuccess(ok))
      const tooBig = ValueCodec.compressed(ValueCodec.bytes, { maxInflatedSize: 999 }).decode(data, Flags.COMPRESSED)
      assert.strictEqual(failureOf(tooBig).reason, "TooLarge")
    })
  })
})
