/**
 * The metrics glue of the telemetry (MemcachedTelemetry, client/telemetry) in this edition's (Effect 4's)
 * spelling: Effect 4's `Metric` takes its boundaries as an option, a series is a `Metric.withAttributes`
 * view, updated with `updateUnsafe` in the client's services (so the registry `@effect/opentelemetry`
 * reads is the one of the layer that built the client). The Effect 3 package has a module of the same name
 * and exports (src/telemetryEdition.ts). Attribute names, label sets, span naming and key hashing are
 * shared (engine/telemetry.ts, client/telemetry.ts). Internal: not exported from the package.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Metric from "effect/Metric"

/** A number counter (`Metric.Counter<number>`). */
export type Counter = Metric.Counter<number>

/** A number gauge (`Metric.Gauge<number>`). */
export type Gauge = Metric.Gauge<number>

/** A number histogram (`Metric.Histogram<number>`). */
export type Histogram = Metric.Histogram<number>

/** A histogram named `name` over `boundaries`. Never fails. */
export const histogram = (name: string, boundaries: ReadonlyArray<number>, description: string): Histogram =>
  Metric.histogram(name, { description, boundaries })

/** The attributes of one metric series (a record in Effect 4; its identity keys the series' view). */
export type Labels = Readonly<Record<string, string>>

/** `attributes` as the {@link Labels} of a series (itself); callers build each set once and keep it. */
export const labels = (attributes: Readonly<Record<string, string>>): Labels => attributes

/** The `Metric.withAttributes` view of each metric per label set (label sets are cached by their owners). */
const views = new WeakMap<Labels, Map<Metric.Metric<any, any>, Metric.Metric<any, any>>>()

/**
 * Updates the series of `metric` with attributes `series` by `value`, at once, outside an Effect
 * (`updateUnsafe` in `services`: their `MetricRegistry`). Never fails.
 */
export const update = <I>(
  metric: Metric.Metric<I, any>,
  value: I,
  series: Labels,
  services: Context.Context<never>
): void => {
  let byMetric = views.get(series)
  if (byMetric === undefined) views.set(series, byMetric = new Map())
  let view = byMetric.get(metric)
  if (view === undefined) byMetric.set(metric, view = Metric.withAttributes(metric, series))
  view.updateUnsafe(value, services)
}

/** The clock's time now, in nanoseconds, outside an Effect (`currentTimeNanosUnsafe`). Never fails. */
export const nowNanos = (clock: Clock.Clock): bigint => clock.currentTimeNanosUnsafe()
