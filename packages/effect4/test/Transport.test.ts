import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as net from "node:net"
import * as MemoryServer from "../../../src/server/MemoryServer.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTransport from "../src/MemcachedTransport.js"

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const withServer = Effect.acquireRelease(
  Effect.promise(async () => {
    const server = MemoryServer.make()
    const address = await server.listen({ port: 0, host: "127.0.0.1" })
    return { server, port: address.port }
  }),
  ({ server }) => Effect.promise(() => server.close())
)

describe("MemcachedTransport.nodeSocket (effect/socket over @effect/platform-node 4)", () => {
  for (const protocol of ["text", "meta"] as const) {
    it.effect(`commands round-trip through the Effect 4 Socket (${protocol})`, () =>
      Effect.gen(function*() {
        const { port } = yield* withServer
        const client = yield* MemcachedClient.make({
          servers: [`127.0.0.1:${port}`],
          protocol,
          transport: MemcachedTransport.nodeSocket()
        })
        const big = Buffer.alloc(300_000, 7)
        yield* client.set("big", big)
        const got = yield* client.get("big")
        assert.strictEqual(Buffer.compare(Buffer.from(Option.getOrThrow(got).value), big), 0)
        const results = yield* Effect.forEach(
          Array.from({ length: 500 }, (_, i) => i),
          (i) => Effect.andThen(client.set(`k${i}`, `v${i}`), client.getString(`k${i}`)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(results[499], Option.some("v499"))
      }).pipe(Effect.scoped))
  }

  it.live("a refused connection fails typed with Connect", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const client = yield* MemcachedClient.make({
        servers: [`127.0.0.1:${port}`],
        protocol: "text",
        transport: MemcachedTransport.nodeSocket()
      })
      const e = yield* Effect.flip(client.get("k"))
      assert.strictEqual(e._tag, "MemcachedConnectionError")
      assert.strictEqual((e as { reason: string }).reason, "Connect")
    }).pipe(Effect.scoped))

  it.live("the server going away fails the request in flight typed (Closed or Reset), never hangs", () =>
    Effect.gen(function*() {
      const { port, server } = yield* withServer
      const client = yield* MemcachedClient.make({
        servers: [`127.0.0.1:${port}`],
        protocol: "text",
        timeout: "20 seconds",
        transport: MemcachedTransport.nodeSocket()
      })
      yield* client.set("k", "v")
      server.faults.blackHole(true)
      const fiber = yield* Effect.forkChild(client.get("k"))
      yield* Effect.sleep("50 millis")
      yield* Effect.promise(() => server.close())
      const e = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(e._tag, "MemcachedConnectionError")
      assert.include(["Closed", "Reset"], (e as { reason: string }).reason)
    }).pipe(Effect.scoped))
})
