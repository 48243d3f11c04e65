/**
 * Auto-discovery over TLS (issue 16): with the client's `tls` option, the configuration endpoint and
 * every discovered node are reached over TLS (in-memory servers with TLS-only listeners and a test
 * CA), verified against the node's host name; a node added later gets TLS too.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Discovery from "../src/Discovery.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "./support/tlsCerts.js"

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

const until = (check: () => boolean, ms = 10_000): Effect.Effect<void> =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      const start = Date.now()
      const tick = () => {
        if (check()) return resolve()
        if (Date.now() - start > ms) return reject(new Error("condition not met in time"))
        setTimeout(tick, 5)
      }
      tick()
    })
  )

describe("Discovery over TLS", () => {
  it.live("tls on the client: endpoint and discovered nodes (also ones added later) over verified TLS", () =>
    Effect.gen(function*() {
      const tlsListen = { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) }
      const nodes = [MemoryServer.make(), MemoryServer.make()]
      const cfg = MemoryServer.make()
      yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([...nodes, cfg].map((s) => s.close()))))
      const ports = yield* Effect.promise(() =>
        Promise.all(nodes.map((s) => s.listen({ port: 0, tls: tlsListen }).then((a) => a.port)))
      )
      const cfgPort = (yield* Effect.promise(() => cfg.listen({ port: 0, tls: tlsListen }))).port
      const entry = (port: number) => ({ host: "localhost", ip: "127.0.0.1", port })
      cfg.setCluster({ version: 1, nodes: [entry(ports[0]!)] })
      const discovery = Discovery.elastiCache(`localhost:${cfgPort}`, { schedule: Schedule.spaced("50 millis") })
      const c = yield* MemcachedClient.make({ discovery, tls: { ca: certs.caPem }, protocol: "text" })
      assert.deepStrictEqual(c.servers.map((s) => s.name), [`localhost:${ports[0]}`])
      cfg.setCluster({ version: 2, nodes: ports.map(entry) })
      yield* until(() => c.servers.length === 2)
      for (let i = 0; i < 40; i++) yield* c.set(`tls:${i}`, `v${i}`)
      for (let i = 0; i < 40; i++) assert.deepStrictEqual(yield* c.getString(`tls:${i}`), Option.some(`v${i}`))
      // Both nodes served requests; their listeners speak TLS only, so every byte went over TLS.
      for (const n of nodes) assert.isAbove(n.stats().cmd_set, 0)
    }).pipe(Effect.scoped))

  it.live("without tls the TLS-only endpoint cannot be polled: the layer fails naming discovery", () =>
    Effect.gen(function*() {
      const cfg = MemoryServer.make({ cluster: { version: 1, nodes: [{ host: "localhost", ip: "", port: 1 }] } })
      yield* Effect.addFinalizer(() => Effect.promise(() => cfg.close()))
      const tlsListen = { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) }
      const cfgPort = (yield* Effect.promise(() => cfg.listen({ port: 0, tls: tlsListen }))).port
      const discovery = Discovery.elastiCache(`localhost:${cfgPort}`, { retry: Schedule.stop })
      const e = yield* Effect.flip(Effect.scoped(MemcachedClient.make({ discovery, timeout: "1 second" })))
      assert.include(String(e), "discovery.endpoint")
    }).pipe(Effect.scoped))
})
