/**
 * The conformance suite over five backends (the in-process test layer, the in-memory server over TCP,
 * the same behind the Effect layer's NodeSocketServer listener, the in-memory server over TCP emulating
 * memcached 1.6.18, a real memcached started for this file),
 * in every protocol mode, plus the meta section on each. The cases are shared, not forked.
 */
import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { conformance, metaConformance } from "./support/conformance.js"
import { acquireMemcached } from "./support/memcached.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import * as ServerLayer from "../src/server/layer.js"

/** A client over TCP to a Clock-driven in-memory server behind the NodeSocketServer listener. */
const platformListener = (protocol: "text" | "meta" | "auto") =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const server = yield* ServerLayer.make()
    const { port } = yield* Effect.orDie(ServerLayer.listenPlatform(server, { port: 0 }))
    return MemcachedClient.layer({ servers: [`127.0.0.1:${port}`], protocol })
  }))

/** A client over TCP to a fresh in-memory server in its 1.6.18 emulation, closed with the layer. */
const emulating1618 = (protocol: "text" | "meta" | "auto") =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const server = MemoryServer.make({ emulate: "1.6.18" })
    const { port } = yield* Effect.acquireRelease(
      Effect.promise(() => server.listen({ port: 0 })),
      () => Effect.promise(() => server.close())
    )
    return MemcachedClient.layer({ servers: [`127.0.0.1:${port}`], protocol })
  }))

for (const protocol of ["text", "meta", "auto"] as const) {
  describe(`in-memory server (in-process), ${protocol}`, () => {
    conformance(MemcachedTest.layer({ protocol }))
    if (protocol !== "text") metaConformance(MemcachedTest.layer({ protocol }))
  })

  describe(`in-memory server (TCP), ${protocol}`, () => {
    conformance(MemcachedTest.layerTcp({ protocol }))
    if (protocol !== "text") metaConformance(MemcachedTest.layerTcp({ protocol }))
  })

  describe(`in-memory server (NodeSocketServer listener), ${protocol}`, () => {
    conformance(platformListener(protocol))
    if (protocol !== "text") metaConformance(platformListener(protocol))
  })

  describe(`in-memory server emulating 1.6.18 (TCP), ${protocol}`, () => {
    conformance(emulating1618(protocol))
    if (protocol !== "text") metaConformance(emulating1618(protocol))
  })

  describe(`memcached 1.6 (real process), ${protocol}`, () => {
    const layer = Layer.unwrapScoped(
      Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`], protocol }))
    )
    conformance(layer)
    if (protocol !== "text") metaConformance(layer)
  })
}
