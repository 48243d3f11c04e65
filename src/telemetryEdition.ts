/**
 * The metrics glue of the telemetry (MemcachedTelemetry, client/telemetry) in this edition's (Effect 3's)
 * spelling: Effect 3's `Metric` takes its boundaries as `MetricBoundaries`, tags a series with
 * `MetricLabel`s and is updated without services. The Effect 4 package has a module of the same name and
 * exports (packages/effect4/src/telemetryEdition.ts). Attribute names, label sets, span naming and key
 * hashing are shared (engine/telemetry.ts, client/telemetry.ts). Internal: not exported from the package.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

/** A number counter (`Metric.Metric.Counter<number>`). */
export type Counter = Metric.Metric.Counter<number>

/** A number gauge (`Metric.Metric.Gauge<number>`). */
export type Gauge = Metric.Metric.Gauge<number>

/** A number histogram (`Metric.Metric.Histogram<number>`). */
export type Histogram = Metric.Metric.Histogram<number>

/** A histogram named `name` over `boundaries` (`MetricBoundaries.fromIterable`). Never fails. */
export const histogram = (name: string, boundaries: ReadonlyArray<number>, description: string): Histogram =>
  Metric.histogram(name, MetricBoundaries.fromIterable(boundaries), description)

/** The attributes of one metric series (`MetricLabel`s in Effect 3). */
export type Labels = ReadonlyArray<MetricLabel.MetricLabel>

/** `attributes` as the {@link Labels} of a series; callers build each set once and keep it. Never fails. */
export const labels = (attributes: Readonly<Record<string, string>>): Labels =>
  Object.entries(attributes).map(([k, v]) => MetricLabel.make(k, v))

/**
 * Updates the series of `metric` tagged `series` by `value`, at once, outside an Effect (`unsafeUpdate`);
 * `services` is unused (Effect 3's metrics need none). Never fails.
 */
export const update = <I>(
  metric: Metric.Metric<any, I, any>,
  value: I,
  series: Labels,
  _services: Context.Context<never>
): void => metric.unsafeUpdate(value, series)

/** The clock's time now, in nanoseconds, outside an Effect (`unsafeCurrentTimeNanos`). Never fails. */
export const nowNanos = (clock: Clock.Clock): bigint => clock.unsafeCurrentTimeNanos()
