/**
 * The `telemetry` option of the client through a real OpenTelemetry pipeline, one source for both
 * editions (the Effect 4 package runs its copy against its client and `@effect/opentelemetry` 4.x)
 * (`@effect/opentelemetry`'s NodeSdk layer over the SDK's in-memory span exporter and a collecting
 * metric reader): the shared, edition-neutral cases of support/telemetryCases.ts (span names, kinds,
 * attributes, parentage under the caller's span, error status; cache-aside spans; metric values after a
 * known workload; pool gauges, auto-batch sizes, ejections/readmissions and timeouts; nothing without
 * the option) registered with this edition's client, plus
 * one case against real memcached and the effect-free names/mapping of engine/telemetry.ts.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CacheAside from "../src/CacheAside.js"
import { inScope, type RunningFiber } from "../src/edition.js"
import { errorType, hashKey, isTimeout, keyRecorder, statusCode } from "../src/engine/telemetry.js"
import { EngineError } from "../src/engine/types.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedError from "../src/MemcachedError.js"
import * as ServerSpec from "../src/ServerSpec.js"
import { type Client, edition, layerRunner } from "./support/edition.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"
import {
  cacheAsideCases,
  makePipeline,
  metricCases,
  offCases,
  type Pipeline,
  points,
  runCase,
  spanCases,
  type TelemetryCase,
  type TelemetryClient,
  type TelemetryEdition
} from "./support/telemetryCases.js"

const sdk = (pipeline: Pipeline): Layer.Layer<never> =>
  NodeSdk.layer(() => ({
    resource: { serviceName: "effect-memcached-test" },
    spanProcessor: pipeline.spanProcessor,
    metricReader: pipeline.metricReader
  })) as Layer.Layer<never>

const settle = <A>(p: Promise<Exit.Exit<A, unknown>>): Promise<A> =>
  p.then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  })

/** The client's methods as Promises, each call run by `run` (the pipeline's services, a parent span). */
const driver = (
  c: Client,
  cache: CacheAside.Service,
  run: <A>(e: Effect.Effect<A, unknown>) => Promise<A>,
  fork: (e: Effect.Effect<unknown, unknown>) => RunningFiber
): TelemetryClient => ({
  serverFor: (key) => c.serverFor(key),
  set: (key, value) => run(c.set(key, value)),
  add: (key, value) => run(c.add(key, value)),
  get: (key) => run(Effect.map(c.get(key), Option.isSome)),
  getMany: (keys) => run(Effect.map(c.getMany(keys), (m) => m.size)),
  setMany: (entries) => run(Effect.asVoid(c.setMany(entries))),
  deleteMany: (keys) => run(Effect.asVoid(c.deleteMany(keys))),
  metaGet: (key, vivify) =>
    run(Effect.map(
      c.metaGet(key, vivify === undefined ? undefined : { vivify }),
      (o) => Option.getOrUndefined(Option.map(o, (i) => ({ win: i.win, stale: i.stale })))
    )),
  metaSet: (key, value) => run(Effect.asVoid(c.metaSet(key, value))),
  metaDelete: (key, invalidate) => run(Effect.asVoid(c.metaDelete(key, invalidate ? { invalidate } : undefined))),
  version: () => run(Effect.asVoid(c.version())),
  stats: (server) => run(Effect.asVoid(c.stats(undefined, { server }))),
  forkSet: (key, value) => {
    const fiber = fork(c.set(key, value))
    return { interrupt: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) }
  },
  getOrSet: (key, compute) => {
    const base = Effect.as(compute.delayMs === undefined ? Effect.void : Effect.sleep(compute.delayMs), compute.value)
    const effect = compute.computeSpan === undefined ? base : Effect.withSpan(base, compute.computeSpan)
    return run(Effect.map(cache.getOrSet(key, effect), (bytes) => Buffer.from(bytes).toString()))
  },
  getOrSetMany: (keys) =>
    run(Effect.map(
      cache.getOrSetMany(keys, (ks) => Effect.succeed(new Map(ks.map((k) => [k, k] as const)))),
      (m) => m.size
    )),
  invalidate: (key) => run(Effect.asVoid(cache.invalidate(key))),
  inSpan: (name, f) =>
    run(Effect.withSpan(
      Effect.flatMap(Effect.currentSpan, (span) =>
        Effect.promise(() => f(driver(c, cache, (e) => run(Effect.withParentSpan(e, span)), fork)))),
      name
    )).then(() =>
      undefined
    )
})

/** This edition: the NodeSdk layer in a scope per case; clients built (and closed) in it. */
const telemetryEdition: TelemetryEdition = {
  withPipeline: (pipeline, use) =>
    settle(Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
      const runner = yield* layerRunner(sdk(pipeline))
      const scope = yield* Effect.scope
      const runIn = <A>(e: Effect.Effect<A, unknown>): Promise<A> => settle(runner.run(e))
      return yield* Effect.promise(() =>
        use(async (o) => {
          const client = await runIn(
            MemcachedClient.make({
              servers: o.servers.map((s) => ServerSpec.make(s)),
              transport: o.transport as MemcachedClient.MemcachedClientOptions["transport"],
              protocol: o.protocol,
              keyPrefix: o.keyPrefix,
              maxInFlight: o.maxInFlight,
              failureLimit: o.failureLimit,
              timeout: o.timeoutMs === undefined ? undefined : Duration.millis(o.timeoutMs),
              retryInterval: o.retryIntervalMs === undefined ? undefined : Duration.millis(o.retryIntervalMs),
              telemetry: o.telemetry === undefined ? undefined : {
                ...o.telemetry,
                ...(o.poolSampleMs === undefined ? {} : { poolSampleInterval: Duration.millis(o.poolSampleMs) })
              }
            }).pipe((e) => inScope(e, scope))
          )
          const cache = await runIn(
            CacheAside.make().pipe(Effect.provideService(MemcachedClient.MemcachedClient, client), (e) =>
              inScope(e, scope))
          )
          return driver(client, cache, runIn, runner.fork)
        })
      )
    }))))
}

const register = (cases: ReadonlyArray<TelemetryCase>) => {
  for (const c of cases) it(c.name, () => runCase(telemetryEdition, c), 60_000)
}

describe(`spans (${edition.name})`, () => register(spanCases))
describe(`cache-aside (${edition.name})`, () => register(cacheAsideCases))
describe(`metrics (${edition.name})`, () => register(metricCases))
describe(`off and half on (${edition.name})`, () => register(offCases))

describe(`real memcached (${edition.name})`, () => {
  let mc: MemcachedProcess
  beforeAll(async () => {
    mc = await startMemcached()
  }, 30_000)
  afterAll(async () => {
    await mc?.stop()
  })

  it.live("spans and the duration histogram against memcached 1.6", () => {
    const pipeline = makePipeline()
    return Effect.gen(function*() {
      const client = yield* MemcachedClient.make({ servers: [`127.0.0.1:${mc.port}`], telemetry: {} })
      yield* Effect.gen(function*() {
        yield* client.set("real", "v")
        assert.isTrue(Option.isSome(yield* client.get("real")))
        yield* Effect.exit(client.add("real", "again"))
      }).pipe(Effect.withSpan("user-request"))
      const spans = pipeline.spans()
      const one = (name: string) => {
        const found = spans.filter((s) => s.name === name)
        assert.strictEqual(found.length, 1, name)
        return found[0]!
      }
      const user = one("user-request")
      const get = one("get")
      assert.strictEqual(get.parentSpanContext?.spanId, user.spanContext().spanId)
      assert.strictEqual(get.attributes["server.address"], "127.0.0.1")
      assert.strictEqual(get.attributes["server.port"], mc.port)
      assert.strictEqual(get.attributes["memcached.hit"], true)
      assert.strictEqual(get.attributes["memcached.protocol"], "meta")
      assert.strictEqual(one("add").attributes["db.response.status_code"], "NS")
      for (const name of ["set", "get", "add"]) {
        const s = one(name)
        assert.strictEqual(s.kind, SpanKind.CLIENT, name)
        assert.strictEqual(s.attributes["server.port"], mc.port, name)
        assert.strictEqual(s.attributes["memcached.protocol"], "meta", name)
      }
      const rm = yield* Effect.promise(() => pipeline.metrics())
      const counts = points(rm, "db.client.operation.duration", { "server.port": String(mc.port) })
        .map((p) => [p.attributes["db.operation.name"], p.value.count])
      assert.deepStrictEqual(counts.sort(), [["add", 1], ["get", 1], ["set", 1]])
    }).pipe(Effect.scoped, Effect.provide(sdk(pipeline)))
  })
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
