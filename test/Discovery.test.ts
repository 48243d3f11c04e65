/**
 * Auto-discovery through the client's options (issue 16): the first poll at layer construction, the
 * poll schedule driven by TestClock, retries after connection errors, older/equal versions ignored,
 * the legacy fallback, malformed replies, the composition rules, and a real memcached 1.6 endpoint
 * (which answers `ERROR` to `config get cluster`: the "not supported" path).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Discovery from "../src/Discovery.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { Transport } from "../src/MemcachedTransport.js"
import type { ClusterNode } from "../src/protocol/discovery.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import { acquireMemcached } from "./support/memcached.js"

/** Waits (real time) until `check` holds, at most `ms`. */
const until = (check: () => boolean, ms = 5000): Effect.Effect<void> =>
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

/** A short real-time pause: lets in-memory I/O (setImmediate, microtasks) run under TestClock. */
const settle = Effect.promise(() => new Promise<void>((r) => setTimeout(r, 30)))

const node = (name: string, port = 11211): ClusterNode => ({ host: name, ip: "10.0.0.1", port })

/** A config endpoint and nodes, all in memory, reached by name through one transport. */
const memoryCluster = (names: ReadonlyArray<string>, cluster: MemoryServer.ClusterSetting | undefined) => {
  const cfg = MemoryServer.make({ cluster })
  const nodes = new Map(names.map((n) => [`${n}:11211`, MemoryServer.make()]))
  const opened: Array<string> = []
  const transport: Transport = {
    connect: (spec) => {
      opened.push(spec.name)
      if (spec.name === "cfg:11211") return cfg.connect()
      const s = nodes.get(spec.name)
      if (s === undefined) throw new Error(`no server ${spec.name}`)
      return s.connect()
    }
  }
  return { cfg, nodes, transport, opened }
}

const names = (c: MemcachedClient.MemcachedClient) => c.servers.map((s) => s.name)

describe("Discovery: first poll and schedule (TestClock)", () => {
  it.scoped("the client starts with the discovered nodes, polls on the schedule, applies a newer version", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a", "b", "c"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("10 seconds") })
      const c = yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      assert.deepStrictEqual(names(c), ["a:11211"])
      let st = yield* Discovery.status(discovery)
      assert.strictEqual(st.polls, 1)
      assert.deepStrictEqual(st.version, Option.some(1))
      assert.deepStrictEqual(st.mode, Option.some("config" as const))
      yield* c.set("k", "v")
      m.cfg.setCluster({ version: 2, nodes: [node("a"), node("b"), node("c")] })
      yield* TestClock.adjust("9 seconds")
      yield* settle
      assert.strictEqual((yield* Discovery.status(discovery)).polls, 1, "no poll before the schedule's delay")
      yield* TestClock.adjust("1 second")
      yield* until(() => c.servers.length === 3)
      assert.deepStrictEqual(names(c), ["a:11211", "b:11211", "c:11211"])
      st = yield* Discovery.status(discovery)
      assert.strictEqual(st.polls, 2)
      assert.strictEqual(st.changes, 1)
      assert.deepStrictEqual(st.version, Option.some(2))
      // Requests work on the new list.
      for (let i = 0; i < 30; i++) yield* c.set(`k${i}`, `v${i}`)
      for (let i = 0; i < 30; i++) assert.deepStrictEqual(yield* c.getString(`k${i}`), Option.some(`v${i}`))
      // The endpoint and every discovered node were reached through the client's own transport (so a
      // TLS transport applies to them too); every node got traffic.
      assert.includeMembers(m.opened, ["cfg:11211", "a:11211", "b:11211", "c:11211"])
      for (const [name, server] of m.nodes) assert.isAbove(server.stats().cmd_set, 0, name)
    }))

  it.scoped("pool gauges (telemetry metrics) cover nodes discovered after the client started", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a", "b"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("10 seconds") })
      const c = yield* MemcachedClient.make({
        discovery,
        transport: m.transport,
        protocol: "text",
        telemetry: { tracing: false, poolSampleInterval: "1 second" }
      })
      yield* c.set("k", "v")
      m.cfg.setCluster({ version: 2, nodes: [node("a"), node("b")] })
      yield* TestClock.adjust("10 seconds")
      yield* until(() => c.servers.length === 2)
      yield* TestClock.adjust("1 second")
      yield* settle
      const pools = (yield* Metric.snapshot)
        .filter((p) => p.metricKey.name === "db.client.connection.pending_requests")
        .flatMap((p) => p.metricKey.tags.filter((t) => t.key === "db.client.connection.pool.name").map((t) => t.value))
      assert.includeMembers(pools, ["a:11211", "b:11211"])
    }))

  it.scoped("the default schedule: 60 s with ±20 % jitter after the first poll", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211")
      yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      // Step the clock a second at a time and note when each poll happened.
      const at: Array<number> = []
      for (let t = 1; t <= 150 && at.length < 2; t++) {
        yield* TestClock.adjust("1 second")
        yield* Effect.promise(() => new Promise<void>((r) => setTimeout(r, 8)))
        while (discovery.state.polls - 1 > at.length) at.push(t)
      }
      assert.strictEqual(at.length, 2, `polls at ${at.join(", ")}`)
      const [first, second] = at as [number, number]
      assert.isTrue(first >= 48 && first <= 73, `first scheduled poll at ${first} s`)
      assert.isTrue(second - first >= 47 && second - first <= 73, `second after ${second - first} s`)
    }))

  it.scoped("older and equal versions are ignored, whatever their nodes", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a", "b"], { version: 5, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("1 second") })
      const c = yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      m.cfg.setCluster({ version: 5, nodes: [node("a"), node("b")] })
      yield* TestClock.adjust("1 second")
      yield* until(() => discovery.state.polls === 2)
      m.cfg.setCluster({ version: 4, nodes: [node("b")] })
      yield* TestClock.adjust("1 second")
      yield* until(() => discovery.state.polls === 3)
      const st = yield* Discovery.status(discovery)
      assert.strictEqual(st.ignored, 2)
      assert.strictEqual(st.changes, 0)
      assert.deepStrictEqual(names(c), ["a:11211"])
      m.cfg.setCluster({ version: 6, nodes: [node("b")] })
      yield* TestClock.adjust("1 second")
      yield* until(() => names(c)[0] === "b:11211")
      assert.deepStrictEqual(names(c), ["b:11211"])
    }))

  it.scoped("after a connection error the poll is retried 3 × 500 ms on new connections, then the list is kept", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("10 seconds") })
      const c = yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      const cfgOpens = () => m.opened.filter((n) => n === "cfg:11211").length
      assert.strictEqual(cfgOpens(), 1)
      m.cfg.faults.refuseConnections(true)
      yield* TestClock.adjust("10 seconds")
      yield* until(() => cfgOpens() === 2)
      for (let retry = 1; retry <= 3; retry++) {
        yield* TestClock.adjust("500 millis")
        yield* until(() => cfgOpens() === 2 + retry)
      }
      yield* until(() => discovery.state.failures === 1)
      const st = yield* Discovery.status(discovery)
      assert.strictEqual(st.polls, 2)
      assert.isTrue(Option.isSome(st.lastError) && st.lastError.value._tag === "MemcachedConnectionError")
      assert.deepStrictEqual(names(c), ["a:11211"])
      // Requests never saw the failure.
      yield* c.set("k", "v")
      assert.deepStrictEqual(yield* c.getString("k"), Option.some("v"))
      // The endpoint comes back: the next scheduled poll succeeds and clears the error.
      m.cfg.faults.refuseConnections(false)
      yield* TestClock.adjust("10 seconds")
      yield* until(() => discovery.state.polls === 3)
      assert.isTrue(Option.isNone((yield* Discovery.status(discovery)).lastError))
    }))

  it.scoped("a malformed reply is a typed poll failure: the connection closes, the list is kept", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a", "b"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211", {
        schedule: Schedule.spaced("10 seconds"),
        retry: Schedule.stop
      })
      const c = yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      m.cfg.faults.replyWith("CONFIG cluster 0 9\r\n2\nb|x|0\n\r\nEND\r\n")
      yield* TestClock.adjust("10 seconds")
      yield* until(() => discovery.state.failures === 1)
      const st = yield* Discovery.status(discovery)
      assert.isTrue(Option.isSome(st.lastError))
      const e = Option.getOrThrow(st.lastError)
      assert.strictEqual(e._tag, "MemcachedProtocolError")
      assert.strictEqual(e.reason, "Malformed")
      assert.deepStrictEqual(names(c), ["a:11211"])
    }))

  it.scoped("legacy endpoints: ERROR to config get cluster → get AmazonElastiCache:cluster, remembered", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a", "b"], { version: 3, nodes: [node("a"), node("b")], legacyOnly: true })
      const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("10 seconds") })
      const c = yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      assert.deepStrictEqual(names(c), ["a:11211", "b:11211"])
      assert.deepStrictEqual((yield* Discovery.status(discovery)).mode, Option.some("legacy" as const))
      const before = m.cfg.stats().cmd_get
      m.cfg.setCluster({ version: 4, nodes: [node("b")], legacyOnly: true })
      yield* TestClock.adjust("10 seconds")
      yield* until(() => c.servers.length === 1)
      assert.deepStrictEqual(names(c), ["b:11211"])
      // The legacy key is served, not counted as a get, and config was not tried again: one command.
      assert.strictEqual(m.cfg.stats().cmd_get, before)
    }))

  for (const pollOnEjection of [true, false]) {
    it.scoped(`a node's ejection ${pollOnEjection ? "triggers a poll 500 ms later" : "waits for the schedule"}`, () =>
      Effect.gen(function*() {
        const m = memoryCluster(["a", "b"], { version: 1, nodes: [node("a"), node("b")] })
        const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("1 hour"), pollOnEjection })
        const c = yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text", failureLimit: 1 })
        // The cluster replaced b by c: b refuses connections.
        m.nodes.set("c:11211", MemoryServer.make())
        m.cfg.setCluster({ version: 2, nodes: [node("a"), node("c")] })
        m.nodes.get("b:11211")!.faults.refuseConnections(true)
        let key = ""
        for (let i = 0; key === ""; i++) if (names(c)[c.serverFor(`k${i}`)] === "b:11211") key = `k${i}`
        const failed = yield* Effect.either(c.get(key))
        assert.isTrue(failed._tag === "Left" && failed.left._tag === "MemcachedConnectionError")
        yield* TestClock.adjust("499 millis")
        yield* settle
        assert.strictEqual(discovery.state.polls, 1)
        yield* TestClock.adjust("1 millis")
        if (pollOnEjection) {
          yield* until(() => names(c).includes("c:11211"))
          assert.deepStrictEqual(names(c), ["a:11211", "c:11211"])
          yield* c.set(key, "v")
          assert.deepStrictEqual(yield* c.getString(key), Option.some("v"))
        } else {
          yield* settle
          assert.strictEqual(discovery.state.polls, 1)
          assert.deepStrictEqual(names(c), ["a:11211", "b:11211"])
        }
      }))
  }

  it.effect("the poller stops when the layer's scope closes", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211", { schedule: Schedule.spaced("1 second") })
      const scope = yield* Scope.make()
      yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" }).pipe(Scope.extend(scope))
      yield* TestClock.adjust("1 second")
      yield* until(() => discovery.state.polls === 2)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.strictEqual(discovery.state.polls, 2)
      assert.isFalse(discovery.state.inUse)
      // The value may now serve a new client.
      const again = yield* Effect.scoped(
        MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" }).pipe(Effect.map(names))
      )
      assert.deepStrictEqual(again, ["a:11211"])
    }))
})

describe("Discovery: composition and configuration errors", () => {
  const failure = <A>(effect: Effect.Effect<A, ConfigError.ConfigError, Scope.Scope>) =>
    Effect.scoped(Effect.flip(effect)).pipe(Effect.map((e) => String(e)))

  it.effect("servers and discovery together fail naming servers (no silent default)", () =>
    Effect.gen(function*() {
      const e = yield* failure(
        MemcachedClient.make({ servers: ["127.0.0.1:11211"], discovery: Discovery.elastiCache("cfg:11211") })
      )
      assert.include(e, "servers")
      assert.include(e, "exclusive")
    }))

  it.effect("a value that is not a Discovery fails naming discovery", () =>
    Effect.gen(function*() {
      const e = yield* failure(MemcachedClient.make({ discovery: { endpoint: "cfg:11211" } as any }))
      assert.include(e, "discovery")
    }))

  it.effect("an invalid endpoint or option fails naming the entry, before anything is sent", () =>
    Effect.gen(function*() {
      const opened: Array<string> = []
      const transport: Transport = {
        connect: (spec) => {
          opened.push(spec.name)
          throw new Error("never")
        }
      }
      const e1 = yield* failure(MemcachedClient.make({ discovery: Discovery.elastiCache("cfg:99999"), transport }))
      assert.include(e1, "discovery.endpoint")
      const e2 = yield* failure(
        MemcachedClient.make({ discovery: Discovery.elastiCache("cfg:1", { timeout: -1 }), transport })
      )
      assert.include(e2, "discovery.timeout")
      const e3 = yield* failure(
        MemcachedClient.make({ discovery: Discovery.elastiCache("cfg:1", { command: "cfg" as any }), transport })
      )
      assert.include(e3, "discovery.command")
      assert.deepStrictEqual(opened, [])
    }))

  it.scoped("a Discovery value in use by a live client is refused for a second one", () =>
    Effect.gen(function*() {
      const m = memoryCluster(["a"], { version: 1, nodes: [node("a")] })
      const discovery = Discovery.elastiCache("cfg:11211")
      yield* MemcachedClient.make({ discovery, transport: m.transport, protocol: "text" })
      const e = yield* failure(MemcachedClient.make({ discovery, transport: m.transport }))
      assert.include(e, "already used")
    }))

  it.effect("an unreachable endpoint fails the layer with a ConfigError naming discovery after the retries", () =>
    Effect.gen(function*() {
      const m = memoryCluster([], { version: 1, nodes: [node("a")] })
      m.cfg.faults.refuseConnections(true)
      const discovery = Discovery.elastiCache("cfg:11211", { retry: Schedule.recurs(2) })
      const e = yield* failure(MemcachedClient.make({ discovery, transport: m.transport }))
      assert.include(e, "discovery.endpoint")
      assert.include(e, "MemcachedConnectionError")
      assert.strictEqual(m.opened.length, 3)
      assert.strictEqual(discovery.state.failures, 1)
    }))
})

describe("Discovery against real memcached 1.6 (no discovery support)", () => {
  it.live("config get cluster → ERROR, legacy key → END: the layer fails naming discovery, no retries", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const discovery = Discovery.elastiCache(`127.0.0.1:${mc.port}`)
      const e = String(yield* Effect.flip(Effect.scoped(MemcachedClient.make({ discovery }))))
      assert.include(e, "discovery.endpoint")
      assert.include(e, "UnknownCommand")
      assert.include(e, "not a discovery endpoint")
      const st = yield* Discovery.status(discovery)
      assert.strictEqual(st.polls, 1, "an unsupported endpoint is not retried")
      assert.strictEqual(st.failures, 1)
    }).pipe(Effect.scoped))

  it.live("a real memcached node discovered through an in-memory endpoint serves requests", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const cfg = MemoryServer.make({ cluster: { version: 1, nodes: [{ host: "", ip: "127.0.0.1", port: mc.port }] } })
      yield* Effect.addFinalizer(() => Effect.promise(() => cfg.close()))
      const { port } = yield* Effect.promise(() => cfg.listen({ port: 0 }))
      const discovery = Discovery.elastiCache(`127.0.0.1:${port}`)
      const c = yield* MemcachedClient.make({ discovery })
      assert.deepStrictEqual(names(c), [`127.0.0.1:${mc.port}`])
      yield* c.set("disc:real", "v")
      assert.deepStrictEqual(yield* c.getString("disc:real"), Option.some("v"))
    }).pipe(Effect.scoped))
})
