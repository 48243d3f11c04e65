/**
 * OpenTelemetry-ready spans and metrics of the client, following the database semantic conventions,
 * through Effect's own `Tracer` and `Metric` (export them with `@effect/opentelemetry`, or read the
 * metrics with `Metric.value`; Effect 4: also `Metric.snapshot`). Switched on per client with the `telemetry` option of
 * `MemcachedClient.make` / `layer`:
 *
 * ```ts
 * MemcachedClient.layer({ servers: "cache:11211", telemetry: { recordKeys: "hashed" } })
 * ```
 *
 * Without the option the client is built exactly as before — no wrapper, no span, no attribute object,
 * no metric update on any request — so "off" costs nothing. With it, each call is one span (kind
 * `client`, no stack capture, named after the method: `get`, `getMany`, `getOrSet`…) under the caller's
 * current span, and one `db.client.operation.duration` sample. `tracing: false` or `metrics: false`
 * keeps only the other half.
 *
 * Span attributes: `db.system.name` (`memcached`), `db.operation.name`, `server.address`/`server.port`
 * of the server the key was routed to (multi-key calls over several servers: `memcached.server.count`
 * instead), `db.operation.batch.size` (multi-key calls), `memcached.protocol`, on reads `memcached.hit`
 * or `memcached.keys.hit`/`memcached.keys.missed`, on meta gets `memcached.win`/`memcached.stale`, on bulk
 * writes `memcached.keys.failed`, on failure `error.type` (`MemcachedStoreError.NotStored`, …) and
 * `db.response.status_code` (the reply status: `NOT_STORED`, `NS`, `SERVER_ERROR`, …, when the server
 * answered). Keys only with `recordKeys` (`memcached.key` / `memcached.keys`).
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import type { DurationInput } from "./edition.js"
import { Attr, BATCH_BUCKETS, DURATION_BUCKETS, MetricName, type RecordKeys, SYSTEM } from "./engine/telemetry.js"
import { type Counter, type Gauge, type Histogram, histogram } from "./telemetryEdition.js"

export {
  /**
   * Attribute names used on spans and metrics.
   *
   * @since 0.1.0
   * @category attributes
   */
  Attr,
  /**
   * The advised buckets of the duration histogram, in seconds.
   *
   * @since 0.1.0
   * @category metrics
   */
  DURATION_BUCKETS,
  /**
   * Metric names.
   *
   * @since 0.1.0
   * @category metrics
   */
  MetricName,
  /**
   * `db.system.name`: `"memcached"`.
   *
   * @since 0.1.0
   * @category attributes
   */
  SYSTEM
}

/**
 * The `telemetry` client option. Every field is optional; `telemetry: {}` turns spans and metrics on.
 *
 * @since 0.1.0
 * @category models
 */
export interface TelemetryOptions {
  /** One span per call through the current `Tracer`. Default true. */
  readonly tracing?: boolean | undefined
  /** Update the metrics below on every call, and sample the pool gauges. Default true. */
  readonly metrics?: boolean | undefined
  /**
   * Record keys on spans: `"none"` (the default), `"raw"`, or `"hashed"` (the first 16 hex digits of
   * their SHA-256, stable across processes). Multi-key calls record the list.
   */
  readonly recordKeys?: RecordKeys | undefined
  /** Attributes added to every span of this client (e.g. `{ "cache.name": "sessions" }`). */
  readonly spanAttributes?: Readonly<Record<string, unknown>> | undefined
  /** How often the pool gauges are sampled. Default 5 seconds. */
  readonly poolSampleInterval?: DurationInput | undefined
}

/**
 * `db.client.operation.duration` (seconds, advised buckets), tagged `db.system.name`,
 * `db.operation.name`, `server.address`, `server.port`, and on failure `error.type` and
 * `db.response.status_code`; `unit=s` sets the OpenTelemetry unit.
 *
 * @since 0.1.0
 * @category metrics
 */
export const operationDuration: Histogram = histogram(
  MetricName.operationDuration,
  DURATION_BUCKETS,
  "Duration of memcached client operations"
)

/**
 * Keys found (`memcached.client.hits`), by operation and server.
 *
 * @since 0.1.0
 * @category metrics
 */
export const hits: Counter = Metric.counter(MetricName.hits, {
  description: "Keys found by memcached reads",
  incremental: true
})

/**
 * Keys not found (`memcached.client.misses`), by operation and server.
 *
 * @since 0.1.0
 * @category metrics
 */
export const misses: Counter = Metric.counter(MetricName.misses, {
  description: "Keys not found by memcached reads",
  incremental: true
})

/**
 * Requests that passed their deadline (`db.client.connection.timeouts`), by pool (server).
 *
 * @since 0.1.0
 * @category metrics
 */
export const timeouts: Counter = Metric.counter(MetricName.timeouts, {
  description: "Memcached requests that timed out",
  incremental: true
})

/**
 * Connections (`db.client.connection.count`), by `db.client.connection.state` (`idle`/`used`) and pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const connectionCount: Gauge = Metric.gauge(MetricName.connectionCount, {
  description: "Memcached connections by state"
})

/**
 * Requests waiting for room in a connection's pipeline (`db.client.connection.pending_requests`), by pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const pendingRequests: Gauge = Metric.gauge(MetricName.pendingRequests, {
  description: "Memcached requests queued behind a full pipeline"
})

/**
 * Requests written and not yet answered (`memcached.client.requests.in_flight`), by pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const inFlight: Gauge = Metric.gauge(MetricName.inFlight, {
  description: "Memcached requests in flight"
})

/**
 * Times a server was ejected (`memcached.client.server.ejections`), by pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const ejections: Counter = Metric.counter(MetricName.ejections, {
  description: "Memcached servers ejected after repeated failures",
  incremental: true
})

/**
 * Times an ejected server was readmitted (`memcached.client.server.readmissions`), by pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const readmissions: Counter = Metric.counter(MetricName.readmissions, {
  description: "Memcached servers readmitted after a successful probe",
  incremental: true
})

/**
 * Gets merged per auto-batched command (`memcached.client.autobatch.size`; 1 = not merged), by pool.
 *
 * @since 0.1.0
 * @category metrics
 */
export const autoBatchSize: Histogram = histogram(
  MetricName.autoBatchSize,
  BATCH_BUCKETS,
  "Single-key gets merged into one memcached command"
)
