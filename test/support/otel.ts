/**
 * A real OpenTelemetry pipeline for tests: `@effect/opentelemetry`'s NodeSdk layer with the SDK's
 * in-memory span exporter (through a SimpleSpanProcessor: a span is exported when it ends) and a metric
 * reader collected on demand. No mock tracer: spans and metrics go through the SDK as in production.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { Attributes } from "@opentelemetry/api"
import { type DataPoint, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import * as MemoryServer from "../../src/server/MemoryServer.js"
import * as ServerSpec from "../../src/ServerSpec.js"

/** A reader that collects when asked (no timer). */
class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
}

/** The pipeline: provide `layer`, then read `spans()` and `metrics()` inside it. */
export interface Otel {
  readonly layer: Layer.Layer<never>
  readonly spans: () => ReadonlyArray<ReadableSpan>
  readonly metrics: () => Effect.Effect<ResourceMetrics>
}

export const makeOtel = (): Otel => {
  const exporter = new InMemorySpanExporter()
  const reader = new CollectingReader()
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "effect-memcached-test" },
    spanProcessor: new SimpleSpanProcessor(exporter),
    metricReader: reader
  })) as unknown as Layer.Layer<never>
  return {
    layer,
    spans: () => exporter.getFinishedSpans(),
    metrics: () => Effect.promise(() => reader.collect()).pipe(Effect.map((r) => r.resourceMetrics))
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

let seq = 0

/**
 * A client over `count` fresh in-memory servers with names of their own (`tel-<n>-<i>:11211`), so the
 * metric series of one test are not another's. Returns the client, its servers and their hosts.
 */
export const memoryClient = (
  options: Omit<MemcachedClient.MemcachedClientOptions, "servers" | "transport"> = {},
  count = 1
) =>
  Effect.gen(function*() {
    const id = ++seq
    const servers = Array.from({ length: count }, () => MemoryServer.make())
    yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all(servers.map((s) => s.close()))))
    const specs = servers.map((_, i) => ServerSpec.make({ host: `tel-${process.pid}-${id}-${i}`, port: 11211 }))
    const byName = new Map(specs.map((s, i) => [s.name, servers[i]!]))
    const client = yield* MemcachedClient.make({
      ...options,
      servers: specs,
      transport: { connect: (spec) => byName.get(spec.name)!.connect() }
    })
    return { client, servers, hosts: specs.map((s) => s.host), names: specs.map((s) => s.name) }
  })
