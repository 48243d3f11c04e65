/**
 * Auto-discovery cases, edition-neutral (the conformance pattern of conformanceCases.ts): the first poll
 * at construction, the poll schedule under a test clock, retries, older/equal versions ignored, the
 * legacy fallback, malformed replies, the ejection poll, the scope stopping the poller, the composition
 * errors, and a real memcached 1.6 as an unsupported endpoint and as a discovered node. Each edition
 * registers them with its {@link DiscoveryEdition} (test/Discovery.test.ts and
 * packages/effect4/test/Discovery.test.ts). This module imports neither `effect` nor a test runner:
 * assertions are `node:assert/strict`.
 */
import assert from "node:assert/strict"
import type { Duplex } from "node:stream"
import type { ClusterNode } from "../../src/protocol/discovery.js"
import * as MemoryServer from "../../src/server/MemoryServer.js"
import type { TestCerts } from "./tlsCerts.js"

/** A discovery as the cases describe it (the edition builds its `Discovery.elastiCache` value). */
export interface DiscoverySetup {
  readonly endpoint: string
  /** Poll every this many seconds (`Schedule.spaced`); absent: the default schedule. */
  readonly everySeconds?: number | undefined
  /** Retries of a failed poll: `none` (a schedule that stops at once), a count (`recurs`), or absent: the default. */
  readonly retry?: "none" | number | undefined
  readonly pollOnEjection?: boolean | undefined
  readonly timeout?: unknown
  readonly command?: string | undefined
}

/** What the cases see of a discovery's status (`None` as `undefined`). */
export interface PlainStatus {
  readonly version: number | undefined
  readonly nodes: ReadonlyArray<string>
  readonly mode: string | undefined
  readonly polls: number
  readonly failures: number
  readonly ignored: number
  readonly changes: number
  readonly lastError: { readonly _tag: string; readonly reason: string } | undefined
}

/** A discovery value of the edition, with its status. */
export interface DiscoveryHandle {
  readonly status: () => Promise<PlainStatus>
  /** The live `inUse` flag. */
  readonly inUse: () => boolean
}

/** Client options of a case. */
export interface ClientSetup {
  readonly discovery: DiscoveryHandle
  readonly servers?: ReadonlyArray<string> | undefined
  readonly transport?: { readonly connect: (spec: { readonly name: string }) => Duplex } | undefined
  readonly protocol?: "text" | "meta" | "auto" | undefined
  readonly failureLimit?: number | undefined
  readonly tls?: { readonly ca: Buffer } | undefined
  readonly timeoutMs?: number | undefined
}

/** A client under test, as Promises (rejecting with the typed error `{ _tag, reason }`). */
export interface DiscoveryClient {
  /** The names of the servers in use (read live). */
  readonly names: () => ReadonlyArray<string>
  readonly serverFor: (key: string) => number
  readonly set: (key: string, value: string) => Promise<void>
  readonly getString: (key: string) => Promise<string | undefined>
  /** Closes this client's scope. */
  readonly close: () => Promise<void>
}

/** One test world: a clock the case drives (a test clock, or the live clock for `live` cases). */
export interface World {
  readonly discovery: (setup: DiscoverySetup) => DiscoveryHandle
  /** Builds a client in the world's scope; rejects with the configuration error's text when it cannot. */
  readonly client: (setup: ClientSetup) => Promise<DiscoveryClient>
  /** Moves the test clock (no-op in a live world). */
  readonly adjust: (millis: number) => Promise<void>
  /** Closes every client the world built. */
  readonly close: () => Promise<void>
}

/** How an edition makes worlds. */
export interface DiscoveryEdition {
  readonly world: (clock: "test" | "live") => World
}

/** One case. */
export interface DiscoveryCase {
  readonly name: string
  readonly clock: "test" | "live"
  readonly run: (world: World) => Promise<void>
}

/** Waits (real time) until `check` holds, checking every `every` ms, at most `ms`; rejects after that. */
export const until = (check: () => boolean, ms = 5000, every = 5): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const start = Date.now()
    const tick = () => {
      if (check()) return resolve()
      if (Date.now() - start > ms) return reject(new Error("condition not met in time"))
      setTimeout(tick, every)
    }
    tick()
  })

/** A short real-time pause: lets in-memory I/O (setImmediate, microtasks) run under the test clock. */
const settle = (ms = 30) => new Promise<void>((r) => setTimeout(r, ms))

const node = (name: string, port = 11211): ClusterNode => ({ host: name, ip: "10.0.0.1", port })

/** A config endpoint and nodes, all in memory, reached by name through one transport. */
const memoryCluster = (names: ReadonlyArray<string>, cluster: MemoryServer.ClusterSetting | undefined) => {
  const cfg = MemoryServer.make({ cluster })
  const nodes = new Map(names.map((n) => [`${n}:11211`, MemoryServer.make()]))
  const opened: Array<string> = []
  const transport = {
    connect: (spec: { readonly name: string }): Duplex => {
      opened.push(spec.name)
      if (spec.name === "cfg:11211") return cfg.connect()
      const s = nodes.get(spec.name)
      if (s === undefined) throw new Error(`no server ${spec.name}`)
      return s.connect()
    }
  }
  return { cfg, nodes, transport, opened }
}

const text = { protocol: "text" } as const

/** The schedule, the retries, version rules, the legacy form, the ejection poll, the scope. */
export const pollCases: ReadonlyArray<DiscoveryCase> = [
  {
    name: "the client starts with the discovered nodes, polls on the schedule, applies a newer version",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a", "b", "c"], { version: 1, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 10 })
      const c = await w.client({ discovery, transport: m.transport, ...text })
      assert.deepEqual(c.names(), ["a:11211"])
      let st = await discovery.status()
      assert.equal(st.polls, 1)
      assert.equal(st.version, 1)
      assert.equal(st.mode, "config")
      await c.set("k", "v")
      m.cfg.setCluster({ version: 2, nodes: [node("a"), node("b"), node("c")] })
      await w.adjust(9_000)
      await settle()
      assert.equal((await discovery.status()).polls, 1, "no poll before the schedule's delay")
      await w.adjust(1_000)
      await until(() => c.names().length === 3)
      assert.deepEqual(c.names(), ["a:11211", "b:11211", "c:11211"])
      st = await discovery.status()
      assert.equal(st.polls, 2)
      assert.equal(st.changes, 1)
      assert.equal(st.version, 2)
      assert.deepEqual(st.nodes, ["a:11211", "b:11211", "c:11211"])
      for (let i = 0; i < 30; i++) await c.set(`k${i}`, `v${i}`)
      for (let i = 0; i < 30; i++) assert.equal(await c.getString(`k${i}`), `v${i}`)
      // The endpoint and every node were reached through the client's own transport; all got traffic.
      for (const name of ["cfg:11211", "a:11211", "b:11211", "c:11211"]) assert.ok(m.opened.includes(name), name)
      for (const [name, server] of m.nodes) assert.ok(server.stats().cmd_set > 0, name)
    }
  },
  {
    name: "the default schedule: 60 s with ±20 % jitter after the first poll",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211" })
      await w.client({ discovery, transport: m.transport, ...text })
      const at: Array<number> = []
      for (let t = 1; t <= 150 && at.length < 2; t++) {
        await w.adjust(1_000)
        await settle(8)
        const polls = (await discovery.status()).polls
        while (polls - 1 > at.length) at.push(t)
      }
      assert.equal(at.length, 2, `polls at ${at.join(", ")}`)
      const [first, second] = at as [number, number]
      assert.ok(first >= 48 && first <= 73, `first scheduled poll at ${first} s`)
      assert.ok(second - first >= 47 && second - first <= 73, `second after ${second - first} s`)
    }
  },
  {
    name: "older and equal versions are ignored, whatever their nodes",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a", "b"], { version: 5, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 1 })
      const c = await w.client({ discovery, transport: m.transport, ...text })
      const polls = async (n: number) => {
        for (let i = 0; i < 500 && (await discovery.status()).polls < n; i++) await settle(5)
      }
      m.cfg.setCluster({ version: 5, nodes: [node("a"), node("b")] })
      await w.adjust(1_000)
      await polls(2)
      m.cfg.setCluster({ version: 4, nodes: [node("b")] })
      await w.adjust(1_000)
      await polls(3)
      const st = await discovery.status()
      assert.equal(st.ignored, 2)
      assert.equal(st.changes, 0)
      assert.deepEqual(c.names(), ["a:11211"])
      m.cfg.setCluster({ version: 6, nodes: [node("b")] })
      await w.adjust(1_000)
      await until(() => c.names()[0] === "b:11211")
      assert.deepEqual(c.names(), ["b:11211"])
    }
  },
  {
    name: "after a connection error the poll is retried 3 × 500 ms on new connections, then the list is kept",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 10 })
      const c = await w.client({ discovery, transport: m.transport, ...text })
      const cfgOpens = () => m.opened.filter((n) => n === "cfg:11211").length
      assert.equal(cfgOpens(), 1)
      m.cfg.faults.refuseConnections(true)
      await w.adjust(10_000)
      await until(() => cfgOpens() === 2)
      for (let retry = 1; retry <= 3; retry++) {
        await w.adjust(500)
        await until(() => cfgOpens() === 2 + retry)
      }
      for (let i = 0; i < 500 && (await discovery.status()).failures < 1; i++) await settle(5)
      const st = await discovery.status()
      assert.equal(st.failures, 1)
      assert.equal(st.polls, 2)
      assert.equal(st.lastError?._tag, "MemcachedConnectionError")
      assert.deepEqual(c.names(), ["a:11211"])
      // Requests never saw the failure.
      await c.set("k", "v")
      assert.equal(await c.getString("k"), "v")
      // The endpoint comes back: the next scheduled poll succeeds and clears the error.
      m.cfg.faults.refuseConnections(false)
      await w.adjust(10_000)
      for (let i = 0; i < 500 && (await discovery.status()).polls < 3; i++) await settle(5)
      assert.equal((await discovery.status()).lastError, undefined)
    }
  },
  {
    name: "a malformed reply is a typed poll failure: the connection closes, the list is kept",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a", "b"], { version: 1, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 10, retry: "none" })
      const c = await w.client({ discovery, transport: m.transport, ...text })
      m.cfg.faults.replyWith("CONFIG cluster 0 9\r\n2\nb|x|0\n\r\nEND\r\n")
      await w.adjust(10_000)
      for (let i = 0; i < 500 && (await discovery.status()).failures < 1; i++) await settle(5)
      const st = await discovery.status()
      assert.deepEqual(st.lastError, { _tag: "MemcachedProtocolError", reason: "Malformed" })
      assert.deepEqual(c.names(), ["a:11211"])
    }
  },
  {
    name: "legacy endpoints: ERROR to config get cluster → get AmazonElastiCache:cluster, remembered",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a", "b"], { version: 3, nodes: [node("a"), node("b")], legacyOnly: true })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 10 })
      const c = await w.client({ discovery, transport: m.transport, ...text })
      assert.deepEqual(c.names(), ["a:11211", "b:11211"])
      assert.equal((await discovery.status()).mode, "legacy")
      const before = m.cfg.stats().cmd_get
      m.cfg.setCluster({ version: 4, nodes: [node("b")], legacyOnly: true })
      await w.adjust(10_000)
      await until(() => c.names().length === 1)
      assert.deepEqual(c.names(), ["b:11211"])
      // The legacy key is served, not counted as a get, and config was not tried again.
      assert.equal(m.cfg.stats().cmd_get, before)
    }
  },
  ...[true, false].map((pollOnEjection): DiscoveryCase => ({
    name: `a node's ejection ${pollOnEjection ? "triggers a poll 500 ms later" : "waits for the schedule"}`,
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a", "b"], { version: 1, nodes: [node("a"), node("b")] })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 3600, pollOnEjection })
      const c = await w.client({ discovery, transport: m.transport, ...text, failureLimit: 1 })
      // The cluster replaced b by c: b refuses connections.
      m.nodes.set("c:11211", MemoryServer.make())
      m.cfg.setCluster({ version: 2, nodes: [node("a"), node("c")] })
      m.nodes.get("b:11211")!.faults.refuseConnections(true)
      let key = ""
      for (let i = 0; key === ""; i++) if (c.names()[c.serverFor(`k${i}`)] === "b:11211") key = `k${i}`
      await assert.rejects(c.getString(key), (e: { _tag: string }) => e._tag === "MemcachedConnectionError")
      await w.adjust(499)
      await settle()
      assert.equal((await discovery.status()).polls, 1)
      await w.adjust(1)
      if (pollOnEjection) {
        await until(() => c.names().includes("c:11211"))
        assert.deepEqual(c.names(), ["a:11211", "c:11211"])
        await c.set(key, "v")
        assert.equal(await c.getString(key), "v")
      } else {
        await settle()
        assert.equal((await discovery.status()).polls, 1)
        assert.deepEqual(c.names(), ["a:11211", "b:11211"])
      }
    }
  })),
  {
    name: "the poller stops when the client's scope closes; the value may then serve a new client",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211", everySeconds: 1 })
      const c = await w.client({ discovery, transport: m.transport, ...text })
      await w.adjust(1_000)
      for (let i = 0; i < 500 && (await discovery.status()).polls < 2; i++) await settle(5)
      assert.equal((await discovery.status()).polls, 2)
      assert.equal(discovery.inUse(), true)
      await c.close()
      await w.adjust(5_000)
      await settle()
      assert.equal((await discovery.status()).polls, 2)
      assert.equal(discovery.inUse(), false)
      const again = await w.client({ discovery, transport: m.transport, ...text })
      assert.deepEqual(again.names(), ["a:11211"])
    }
  }
]

const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (e) {
    return String(e)
  }
  assert.fail("expected the client construction to fail")
}

/** The composition rules: each fails the construction naming the entry. */
export const compositionCases: ReadonlyArray<DiscoveryCase> = [
  {
    name: "servers and discovery together fail naming servers (no silent default)",
    clock: "test",
    run: async (w) => {
      const e = await failure(
        w.client({ servers: ["127.0.0.1:11211"], discovery: w.discovery({ endpoint: "cfg:11211" }) })
      )
      assert.ok(e.includes("servers") && e.includes("exclusive"), e)
    }
  },
  {
    name: "an invalid endpoint or option fails naming the entry, before anything is sent",
    clock: "test",
    run: async (w) => {
      const opened: Array<string> = []
      const transport = {
        connect: (spec: { readonly name: string }): Duplex => {
          opened.push(spec.name)
          throw new Error("never")
        }
      }
      const e1 = await failure(w.client({ discovery: w.discovery({ endpoint: "cfg:99999" }), transport }))
      assert.ok(e1.includes("discovery") && e1.includes("endpoint"), e1)
      const e2 = await failure(w.client({ discovery: w.discovery({ endpoint: "cfg:1", timeout: -1 }), transport }))
      assert.ok(e2.includes("discovery") && e2.includes("timeout"), e2)
      const e3 = await failure(w.client({ discovery: w.discovery({ endpoint: "cfg:1", command: "cfg" }), transport }))
      assert.ok(e3.includes("discovery") && e3.includes("command"), e3)
      assert.deepEqual(opened, [])
    }
  },
  {
    name: "a Discovery value in use by a live client is refused for a second one",
    clock: "test",
    run: async (w) => {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = w.discovery({ endpoint: "cfg:11211" })
      await w.client({ discovery, transport: m.transport, ...text })
      const e = await failure(w.client({ discovery, transport: m.transport }))
      assert.ok(e.includes("already used"), e)
    }
  },
  {
    name: "an unreachable endpoint fails the construction naming discovery.endpoint after the retries",
    clock: "live",
    run: async (w) => {
      const m = memoryCluster([], { version: 1, nodes: [node("a")] })
      m.cfg.faults.refuseConnections(true)
      const discovery = w.discovery({ endpoint: "cfg:11211", retry: 2 })
      const e = await failure(w.client({ discovery, transport: m.transport }))
      assert.ok(e.includes("discovery") && e.includes("endpoint") && e.includes("MemcachedConnectionError"), e)
      assert.equal(m.opened.length, 3)
      assert.equal((await discovery.status()).failures, 1)
    }
  }
]

/** Against a real memcached: `port` of a running `memcached` 1.6 (no discovery support). */
export const realCases = (port: () => number): ReadonlyArray<DiscoveryCase> => [
  {
    name: "config get cluster → ERROR, legacy key → END: the construction fails naming discovery, no retries",
    clock: "live",
    run: async (w) => {
      const discovery = w.discovery({ endpoint: `127.0.0.1:${port()}` })
      const e = await failure(w.client({ discovery }))
      for (const part of ["discovery", "endpoint", "UnknownCommand", "not a discovery endpoint"]) {
        assert.ok(e.includes(part), `${part} in ${e}`)
      }
      const st = await discovery.status()
      assert.equal(st.polls, 1, "an unsupported endpoint is not retried")
      assert.equal(st.failures, 1)
    }
  },
  {
    name: "a real memcached node discovered through an in-memory endpoint serves requests",
    clock: "live",
    run: async (w) => {
      const cfg = MemoryServer.make({ cluster: { version: 1, nodes: [{ host: "", ip: "127.0.0.1", port: port() }] } })
      const listening = await cfg.listen({ port: 0 })
      try {
        const c = await w.client({ discovery: w.discovery({ endpoint: `127.0.0.1:${listening.port}` }) })
        assert.deepEqual(c.names(), [`127.0.0.1:${port()}`])
        await c.set("disc:real", "v")
        assert.equal(await c.getString("disc:real"), "v")
        await c.close()
      } finally {
        await cfg.close()
      }
    }
  }
]

/** Discovery over TLS: in-memory servers with TLS-only listeners and the test CA of `certs`. */
export const tlsCases = (certs: () => TestCerts): ReadonlyArray<DiscoveryCase> => [
  {
    name: "tls on the client: endpoint and discovered nodes (also ones added later) over verified TLS",
    clock: "live",
    run: async (w) => {
      const c0 = certs()
      const tlsListen = { cert: c0.read(c0.serverCert), key: c0.read(c0.serverKey) }
      const nodes = [MemoryServer.make(), MemoryServer.make()]
      const cfg = MemoryServer.make()
      try {
        const ports = await Promise.all(nodes.map((s) => s.listen({ port: 0, tls: tlsListen }).then((a) => a.port)))
        const cfgPort = (await cfg.listen({ port: 0, tls: tlsListen })).port
        const entry = (port: number) => ({ host: "localhost", ip: "127.0.0.1", port })
        cfg.setCluster({ version: 1, nodes: [entry(ports[0]!)] })
        const discovery = w.discovery({ endpoint: `localhost:${cfgPort}`, everySeconds: 0.05 })
        const c = await w.client({ discovery, tls: { ca: c0.caPem }, protocol: "text" })
        assert.deepEqual(c.names(), [`localhost:${ports[0]}`])
        cfg.setCluster({ version: 2, nodes: ports.map(entry) })
        await until(() => c.names().length === 2, 10_000)
        for (let i = 0; i < 40; i++) await c.set(`tls:${i}`, `v${i}`)
        for (let i = 0; i < 40; i++) assert.equal(await c.getString(`tls:${i}`), `v${i}`)
        // Both nodes served requests; their listeners speak TLS only, so every byte went over TLS.
        for (const n of nodes) assert.ok(n.stats().cmd_set > 0)
        await c.close()
      } finally {
        await Promise.all([...nodes, cfg].map((s) => s.close()))
      }
    }
  },
  {
    name: "without tls the TLS-only endpoint cannot be polled: the construction fails naming discovery",
    clock: "live",
    run: async (w) => {
      const c0 = certs()
      const cfg = MemoryServer.make({ cluster: { version: 1, nodes: [{ host: "localhost", ip: "", port: 1 }] } })
      try {
        const tlsListen = { cert: c0.read(c0.serverCert), key: c0.read(c0.serverKey) }
        const cfgPort = (await cfg.listen({ port: 0, tls: tlsListen })).port
        const discovery = w.discovery({ endpoint: `localhost:${cfgPort}`, retry: "none" })
        const e = await failure(w.client({ discovery, timeoutMs: 1000 }))
        assert.ok(e.includes("discovery") && e.includes("endpoint"), e)
      } finally {
        await cfg.close()
      }
    }
  }
]
