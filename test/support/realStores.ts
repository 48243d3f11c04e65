/**
 * The real client as a store for the value suites: over the in-memory server and over a real memcached
 * process, each built once per file and disposed after it.
 */
import { afterAll } from "@effect/vitest"
import { Effect, type Layer, ManagedRuntime } from "effect"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import * as MemcachedTest from "../../src/MemcachedTest.js"
import { type Client, unwrapScoped } from "./edition.js"
import { acquireMemcached } from "./memcached.js"

const runtimeOf = (layer: Layer.Layer<MemcachedClient.MemcachedClient, unknown>) => {
  const runtime = ManagedRuntime.make(layer)
  afterAll(() => runtime.dispose())
  return () => Effect.promise(() => runtime.runPromise(MemcachedClient.MemcachedClient))
}

/** The backends every value suite runs against, as `[name, makeStore]`. */
export const realStores = (): ReadonlyArray<
  readonly [string, () => Effect.Effect<Client>]
> => [
  ["in-memory server (3 servers)", runtimeOf(MemcachedTest.layer({ servers: 3 }))],
  [
    "memcached 1.6 (real process)",
    runtimeOf(
      unwrapScoped(
        Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`] }))
      )
    )
  ]
]
