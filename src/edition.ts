/**
 * What the shared sources (packages/effect4/editions.json) need that Effect 3 and Effect 4 spell
 * differently, in this edition's (Effect 3's) spelling. The Effect 4 package has a module of the same name
 * and exports (packages/effect4/src/edition.ts). Internal: not exported from the package. One function or
 * type per spelling difference, grouped in titled sections by the modules that use them.
 */
import * as ConfigErrors from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
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
 * A synchronous outcome: a success with an `A` or a failure with an `E` (`Either<A, E>` in Effect 3,
 * itself an `Effect` that fails with `E`). Never fails: it is a value.
 */
export type Outcome<A, E> = Either.Either<A, E>

/** A successful {@link Outcome} (`Either.right`). Never fails. */
export const succeed: <A>(value: A) => Outcome<A, never> = Either.right

/** A failed {@link Outcome} (`Either.left`). Never fails. */
export const fail: <E>(error: E) => Outcome<never, E> = Either.left

/** Maps the success of an {@link Outcome} (`Either.map`); `f` must not throw. Never fails. */
export const map = <A, E, B>(self: Outcome<A, E>, f: (a: A) => B): Outcome<B, E> => Either.map(self, f)

/** Chains an {@link Outcome} on its success (`Either.flatMap`). Fails as `self` or `f` fails. */
export const flatMap = <A, E, B, E2>(self: Outcome<A, E>, f: (a: A) => Outcome<B, E2>): Outcome<B, E | E2> =>
  Either.flatMap(self, f)

/** Maps the failure of an {@link Outcome} (`Either.mapLeft`); `f` must not throw. Never fails. */
export const mapError = <A, E, E2>(self: Outcome<A, E>, f: (e: E) => E2): Outcome<A, E2> => Either.mapLeft(self, f)

/** Folds an {@link Outcome} (`Either.match`): `onSuccess` or `onFailure`, whichever applies. Never fails. */
export const match = <A, E, B, C>(
  self: Outcome<A, E>,
  onSuccess: (a: A) => B,
  onFailure: (e: E) => C
): B | C => Either.isRight(self) ? onSuccess(self.right) : onFailure(self.left)

/** An {@link Outcome} as an `Effect` (in Effect 3 an `Either` already is one); fails with its failure. */
export const fromOutcome = <A, E>(self: Outcome<A, E>): Effect.Effect<A, E> => self

/** Runs `effect` and captures its typed failure as an {@link Outcome} (`Effect.either`). Never fails. */
export const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Outcome<A, E>, never, R> =>
  Effect.either(effect)

/** A schema the value codecs accept: an Effect 3 `Schema<A, I>` that needs no services. */
export type AnySchema = Schema.Schema<any, any, never>

/** The decoded (application) type of an {@link AnySchema}. */
export type SchemaType<S extends AnySchema> = Schema.Schema.Type<S>

/** A schema's failure to encode or decode (Effect 3: a `ParseError`). */
export type SchemaError = ParseResult.ParseError

/**
 * A schema's JSON side: `encode` turns a value into what `JSON.stringify` takes, `decode` checks and turns
 * what `JSON.parse` returned into a value (`Schema.encodeEither` / `Schema.decodeUnknownEither`: in Effect
 * 3 a schema's encoded side is its JSON form). Both fail with a {@link SchemaError}, never throw.
 */
export const schemaJson = <S extends AnySchema>(schema: S): {
  readonly encode: (value: SchemaType<S>) => Outcome<unknown, SchemaError>
  readonly decode: (json: unknown) => Outcome<SchemaType<S>, SchemaError>
} => ({ encode: Schema.encodeEither(schema), decode: Schema.decodeUnknownEither(schema) })

/** The readable text of a {@link SchemaError} (`TreeFormatter`: the path and what was expected). */
export const schemaErrorMessage = (error: SchemaError): string => ParseResult.TreeFormatter.formatErrorSync(error)

/**
 * Flattens a stream of iterables into a stream of their elements, in order (`Stream.flattenIterables`).
 * Fails as `self` fails.
 */
export const flattenIterables = <A, E, R>(self: Stream.Stream<Iterable<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.flattenIterables(self)

// ---------------------------------------------------------------------------------------------
// Cache-aside, namespaces, Keyv, Promise facade (session 4, D2)
// ---------------------------------------------------------------------------------------------

/** The client service's shape (`MemcachedClient.MemcachedClient` in Effect 3). */
export type ClientService = MemcachedClient.MemcachedClient

/** The success type of an {@link Outcome} type. */
export type OutcomeSuccess<O> = O extends Either.Either<infer A, infer _E> ? A : never

/** The failure type of an {@link Outcome} type. */
export type OutcomeFailure<O> = O extends Either.Either<infer _A, infer E> ? E : never

/** Whether `u` is an {@link Outcome}. Never throws. */
export const isOutcome = (u: unknown): u is Outcome<unknown, unknown> => Either.isEither(u)

/** A duration option (`Duration.DurationInput` in Effect 3). */
export type DurationInput = Duration.DurationInput

/** `input` as a Duration, or none when it is not a valid duration. Never throws. */
export const decodeDuration = (input: DurationInput): Option.Option<Duration.Duration> => Duration.decodeUnknown(input)

/** A number counter (`Metric.Metric.Counter<number>` in Effect 3). */
export type Counter = Metric.Metric.Counter<number>

/** An incremental counter named `name`, tagged with `attributes`. */
export const counter = (name: string, attributes: Readonly<Record<string, string>>): Counter => {
  let c: Counter = Metric.counter(name, { incremental: true })
  for (const [k, v] of Object.entries(attributes)) c = Metric.tagged(c, k, v)
  return c
}

/**
 * Adds `n` to `c` at once, outside an Effect; `context` is the services it is updated with (unused by
 * Effect 3's counters, which need none).
 */
export const increment = (c: Counter, n: number, _context: Context.Context<never>): void => c.unsafeUpdate(n, [])

/** A running fiber as the current-fiber accessor gives it (`Fiber.RuntimeFiber` in Effect 3). */
export type RunningFiber = Fiber.RuntimeFiber<unknown, unknown>

/** The fiber running this effect. Never fails. */
export const currentFiber: Effect.Effect<RunningFiber> = Effect.withFiberRuntime<RunningFiber>((fiber) =>
  Effect.succeed(fiber)
)

/** Runs `effect` in a new fiber of the global scope (a daemon, interruptible), returned at once. */
export const forkDaemon = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<RunningFiber, never, R> =>
  Effect.forkDaemon(effect) as Effect.Effect<RunningFiber, never, R>

/** Interrupts `fiber` without waiting for it to end. Never fails. */
export const interruptFork = (fiber: RunningFiber): Effect.Effect<void> => Fiber.interruptFork(fiber)

/** The layer of the service `tag` built by the scoped `effect` (its scope is the layer's). */
export const scopedLayer = <I, S, E, R>(
  tag: Context.Tag<I, S>,
  effect: Effect.Effect<S, E, R>
): Layer.Layer<I, E, Exclude<R, Scope.Scope>> => Layer.scoped(tag, effect)

/** A scope that can be closed (`Scope.CloseableScope` in Effect 3). */
export type CloseableScope = Scope.CloseableScope

/** Runs the scoped `effect` in `scope` (its finalizers run when `scope` closes). */
export const inScope = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  scope: Scope.Scope
): Effect.Effect<A, E, Exclude<R, Scope.Scope>> => Scope.extend(effect, scope)

/** The typed failure of `cause`, if it has one. */
export const failureOf = <E>(cause: Cause.Cause<E>): Option.Option<E> => Cause.failureOption(cause)

/** Whether `cause` is interruption only. */
export const isInterruptedOnly = <E>(cause: Cause.Cause<E>): boolean => Cause.isInterruptedOnly(cause)

/** An effect completed by `register`'s `resume`; `register` may return its clean-up (`Effect.async` in Effect 3). */
export const callback: <A, E = never>(
  register: (resume: (effect: Effect.Effect<A, E>) => void) => Effect.Effect<void> | void
) => Effect.Effect<A, E> = Effect.async

/** `stream` as an async iterable running on `runtime`. Rejects if the runtime cannot be built. */
export const toAsyncIterable = async <A, E, R, ER>(
  runtime: ManagedRuntime.ManagedRuntime<R, ER>,
  stream: Stream.Stream<A, E, R>
): Promise<AsyncIterable<A>> => Stream.toAsyncIterableRuntime<A, R>(await runtime.runtime())(stream)

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
    Schedule.modifyDelay((d) => Duration.min(d, max)),
    Schedule.upTo(total)
  )

/**
 * The steps of `schedule`: each sleeps the next delay and succeeds `true`, or succeeds `false` (without
 * sleeping) once the schedule is over. Never fails.
 */
export const scheduleSteps = <Out>(
  schedule: Schedule.Schedule<Out>
): Effect.Effect<Effect.Effect<boolean>> =>
  Effect.map(
    Schedule.driver(schedule),
    (driver) => Effect.match(driver.next(undefined), { onFailure: () => false, onSuccess: () => true })
  )

// --- Outcomes, durations, streams (Bulk, the integrations, the bench driver) ---------------------------

/**
 * Whether an {@link Outcome} is a success (`Either.isRight`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const isSuccess = <A, E>(o: Outcome<A, E>): boolean => Either.isRight(o)

/**
 * `Option.some(a)` unless `a` is `null` or `undefined` (`Option.fromNullable`). Never fails.
 *
 * @since 0.1.0
 * @internal
 */
export const fromNullable = <A>(a: A): Option.Option<NonNullable<A>> => Option.fromNullable(a)

// --- Discovery (session 4, F1) ------------------------------------------------------------------

/** A configuration error (`ConfigError.ConfigError` in Effect 3). */
export type ConfigError = ConfigErrors.ConfigError

/** A configuration error naming the entry at `path` (`ConfigError.InvalidData`). Never fails. */
export const configError = (path: ReadonlyArray<string>, message: string): ConfigError =>
  ConfigErrors.InvalidData([...path], message)

/** `times` recurrences, `delay` apart (`Schedule.intersect(Schedule.spaced, Schedule.recurs)`). */
export const spacedTimes = (delay: DurationInput, times: number): Schedule.Schedule<unknown> =>
  Schedule.intersect(Schedule.spaced(delay), Schedule.recurs(times))

/** Offers `value` to `queue` at once, outside an Effect (`Queue.unsafeOffer`); false when it is full. */
export const offerNow = <A>(queue: Queue.Queue<A>, value: A): boolean => Queue.unsafeOffer(queue, value)

/** Drops what `queue` holds, without waiting (`Queue.takeAll`). Never fails. */
export const clearQueue = <A>(queue: Queue.Queue<A>): Effect.Effect<void> => Effect.asVoid(Queue.takeAll(queue))

// --- Client option checks (client/options.ts) -----------------------------------------------------

/**
 * A configuration error naming the entry `path` and what is wrong with it (`ConfigError.InvalidData`).
 * Never fails: it is a value.
 *
 * @since 0.1.0
 * @internal
 */
export const invalidConfig = (path: string, message: string): ConfigError => configError([path], message)

/**
 * Whether `u` is a {@link ConfigError} (`ConfigError.isConfigError`). Never throws.
 *
 * @since 0.1.0
 * @internal
 */
export const isConfigError = (u: unknown): u is ConfigError => ConfigErrors.isConfigError(u)
