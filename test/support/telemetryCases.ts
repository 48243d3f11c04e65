/**
 * Telemetry cases, edition-neutral (the conformance pattern of conformanceCases.ts): the `telemetry`
 * option through a real OpenTelemetry pipeline — the SDK's in-memory span exporter (a
 * SimpleSpanProcessor: a span is exported when it ends) and a metric reader collected on demand, which
 * the edition installs with its `@effect/opentelemetry` NodeSdk layer. Span names, kinds, attributes,
 * parentage, error status; exact metric values after a known workload; pool gauges, auto-batch sizes,
 * ejections/readmissions/timeouts; nothing without the option. Each test has in-memory servers with
 * names of its own, so metric series never mix. Registered by test/Telemetry.test.ts and
 * packages/effect4/test/Telemetry.test.ts.
 * This module imports neither `effect` nor a test runner: assertions are `node:assert/strict`.
 */
import { type Attributes, SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { type DataPoint, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import assert from "node:assert/strict"
import type { Duplex } from "node:stream"
import { DURATION_BUCKETS, hashKey } from "../../src/engine/telemetry.js"
import * as MemoryServer from "../../src/server/MemoryServer.js"

/** A reader that collects when asked (no timer). */
class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
}

/** The SDK side of a pipeline: what the edition's NodeSdk layer is configured with, and what the cases read. */
export interface Pipeline {
  readonly spanProcessor: SimpleSpanProcessor
  readonly metricReader: MetricReader
  readonly spans: () => ReadonlyArray<ReadableSpan>
  readonly metrics: () => Promise<ResourceMetrics>
}

/** A fresh pipeline. */
export const makePipeline = (): Pipeline => {
  const exporter = new InMemorySpanExporter()
  const reader = new CollectingReader()
  return {
    spanProcessor: new SimpleSpanProcessor(exporter),
    metricReader: reader,
    spans: () => exporter.getFinishedSpans(),
    metrics: () => reader.collect().then((r) => r.resourceMetrics)
  }
}

/** The data points of metric `name` whose attributes include `match`, with the metric's unit. */
export const points = (
  rm: ResourceMetrics,
  name: string,
  match: Attributes = {}
): Array<DataPoint<any> & { readonly unit: string }> =>
  rm.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name).flatMap((m) =>
    (m.dataPoints as Array<DataPoint<any>>).filter((p) =>
      Object.entries(match).every(([k, v]) => p.attributes[k] === v)
    ).map((p) => ({ ...p, unit: m.descriptor.unit }))
  )

/** Client options of a case (durations in milliseconds; the edition converts them). */
export interface TelemetryClientOptions {
  readonly telemetry?: Record<string, unknown> | undefined
  readonly protocol?: "text" | "meta" | "auto" | undefined
  readonly keyPrefix?: string | undefined
  readonly maxInFlight?: number | undefined
  readonly timeoutMs?: number | undefined
  readonly failureLimit?: number | undefined
  readonly retryIntervalMs?: number | undefined
  /** `telemetry.poolSampleInterval` in milliseconds. */
  readonly poolSampleMs?: number | undefined
}

/** The client under test, as Promises (rejecting with the typed error). */
export interface TelemetryClient {
  readonly serverFor: (key: string) => number
  readonly set: (key: string, value: string) => Promise<void>
  readonly add: (key: string, value: string) => Promise<void>
  /** True on a hit. */
  readonly get: (key: string) => Promise<boolean>
  readonly getMany: (keys: ReadonlyArray<string>) => Promise<number>
  readonly setMany: (entries: ReadonlyArray<readonly [string, string]>) => Promise<void>
  readonly deleteMany: (keys: ReadonlyArray<string>) => Promise<void>
  readonly metaGet: (key: string, vivify?: number) => Promise<{ win: boolean; stale: boolean } | undefined>
  readonly metaSet: (key: string, value: string) => Promise<void>
  readonly metaDelete: (key: string, invalidate?: boolean) => Promise<void>
  readonly version: () => Promise<void>
  readonly stats: (server: string) => Promise<void>
  /** A `set` in a fiber of its own; `interrupt` interrupts it. */
  readonly forkSet: (key: string, value: string) => { readonly interrupt: () => Promise<void> }
  /**
   * `CacheAside.getOrSet` over this client (one service per client): the compute waits `delayMs`,
   * returns `value`, and runs in a span named `computeSpan` when given.
   */
  readonly getOrSet: (
    key: string,
    compute: { readonly value: string; readonly delayMs?: number; readonly computeSpan?: string }
  ) => Promise<string>
  /** `CacheAside.getOrSetMany`, computing each key as its own value; the number of values. */
  readonly getOrSetMany: (keys: ReadonlyArray<string>) => Promise<number>
  readonly invalidate: (key: string) => Promise<void>
  /** Runs `f` inside a span named `name` of the caller: the client calls `f` makes are its children. */
  readonly inSpan: (name: string, f: (client: TelemetryClient) => Promise<void>) => Promise<void>
}

/** Builds clients of an edition. */
export interface TelemetryEdition {
  /**
   * Runs `use` with the edition's NodeSdk layer over `pipeline`; `open` builds a client (closed after
   * `use`) over `servers` reached through `transport`; rejects with the configuration error's text.
   */
  readonly withPipeline: <A>(
    pipeline: Pipeline,
    use: (
      open: (
        options: TelemetryClientOptions & {
          readonly servers: ReadonlyArray<{ readonly host: string; readonly port: number }>
          readonly transport: { readonly connect: (spec: { readonly name: string }) => Duplex }
        }
      ) => Promise<TelemetryClient>
    ) => Promise<A>
  ) => Promise<A>
}

/** What a case runs with. */
export interface World {
  readonly pipeline: Pipeline
  /** A client over `count` fresh in-memory servers of their own names. */
  readonly client: (options: TelemetryClientOptions, count?: number) => Promise<{
    readonly client: TelemetryClient
    readonly servers: ReadonlyArray<MemoryServer.MemoryServer>
    readonly hosts: ReadonlyArray<string>
    readonly names: ReadonlyArray<string>
  }>
}

/** One case. */
export interface TelemetryCase {
  readonly name: string
  readonly run: (world: World) => Promise<void>
}

let seq = 0

/** Runs `c` in a fresh pipeline through `edition`; the servers close afterwards. */
export const runCase = (edition: TelemetryEdition, c: TelemetryCase): Promise<void> => {
  const pipeline = makePipeline()
  const servers: Array<MemoryServer.MemoryServer> = []
  return edition.withPipeline(pipeline, async (open) => {
    try {
      await c.run({
        pipeline,
        client: async (options, count = 1) => {
          const id = ++seq
          const own = Array.from({ length: count }, () => MemoryServer.make())
          servers.push(...own)
          const specs = own.map((_, i) => ({ host: `tel4-${process.pid}-${id}-${i}`, port: 11211 }))
          const byName = new Map(specs.map((s, i) => [`${s.host}:${s.port}`, own[i]!]))
          const client = await open({
            ...options,
            servers: specs,
            transport: { connect: (spec) => byName.get(spec.name)!.connect() }
          })
          return { client, servers: own, hosts: specs.map((s) => s.host), names: [...byName.keys()] }
        }
      })
    } finally {
      await Promise.all(servers.map((s) => s.close()))
    }
  })
}

const byName = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((s) => s.name === name)
const only = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = byName(spans, name)
  assert.equal(found.length, 1, `one ${name} span, got ${found.length}`)
  return found[0]!
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const fails = async (p: Promise<unknown>) => {
  await assert.rejects(p)
}

/** Spans: names, kinds, attributes, parentage, failures, keys. */
export const spanCases: ReadonlyArray<TelemetryCase> = [
  {
    name: "one client span per call, under the caller's span, with the DB attributes",
    run: async (w) => {
      const { client, hosts } = await w.client({ telemetry: {}, protocol: "meta" })
      const hits: Array<boolean> = []
      await client.inSpan("user-request", async (c) => {
        await c.set("k", "v")
        hits.push(await c.get("k"), await c.get("absent"))
      })
      assert.deepEqual(hits, [true, false])
      const spans = w.pipeline.spans()
      const user = only(spans, "user-request")
      const set = only(spans, "set")
      const gets = byName(spans, "get")
      assert.equal(gets.length, 2)
      for (const s of [set, ...gets]) {
        assert.equal(s.kind, SpanKind.CLIENT)
        assert.equal(s.parentSpanContext?.spanId, user.spanContext().spanId, `${s.name} is a child`)
        assert.equal(s.spanContext().traceId, user.spanContext().traceId)
        assert.equal(s.status.code, SpanStatusCode.OK)
        assert.equal(s.attributes["db.system.name"], "memcached")
        assert.equal(s.attributes["db.operation.name"], s.name)
        assert.equal(s.attributes["server.address"], hosts[0])
        assert.equal(s.attributes["server.port"], 11211)
        assert.equal(s.attributes["memcached.protocol"], "meta")
        assert.equal(s.attributes["memcached.key"], undefined, "keys are not recorded by default")
        assert.equal(s.attributes["code.stacktrace"], undefined)
      }
      assert.deepEqual(gets.map((s) => s.attributes["memcached.hit"]), [true, false])
    }
  },
  {
    name: "failures: error status, error.type and the reply status per protocol",
    run: async (w) => {
      const text = await w.client({ telemetry: {}, protocol: "text" })
      const meta = await w.client({ telemetry: {}, protocol: "meta" })
      for (const { client } of [text, meta]) {
        await client.set("taken", "1")
        await fails(client.add("taken", "2"))
        // An input error fails before anything is sent: no server answered, no status code.
        await fails(client.get("bad key"))
      }
      const adds = byName(w.pipeline.spans(), "add")
      assert.equal(adds.length, 2)
      const [t, m] = [text.hosts[0], meta.hosts[0]].map((h) => adds.find((s) => s.attributes["server.address"] === h)!)
      for (const s of [t!, m!]) {
        assert.equal(s.status.code, SpanStatusCode.ERROR)
        assert.equal(s.attributes["error.type"], "MemcachedStoreError.NotStored")
      }
      assert.equal(t!.attributes["db.response.status_code"], "NOT_STORED")
      assert.equal(m!.attributes["db.response.status_code"], "NS")
      const bad = byName(w.pipeline.spans(), "get")
      assert.equal(bad.length, 2)
      for (const s of bad) {
        assert.equal(s.status.code, SpanStatusCode.ERROR)
        assert.equal(s.attributes["error.type"], "MemcachedInputError.InvalidKey")
        assert.equal(s.attributes["db.response.status_code"], undefined)
      }
    }
  },
  {
    name: "multi-key calls: batch size, keys hit and missed, the server only when there is one",
    run: async (w) => {
      const { client } = await w.client({ telemetry: {} }, 3)
      const keys = Array.from({ length: 20 }, (_, i) => `mk-${i}`)
      await client.setMany(keys.slice(0, 12).map((k) => [k, "x"] as const))
      assert.equal(await client.getMany([...keys, "mk-0"]), 12)
      const get = only(w.pipeline.spans(), "getMany")
      assert.equal(get.attributes["db.operation.batch.size"], 21)
      assert.equal(get.attributes["memcached.keys.hit"], 12)
      assert.equal(get.attributes["memcached.keys.missed"], 8)
      assert.equal(get.attributes["memcached.server.count"], 3)
      assert.equal(get.attributes["server.address"], undefined, "three servers: no single server.address")
      const set = only(w.pipeline.spans(), "setMany")
      assert.equal(set.attributes["db.operation.batch.size"], 12)
      assert.equal(set.attributes["memcached.keys.failed"], 0)
      const one = await w.client({ telemetry: {} })
      await one.client.deleteMany(["a", "b"])
      const del = only(w.pipeline.spans(), "deleteMany")
      assert.equal(del.attributes["server.address"], one.hosts[0])
      assert.equal(del.attributes["memcached.keys.failed"], 2, "both keys were missing: NotFound")
    }
  },
  {
    name: "the server attribute is the one the key is routed to",
    run: async (w) => {
      const { client, hosts } = await w.client({ telemetry: {} }, 4)
      const keys = Array.from({ length: 40 }, (_, i) => `route-${i}`)
      for (const k of keys) await client.set(k, "v")
      const sets = byName(w.pipeline.spans(), "set")
      assert.equal(sets.length, keys.length)
      for (let i = 0; i < keys.length; i++) {
        assert.equal(sets[i]!.attributes["server.address"], hosts[client.serverFor(keys[i]!)])
      }
      assert.ok(new Set(sets.map((s) => s.attributes["server.address"])).size > 1)
    }
  },
  {
    name: "recordKeys raw / hashed, spanAttributes, meta win and stale, admin calls",
    run: async (w) => {
      const raw = await w.client({
        telemetry: { recordKeys: "raw", spanAttributes: { "cache.name": "sessions" } },
        keyPrefix: "app:"
      })
      const hashed = await w.client({ telemetry: { recordKeys: "hashed" }, protocol: "meta" })
      await raw.client.get("user:1")
      await raw.client.getMany(["a", "b"])
      await hashed.client.get("user:1")
      const gets = byName(w.pipeline.spans(), "get")
      const r = gets.find((s) => s.attributes["server.address"] === raw.hosts[0])!
      const h = gets.find((s) => s.attributes["server.address"] === hashed.hosts[0])!
      assert.equal(r.attributes["memcached.key"], "user:1", "the caller's key, without the prefix")
      assert.equal(r.attributes["cache.name"], "sessions")
      assert.equal(h.attributes["memcached.key"], hashKey("user:1"))
      assert.match(String(h.attributes["memcached.key"]), /^[0-9a-f]{16}$/)
      assert.equal(h.attributes["cache.name"], undefined)
      assert.ok(String(only(w.pipeline.spans(), "getMany").attributes["memcached.keys"]).includes("b"))
      // A vivified miss wins the recache token; after an invalidation the reader sees a stale win.
      const first = await hashed.client.metaGet("lease", 30)
      assert.equal(first?.win, true)
      await hashed.client.metaDelete("lease")
      await hashed.client.metaSet("lease", "v")
      await hashed.client.metaDelete("lease", true)
      await hashed.client.metaGet("lease")
      const metaGets = byName(w.pipeline.spans(), "metaGet")
      assert.deepEqual(metaGets.map((s) => s.attributes["memcached.win"]), [true, true])
      assert.deepEqual(metaGets.map((s) => s.attributes["memcached.stale"]), [false, true])
      assert.deepEqual(metaGets.map((s) => s.attributes["memcached.hit"]), [true, true])
      const admin = await w.client({ telemetry: {} }, 2)
      await admin.client.version()
      await admin.client.stats(admin.names[1]!)
      assert.equal(only(w.pipeline.spans(), "version").attributes["server.address"], undefined)
      assert.equal(only(w.pipeline.spans(), "stats").attributes["server.address"], admin.hosts[1])
    }
  }
]

/** Cache-aside spans: one per call, parent of its memcached calls and of the compute. */
export const cacheAsideCases: ReadonlyArray<TelemetryCase> = [
  {
    name: "getOrSet: one span per call, the parent of its memcached calls and of the compute",
    run: async (w) => {
      const { client, hosts } = await w.client({ telemetry: {}, protocol: "meta" })
      const compute = { value: "fresh", computeSpan: "compute" }
      await client.inSpan("user-request", async (c) => {
        assert.equal(await c.getOrSet("ca", compute), "fresh")
      })
      assert.equal(await client.getOrSet("ca", compute), "fresh")
      const spans = w.pipeline.spans()
      const [miss, hit] = byName(spans, "getOrSet")
      assert.equal(miss!.kind, SpanKind.CLIENT)
      assert.equal(miss!.parentSpanContext?.spanId, only(spans, "user-request").spanContext().spanId)
      assert.equal(miss!.attributes["server.address"], hosts[0])
      assert.equal(miss!.attributes["db.operation.name"], "getOrSet")
      assert.equal(miss!.attributes["memcached.cache_aside.outcome"], "computed")
      assert.equal(miss!.attributes["memcached.win"], true)
      assert.equal(miss!.attributes["memcached.hit"], false)
      assert.equal(hit!.attributes["memcached.cache_aside.outcome"], "hit")
      assert.equal(hit!.attributes["memcached.hit"], true)
      assert.equal(hit!.attributes["memcached.win"], false)
      const children = (parent: ReadableSpan) =>
        spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId).map((s) => s.name).sort()
      assert.deepEqual(children(miss!), ["compute", "metaGet", "metaSet"])
      assert.deepEqual(children(hit!), ["metaGet"])
    }
  },
  {
    name: "coalesced callers each get a span; stale values and getOrSetMany are annotated",
    run: async (w) => {
      const { client } = await w.client({ telemetry: {}, protocol: "meta" })
      const slow = { value: "v", delayMs: 50 }
      await Promise.all([client.getOrSet("co", slow), client.getOrSet("co", slow)])
      const calls = byName(w.pipeline.spans(), "getOrSet")
      assert.equal(calls.length, 2)
      assert.deepEqual(calls.map((s) => s.attributes["memcached.cache_aside.coalesced"]).sort(), [false, true])
      assert.deepEqual(calls.map((s) => s.attributes["memcached.cache_aside.outcome"]), ["computed", "computed"])
      await client.invalidate("co")
      await client.getOrSet("co", slow) // wins the refresh: the stale value now, recomputed behind
      const refreshed = byName(w.pipeline.spans(), "getOrSet")[2]!
      assert.equal(refreshed.attributes["memcached.cache_aside.outcome"], "stale_refreshing")
      assert.equal(refreshed.attributes["memcached.stale"], true)
      assert.equal(await client.getOrSetMany(["m1", "m2", "m3"]), 3)
      const many = only(w.pipeline.spans(), "getOrSetMany")
      assert.equal(many.attributes["db.operation.batch.size"], 3)
      assert.equal(many.attributes["memcached.keys.hit"], 3)
    }
  },
  {
    name: "a client without telemetry: no cache-aside spans",
    run: async (w) => {
      const { client } = await w.client({ protocol: "meta" })
      assert.equal(await client.getOrSet("off", { value: "v" }), "v")
      assert.deepEqual(w.pipeline.spans().map((s) => s.name), [])
    }
  }
]

/** Metrics: exact values after known workloads. */
export const metricCases: ReadonlyArray<TelemetryCase> = [
  {
    name: "duration histogram, hits and misses after a known workload",
    run: async (w) => {
      const { client, hosts } = await w.client({ telemetry: {}, protocol: "text" })
      for (let i = 0; i < 5; i++) await client.set(`m-${i}`, "v")
      for (let i = 0; i < 8; i++) await client.get(`m-${i}`) // 5 hits, 3 misses
      await fails(client.add("m-0", "again"))
      const rm = await w.pipeline.metrics()
      const server = { "server.address": hosts[0]! }
      const durations = points(rm, "db.client.operation.duration", server)
      const get = durations.filter((p) => p.attributes["db.operation.name"] === "get")
      assert.equal(get.length, 1)
      assert.equal(get[0]!.value.count, 8)
      assert.equal(get[0]!.unit, "s")
      assert.deepEqual(get[0]!.value.buckets.boundaries, [...DURATION_BUCKETS])
      assert.ok(get[0]!.value.sum > 0)
      assert.ok(get[0]!.value.max < 10, "seconds, not nanoseconds")
      assert.equal(get[0]!.attributes["db.system.name"], "memcached")
      assert.equal(get[0]!.attributes["server.port"], "11211")
      assert.equal(durations.filter((p) => p.attributes["db.operation.name"] === "set")[0]!.value.count, 5)
      const add = durations.filter((p) => p.attributes["db.operation.name"] === "add")
      assert.equal(add.length, 1)
      assert.equal(add[0]!.value.count, 1)
      assert.equal(add[0]!.attributes["error.type"], "MemcachedStoreError.NotStored")
      assert.equal(add[0]!.attributes["db.response.status_code"], "NOT_STORED")
      assert.deepEqual(points(rm, "memcached.client.hits", server).map((p) => p.value), [5])
      assert.deepEqual(points(rm, "memcached.client.misses", server).map((p) => p.value), [3])
      assert.equal(w.pipeline.spans().length, 14)
    }
  },
  {
    name: "pool gauges: connections by state, requests in flight and queued; interrupted calls are not timed",
    run: async (w) => {
      const { client, hosts, names, servers } = await w.client({
        telemetry: {},
        poolSampleMs: 10,
        protocol: "text",
        maxInFlight: 2,
        timeoutMs: 30_000
      })
      await client.set("g", "v")
      await sleep(60)
      const pool = { "db.client.connection.pool.name": names[0]! }
      let rm = await w.pipeline.metrics()
      const state = (s: string) =>
        points(rm, "db.client.connection.count", { ...pool, "db.client.connection.state": s }).map((p) => p.value)
      assert.deepEqual(state("idle"), [1])
      assert.deepEqual(state("used"), [0])
      // A server that stops answering: 2 requests in flight (the cap), 3 queued behind them.
      servers[0]!.faults.blackHole(true)
      const held = Array.from({ length: 5 }, (_, i) => client.forkSet(`held-${i}`, "v"))
      await sleep(60)
      rm = await w.pipeline.metrics()
      assert.deepEqual(state("used"), [1])
      assert.deepEqual(state("idle"), [0])
      assert.deepEqual(points(rm, "memcached.client.requests.in_flight", pool).map((p) => p.value), [2])
      assert.deepEqual(points(rm, "db.client.connection.pending_requests", pool).map((p) => p.value), [3])
      for (const h of held) await h.interrupt()
      rm = await w.pipeline.metrics()
      const durations = points(rm, "db.client.operation.duration", {
        "server.address": hosts[0]!,
        "db.operation.name": "set"
      })
      assert.deepEqual(durations.map((p) => p.value.count), [1], "interrupted calls are not timed")
    }
  },
  {
    name: "auto-batch sizes: concurrent gets of one tick merge, and the histogram says how many",
    run: async (w) => {
      const { client, names } = await w.client({ telemetry: {}, protocol: "text" })
      await client.set("warm", "v")
      await Promise.all(Array.from({ length: 10 }, (_, i) => client.get(`b-${i}`)))
      const rm = await w.pipeline.metrics()
      const batches = points(rm, "memcached.client.autobatch.size", { "db.client.connection.pool.name": names[0]! })
      assert.equal(batches.length, 1)
      assert.equal(batches[0]!.value.sum, 10, "every get is in one batch")
      assert.ok(batches[0]!.value.max > 1, "some gets were merged")
    }
  },
  {
    name: "ejections, readmissions and timeouts are counted per server",
    run: async (w) => {
      const { client, names, servers } = await w.client({
        telemetry: {},
        protocol: "text",
        failureLimit: 1,
        retryIntervalMs: 50,
        timeoutMs: 100
      })
      const pool = { "db.client.connection.pool.name": names[0]! }
      servers[0]!.faults.blackHole(true)
      await fails(client.get("slow"))
      const span = only(w.pipeline.spans(), "get")
      assert.equal(span.attributes["error.type"], "MemcachedConnectionError.Timeout")
      assert.equal(span.attributes["db.response.status_code"], undefined)
      servers[0]!.faults.blackHole(false)
      // The timeout closed the connection: ejected (failureLimit 1), readmitted after retryInterval.
      await sleep(400)
      await client.set("back", "v")
      const rm = await w.pipeline.metrics()
      assert.deepEqual(points(rm, "db.client.connection.timeouts", pool).map((p) => p.value), [1])
      assert.deepEqual(points(rm, "memcached.client.server.ejections", pool).map((p) => p.value), [1])
      assert.deepEqual(points(rm, "memcached.client.server.readmissions", pool).map((p) => p.value), [1])
    }
  }
]

/** Off and half on. */
export const offCases: ReadonlyArray<TelemetryCase> = [
  {
    name: "without the option: no span of the client, no metric of its servers",
    run: async (w) => {
      const { client, hosts, names } = await w.client({ protocol: "text" })
      await client.inSpan("user-request", async (c) => {
        await c.set("k", "v")
        await c.get("k")
        await c.getMany(["k", "j"])
        await Promise.all(["a", "b", "c"].map((k) => c.get(k)))
      })
      assert.deepEqual(w.pipeline.spans().map((s) => s.name), ["user-request"])
      const rm = await w.pipeline.metrics()
      const all = rm.scopeMetrics.flatMap((s) => s.metrics).flatMap((m) =>
        m.dataPoints as Array<{ attributes: Attributes }>
      )
      const ours = all.filter((p) =>
        p.attributes["server.address"] === hosts[0] || p.attributes["db.client.connection.pool.name"] === names[0]
      )
      assert.deepEqual(ours, [])
    }
  },
  {
    name: "tracing: false keeps the metrics; metrics: false keeps the spans",
    run: async (w) => {
      const metricsOnly = await w.client({ telemetry: { tracing: false } })
      const spansOnly = await w.client({ telemetry: { metrics: false } })
      await metricsOnly.client.set("k", "v")
      await spansOnly.client.set("k", "v")
      const sets = byName(w.pipeline.spans(), "set")
      assert.deepEqual(sets.map((s) => s.attributes["server.address"]), [spansOnly.hosts[0]])
      const rm = await w.pipeline.metrics()
      const duration = (host: string) =>
        points(rm, "db.client.operation.duration", { "server.address": host }).map((p) => p.value.count)
      assert.deepEqual(duration(metricsOnly.hosts[0]!), [1])
      assert.deepEqual(duration(spansOnly.hosts[0]!), [])
    }
  },
  {
    name: "invalid telemetry options fail at construction, naming the field",
    run: async (w) => {
      const cases = [
        [{ recordKeys: "all" }, "recordKeys"],
        [{ tracing: "yes" }, "tracing"],
        [{ poolSampleInterval: "-1 millis" }, "poolSampleInterval"],
        [{ spanAttributes: 3 }, "spanAttributes"]
      ] as const
      for (const [telemetry, field] of cases) {
        let text = "built"
        try {
          await w.client({ telemetry })
        } catch (e) {
          text = String(e)
        }
        assert.ok(text.includes("telemetry") && text.includes(field), text)
      }
    }
  }
]
