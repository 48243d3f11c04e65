import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import { crc32Bytes } from "../src/Hash.js"
import * as LargeValue from "../src/LargeValue.js"
import * as ValueCodec from "../src/ValueCodec.js"
import { fromOutcome } from "./support/edition.js"
import { mapStore } from "./support/mapStore.js"
import { realStores } from "./support/realStores.js"

const { Flags } = ValueCodec

type AnyStore = LargeValue.ChunkStore<unknown>

const uniqueKey = (name: string) => `lv:${name}:${randomBytes(4).toString("hex")}`

const rawItem = (store: AnyStore, key: string) =>
  Effect.flatMap(
    store.get(key),
    (o) => (Option.isSome(o) ? Effect.succeed(o.value) : Effect.die(new Error(`no ${key}`)))
  )

/**
 * The large-value suite, run against any store (the lead runs it against the real client over the
 * in-memory server and real memcached). `makeStore` must give a store with a 1 MiB item size.
 */
export const largeValueSuite = (name: string, makeStore: () => Effect.Effect<AnyStore>) =>
  describe(name, () => {
    it.effect("round trips a 5 MB value in chunks under the item size, behind a manifest", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("five")
        const value = randomBytes(5 * 1000 * 1000)
        yield* LargeValue.write(store, key, { bytes: value, flags: Flags.JSON }, { ttl: 60 })
        const manifestItem = yield* rawItem(store, key)
        assert.strictEqual(manifestItem.flags, Flags.JSON | Flags.SPLIT)
        const manifest = LargeValue.decodeManifest(manifestItem.value, key)
        assert.notInstanceOf(manifest, ValueCodec.MemcachedValueError)
        const m = manifest as LargeValue.Manifest
        assert.strictEqual(m.length, value.length)
        assert.strictEqual(m.chunkCount, Math.ceil(value.length / (1024 * 1024 - 1024)))
        for (let i = 0; i < m.chunkCount; i++) {
          const chunk = yield* rawItem(store, LargeValue.chunkKey(key, m.writeId, i))
          assert.isAtMost(chunk.value.length, 1024 * 1024 - 1024)
        }
        const read = yield* LargeValue.read(store, key)
        assert.isTrue(Option.isSome(read))
        const got = Option.getOrThrow(read)
        assert.strictEqual(got.flags, Flags.JSON)
        assert.isTrue(Buffer.from(got.bytes).equals(value))
      }))

    it.effect("stores a value under the chunk size as one plain item", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("small")
        yield* LargeValue.write(store, key, { bytes: Buffer.from("hello"), flags: 0 })
        const item = yield* rawItem(store, key)
        assert.strictEqual(item.flags, 0)
        assert.strictEqual(Buffer.from(item.value).toString(), "hello")
        const read = Option.getOrThrow(yield* LargeValue.read(store, key))
        assert.strictEqual(Buffer.from(read.bytes).toString(), "hello")
        assert.isTrue(Option.isNone(yield* LargeValue.read(store, uniqueKey("absent"))))
      }))

    it.effect("a corrupted chunk reads as a miss", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("corrupt")
        yield* LargeValue.write(store, key, { bytes: randomBytes(2_500_000), flags: 0 })
        const m = LargeValue.decodeManifest((yield* rawItem(store, key)).value) as LargeValue.Manifest
        const k1 = LargeValue.chunkKey(key, m.writeId, 1)
        const chunk = Buffer.from((yield* rawItem(store, k1)).value)
        chunk[1000] = chunk[1000]! ^ 0xff
        yield* store.set(k1, chunk, { flags: 0 })
        assert.isTrue(Option.isNone(yield* LargeValue.read(store, key)))
      }))

    it.effect("a missing or truncated chunk reads as a miss", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("missing")
        yield* LargeValue.write(store, key, { bytes: randomBytes(2_500_000), flags: 0 })
        const m = LargeValue.decodeManifest((yield* rawItem(store, key)).value) as LargeValue.Manifest
        const last = LargeValue.chunkKey(key, m.writeId, m.chunkCount - 1)
        const lastChunk = (yield* rawItem(store, last)).value
        yield* store.set(last, lastChunk.subarray(1), { flags: 0 })
        assert.isTrue(Option.isNone(yield* LargeValue.read(store, key)))
        yield* store.delete(last)
        assert.isTrue(Option.isNone(yield* LargeValue.read(store, key)))
      }))

    it.effect("a chunk from a different write reads as a miss", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("race")
        const a = Buffer.alloc(2_500_000, 0x61)
        const b = Buffer.alloc(2_500_000, 0x62)
        yield* LargeValue.write(store, key, { bytes: a, flags: 0 })
        const manifestA = yield* rawItem(store, key)
        const mA = LargeValue.decodeManifest(manifestA.value) as LargeValue.Manifest
        yield* LargeValue.write(store, key, { bytes: b, flags: 0 })
        const mB = LargeValue.decodeManifest((yield* rawItem(store, key)).value) as LargeValue.Manifest
        assert.notStrictEqual(mA.writeId, mB.writeId)
        // the latest write wins as a whole
        assert.isTrue(Buffer.from(Option.getOrThrow(yield* LargeValue.read(store, key)).bytes).equals(b))
        // a chunk of write B put where write A's chunk 0 was: same size, wrong content
        const chunkB0 = (yield* rawItem(store, LargeValue.chunkKey(key, mB.writeId, 0))).value
        yield* store.set(LargeValue.chunkKey(key, mA.writeId, 0), chunkB0, { flags: 0 })
        yield* store.set(key, manifestA.value, { flags: manifestA.flags })
        assert.isTrue(Option.isNone(yield* LargeValue.read(store, key)))
      }))

    it.effect("a value over maxValueSize fails with TooLarge before anything is sent", () =>
      Effect.gen(function*() {
        const inner = yield* makeStore()
        let calls = 0
        const counting: AnyStore = {
          get: (k) => (calls++, inner.get(k)),
          getMany: (k) => (calls++, inner.getMany(k)),
          set: (k, v, o) => (calls++, inner.set(k, v, o)),
          delete: (k) => (calls++, inner.delete(k))
        }
        const e = yield* Effect.flip(
          LargeValue.write(counting, uniqueKey("huge"), { bytes: new Uint8Array(3_000_001), flags: 0 }, {
            maxValueSize: 3_000_000
          })
        )
        assert.instanceOf(e, ValueCodec.MemcachedValueError)
        assert.strictEqual((e as ValueCodec.MemcachedValueError).reason, "TooLarge")
        assert.strictEqual(calls, 0)
        // default cap: 16 MiB
        const big = yield* Effect.flip(
          LargeValue.write(counting, uniqueKey("huge"), { bytes: new Uint8Array(16 * 1024 * 1024 + 1), flags: 0 })
        )
        assert.strictEqual((big as ValueCodec.MemcachedValueError).reason, "TooLarge")
        assert.strictEqual(calls, 0)
      }))

    it.effect("long keys: chunk keys stay within 250 bytes", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("long") + "x".repeat(230 - 20) + "é"
        assert.isAtMost(Buffer.byteLength(key), 250)
        const value = randomBytes(1_500_000)
        yield* LargeValue.write(store, key, { bytes: value, flags: 0 })
        const m = LargeValue.decodeManifest((yield* rawItem(store, key)).value) as LargeValue.Manifest
        for (let i = 0; i < m.chunkCount; i++) {
          assert.isAtMost(Buffer.byteLength(LargeValue.chunkKey(key, m.writeId, i)), 250)
        }
        assert.isTrue(Buffer.from(Option.getOrThrow(yield* LargeValue.read(store, key)).bytes).equals(value))
      }))

    it.effect("readMany assembles split values among plain ones", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const [k1, k2, k3] = [uniqueKey("m1"), uniqueKey("m2"), uniqueKey("m3")]
        const big = randomBytes(1_200_000)
        yield* LargeValue.write(store, k1, { bytes: Buffer.from("one"), flags: 0 })
        yield* LargeValue.write(store, k2, { bytes: big, flags: Flags.TEXT })
        const found = yield* LargeValue.readMany(store, [k1, k2, k3])
        assert.strictEqual(found.size, 2)
        assert.strictEqual(Buffer.from(found.get(k1)!.bytes).toString(), "one")
        assert.isTrue(Buffer.from(found.get(k2)!.bytes).equals(big))
        assert.strictEqual(found.get(k2)!.flags, Flags.TEXT)
      }))

    it.effect("remove deletes the manifest and its chunks", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("rm")
        yield* LargeValue.write(store, key, { bytes: randomBytes(1_200_000), flags: 0 })
        const m = LargeValue.decodeManifest((yield* rawItem(store, key)).value) as LargeValue.Manifest
        yield* LargeValue.remove(store, key)
        assert.isTrue(Option.isNone(yield* store.get(key)))
        assert.isTrue(Option.isNone(yield* store.get(LargeValue.chunkKey(key, m.writeId, 0))))
        assert.isTrue(Option.isNone(yield* store.get(LargeValue.chunkKey(key, m.writeId, 1))))
      }))

    it.effect("reads values split by libmc", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("libmc")
        const value = randomBytes(2_300_000)
        const n = Math.ceil(value.length / 1_000_000)
        const keys = LargeValue.libmcChunkKeys(key, n)
        assert.strictEqual(keys[0], `~${key.length}${key}/0`)
        for (let i = 0; i < n; i++) {
          yield* store.set(keys[i]!, value.subarray(i * 1_000_000, (i + 1) * 1_000_000), { flags: Flags.TEXT })
        }
        yield* store.set(key, Buffer.from(String(n)), { flags: Flags.TEXT | Flags.LIBMC_CHUNKED })
        const got = Option.getOrThrow(yield* LargeValue.read(store, key))
        assert.strictEqual(got.flags, Flags.TEXT)
        assert.isTrue(Buffer.from(got.bytes).equals(value))
        yield* store.delete(keys[1]!)
        assert.isTrue(Option.isNone(yield* LargeValue.read(store, key)))
      }))

    it.effect("an unparseable manifest is a Corrupt error", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("bad")
        yield* store.set(key, Buffer.from("EMCSPLIT1 nope"), { flags: Flags.SPLIT })
        const e = yield* Effect.flip(LargeValue.read(store, key))
        assert.strictEqual((e as ValueCodec.MemcachedValueError).reason, "Corrupt")
        // a manifest describing more than maxValueSize is TooLarge
        const m = LargeValue.encodeManifest({
          writeId: "0011223344556677",
          length: 100_000_000,
          chunkCount: 100,
          chunkSize: 1_000_000,
          crc32: 0
        })
        yield* store.set(key, m, { flags: Flags.SPLIT })
        const e2 = yield* Effect.flip(LargeValue.read(store, key))
        assert.strictEqual((e2 as ValueCodec.MemcachedValueError).reason, "TooLarge")
      }))

    it.effect("a compressible 5 MB value compresses into one item; compression happens before splitting", () =>
      Effect.gen(function*() {
        const store = yield* makeStore()
        const key = uniqueKey("zip")
        const text = "all work and no play makes jack a dull boy\n".repeat(120_000)
        const codec = ValueCodec.compressed(ValueCodec.string)
        const encoded = yield* fromOutcome(codec.encode(text))
        assert.isBelow(encoded.bytes.length, 1024 * 1024)
        yield* LargeValue.write(store, key, encoded)
        assert.strictEqual((yield* rawItem(store, key)).flags, Flags.COMPRESSED)
        const got = Option.getOrThrow(yield* LargeValue.read(store, key))
        assert.strictEqual(yield* fromOutcome(codec.decode(got.bytes, got.flags)), text)
      }))
  })

describe("LargeValue (pure)", () => {
  it("manifest round trip and validation", () => {
    const m = { writeId: "00ff00ff00ff00ff", length: 2_000_001, chunkCount: 3, chunkSize: 1_000_000, crc32: 0xdeadbeef }
    assert.deepStrictEqual(LargeValue.decodeManifest(LargeValue.encodeManifest(m)), m)
    const bad = LargeValue.decodeManifest(LargeValue.encodeManifest({ ...m, chunkCount: 4 }))
    assert.instanceOf(bad, ValueCodec.MemcachedValueError)
    assert.strictEqual((bad as ValueCodec.MemcachedValueError).reason, "Corrupt")
  })

  it("the manifest checksum is Hash.crc32Bytes (the reference CRC-32), natively computed or not", () => {
    const checksumOf = (bytes: Uint8Array) => {
      const p = LargeValue.plan("k", { bytes, flags: 0 }, { chunkSize: 4 })
      assert.strictEqual(p._tag, "Split")
      return p._tag === "Split" ? p.manifest.crc32 : -1
    }
    assert.strictEqual(checksumOf(Buffer.from("123456789")), 0xcbf43926)
    for (const n of [5, 1000, 65_537]) {
      const bytes = randomBytes(n)
      assert.strictEqual(checksumOf(bytes), crc32Bytes(bytes, bytes.length))
    }
  })

  it("chunk keys hash over-long keys and keep a readable prefix", () => {
    const key = "p:" + "k".repeat(248)
    const ck = LargeValue.chunkKey(key, "0123456789abcdef", 12)
    assert.isAtMost(Buffer.byteLength(ck), 250)
    assert.isTrue(ck.startsWith("p:kkk"))
    assert.match(ck, /#[0-9a-f]{40}\|0123456789abcdef\|12$/)
    assert.notStrictEqual(LargeValue.chunkKey(key + "a", "0123456789abcdef", 12).slice(0, -20), ck.slice(0, -20))
    assert.strictEqual(LargeValue.truncateUtf8("aé日", 4), "aé")
    assert.strictEqual(LargeValue.truncateUtf8("aé日", 5), "aé")
    assert.strictEqual(LargeValue.truncateUtf8("aé日", 6), "aé日")
  })

  it("plan splits at chunkSize and refuses values that carry a split bit", () => {
    const p = LargeValue.plan("k", { bytes: new Uint8Array(25), flags: 2 }, { chunkSize: 10 }, "aaaaaaaaaaaaaaaa")
    assert.strictEqual(p._tag, "Split")
    if (p._tag === "Split") {
      assert.deepStrictEqual(p.chunks.map((c) => c.value.length), [10, 10, 5])
      assert.deepStrictEqual(p.chunks.map((c) => c.key), [
        "k|aaaaaaaaaaaaaaaa|0",
        "k|aaaaaaaaaaaaaaaa|1",
        "k|aaaaaaaaaaaaaaaa|2"
      ])
      assert.strictEqual(p.flags, 2 | Flags.SPLIT)
    }
    const exact = LargeValue.plan("k", { bytes: new Uint8Array(10), flags: 0 }, { chunkSize: 10 })
    assert.strictEqual(exact._tag, "Single")
    const bad = LargeValue.plan("k", { bytes: new Uint8Array(1), flags: Flags.SPLIT })
    assert.instanceOf(bad, ValueCodec.MemcachedValueError)
  })
})

describe("LargeValue.touchChunks (mapStore)", () => {
  it.effect("touches every chunk of our split value, nothing for a plain item or a corrupt manifest, and never fails", () =>
    Effect.gen(function*() {
      const { calls, items, store } = mapStore()
      yield* LargeValue.write(store, "big", { bytes: randomBytes(2_500_000), flags: 0 }, { ttl: 5 })
      const manifest = items.get("big")!
      const m = LargeValue.decodeManifest(manifest.value, "big") as LargeValue.Manifest
      const chunks = Array.from({ length: m.chunkCount }, (_, i) => LargeValue.chunkKey("big", m.writeId, i))
      // one chunk is gone: the others are still touched, and no error surfaces
      items.delete(chunks[1]!)
      calls.length = 0
      yield* LargeValue.touchChunks(store, "big", manifest, 500, { timeout: "1 second" })
      assert.deepStrictEqual(
        calls.map((c) => [c.method, c.key, c.options?.timeout]).sort(),
        chunks.map((k) => ["touch", k, "1 second"]).sort()
      )
      assert.deepStrictEqual([chunks[0], chunks[2]].map((k) => items.get(k!)?.ttl), [500, 500])
      calls.length = 0
      yield* LargeValue.touchChunks(store, "plain", { value: Buffer.from("v"), flags: 0 }, 500)
      yield* LargeValue.touchChunks(store, "bad", { value: Buffer.from("EMCSPLIT1 nope"), flags: Flags.SPLIT }, 500)
      assert.deepStrictEqual(calls, [])
    }))
})

largeValueSuite("LargeValue over mapStore", () => Effect.sync(() => mapStore().store as AnyStore))

for (const [name, makeStore] of realStores()) {
  largeValueSuite(`LargeValue over the real client, ${name}`, () => makeStore() as Effect.Effect<AnyStore>)
}
