/**
 * Meta bulk writes on the wire (Effect 3 edition): quiet `ms` lines closed by `mn`, failures mapped to
 * their keys — against a scripted fake server. (The edition-independent bulk cases are the shared
 * test/Bulk.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { acquireFakeServer } from "./support/memcached.js"

describe("Bulk on the wire", () => {
  it.live("meta bulk writes are quiet on the wire, closed by mn, and failures map to their keys", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, _chunk, received) => {
        if (received.endsWith("mn\r\n")) socket.write("NS kb\r\nMN\r\n")
      })
      const c = yield* MemcachedClient.make({ servers: [fake.address], protocol: "meta" })
      const results = yield* c.setMany([["a", "1"], ["b", "22"], ["c", "333"]], { ttl: 10 })
      assert.strictEqual(
        fake.received[0],
        "ms a 1 T10 k q\r\n1\r\nms b 2 T10 k q\r\n22\r\nms c 3 T10 k q\r\n333\r\nmn\r\n"
      )
      assert.deepStrictEqual(results.get("a"), Either.right(undefined))
      assert.deepStrictEqual(results.get("c"), Either.right(undefined))
      const b = results.get("b")!
      assert.isTrue(
        Either.isLeft(b) && b.left._tag === "MemcachedStoreError" && b.left.reason === "NotStored" && b.left.key === "b"
      )
    }).pipe(Effect.scoped))
})
