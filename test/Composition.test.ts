/**
 * Issue 11.4: a ring, policy or transport can only be chosen through the client's options, so a wrong
 * composition (a ring layer merged beside the client and silently ignored) cannot be written. The type
 * assertions below are checked by `tsc --noEmit -p tsconfig.json` (test/ is in its `include`); the
 * runtime tests check that the chosen placement, transport and policy are the ones used.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as ConfigError from "effect/ConfigError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { expectTypeOf } from "vitest"
import * as Bulk from "../src/Bulk.js"
import * as Distribution from "../src/Distribution.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type * as MemcachedError from "../src/MemcachedError.js"
import * as MemcachedPolicy from "../src/MemcachedPolicy.js"
import * as MemcachedRing from "../src/MemcachedRing.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import * as MemcachedTransport from "../src/MemcachedTransport.js"
import * as ServerSpec from "../src/ServerSpec.js"

describe("composition is only through options (types)", () => {
  it("the client layer needs nothing from the context: no optional service can be forgotten or ignored", () => {
    expectTypeOf(MemcachedClient.layer).returns.toEqualTypeOf<
      Layer.Layer<MemcachedClient.MemcachedClient, ConfigError.ConfigError, never>
    >()
    expectTypeOf(MemcachedClient.make).returns.toEqualTypeOf<
      Effect.Effect<MemcachedClient.MemcachedClient, ConfigError.ConfigError, import("effect/Scope").Scope>
    >()
    expectTypeOf<MemcachedClient.MemcachedClientOptions["distribution"]>().toEqualTypeOf<
      Distribution.Distribution | undefined
    >()
    expectTypeOf<MemcachedClient.MemcachedClientOptions["transport"]>().toEqualTypeOf<
      MemcachedTransport.Transport | undefined
    >()
    expectTypeOf(MemcachedPolicy.failoverNext).returns.toEqualTypeOf<MemcachedPolicy.Policy>()
  })

  it("there is no ring, policy or transport service or layer to merge beside a client", () => {
    // @ts-expect-error there is no ring service: `Layer.merge(client, MemcachedRing.layerLibmc())` cannot be written
    MemcachedRing.layerLibmc
    // @ts-expect-error no ring tag either
    MemcachedRing.MemcachedRing
    // @ts-expect-error no ring layer of any kind
    MemcachedRing.layer
    // @ts-expect-error no policy layer
    MemcachedPolicy.layerFailoverNext
    // @ts-expect-error no policy tag
    MemcachedPolicy.MemcachedPolicy
    // @ts-expect-error no transport layer
    MemcachedTransport.layerTls
    // @ts-expect-error no transport tag
    MemcachedTransport.MemcachedTransport
    // The ring is a value given as an option:
    expectTypeOf(MemcachedRing.libmc).returns.toEqualTypeOf<Distribution.Distribution>()
    // @ts-expect-error an option, not a layer: a Distribution is no Layer
    const notALayer: Layer.Layer<never> = MemcachedRing.libmc()
    void notALayer
  })
})

describe("errors narrowed per method, gets has a CAS (issue 12f, types)", () => {
  it("a read cannot fail with MemcachedStoreError; gets/gats items carry a bigint cas", () => {
    type ErrorOf<T> = T extends Effect.Effect<any, infer E, any> ? E : never
    type SuccessOf<T> = T extends Effect.Effect<infer A, any, any> ? A : never
    type C = MemcachedClient.MemcachedClient
    expectTypeOf<Extract<ErrorOf<ReturnType<C["get"]>>, MemcachedError.MemcachedStoreError>>().toBeNever()
    expectTypeOf<Extract<ErrorOf<ReturnType<C["getMany"]>>, MemcachedError.MemcachedStoreError>>().toBeNever()
    expectTypeOf<Extract<ErrorOf<ReturnType<C["gets"]>>, MemcachedError.MemcachedStoreError>>().toBeNever()
    expectTypeOf<Extract<ErrorOf<ReturnType<C["metaGet"]>>, MemcachedError.MemcachedStoreError>>().toBeNever()
    expectTypeOf<Extract<ErrorOf<ReturnType<C["add"]>>, MemcachedError.MemcachedStoreError>>().toEqualTypeOf<
      MemcachedError.MemcachedStoreError
    >()
    expectTypeOf<SuccessOf<ReturnType<C["gets"]>>>().toEqualTypeOf<Option.Option<MemcachedClient.CasItem>>()
    expectTypeOf<MemcachedClient.CasItem["cas"]>().toEqualTypeOf<bigint>()
    expectTypeOf<SuccessOf<ReturnType<C["gats"]>>>().toEqualTypeOf<Option.Option<MemcachedClient.CasItem>>()
  })
})

describe("the chosen ring, transport and policy are used (runtime)", () => {
  const keys = Array.from({ length: 200 }, (_, i) => `placement:${i}`)
  const specs = [0, 1, 2].map((i) => ServerSpec.make({ host: `memory-${i}`, port: 11211 }))

  for (
    const [name, ring] of [
      ["libmc", MemcachedRing.libmc()],
      ["rendezvous", MemcachedRing.rendezvous()],
      ["modula", MemcachedRing.modula()]
    ] as const
  ) {
    it.effect(`distribution ${name}: all 200 keys are stored on the server that ring picks`, () =>
      Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        const servers = yield* MemcachedTest.MemoryServers
        const placement = ring.build(specs)
        const ketama = Distribution.ketama().build(specs)
        let differsFromKetama = 0
        for (const key of keys) {
          yield* c.set(key, "v")
          const expected = placement.serverFor(key)
          assert.strictEqual(c.serverFor(key), expected, key)
          servers.forEach((s, i) =>
            assert.strictEqual(s.peek(key) !== undefined, i === expected, `${key} on memory-${i}`)
          )
          if (ketama.serverFor(key) !== expected) differsFromKetama++
        }
        // the test can tell the rings apart: ketama would put many keys elsewhere
        assert.isAbove(differsFromKetama, 40)
      }).pipe(Effect.provide(MemcachedTest.layer({ servers: 3, distribution: ring }))))
  }

  it.scopedLive("transport option: every connection goes through the given transport", () =>
    Effect.gen(function*() {
      const opened: Array<string> = []
      const { MemoryServer } = yield* Effect.promise(() => import("../src/index.js"))
      const server = MemoryServer.make()
      yield* Effect.addFinalizer(() => Effect.promise(() => server.close()))
      const c = yield* MemcachedClient.make({
        servers: ["nowhere.invalid:11211"],
        protocol: "text",
        transport: {
          connect: (spec) => {
            opened.push(spec.name)
            return server.connect()
          }
        }
      })
      yield* c.set("t", "via transport")
      assert.deepStrictEqual(yield* c.getString("t"), Option.some("via transport"))
      assert.deepStrictEqual(opened, ["nowhere.invalid:11211"])
    }))

  it.effect("policy option: failover next spread into the options reroutes an ejected server's keys", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      const servers = yield* MemcachedTest.MemoryServers
      const key = keys.find((k) => c.serverFor(k) === 0)!
      servers[0]!.faults.refuseConnections()
      // failureLimit 1: the first failure ejects server 0, the retry goes to the rebuilt ring
      yield* Effect.either(c.set(key, "v"))
      const moved = yield* Effect.either(c.set(key, "v2"))
      assert.isTrue(Either.isRight(moved), "with failover next the key is served by another server")
      assert.notStrictEqual(c.serverFor(key), 0)
    }).pipe(Effect.provide(MemcachedTest.layer({ servers: 3, ...MemcachedPolicy.failoverNext({ failureLimit: 1 }) }))))
})

describe("keyPrefix option (issue 12f)", () => {
  it.effect("every method, Bulk and the stream see unprefixed keys; the server stores prefixed ones", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      const server = yield* MemcachedTest.MemoryServer
      yield* c.set("k", "v")
      assert.isDefined(server.peek("app:k"))
      assert.isUndefined(server.peek("k"))
      assert.deepStrictEqual(yield* c.getString("k"), Option.some("v"))
      assert.isTrue(Option.isSome(yield* c.gets("k")))
      const many = yield* c.getMany(["k", "missing"])
      assert.deepStrictEqual([...many.keys()], ["k"])
      const written = yield* c.setMany([["a", "1"], ["b", "2"]])
      assert.deepStrictEqual([...written.keys()].sort(), ["a", "b"])
      assert.isDefined(server.peek("app:a"))
      const each = yield* Bulk.getEach(c, ["a", "nope"])
      assert.deepStrictEqual([...each.keys()].sort(), ["a", "nope"])
      const streamed = yield* Stream.runCollect(Stream.make("a", "b").pipe(Bulk.getStream(c)))
      assert.strictEqual(Chunk.size(streamed), 2)
      assert.strictEqual(yield* c.incr("n", 1).pipe(Effect.catchAll(() => Effect.succeed(-1n))), -1n)
      yield* c.set("n", "1")
      assert.strictEqual(yield* c.incr("n", 2), 3n)
      assert.isDefined(server.peek("app:n"))
      yield* c.delete("k")
      assert.isUndefined(server.peek("app:k"))
      // the 250-byte limit counts the prefix
      const e = yield* Effect.flip(c.get("x".repeat(247)))
      assert.strictEqual(e._tag === "MemcachedInputError" && e.reason, "InvalidKey")
    }).pipe(Effect.provide(MemcachedTest.layer({ keyPrefix: "app:" }))))

  it.effect("an invalid prefix is a ConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(MemcachedClient.make({ servers: ["127.0.0.1:1"], keyPrefix: "has space" }))
      )
      assert.isTrue(exit._tag === "Failure")
    }))
})
