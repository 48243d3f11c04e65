/**
 * Observability: the client's spans and metrics through OpenTelemetry, printed by the SDK's console
 * exporters. The client is built with the `telemetry` option; `@effect/opentelemetry` turns Effect's
 * tracer and metrics into OpenTelemetry ones. Swap the console exporters for OTLP ones in production.
 *
 *   npx tsx examples/observability.ts
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ConsoleMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import {
  ConsoleSpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer } from "effect"
import { CacheAside, MemcachedClient, MemcachedTest } from "../src/index.js"

// Application code: nothing telemetry-specific in it.
const handleRequest = Effect.gen(function*() {
  const mc = yield* MemcachedClient.MemcachedClient
  const cache = yield* CacheAside.CacheAside
  yield* mc.set("greeting", "hello", { ttl: 60 })
  yield* mc.getString("greeting") // hit
  yield* mc.getString("missing") // miss
  yield* mc.getMany(["greeting", "missing", "other"])
  yield* Effect.exit(mc.add("greeting", "again")) // fails: NOT_STORED → an error span
  yield* cache.getOrSet("report", Effect.succeed("expensive result").pipe(Effect.withSpan("compute-report")))
}).pipe(Effect.withSpan("handle-request"))

// The span names the SDK saw, to check the example below (a real exporter would send them somewhere).
const seen: Array<string> = []
const recorder: SpanProcessor = {
  onStart: () => undefined,
  onEnd: (span: ReadableSpan) => void seen.push(span.name),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve()
}

const Otel = NodeSdk.layer(() => ({
  resource: { serviceName: "observability-example" },
  spanProcessor: [new SimpleSpanProcessor(new ConsoleSpanExporter()), recorder],
  // Exported every 60 s, and once more when the layer closes (that is the export printed here).
  metricReader: new PeriodicExportingMetricReader({
    exporter: new ConsoleMetricExporter(),
    exportIntervalMillis: 60_000
  })
}))

// The client over an in-memory server (MemcachedClient.layer({ servers, telemetry }) in production).
const Cache = CacheAside.layer().pipe(
  Layer.provideMerge(
    MemcachedTest.layer({ telemetry: { recordKeys: "hashed", spanAttributes: { "app.cache": "main" } } })
  )
)

const expected = [
  "set",
  "getString",
  "getMany",
  "add",
  "metaGet",
  "compute-report",
  "metaSet",
  "getOrSet",
  "handle-request"
]

handleRequest.pipe(
  Effect.provide(Cache),
  Effect.provide(Otel),
  Effect.andThen(() => {
    const missing = expected.filter((name) => !seen.includes(name))
    return missing.length === 0
      ? Console.log(`observability example ok: ${seen.length} spans (${[...new Set(seen)].join(", ")})`)
      : Effect.die(new Error(`FAILED: no span named ${missing.join(", ")}; saw ${seen.join(", ")}`))
  }),
  NodeRuntime.runMain
)
