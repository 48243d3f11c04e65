/**
 * The client of a fresh real memcached process, as a layer (the process is stopped with the layer's
 * scope), and unique test keys: the set-up the integration tests of both editions share. One source,
 * both editions (packages/effect4/editions.json).
 */
import * as Effect from "effect/Effect"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import { unwrapScoped } from "./edition.js"
import { acquireMemcached } from "./memcached.js"

/** A client layer over one fresh real memcached process (started with the layer, stopped with it). */
export const realClient = unwrapScoped(
  Effect.map(acquireMemcached(), (mc) => MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`] }))
)

let n = 0

/** A key no other test of this process uses: `<label>-<counter>-<time>`. */
export const fresh = (label: string): string => `${label}-${++n}-${Date.now()}`
