/**
 * The shared conformance suite (test/support/conformanceCases.ts at the root, the cases the Effect 3
 * client runs too) through the Effect 4 client, over four backends — the in-process test layer, the
 * in-memory server over TCP, the same over TCP through the Effect 4 Socket transport (`nodeSocket`),
 * a real memcached started for this file — in every protocol mode, plus the meta section on each.
 */
import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import * as MemcachedTransport from "../src/MemcachedTransport.js"
import { conformance, metaConformance } from "./support/conformance.js"
import { acquireMemcached } from "./support/memcached.js"

/** A client through the Effect 4 Socket transport to a fresh in-memory server on TCP. */
const effectSocket = (protocol: "text" | "meta" | "auto") =>
  Layer.unwrap(Effect.gen(function*() {
    const server = yield* MemcachedTest.makeServer()
    const { port } = yield* Effect.promise(() => server.listen({ port: 0, host: "127.0.0.1" }))
    return MemcachedClient.layer({
      servers: [`127.0.0.1:${port}`],
      protocol,
      transport: MemcachedTransport.nodeSocket()
    })
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

  describe(`in-memory server (TCP, Effect 4 Socket transport), ${protocol}`, () => {
    conformance(effectSocket(protocol))
    if (protocol !== "text") metaConformance(effectSocket(protocol))
  })

  describe(`memcached 1.6 (real process), ${protocol}`, () => {
    const layer = Layer.unwrap(
      Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`], protocol }))
    )
    conformance(layer)
    if (protocol !== "text") metaConformance(layer)
  })
}
