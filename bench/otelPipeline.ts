/**
 * A real OpenTelemetry SDK pipeline for the bench's telemetry lines: `@effect/opentelemetry`'s NodeSdk
 * with a BatchSpanProcessor and a PeriodicExportingMetricReader (1 s), both exporting to exporters that
 * count and drop (no I/O, so the cost measured is the client's instrumentation and the SDK's own work).
 * When the tracer provider shuts down (the layer closes) it prints to stderr how many spans and metric
 * exports went through, so a run shows telemetry really was on.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import type { Layer } from "effect"

let spans = 0
let metricExports = 0

const spanExporter: SpanExporter = {
  export: (batch, done) => {
    spans += batch.length
    done({ code: 0 }) // ExportResultCode.SUCCESS
  },
  // Called when the tracer provider shuts down, after the last batch was exported.
  shutdown: () => {
    process.stderr.write(`otel pipeline: ${spans} spans exported, ${metricExports} metric exports\n`)
    return Promise.resolve()
  }
}

const metricExporter: PushMetricExporter = {
  export: (_metrics, done) => {
    metricExports++
    done({ code: 0 }) // ExportResultCode.SUCCESS
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve()
}

/** The pipeline as a layer (the tracer for every fiber of the program it is provided to). */
export const layer: Layer.Layer<never> = NodeSdk.layer(() => ({
  resource: { serviceName: "effect-memcached-bench" },
  spanProcessor: new BatchSpanProcessor(spanExporter, { maxQueueSize: 65536, maxExportBatchSize: 4096 }),
  metricReader: new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })
})) as unknown as Layer.Layer<never>
