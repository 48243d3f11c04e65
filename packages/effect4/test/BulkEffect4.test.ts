/**
 * Bulk reads and writes through the Effect 4 edge, with its `Result` outcomes spelled out (the shared
 * cases are test/Bulk.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Result, Stream } from "effect"
import * as Bulk from "../src/Bulk.js"
import { MemcachedClient } from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"

describe("Bulk (Effect 4)", () => {
  it.effect("getStream yields every key in input order across three servers, hits and misses", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient
      const keys = Array.from({ length: 250 }, (_, i) => `k${i}`)
      const written = yield* client.setMany(keys.filter((_, i) => i % 3 !== 0).map((k) => [k, `v-${k}`] as const))
      assert.isTrue([...written.values()].every(Result.isSuccess))
      const out = yield* Stream.fromIterable(keys).pipe(
        Bulk.getStream(client, { batchSize: 40, concurrency: 2 }),
        Stream.runCollect
      )
      assert.deepStrictEqual(out.map(([k]) => k), keys)
      for (const [k, r] of out) {
        const i = Number(k.slice(1))
        if (!Result.isSuccess(r)) return assert.fail(`${k} failed`)
        const item = r.success
        if (i % 3 === 0) assert.isTrue(Option.isNone(item))
        else assert.strictEqual(Buffer.from(Option.getOrThrow(item).value).toString(), `v-${k}`)
      }
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 3, protocol: "meta" }))))

  it.effect("getEach: an invalid key fails alone; deleteMany reports NotFound per key", () =>
    Effect.gen(function*() {
      const client = yield* MemcachedClient
      yield* client.set("a", "1")
      const each = yield* Bulk.getEach(client, ["a", "bad key", "b"])
      assert.isTrue(Result.isSuccess(each.get("a")!))
      const bad = each.get("bad key")!
      assert.isTrue(Result.isFailure(bad) && bad.failure._tag === "MemcachedInputError")
      const b = each.get("b")!
      assert.isTrue(Result.isSuccess(b) && Option.isNone(b.success))
      const deleted = yield* Bulk.deleteMany(client, ["a", "b"])
      assert.isTrue(Result.isSuccess(deleted.get("a")!))
      const nf = deleted.get("b")!
      assert.isTrue(
        Result.isFailure(nf) && nf.failure._tag === "MemcachedStoreError" && nf.failure.reason === "NotFound"
      )
    }).pipe(Effect.provide(MemcachedTest.layer({ protocol: "text" }))))
})
