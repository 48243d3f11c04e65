/**
 * The `telemetry` option of the Effect 4 client through a real OpenTelemetry pipeline: the shared,
 * edition-neutral cases of the root's test/support/telemetryCases.ts (span names, kinds, attributes,
 * parentage, error status; metric values after a known workload; pool gauges, auto-batch sizes,
 * ejections/readmissions/timeouts; nothing without the option), with `@effect/opentelemetry` 4.x's
 * NodeSdk layer over the SDK's InMemorySpanExporter and a collecting MetricReader; plus one case against
 * a real memcached.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option, Result, Scope } from "effect"
import {
  makePipeline,
  cacheAsideCases,
  metricCases,
  offCases,
  type Pipeline,
  points,
  runCase,
  spanCases,
  type TelemetryCase,
  type TelemetryClient,
  type TelemetryEdition
} from "../../../test/support/telemetryCases.js"
import * as CacheAside from "../src/CacheAside.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as ServerSpec from "../src/ServerSpec.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"

const sdk = (pipeline: Pipeline) =>
  NodeSdk.layer(() => ({
    resource: { serviceName: "effect-memcached-effect4-test" },
    spanProcessor: pipeline.spanProcessor,
    metricReader: pipeline.metricReader
  }))

const settle = <A>(p: Promise<Exit.Exit<A, unknown>>): Promise<A> =>
  p.then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  })

/** The client's methods as Promises, each call run in `context` (the pipeline's services, a parent span). */
const driver = (
  c: MemcachedClient.Service,
  cache: CacheAside.Service,
  run: <A>(e: Effect.Effect<A, unknown>) => Promise<A>,
  fork: (e: Effect.Effect<unknown, unknown>) => Fiber.Fiber<unknown, unknown>
): TelemetryClient => {
  const self: TelemetryClient = {
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
      return { interrupt: () => Effect.runPromise(Fiber.interrupt(fiber)) }
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
      run(
        Effect.withSpan(name)(Effect.flatMap(Effect.currentSpan, (span) =>
          Effect.promise(() =>
            f(driver(c, cache, (e) => run(Effect.withParentSpan(e, span)), fork))
          )))
      ).then(() =>
        undefined
      )
  }
  return self
}

/** The Effect 4 edition: the NodeSdk layer in a scope per case; clients built (and closed) in it. */
const effect4: TelemetryEdition = {
  withPipeline: (pipeline, use) =>
    settle(Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
      const services = yield* Layer.build(sdk(pipeline))
      const scope = yield* Effect.scope
      const runIn = <A>(e: Effect.Effect<A, unknown>): Promise<A> =>
        settle(Effect.runPromiseExit(Effect.provideContext(e, services)))
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
            }).pipe(Scope.provide(scope))
          )
          const cache = await runIn(
            CacheAside.make().pipe(Effect.provideService(MemcachedClient.MemcachedClient, client), Scope.provide(scope))
          )
          return driver(client, cache, runIn, (e) => Effect.runFork(Effect.provideContext(e, services)))
        })
      )
    }))))
}

const register = (cases: ReadonlyArray<TelemetryCase>) => {
  for (const c of cases) it(c.name, () => runCase(effect4, c), 60_000)
}

describe("spans (Effect 4)", () => register(spanCases))
describe("cache-aside (Effect 4)", () => register(cacheAsideCases))
describe("metrics (Effect 4)", () => register(metricCases))
describe("off and half on (Effect 4)", () => register(offCases))

describe("real memcached (Effect 4)", () => {
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
      const c = yield* MemcachedClient.make({ servers: [`127.0.0.1:${mc.port}`], telemetry: {}, protocol: "meta" })
      yield* c.set("otel4:real", "v")
      assert.isTrue(Option.isSome(yield* c.get("otel4:real")))
      const failed = yield* Effect.result(c.add("otel4:real", "w"))
      assert.isTrue(Result.isFailure(failed))
      const spans = pipeline.spans()
      assert.deepStrictEqual(spans.map((s) => s.name), ["set", "get", "add"])
      for (const s of spans) {
        assert.strictEqual(s.kind, SpanKind.CLIENT)
        assert.strictEqual(s.attributes["server.address"], "127.0.0.1")
        assert.strictEqual(s.attributes["server.port"], mc.port)
        assert.strictEqual(s.attributes["memcached.protocol"], "meta")
      }
      assert.strictEqual(spans[2]!.attributes["db.response.status_code"], "NS")
      const rm = yield* Effect.promise(() => pipeline.metrics())
      const counts = points(rm, "db.client.operation.duration", { "server.port": String(mc.port) })
        .map((p) => [p.attributes["db.operation.name"], p.value.count])
      assert.deepStrictEqual(counts.sort(), [["add", 1], ["get", 1], ["set", 1]])
    }).pipe(Effect.scoped, Effect.provide(sdk(pipeline)))
  }, 30_000)
})
