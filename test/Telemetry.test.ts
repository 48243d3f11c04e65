/**
 * The `telemetry` option through a real OpenTelemetry pipeline (`@effect/opentelemetry` + the SDK's
 * in-memory span exporter and a collecting metric reader): span names, kinds, attributes, parentage under
 * the caller's span, error status; metric values after a known workload; pool gauges, auto-batch sizes,
 * ejections/readmissions and timeouts; nothing at all without the option. In-memory servers (each test
 * with servers of its own names, so metric series never mix) and one case against real memcached.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Attributes, SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { DURATION_BUCKETS, errorType, hashKey, isTimeout, keyRecorder, statusCode } from "../src/engine/telemetry.js"
import { EngineError } from "../src/engine/types.js"
import * as CacheAside from "../src/CacheAside.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedError from "../src/MemcachedError.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"
import { makeOtel, memoryClient, points } from "./support/otel.js"

const byName = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((s) => s.name === name)
const only = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = byName(spans, name)
  assert.strictEqual(found.length, 1, `one ${name} span, got ${found.length}`)
  return found[0]!
}

/** Runs `body` inside a fresh pipeline; `body` reads spans and metrics before the pipeline shuts down. */
const withOtel = <A, E>(body: (otel: ReturnType<typeof makeOtel>) => Effect.Effect<A, E>) => {
  const otel = makeOtel()
  return Effect.provide(body(otel), otel.layer)
}

describe("spans", () => {
  it.live("one client span per call, under the caller's span, with the DB attributes", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts } = yield* memoryClient({ telemetry: {}, protocol: "meta" })
        yield* Effect.gen(function*() {
          yield* client.set("k", "v")
          assert.isTrue(Option.isSome(yield* client.get("k")))
          assert.isTrue(Option.isNone(yield* client.get("absent")))
        }).pipe(Effect.withSpan("user-request"))
        const spans = otel.spans()
        const user = only(spans, "user-request")
        const set = only(spans, "set")
        const gets = byName(spans, "get")
        assert.strictEqual(gets.length, 2)
        for (const s of [set, ...gets]) {
          assert.strictEqual(s.kind, SpanKind.CLIENT)
          assert.strictEqual(s.parentSpanContext?.spanId, user.spanContext().spanId, `${s.name} is a child`)
          assert.strictEqual(s.spanContext().traceId, user.spanContext().traceId)
          assert.strictEqual(s.status.code, SpanStatusCode.OK)
          assert.strictEqual(s.attributes["db.system.name"], "memcached")
          assert.strictEqual(s.attributes["db.operation.name"], s.name)
          assert.strictEqual(s.attributes["server.address"], hosts[0])
          assert.strictEqual(s.attributes["server.port"], 11211)
          assert.strictEqual(s.attributes["memcached.protocol"], "meta")
          assert.isUndefined(s.attributes["memcached.key"], "keys are not recorded by default")
          assert.isUndefined(s.attributes["code.stacktrace"])
        }
        assert.deepStrictEqual(gets.map((s) => s.attributes["memcached.hit"]), [true, false])
      }).pipe(Effect.scoped)
    ))

  it.live("failures: error status, error.type and the reply status per protocol", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const text = yield* memoryClient({ telemetry: {}, protocol: "text" })
        const meta = yield* memoryClient({ telemetry: {}, protocol: "meta" })
        for (const { client } of [text, meta]) {
          yield* client.set("taken", "1")
          const exit = yield* Effect.exit(client.add("taken", "2"))
          assert.isTrue(Exit.isFailure(exit))
          // An input error fails before anything is sent: no server answered, no status code.
          yield* Effect.exit(client.get("bad key"))
        }
        const adds = byName(otel.spans(), "add")
        assert.strictEqual(adds.length, 2)
        const [t, m] = [text.hosts[0], meta.hosts[0]].map((h) =>
          adds.find((s) => s.attributes["server.address"] === h)!
        )
        for (const s of [t!, m!]) {
          assert.strictEqual(s.status.code, SpanStatusCode.ERROR)
          assert.strictEqual(s.attributes["error.type"], "MemcachedStoreError.NotStored")
          assert.isTrue(s.events.some((e) => e.name === "exception"), "the failure is recorded as an exception")
        }
        assert.strictEqual(t!.attributes["db.response.status_code"], "NOT_STORED")
        assert.strictEqual(m!.attributes["db.response.status_code"], "NS")
        const bad = byName(otel.spans(), "get")
        assert.strictEqual(bad.length, 2)
        for (const s of bad) {
          assert.strictEqual(s.status.code, SpanStatusCode.ERROR)
          assert.strictEqual(s.attributes["error.type"], "MemcachedInputError.InvalidKey")
          assert.isUndefined(s.attributes["db.response.status_code"])
        }
      }).pipe(Effect.scoped)
    ))

  it.live("multi-key calls: batch size, keys hit and missed, the server only when there is one", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client } = yield* memoryClient({ telemetry: {} }, 3)
        const keys = Array.from({ length: 20 }, (_, i) => `mk-${i}`)
        yield* client.setMany(keys.slice(0, 12).map((k) => [k, "x"] as const))
        const found = yield* client.getMany([...keys, "mk-0"])
        assert.strictEqual(found.size, 12)
        const get = only(otel.spans(), "getMany")
        assert.strictEqual(get.attributes["db.operation.batch.size"], 21)
        assert.strictEqual(get.attributes["memcached.keys.hit"], 12)
        assert.strictEqual(get.attributes["memcached.keys.missed"], 8)
        assert.strictEqual(get.attributes["memcached.server.count"], 3)
        assert.isUndefined(get.attributes["server.address"], "three servers: no single server.address")
        const set = only(otel.spans(), "setMany")
        assert.strictEqual(set.attributes["db.operation.batch.size"], 12)
        assert.strictEqual(set.attributes["memcached.keys.failed"], 0)

        const one = yield* memoryClient({ telemetry: {} })
        yield* one.client.deleteMany(["a", "b"])
        const del = only(otel.spans(), "deleteMany")
        assert.strictEqual(del.attributes["server.address"], one.hosts[0])
        assert.strictEqual(del.attributes["memcached.keys.failed"], 2, "both keys were missing: NotFound")
      }).pipe(Effect.scoped)
    ))

  it.live("the server attribute is the one the key is routed to", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts } = yield* memoryClient({ telemetry: {} }, 4)
        const keys = Array.from({ length: 40 }, (_, i) => `route-${i}`)
        yield* Effect.forEach(keys, (k) => client.set(k, "v"), { discard: true })
        const sets = byName(otel.spans(), "set")
        assert.strictEqual(sets.length, keys.length)
        const used = new Set<unknown>()
        for (const s of sets) {
          const key = s.attributes["memcached.key"]
          assert.isUndefined(key)
          used.add(s.attributes["server.address"])
        }
        // Each span names the server serverFor picks, and the keys really spread over the servers.
        for (let i = 0; i < keys.length; i++) {
          assert.strictEqual(sets[i]!.attributes["server.address"], hosts[client.serverFor(keys[i]!)])
        }
        assert.isAbove(used.size, 1)
      }).pipe(Effect.scoped)
    ))

  it.live("recordKeys raw / hashed, spanAttributes, meta win and stale", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const raw = yield* memoryClient({
          telemetry: { recordKeys: "raw", spanAttributes: { "cache.name": "sessions" } },
          keyPrefix: "app:"
        })
        const hashed = yield* memoryClient({ telemetry: { recordKeys: "hashed" }, protocol: "meta" })
        yield* raw.client.get("user:1")
        yield* raw.client.getMany(["a", "b"])
        yield* hashed.client.get("user:1")
        const gets = byName(otel.spans(), "get")
        const r = gets.find((s) => s.attributes["server.address"] === raw.hosts[0])!
        const h = gets.find((s) => s.attributes["server.address"] === hashed.hosts[0])!
        assert.strictEqual(r.attributes["memcached.key"], "user:1", "the caller's key, without the prefix")
        assert.strictEqual(r.attributes["cache.name"], "sessions")
        assert.strictEqual(h.attributes["memcached.key"], hashKey("user:1"))
        assert.match(String(h.attributes["memcached.key"]), /^[0-9a-f]{16}$/)
        assert.isUndefined(h.attributes["cache.name"])
        assert.include(String(only(otel.spans(), "getMany").attributes["memcached.keys"]), "\"b\"")

        // A vivified miss wins the recache token; the next reader sees the stub held by someone else.
        const first = yield* hashed.client.metaGet("lease", { vivify: 30 })
        assert.isTrue(Option.isSome(first) && first.value.win)
        yield* hashed.client.metaDelete("lease")
        yield* hashed.client.metaSet("lease", "v")
        yield* hashed.client.metaDelete("lease", { invalidate: true })
        yield* hashed.client.metaGet("lease")
        const metaGets = byName(otel.spans(), "metaGet")
        assert.deepStrictEqual(metaGets.map((s) => s.attributes["memcached.win"]), [true, true])
        assert.deepStrictEqual(metaGets.map((s) => s.attributes["memcached.stale"]), [false, true])
        assert.deepStrictEqual(metaGets.map((s) => s.attributes["memcached.hit"]), [true, true])
      }).pipe(Effect.scoped)
    ))

  it.live("admin calls: one span, the server when one is asked", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts, names } = yield* memoryClient({ telemetry: {} }, 2)
        yield* client.version()
        yield* client.stats(undefined, { server: names[1] })
        const version = only(otel.spans(), "version")
        assert.isUndefined(version.attributes["server.address"])
        assert.strictEqual(only(otel.spans(), "stats").attributes["server.address"], hosts[1])
      }).pipe(Effect.scoped)
    ))
})

describe("cache-aside", () => {
  const cacheOver = (client: MemcachedClient.MemcachedClient) =>
    CacheAside.make().pipe(Effect.provideService(MemcachedClient.MemcachedClient, client))

  it.live("getOrSet: one span per call, the parent of its memcached calls and of the compute", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts } = yield* memoryClient({ telemetry: {}, protocol: "meta" })
        const cache = yield* cacheOver(client)
        const compute = Effect.succeed("fresh").pipe(Effect.withSpan("compute"))
        yield* cache.getOrSet("ca", compute).pipe(Effect.withSpan("user-request"))
        yield* cache.getOrSet("ca", compute)
        const spans = otel.spans()
        const [miss, hit] = byName(spans, "getOrSet")
        assert.strictEqual(miss!.kind, SpanKind.CLIENT)
        assert.strictEqual(miss!.parentSpanContext?.spanId, only(spans, "user-request").spanContext().spanId)
        assert.strictEqual(miss!.attributes["server.address"], hosts[0])
        assert.strictEqual(miss!.attributes["db.operation.name"], "getOrSet")
        assert.strictEqual(miss!.attributes["memcached.cache_aside.outcome"], "computed")
        assert.strictEqual(miss!.attributes["memcached.win"], true)
        assert.strictEqual(miss!.attributes["memcached.hit"], false)
        assert.strictEqual(hit!.attributes["memcached.cache_aside.outcome"], "hit")
        assert.strictEqual(hit!.attributes["memcached.hit"], true)
        assert.strictEqual(hit!.attributes["memcached.win"], false)
        // The first call's mg, compute and ms are its children; the second call's mg is the second's.
        const children = (parent: ReadableSpan) =>
          spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId).map((s) => s.name)
        assert.sameMembers(children(miss!), ["metaGet", "compute", "metaSet"])
        assert.sameMembers(children(hit!), ["metaGet"])
      }).pipe(Effect.scoped)
    ))

  it.live("coalesced callers each get a span; stale values and getOrSetMany are annotated", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client } = yield* memoryClient({ telemetry: {}, protocol: "meta" })
        const cache = yield* cacheOver(client)
        const slow = Effect.as(Effect.sleep("50 millis"), "v")
        yield* Effect.all([cache.getOrSet("co", slow), cache.getOrSet("co", slow)], { concurrency: "unbounded" })
        const calls = byName(otel.spans(), "getOrSet")
        assert.strictEqual(calls.length, 2)
        assert.sameMembers(calls.map((s) => s.attributes["memcached.cache_aside.coalesced"]), [true, false])
        assert.deepStrictEqual(calls.map((s) => s.attributes["memcached.cache_aside.outcome"]), [
          "computed",
          "computed"
        ])

        yield* cache.invalidate("co")
        yield* cache.getOrSet("co", slow) // wins the refresh: the stale value now, recomputed behind
        const refreshed = byName(otel.spans(), "getOrSet")[2]!
        assert.strictEqual(refreshed.attributes["memcached.cache_aside.outcome"], "stale_refreshing")
        assert.strictEqual(refreshed.attributes["memcached.stale"], true)

        const found = yield* cache.getOrSetMany(
          ["m1", "m2", "m3"],
          (ks) => Effect.succeed(new Map(ks.map((k) => [k, k])))
        )
        assert.strictEqual(found.size, 3)
        const many = only(otel.spans(), "getOrSetMany")
        assert.strictEqual(many.attributes["db.operation.batch.size"], 3)
        assert.strictEqual(many.attributes["memcached.keys.hit"], 3)
      }).pipe(Effect.scoped)
    ))

  it.live("a client without telemetry: no cache-aside spans", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client } = yield* memoryClient({ protocol: "meta" })
        const cache = yield* cacheOver(client)
        yield* cache.getOrSet("off", Effect.succeed("v"))
        assert.deepStrictEqual(otel.spans().map((s) => s.name), [])
      }).pipe(Effect.scoped)
    ))
})

describe("metrics", () => {
  it.live("duration histogram, hits and misses after a known workload", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts } = yield* memoryClient({ telemetry: {}, protocol: "text" })
        for (let i = 0; i < 5; i++) yield* client.set(`m-${i}`, "v")
        for (let i = 0; i < 8; i++) yield* client.get(`m-${i}`) // 5 hits, 3 misses
        yield* Effect.exit(client.add("m-0", "again")) // one failure
        const rm = yield* otel.metrics()
        const server = { "server.address": hosts[0]! }
        const durations = points(rm, "db.client.operation.duration", server)
        const get = durations.filter((p) => p.attributes["db.operation.name"] === "get")
        assert.strictEqual(get.length, 1)
        assert.strictEqual(get[0]!.value.count, 8)
        assert.strictEqual(get[0]!.unit, "s")
        assert.deepStrictEqual(get[0]!.value.buckets.boundaries, [...DURATION_BUCKETS])
        assert.isAbove(get[0]!.value.sum, 0)
        assert.isBelow(get[0]!.value.max, 10, "seconds, not nanoseconds")
        assert.strictEqual(get[0]!.attributes["db.system.name"], "memcached")
        assert.strictEqual(get[0]!.attributes["server.port"], "11211")
        const set = durations.filter((p) => p.attributes["db.operation.name"] === "set")
        assert.strictEqual(set[0]!.value.count, 5)
        const add = durations.filter((p) => p.attributes["db.operation.name"] === "add")
        assert.strictEqual(add.length, 1)
        assert.strictEqual(add[0]!.value.count, 1)
        assert.strictEqual(add[0]!.attributes["error.type"], "MemcachedStoreError.NotStored")
        assert.strictEqual(add[0]!.attributes["db.response.status_code"], "NOT_STORED")
        const hits = points(rm, "memcached.client.hits", server)
        const misses = points(rm, "memcached.client.misses", server)
        assert.deepStrictEqual(hits.map((p) => p.value), [5])
        assert.deepStrictEqual(misses.map((p) => p.value), [3])
        assert.strictEqual(otel.spans().length, 14)
      }).pipe(Effect.scoped)
    ))

  it.live("pool gauges: connections by state, requests in flight and queued", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts, names, servers } = yield* memoryClient({
          telemetry: { poolSampleInterval: "10 millis" },
          protocol: "text",
          maxInFlight: 2,
          timeout: "30 seconds"
        })
        yield* client.set("g", "v")
        yield* Effect.sleep("60 millis")
        const pool = { "db.client.connection.pool.name": names[0]! }
        let rm = yield* otel.metrics()
        const state = (s: string) =>
          points(rm, "db.client.connection.count", { ...pool, "db.client.connection.state": s }).map((p) => p.value)
        assert.deepStrictEqual(state("idle"), [1])
        assert.deepStrictEqual(state("used"), [0])
        // A server that stops answering: 2 requests in flight (the cap), 3 queued behind them.
        servers[0]!.faults.blackHole(true)
        const fibers = yield* Effect.forEach(
          Array.from({ length: 5 }, (_, i) => i),
          (i) => Effect.fork(client.set(`held-${i}`, "v")),
          { concurrency: "unbounded" }
        )
        yield* Effect.sleep("60 millis")
        rm = yield* otel.metrics()
        assert.deepStrictEqual(state("used"), [1])
        assert.deepStrictEqual(state("idle"), [0])
        assert.deepStrictEqual(points(rm, "memcached.client.requests.in_flight", pool).map((p) => p.value), [2])
        assert.deepStrictEqual(points(rm, "db.client.connection.pending_requests", pool).map((p) => p.value), [3])
        // The swallowed requests would only end at their deadline: interrupt them instead.
        yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        rm = yield* otel.metrics()
        const durations = points(rm, "db.client.operation.duration", {
          "server.address": hosts[0]!,
          "db.operation.name": "set"
        })
        assert.deepStrictEqual(durations.map((p) => p.value.count), [1], "interrupted calls are not timed")
      }).pipe(Effect.scoped)
    ))

  it.live("auto-batch sizes: concurrent gets of one tick merge, and the histogram says how many", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, names } = yield* memoryClient({ telemetry: {}, protocol: "text" })
        yield* client.set("warm", "v")
        yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => `b-${i}`), (k) => client.get(k), {
          concurrency: "unbounded"
        })
        const rm = yield* otel.metrics()
        const batches = points(rm, "memcached.client.autobatch.size", {
          "db.client.connection.pool.name": names[0]!
        })
        assert.strictEqual(batches.length, 1)
        assert.strictEqual(batches[0]!.value.sum, 10, "every get is in one batch")
        assert.isAbove(batches[0]!.value.max, 1, "some gets were merged")
      }).pipe(Effect.scoped)
    ))

  it.live("ejections, readmissions and timeouts are counted per server", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, names, servers } = yield* memoryClient({
          telemetry: {},
          protocol: "text",
          failureLimit: 1,
          retryInterval: "50 millis",
          timeout: "100 millis"
        })
        const pool = { "db.client.connection.pool.name": names[0]! }
        servers[0]!.faults.blackHole(true)
        const timedOut = yield* Effect.exit(client.get("slow"))
        assert.isTrue(Exit.isFailure(timedOut))
        const span = only(otel.spans(), "get")
        assert.strictEqual(span.attributes["error.type"], "MemcachedConnectionError.Timeout")
        assert.isUndefined(span.attributes["db.response.status_code"])
        servers[0]!.faults.blackHole(false)
        // The timeout closed the connection: with failureLimit 1 the server is ejected, then readmitted
        // once the probe after retryInterval succeeds.
        yield* Effect.sleep("400 millis")
        yield* client.set("back", "v")
        const rm = yield* otel.metrics()
        assert.deepStrictEqual(points(rm, "db.client.connection.timeouts", pool).map((p) => p.value), [1])
        assert.deepStrictEqual(points(rm, "memcached.client.server.ejections", pool).map((p) => p.value), [1])
        assert.deepStrictEqual(points(rm, "memcached.client.server.readmissions", pool).map((p) => p.value), [1])
      }).pipe(Effect.scoped)
    ))
})

describe("off and half on", () => {
  it.live("without the option: no span of the client, no metric of its servers", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const { client, hosts, names } = yield* memoryClient({ protocol: "text" })
        yield* Effect.gen(function*() {
          yield* client.set("k", "v")
          yield* client.get("k")
          yield* client.getMany(["k", "j"])
          yield* Effect.forEach(["a", "b", "c"], (k) => client.get(k), { concurrency: "unbounded" })
        }).pipe(Effect.withSpan("user-request"))
        assert.deepStrictEqual(otel.spans().map((s) => s.name), ["user-request"])
        const rm = yield* otel.metrics()
        const all = rm.scopeMetrics.flatMap((s) => s.metrics).flatMap((m) =>
          m.dataPoints as Array<{ attributes: Attributes }>
        )
        const ours = all.filter((p) =>
          p.attributes["server.address"] === hosts[0] || p.attributes["db.client.connection.pool.name"] === names[0]
        )
        assert.deepStrictEqual(ours, [])
      }).pipe(Effect.scoped)
    ))

  it.live("tracing: false keeps the metrics; metrics: false keeps the spans", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const metricsOnly = yield* memoryClient({ telemetry: { tracing: false } })
        const spansOnly = yield* memoryClient({ telemetry: { metrics: false } })
        yield* metricsOnly.client.set("k", "v")
        yield* spansOnly.client.set("k", "v")
        const sets = byName(otel.spans(), "set")
        assert.deepStrictEqual(sets.map((s) => s.attributes["server.address"]), [spansOnly.hosts[0]])
        const rm = yield* otel.metrics()
        const duration = (host: string) =>
          points(rm, "db.client.operation.duration", { "server.address": host }).map((p) => p.value.count)
        assert.deepStrictEqual(duration(metricsOnly.hosts[0]!), [1])
        assert.deepStrictEqual(duration(spansOnly.hosts[0]!), [])
      }).pipe(Effect.scoped)
    ))

  it.effect("invalid telemetry options fail at construction, naming the field", () =>
    Effect.gen(function*() {
      const cases = [
        [{ recordKeys: "all" }, "telemetry.recordKeys"],
        [{ tracing: "yes" }, "telemetry.tracing"],
        [{ poolSampleInterval: "-1 millis" }, "telemetry.poolSampleInterval"],
        [{ spanAttributes: 3 }, "telemetry.spanAttributes"]
      ] as const
      for (const [telemetry, path] of cases) {
        const exit = yield* Effect.exit(Effect.scoped(MemcachedClient.make({ telemetry: telemetry as any })))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), path)
      }
    }))
})

describe("real memcached", () => {
  let mc: MemcachedProcess
  beforeAll(async () => {
    mc = await startMemcached()
  }, 30_000)
  afterAll(async () => {
    await mc?.stop()
  })

  it.live("spans and the duration histogram against memcached 1.6", () =>
    withOtel((otel) =>
      Effect.gen(function*() {
        const client = yield* MemcachedClient.make({ servers: [`127.0.0.1:${mc.port}`], telemetry: {} })
        yield* Effect.gen(function*() {
          yield* client.set("real", "v")
          assert.isTrue(Option.isSome(yield* client.get("real")))
          yield* Effect.exit(client.add("real", "again"))
        }).pipe(Effect.withSpan("user-request"))
        const user = only(otel.spans(), "user-request")
        const get = only(otel.spans(), "get")
        assert.strictEqual(get.parentSpanContext?.spanId, user.spanContext().spanId)
        assert.strictEqual(get.attributes["server.address"], "127.0.0.1")
        assert.strictEqual(get.attributes["server.port"], mc.port)
        assert.strictEqual(get.attributes["memcached.hit"], true)
        assert.strictEqual(get.attributes["memcached.protocol"], "meta")
        const add = only(otel.spans(), "add")
        assert.strictEqual(add.attributes["db.response.status_code"], "NS")
        const rm = yield* otel.metrics()
        const sets = points(rm, "db.client.operation.duration", {
          "server.port": String(mc.port),
          "db.operation.name": "set"
        })
        assert.deepStrictEqual(sets.map((p) => p.value.count), [1])
      }).pipe(Effect.scoped)
    ))
})

describe("engine/telemetry (shared by the editions)", () => {
  it("error.type and db.response.status_code from edge errors and from plain EngineErrors", () => {
    const store = new EngineError("Store", "NotStored", "add k: not stored", "s:1")
    const server = new EngineError("Server", "UnknownCommand", "ERROR", "s:1")
    const timeout = new EngineError("Connection", "Timeout", "timed out", "s:1")
    assert.strictEqual(errorType(store), "MemcachedStoreError.NotStored")
    assert.strictEqual(statusCode(store, "text"), "NOT_STORED")
    assert.strictEqual(statusCode(store, "meta"), "NS")
    assert.strictEqual(statusCode(new EngineError("Store", "Exists", "", "s"), "meta"), "EX")
    assert.strictEqual(statusCode(new EngineError("Store", "NotFound", "", "s"), "text"), "NOT_FOUND")
    assert.strictEqual(statusCode(server, "meta"), "ERROR")
    assert.strictEqual(statusCode(new EngineError("Server", "ServerError", "", "s"), "text"), "SERVER_ERROR")
    assert.strictEqual(statusCode(timeout, "text"), undefined)
    assert.isTrue(isTimeout(timeout))
    assert.isFalse(isTimeout(store))
    const edge = new MemcachedError.MemcachedServerError({ reason: "ClientError", message: "bad", server: "s:1" })
    assert.strictEqual(errorType(edge), "MemcachedServerError.ClientError")
    assert.strictEqual(statusCode(edge, "text"), "CLIENT_ERROR")
    assert.strictEqual(errorType(new TypeError("x")), "TypeError")
    assert.strictEqual(errorType("boom"), "_OTHER")
  })

  it("keys: none records nothing, raw as given, hashed as 16 hex digits of SHA-256", () => {
    assert.isUndefined(keyRecorder("none"))
    assert.strictEqual(keyRecorder("raw")!("k 1"), "k 1")
    assert.strictEqual(keyRecorder("hashed")!("abc"), "ba7816bf8f01cfea")
    assert.strictEqual(hashKey("abc"), "ba7816bf8f01cfea")
  })
})
