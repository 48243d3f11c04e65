/**
 * The typed store over the real client and in-memory servers with injected faults: per-call timeouts
 * reach every request a typed call makes, and a typed stream isolates a failed server's keys.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import * as TypedStore from "../src/TypedStore.js"
import * as ValueCodec from "../src/ValueCodec.js"
import { type Client, collect, failureOf, succeed } from "./support/edition.js"

/** A key whose home is `server`. */
const keyOn = (client: Client, server: number, prefix: string): string => {
  for (let i = 0; i < 10_000; i++) {
    const k = `${prefix}:${i}`
    if (client.serverFor(k) === server) return k
  }
  throw new Error(`no key on server ${server}`)
}

/** Runs `body` over `servers` in-memory servers; no ejection, so each call sees its own timeout. */
const withServers = <A, E>(
  servers: number,
  body: (
    client: Client,
    memory: ReadonlyArray<
      { readonly faults: { readonly delay: (ms: number) => void; readonly blackHole: (on?: boolean) => void } }
    >
  ) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const client = yield* MemcachedClient.MemcachedClient
    const memory = yield* MemcachedTest.MemoryServers
    return yield* body(client, memory)
  }).pipe(Effect.provide(MemcachedTest.layer({ servers, timeout: "5 seconds", failureLimit: 1000 })))

describe("TypedStore over in-memory servers with faults", () => {
  it.live("a call's timeout overrides the client's: plain and split values, reads and writes", () =>
    withServers(1, (client, [server]) =>
      Effect.gen(function*() {
        const bytes = TypedStore.make(client, ValueCodec.bytes)
        const small = Buffer.from("v")
        const big = randomBytes(2_500_000)
        yield* bytes.set("small", small)
        yield* bytes.set("big", big)
        server!.faults.delay(400)
        for (
          const read of [
            bytes.get("small", { timeout: "100 millis" }),
            bytes.get("big", { timeout: "100 millis" }),
            bytes.gat("big", 100, { timeout: "100 millis" }),
            Effect.asVoid(bytes.set("big", big, { timeout: "100 millis" }))
          ]
        ) {
          const e = yield* Effect.flip(read)
          assert.strictEqual(e._tag, "MemcachedConnectionError")
          assert.strictEqual((e as { reason?: string }).reason, "Timeout")
        }
        // the same reads with a longer per-call timeout wait out the delay
        assert.isTrue(Buffer.from(Option.getOrThrow(yield* bytes.get("small", { timeout: "3 seconds" }))).equals(small))
        assert.isTrue(Buffer.from(Option.getOrThrow(yield* bytes.get("big", { timeout: "3 seconds" }))).equals(big))
      })))

  it.live("getStream: keys on a black-holed server fail (or miss) alone; the others are read", () =>
    withServers(3, (client, servers) =>
      Effect.gen(function*() {
        const strings = TypedStore.make(client, ValueCodec.string)
        const keys = [keyOn(client, 0, "a"), keyOn(client, 1, "b"), keyOn(client, 2, "c"), keyOn(client, 1, "d")]
        for (const k of keys) yield* strings.set(k, `v-${k}`)
        servers[1]!.faults.blackHole()
        const run = (options: TypedStore.StreamOptions) =>
          collect(strings.getStream(options)(Stream.fromIterable(keys)))
        const out = yield* run({ timeout: "200 millis" })
        assert.deepStrictEqual(out.map(([k]) => k), keys)
        assert.deepStrictEqual(out[0]![1], succeed(Option.some(`v-${keys[0]}`)))
        assert.deepStrictEqual(out[2]![1], succeed(Option.some(`v-${keys[2]}`)))
        for (const i of [1, 3]) {
          const e = failureOf(out[i]![1])
          assert.strictEqual((e as { _tag: string })._tag, "MemcachedConnectionError")
        }
        const lenient = yield* run({ timeout: "200 millis", onServerError: "miss" })
        assert.deepStrictEqual(lenient.map(([, r]) => r), [
          succeed(Option.some(`v-${keys[0]}`)),
          succeed(Option.none()),
          succeed(Option.some(`v-${keys[2]}`)),
          succeed(Option.none())
        ])
      })))
})
