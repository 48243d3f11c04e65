/**
 * The conformance suite over three backends: the in-process test layer, the in-memory server over TCP,
 * and a real memcached started for this file.
 */
import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { conformance } from "./support/conformance.js"
import { acquireMemcached } from "./support/memcached.js"

describe("in-memory server (in-process)", () => {
  conformance(MemcachedTest.layer())
})

describe("in-memory server (TCP)", () => {
  conformance(MemcachedTest.layerTcp())
})

describe("memcached 1.6 (real process)", () => {
  conformance(
    Layer.unwrapScoped(
      Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`] }))
    )
  )
})
