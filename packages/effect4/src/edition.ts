/**
 * What the shared sources (editions.json) need that Effect 3 and Effect 4 spell differently, in this
 * edition's (Effect 4's) spelling; the root's src/edition.ts has the same exports for Effect 3. Internal:
 * not exported from the package. One function or type per spelling difference, grouped in titled sections
 * by the modules that use them.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Stream from "effect/Stream"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as MemcachedClient from "./MemcachedClient.js"

// ---------------------------------------------------------------------------------------------
// Outcomes, schemas and streams (ValueCodec, TypedStore)
// ---------------------------------------------------------------------------------------------

/**
 * A synchronous outcome: a success with an `A` or a failure with an `E` (`Result<A, E>` in Effect 4; not
 * an `Effect`, see {@link fromOutcome}). Never fails: it is a value.
 */
export type Outcome<A, E> = Result.Result<A, E>

/** A successful {@link Outcome} (`Result.succeed`). Never fails. */
export const succeed: <A>(value: A) => Outcome<A, never> = Result.succeed

/** A failed {@link Outcome} (`Result.fail`). Never fails. */
export const fail: <E>(error: E) => Outcome<never, E> = Result.fail

/** Maps the success of an {@link Outcome} (`Result.map`); `f` must not throw. Never fails. */
export const map = <A, E, B>(self: Outcome<A, E>, f: (a: A) => B): Outcome<B, E> => Result.map(self, f)

/** Chains an {@link Outcome} on its success (`Result.flatMap`). Fails as `self` or `f` fails. */
export const flatMap = <A, E, B, E2>(self: Outcome<A, E>, f: (a: A) => Outcome<B, E2>): Outcome<B, E | E2> =>
  Result.flatMap(self, f)

/** Maps the failure of an {@link Outcome} (`Result.mapError`); `f` must not throw. Never fails. */
export const mapError = <A, E, E2>(self: Outcome<A, E>, f: (e: E) => E2): Outcome<A, E2> => Result.mapError(self, f)

/** Folds an {@link Outcome} (`Result.match`): `onSuccess` or `onFailure`, whichever applies. Never fails. */
export const match = <A, E, B, C>(
  self: Outcome<A, E>,
  onSuccess: (a: A) => B,
  onFailure: (e: E) => C
): B | C => Result.isSuccess(self) ? onSuccess(self.success) : onFailure(self.failure)

/** An {@link Outcome} as an `Effect` (`Effect.fromResult`); fails with its failure. */
export const fromOutcome = <A, E>(self: Outcome<A, E>): Effect.Effect<A, E> => Effect.fromResult(self)

/** Runs `effect` and captures its typed failure as an {@link Outcome} (`Effect.result`). Never fails. */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.result(effect)

/** A schema the value codecs accept: any Schema 4 codec that needs no services to encode or decode. */
export type AnySchema = Schema.Codec<any, any, never, never>

/** The decoded (application) type of an {@link AnySchema}. */
export type SchemaType<S extends AnySchema> = S["Type"]

/** A schema's failure to encode or decode (Effect 4: a `SchemaError`). */
export type SchemaError = Schema.SchemaError

/**
 * A schema's JSON side: `encode` turns a value into what `JSON.stringify` takes, `decode` checks and turns
 * what `JSON.parse` returned into a value. Through `Schema.toCodecJson`, Effect 4's canonical JSON form, so
 * types without a JSON encoding of their own (`Schema.Date`, `Schema.BigInt`, `Schema.Option`, ...) are
 * stored as their canonical JSON (`Schema.encodeResult` / `Schema.decodeUnknownResult`). Both fail with a
 * {@link SchemaError}, never throw.
 */
export const schemaJson = <S extends AnySchema>(schema: S): {
  readonly encode: (value: SchemaType<S>) => Outcome<unknown, SchemaError>
  readonly decode: (json: unknown) => Outcome<SchemaType<S>, SchemaError>
} => {
  const serializer = Schema.toCodecJson(schema)
  return { encode: Schema.encodeResult(serializer), decode: Schema.decodeUnknownResult(serializer) }
}

/** The readable text of a {@link SchemaError} (its message: the path and what was expected). */
export const schemaErrorMessage = (error: SchemaError): string => error.message

/**
 * Flattens a stream of iterables into a stream of their elements, in order (`Stream.flattenIterable`).
 * Fails as `self` fails.
 */
export const flattenIterables = <A, E, R>(self: Stream.Stream<Iterable<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.flattenIterable(self)

// ---------------------------------------------------------------------------------------------
// Cache-aside, namespaces, Keyv, Promise facade (session 4, D2)
// ---------------------------------------------------------------------------------------------

/** The client service's shape (`MemcachedClient.Service` in Effect 4). */
export type ClientService = MemcachedClient.Service

/** The success type of an {@link Outcome} type. */
export type OutcomeSuccess<O> = O extends Result.Result<infer A, infer _E> ? A : never

/** The failure type of an {@link Outcome} type. */
export type OutcomeFailure<O> = O extends Result.Result<infer _A, infer E> ? E : never

/** Whether `u` is an {@link Outcome}. Never throws. */
export const isOutcome = (u: unknown): u is Outcome<unknown, unknown> => Result.isResult(u)

/** A duration option (`Duration.Input` in Effect 4). */
export type DurationInput = Duration.Input

/** `input` as a Duration, or none when it is not a valid duration. Never throws. */
export const decodeDuration = (input: DurationInput): Option.Option<Duration.Duration> => Duration.fromInput(input)

/** A number counter (`Metric.Counter<number>` in Effect 4). */
export type Counter = Metric.Counter<number>

/** An incremental counter named `name`, with `attributes`. */
export const counter = (name: string, attributes: Readonly<Record<string, string>>): Counter =>
  Metric.counter(name, { incremental: true, attributes })

/**
 * Adds `n` to `c` at once, outside an Effect, with the services in `context` (the metric registry and
 * attributes of the fiber that built the counter's owner).
 */
export const increment = (c: Counter, n: number, context: Context.Context<never>): void => c.updateUnsafe(n, context)

/** A running fiber as the current-fiber accessor gives it (`Fiber.Fiber` in Effect 4). */
export type RunningFiber = Fiber.Fiber<unknown, unknown>

/** The fiber running this effect. Never fails. */
export const currentFiber: Effect.Effect<RunningFiber> = Effect.withFiber<RunningFiber>((fiber) =>
  Effect.succeed(fiber)
)

/** Runs `effect` in a new fiber of the global scope (a daemon, interruptible), returned at once. */
export const forkDaemon = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<RunningFiber, never, R> =>
  Effect.forkDetach(effect, { uninterruptible: false }) as Effect.Effect<RunningFiber, never, R>

/** Interrupts `fiber` without waiting for it to end. Never fails. */
export const interruptFork = (fiber: RunningFiber): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber)))

/** The layer of the service `tag` built by the scoped `effect` (its scope is the layer's). */
export const scopedLayer = <I, S, E, R>(
  tag: Context.Key<I, S>,
  effect: Effect.Effect<S, E, R>
): Layer.Layer<I, E, Exclude<R, Scope.Scope>> => Layer.effect(tag, effect)

/** A scope that can be closed (`Scope.Closeable` in Effect 4). */
export type CloseableScope = Scope.Closeable

/** Runs the scoped `effect` in `scope` (its finalizers run when `scope` closes). */
export const inScope = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  scope: Scope.Scope
): Effect.Effect<A, E, Exclude<R, Scope.Scope>> => Scope.provide(effect, scope)

/** The typed failure of `cause`, if it has one. */
export const failureOf = <E>(cause: Cause.Cause<E>): Option.Option<E> => Cause.findErrorOption(cause)

/** Whether `cause` is interruption only. */
export const isInterruptedOnly = <E>(cause: Cause.Cause<E>): boolean => Cause.hasInterruptsOnly(cause)

/** An effect completed by `register`'s `resume`; `register` may return its clean-up (`Effect.callback` in Effect 4). */
export const callback: <A, E = never>(
  register: (resume: (effect: Effect.Effect<A, E>) => void) => Effect.Effect<void> | void
) => Effect.Effect<A, E> = Effect.callback

/** `stream` as an async iterable running on `runtime`. Rejects if the runtime cannot be built. */
export const toAsyncIterable = async <A, E, R, ER>(
  runtime: ManagedRuntime.ManagedRuntime<R, ER>,
  stream: Stream.Stream<A, E, R>
): Promise<AsyncIterable<A>> => Stream.toAsyncIterableWith(stream, await runtime.context())

/**
 * Exponential delays from `initial` by `factor`, each jittered (×0.8–1.2) then capped at `max`; none
 * starts once `total` has elapsed since the first.
 */
export const cappedBackoff = (
  initial: Duration.Duration,
  factor: number,
  max: Duration.Duration,
  total: Duration.Duration
): Schedule.Schedule<unknown> =>
  Schedule.exponential(initial, factor).pipe(
    Schedule.jittered,
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, max))),
    Schedule.upTo({ duration: total })
  )

/**
 * The steps of `schedule`: each sleeps the next delay and succeeds `true`, or succeeds `false` (without
 * sleeping) once the schedule is over. Never fails.
 */
export const scheduleSteps = <Out>(
  schedule: Schedule.Schedule<Out>
): Effect.Effect<Effect.Effect<boolean>> =>
  Effect.map(
    Schedule.toStepWithSleep(schedule),
    (step) => Effect.match(step(undefined), { onFailure: () => false, onSuccess: () => true })
  )

// --- Outcomes, durations, streams (Bulk, the integrations, the bench driver) ---------------------------

/**
 * Whether an {@link Outcome} is a success (`Result.isSuccess`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const isSuccess = <A, E>(o: Outcome<A, E>): boolean => Result.isSuccess(o)

/**
 * `Option.some(a)` unless `a` is `null` or `undefined` (`Option.fromNullishOr`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const fromNullable = <A>(a: A): Option.Option<NonNullable<A>> => Option.fromNullishOr(a)

// --- Discovery (session 4, F1) ------------------------------------------------------------------

/** A configuration error (`Config.ConfigError` in Effect 4). */
export type ConfigError = Config.ConfigError

/** A configuration error naming the entry at `path` (a `SchemaError` at that pointer). Never fails. */
export const configError = (path: ReadonlyArray<string>, message: string): ConfigError =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer(path, new SchemaIssue.InvalidValue({ message })))
  )

/** `times` recurrences, `delay` apart (`Schedule.spaced` up to `times`). */
export const spacedTimes = (delay: DurationInput, times: number): Schedule.Schedule<unknown> =>
  Schedule.spaced(delay).pipe(Schedule.upTo({ times }))

/** Offers `value` to `queue` at once, outside an Effect (`Queue.offerUnsafe`); false when it is full. */
export const offerNow = <A>(queue: Queue.Queue<A>, value: A): boolean => Queue.offerUnsafe(queue, value)

/** Drops what `queue` holds, without waiting (`Queue.clear`). Never fails. */
export const clearQueue = <A>(queue: Queue.Queue<A>): Effect.Effect<void> => Effect.asVoid(Queue.clear(queue))

// --- Client option checks (client/options.ts) -----------------------------------------------------

/**
 * A configuration error naming the entry `path` and what is wrong with it (a `Config.ConfigError` over a
 * `SchemaIssue.Pointer` to `path`). Never fails: it is a value.
 *
 * @since 0.1.0
 * @internal
 */
export const invalidConfig = (path: string, message: string): ConfigError => configError([path], message)

/**
 * Whether `u` is a {@link ConfigError} (`instanceof Config.ConfigError`). Never throws.
 *
 * @since 0.1.0
 * @internal
 */
export const isConfigError = (u: unknown): u is ConfigError => u instanceof Config.ConfigError
