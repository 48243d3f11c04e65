/**
 * The conformance suite over three backends (the in-process test layer, the in-memory server over TCP,
 * a real memcached started for this file), in both protocols, plus the meta section on each.
 */
import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { conformance, metaConformance } from "./support/conformance.js"
import { acquireMemcached } from "./support/memcached.js"

for (const protocol of ["text", "meta", "auto"] as const) {
  describe(`in-memory server (in-process), ${protocol}`, () => {
    conformance(MemcachedTest.layer({ protocol }))
    if (protocol !== "text") metaConformance(MemcachedTest.layer({ protocol }))
  })

  describe(`in-memory server (TCP), ${protocol}`, () => {
    conformance(MemcachedTest.layerTcp({ protocol }))
    if (protocol !== "text") metaConformance(MemcachedTest.layerTcp({ protocol }))
  })

  describe(`memcached 1.6 (real process), ${protocol}`, () => {
    const layer = Layer.unwrapScoped(
      Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`], protocol }))
    )
    conformance(layer)
    if (protocol !== "text") metaConformance(layer)
  })
}
