import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import fc from "fast-check"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Hash from "../src/Hash.js"

interface Item {
  readonly key_hex: string
  readonly key: string | null
  readonly libmemcached: Record<string, number>
  readonly libmc: Record<string, number>
  readonly pymemcache_murmur3_32_of_str?: number
}

const vectors = JSON.parse(
  readFileSync(new URL("./fixtures/vectors/hash_functions.public.json", import.meta.url), "utf8")
) as { configs: ReadonlyArray<{ items: ReadonlyArray<Item> }>; libmemcached_algorithms: ReadonlyArray<string> }
const items = vectors.configs.flatMap((c) => c.items)

const libmemcachedNames: Record<string, Hash.HashName> = {
  default: "one_at_a_time",
  md5: "md5",
  crc: "crc",
  fnv1_64: "fnv1_64",
  fnv1a_64: "fnv1a_64",
  fnv1_32: "fnv1_32",
  fnv1a_32: "fnv1a_32",
  murmur: "murmur",
  jenkins: "jenkins",
  murmur3: "murmur3"
}
const libmcNames: Record<string, Hash.HashName> = {
  md5: "md5",
  fnv1_32: "libmc_fnv1_32",
  fnv1a_32: "libmc_fnv1a_32",
  crc_32: "crc_32"
}

describe("Hash vectors", () => {
  it.effect("covers every libmemcached algorithm in the vector file", () =>
    Effect.sync(() => {
      for (const name of vectors.libmemcached_algorithms) assert.isDefined(libmemcachedNames[name], name)
      assert.isAtLeast(items.length, 60)
    }))

  for (const algo of Object.keys(libmemcachedNames)) {
    it.effect(`libmemcached ${algo}: bytes and string forms`, () =>
      Effect.sync(() => {
        const name = libmemcachedNames[algo]!
        let n = 0
        for (const item of items) {
          const expected = item.libmemcached[algo]
          if (expected === undefined) continue
          assert.strictEqual(Hash.hashBytes(name, Buffer.from(item.key_hex, "hex")), expected, item.key_hex)
          if (item.key !== null) assert.strictEqual(Hash.hashString(name, item.key), expected, item.key_hex)
          n++
        }
        assert.isAtLeast(n, 60)
      }))
  }

  for (const algo of Object.keys(libmcNames)) {
    it.effect(`libmc ${algo}`, () =>
      Effect.sync(() => {
        const name = libmcNames[algo]!
        let n = 0
        for (const item of items) {
          const expected = item.libmc[algo]
          if (expected === undefined) continue
          assert.strictEqual(Hash.hashBytes(name, Buffer.from(item.key_hex, "hex")), expected, item.key_hex)
          n++
        }
        assert.isAtLeast(n, 60)
      }))
  }

  it.effect("pymemcache murmur3_32 of str", () =>
    Effect.sync(() => {
      let n = 0
      for (const item of items) {
        if (item.pymemcache_murmur3_32_of_str === undefined || item.key === null) continue
        assert.strictEqual(Hash.pymemcacheMurmur3(item.key), item.pymemcache_murmur3_32_of_str, item.key_hex)
        n++
      }
      assert.isAtLeast(n, 40)
    }))
})

describe("Hash", () => {
  it.effect("documented reference values", () =>
    Effect.sync(() => {
      const expected: ReadonlyArray<readonly [Hash.HashName, string, number]> = [
        ["one_at_a_time", "hello", 3372029979],
        ["one_at_a_time", "", 0],
        ["md5", "hello", 708854109],
        ["crc", "hello", 13840],
        ["fnv1_32", "hello", 3069866343],
        ["fnv1a_32", "hello", 1335831723],
        ["fnv1_64", "hello", 3183334599],
        ["fnv1a_64", "hello", 2158673163],
        ["murmur", "hello", 1377504255],
        ["murmur", "", 0],
        ["murmur3", "hello", 1067880409],
        ["jenkins", "hello", 772589811],
        ["jenkins", "", 3735928572]
      ]
      for (const [name, input, value] of expected) assert.strictEqual(Hash.hashString(name, input), value, name)
      assert.strictEqual(Hash.hashBytes("fnv1a_32", Uint8Array.from([0xc3, 0xa9, 0x74, 0xc3, 0xa9])), 200187927)
    }))

  it.effect("signed bytes: libmemcached differs from the unsigned variants only for bytes >= 0x80", () =>
    Effect.sync(() => {
      assert.strictEqual(Hash.hashString("one_at_a_time", "abc"), Hash.hashString("one_at_a_time_unsigned", "abc"))
      assert.notStrictEqual(Hash.hashString("one_at_a_time", "é"), Hash.hashString("one_at_a_time_unsigned", "é"))
      assert.strictEqual(Hash.hashString("fnv1a_32", "abc"), Hash.hashString("libmc_fnv1a_32", "abc"))
      assert.notStrictEqual(Hash.hashString("fnv1a_32", "é"), Hash.hashString("libmc_fnv1a_32", "é"))
    }))

  it.effect("pure-JS md5 equals node:crypto for every length 0..300 and random bytes", () =>
    Effect.sync(() => {
      let seed = 12345
      const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24
      for (let len = 0; len <= 300; len++) {
        const bytes = Uint8Array.from({ length: len }, rnd)
        const words = Hash.md5Words(bytes, len)
        const digest = createHash("md5").update(bytes).digest()
        for (let w = 0; w < 4; w++) assert.strictEqual(words[w]! >>> 0, digest.readUInt32LE(4 * w), `len ${len}`)
      }
    }))

  it.effect("crc_32 equals the standard CRC-32 and crc is its 15-bit slice", () =>
    Effect.sync(() => {
      assert.strictEqual(Hash.hashString("crc_32", "123456789"), 0xcbf43926)
      assert.strictEqual(Hash.hashString("crc", "123456789"), (0xcbf43926 >>> 16) & 0x7fff)
    }))

  it.effect("string hashing agrees with byte hashing for long, non-BMP and mixed keys", () =>
    Effect.sync(() => {
      const inputs = ["x".repeat(3000), "ключ:😀:" + "é".repeat(2000), "a€b", "\u0000\u007f"]
      for (const name of Hash.hashNames) {
        for (const input of inputs) {
          assert.strictEqual(Hash.hashString(name, input), Hash.hashBytes(name, new TextEncoder().encode(input)), name)
        }
      }
    }))

  it.effect("property: the string form of every hash equals the byte form over the UTF-8 (ASCII fast paths, non-ASCII anywhere)", () =>
    Effect.sync(() => {
      const utf8 = new TextEncoder()
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.string({ unit: "grapheme", maxLength: 40 }),
            fc.fullUnicodeString()
          ),
          (input) => {
            const bytes = utf8.encode(input)
            for (const name of Hash.hashNames) {
              assert.strictEqual(Hash.hashString(name, input), Hash.hashBytes(name, bytes), name)
            }
          }
        ),
        { numRuns: 300 }
      )
    }))

  it.effect("parseName accepts libmemcached/pylibmc names and rejects hsieh", () =>
    Effect.sync(() => {
      assert.strictEqual(Hash.parseName("default"), "one_at_a_time")
      assert.strictEqual(Hash.parseName("FNV1A-32"), "fnv1a_32")
      assert.strictEqual(Hash.parseName("crc"), "crc")
      assert.isUndefined(Hash.parseName("hsieh"))
      assert.isUndefined(Hash.parseName("toString"))
    }))
})
