/**
 * The platform-Socket transport (`MemcachedTransport.fromSocket` / `nodeSocket`): the conformance suite
 * through it against the in-memory server over TCP and a real memcached, typed failures on a refused
 * connection and on a server that dies mid-request, the socket closed with the connection, and
 * backpressure under large pipelined writes.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Either, Exit, Fiber, Layer, Option, Scope } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { MemcachedError } from "../src/MemcachedError.js"
import * as MemcachedTransport from "../src/MemcachedTransport.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import { conformance, metaConformance, uniqueKey } from "./support/conformance.js"
import { acquireFakeServer, acquireMemcached, freePort } from "./support/memcached.js"

const transport = MemcachedTransport.nodeSocket()

/** A client through `transport` to a fresh in-memory server over TCP, closed with the layer. */
const inMemory = (protocol: "text" | "meta", t: MemcachedTransport.Transport = transport) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const server = MemoryServer.make()
    const { port } = yield* Effect.acquireRelease(
      Effect.promise(() => server.listen({ port: 0, host: "127.0.0.1" })),
      () => Effect.promise(() => server.close())
    )
    return MemcachedClient.layer({ servers: [`127.0.0.1:${port}`], protocol, transport: t })
  }))

/** A client through `transport` to a real memcached started for the layer. */
const realMemcached = (protocol: "text" | "meta") =>
  Layer.unwrapScoped(
    Effect.map(acquireMemcached(), (mc) =>
      MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`], protocol, transport }))
  )

/** A client layer built in `scope` (so a test can close it and observe the server side). */
const clientIn = (scope: Scope.Scope, options: MemcachedClient.MemcachedClientOptions) =>
  Effect.map(
    Layer.buildWithScope(MemcachedClient.layer(options), scope),
    (ctx) => Context.get(ctx, MemcachedClient.MemcachedClient)
  )

const failureOf = <A>(effect: Effect.Effect<A, MemcachedError>) =>
  Effect.map(Effect.either(effect), (e) => {
    assert.isTrue(Either.isLeft(e), "expected a failure")
    return (e as Either.Left<MemcachedError, A>).left
  })

for (const protocol of ["text", "meta"] as const) {
  describe(`nodeSocket transport, in-memory server (TCP), ${protocol}`, () => {
    conformance(inMemory(protocol))
    if (protocol === "meta") metaConformance(inMemory(protocol))
  })

  describe(`nodeSocket transport, memcached 1.6 (real process), ${protocol}`, () => {
    const layer = realMemcached(protocol)
    conformance(layer)
    if (protocol === "meta") metaConformance(layer)
  })
}

describe("fromSocket", () => {
  it.live("a custom open effect (NodeSocket.makeNet given directly) carries requests", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = MemoryServer.make()
      const { port } = yield* Effect.acquireRelease(
        Effect.promise(() => server.listen({ port: 0, host: "127.0.0.1" })),
        () => Effect.promise(() => server.close())
      )
      let opened = 0
      const custom = MemcachedTransport.fromSocket((spec) =>
        Effect.suspend(() => {
          opened++
          return NodeSocket.makeNet({ host: spec.host, port: spec.port })
        })
      )
      const scope = yield* Effect.scope
      const c = yield* clientIn(scope, { servers: [`127.0.0.1:${port}`], protocol: "text", transport: custom })
      yield* c.set("k", "v")
      assert.deepStrictEqual(yield* c.getString("k"), Option.some("v"))
      assert.strictEqual(opened, 1)
    })))

  it.live("an open effect that fails fails the request with a typed Connect error", () =>
    Effect.scoped(Effect.gen(function*() {
      const failing = MemcachedTransport.fromSocket(() =>
        NodeSocket.makeNet({ host: "127.0.0.1", port: 1, openTimeout: "1 second" })
      )
      const scope = yield* Effect.scope
      const c = yield* clientIn(scope, { servers: ["127.0.0.1:1"], protocol: "text", transport: failing })
      const e = yield* failureOf(c.get("k"))
      assert.strictEqual(e._tag, "MemcachedConnectionError")
      assert.strictEqual(e.reason, "Connect")
    })))
})

describe("nodeSocket failures", () => {
  it.live("connection refused → MemcachedConnectionError Connect, for every pending request", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const scope = yield* Effect.scope
      const c = yield* clientIn(scope, { servers: [`127.0.0.1:${port}`], protocol: "text", transport })
      const errors = yield* Effect.all([failureOf(c.get("a")), failureOf(c.set("b", "v")), failureOf(c.get("c"))], {
        concurrency: "unbounded"
      })
      for (const e of errors) {
        assert.strictEqual(e._tag, "MemcachedConnectionError")
        assert.strictEqual(e.reason, "Connect")
      }
    })))

  it.live("a server that dies mid-request fails the pending requests typed, none hangs", () =>
    Effect.scoped(Effect.gen(function*() {
      // The fake server reads the requests and never answers; then it is killed (every socket destroyed).
      const fake = yield* acquireFakeServer()
      const scope = yield* Effect.scope
      const c = yield* clientIn(scope, { servers: [fake.address], protocol: "text", transport, timeout: "30 seconds" })
      const pending = yield* Effect.fork(
        Effect.all([failureOf(c.get("a")), failureOf(c.get("b")), failureOf(c.set("c", "v"))], {
          concurrency: "unbounded"
        })
      )
      yield* Effect.promise(() => fake.receivedUntil(0, (d) => d.includes("set c")))
      yield* Effect.promise(() => fake.close())
      const errors = yield* Fiber.join(pending).pipe(Effect.timeout("5 seconds"))
      for (const e of errors) {
        assert.strictEqual(e._tag, "MemcachedConnectionError")
        assert.include(["Closed", "Reset"], e.reason)
      }
    })))

  it.live("real memcached killed (SIGKILL) under pipelined load: every request succeeds or fails typed", () =>
    Effect.scoped(Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const scope = yield* Effect.scope
      const c = yield* clientIn(scope, {
        servers: [`127.0.0.1:${mc.port}`],
        protocol: "text",
        transport,
        timeout: "30 seconds"
      })
      yield* c.set("k", "x".repeat(100))
      const outcomes = yield* Effect.fork(
        Effect.all(Array.from({ length: 20_000 }, () => Effect.either(c.get("k"))), { concurrency: "unbounded" })
      )
      yield* Effect.sleep("20 millis")
      process.kill(mc.pid, "SIGKILL")
      const results = yield* Fiber.join(outcomes).pipe(Effect.timeout("10 seconds"))
      let failed = 0
      for (const r of results) {
        if (Either.isRight(r)) continue
        failed++
        assert.strictEqual(r.left._tag, "MemcachedConnectionError")
      }
      assert.isAbove(failed, 0, "the kill landed after every request had completed")
      // And the client keeps failing typed (the server is gone), not hanging.
      const after = yield* failureOf(c.get("k")).pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(after._tag, "MemcachedConnectionError")
    })))
})

describe("nodeSocket lifecycle and backpressure", () => {
  it.live("the socket closes when the client (and so the connection) closes", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, _chunk, received) => {
        if (received.endsWith("\r\n")) socket.write("END\r\n")
      })
      const scope = yield* Scope.make()
      const c = yield* clientIn(scope, { servers: [fake.address], protocol: "text", transport })
      assert.deepStrictEqual(yield* c.get("k"), Option.none())
      const socket = yield* Effect.promise(() => fake.connections(1))
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
      assert.isFalse(socket.closed)
      yield* Scope.close(scope, Exit.void)
      yield* Effect.promise(() => closed).pipe(Effect.timeout("5 seconds"))
      assert.isTrue(socket.closed)
    }).pipe(Effect.scoped))

  it.live("large pipelined writes (64 MiB in flight) go through intact", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = MemoryServer.make({ maxItemSize: 2 * 1024 * 1024, maxBytes: 256 * 1024 * 1024 })
      const { port } = yield* Effect.acquireRelease(
        Effect.promise(() => server.listen({ port: 0, host: "127.0.0.1" })),
        () => Effect.promise(() => server.close())
      )
      const scope = yield* Effect.scope
      const c = yield* clientIn(scope, {
        servers: [`127.0.0.1:${port}`],
        protocol: "text",
        transport,
        maxValueSize: 2 * 1024 * 1024,
        timeout: Duration.seconds(60)
      })
      const value = (i: number) => Buffer.alloc(1024 * 1024, i % 251)
      const keys = Array.from({ length: 64 }, (_, i) => uniqueKey(`big${i}`))
      yield* Effect.all(keys.map((k, i) => c.set(k, value(i))), { concurrency: "unbounded", discard: true })
      const items = yield* Effect.all(keys.map((k) => c.get(k)), { concurrency: "unbounded" })
      items.forEach((item, i) => {
        const v = Option.getOrThrow(item).value
        assert.strictEqual(v.length, 1024 * 1024)
        assert.isTrue(Buffer.from(v).equals(value(i)), `value ${i} intact`)
      })
    })), { timeout: 120_000 })
})
