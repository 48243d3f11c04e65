/**
 * Auto-discovery through the Effect 3 client's options (issue 16): the shared, edition-neutral cases of
 * support/discoveryCases.ts (first poll at layer construction, the poll schedule under TestClock,
 * retries, older/equal versions ignored, the legacy fallback, malformed replies, the ejection poll, the
 * scope, the composition rules, a real memcached 1.6 as an unsupported endpoint and as a discovered node)
 * registered with the Effect 3 client, plus Effect 3 specifics: pool gauges of discovered nodes and a
 * foreign value refused naming `discovery`. The Effect 4 package registers the same cases.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Discovery from "../src/Discovery.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { Transport } from "../src/MemcachedTransport.js"
import type { ClusterNode } from "../src/protocol/discovery.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import { compositionCases, pollCases, realCases, until as untilPromise } from "./support/discoveryCases.js"
import { registerDiscovery } from "./support/discoveryEdition.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"

/** Waits (real time) until `check` holds, at most `ms`. */
const until = (check: () => boolean, ms = 5000): Effect.Effect<void> => Effect.promise(() => untilPromise(check, ms))

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

describe("Discovery: first poll and schedule (TestClock)", () => {
  registerDiscovery(pollCases)

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
})

describe("Discovery: composition and configuration errors", () => {
  registerDiscovery(compositionCases)

  const failure = <A>(effect: Effect.Effect<A, ConfigError.ConfigError, Scope.Scope>) =>
    Effect.scoped(Effect.flip(effect)).pipe(Effect.map((e) => String(e)))

  it.effect("a value that is not a Discovery fails naming discovery", () =>
    Effect.gen(function*() {
      const e = yield* failure(MemcachedClient.make({ discovery: { endpoint: "cfg:11211" } as any }))
      assert.include(e, "discovery")
    }))
})

describe("Discovery against real memcached 1.6 (no discovery support)", () => {
  let mc: MemcachedProcess | undefined
  beforeAll(async () => {
    mc = await startMemcached()
  }, 30_000)
  afterAll(() => mc?.stop())
  registerDiscovery(realCases(() => mc!.port))
})
