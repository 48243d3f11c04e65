/**
 * A Promise facade over the real {@link MemcachedClient}: every command as an `async` method, for code
 * that is not written with Effect. It runs the client's own layers in a `ManagedRuntime` (there is no
 * second implementation), so validation, routing, auto-batching, timeouts and retries are the Effect
 * client's.
 *
 * - Results: `Option` becomes `value | undefined`; per-key bulk outcomes (`Either` in Effect 3, `Result` in
 *   Effect 4) become
 *   {@link Outcome} objects (`{ ok: true, value }` or `{ ok: false, error }`).
 * - Errors: a failed call rejects with the very `MemcachedError` the Effect API fails with
 *   (`MemcachedInputError`, `MemcachedStoreError`, …): `Error` subclasses carrying `_tag` and `reason`.
 *   A layer that cannot be built (invalid options) rejects every call with its `ConfigError`.
 * - Abort: `client.withSignal(signal).get(key)` runs that call under `signal`. A signal already aborted
 *   rejects at once with `signal.reason`, before anything is sent; an abort while the request is in
 *   flight interrupts it the way an Effect interruption does (the connection stays in sync: the reply
 *   is still read and dropped) and rejects with `signal.reason`.
 * - `close()` disposes the runtime (closing every connection); later calls reject with
 *   `MemcachedConnectionError("Closed")`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Bulk from "./Bulk.js"
import * as CacheAside from "./CacheAside.js"
import { METHODS } from "./engine/telemetry.js"
import {
  callback,
  type ClientService,
  type CloseableScope,
  failureOf,
  inScope,
  isInterruptedOnly,
  isOutcome,
  match,
  type Outcome as EditionOutcome,
  type OutcomeFailure,
  type OutcomeSuccess,
  toAsyncIterable
} from "./edition.js"
import * as MemcachedClient from "./MemcachedClient.js"
import { MemcachedConnectionError } from "./MemcachedError.js"

/**
 * The outcome of one key in a bulk operation: `{ ok: true, value }` when it succeeded (for reads,
 * `value` is the item or `undefined` on a miss), `{ ok: false, error }` when it failed.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome<A, E> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly error: E }

/**
 * What a client method resolves to, given what its Effect resolves to: `Option<A>` → `A | undefined`;
 * a map of per-key outcomes (`Either` / `Result`) → a map of {@link Outcome}s; anything else unchanged.
 *
 * @since 0.1.0
 * @category models
 */
export type Plain<X> = X extends Option.Option<infer A> ? A | undefined
  : X extends ReadonlyMap<infer K, EditionOutcome<infer R, infer L>> ? ReadonlyMap<K, Outcome<Plain<R>, L>>
  : X

type AsyncMethod<F> = F extends (...args: infer P) => Effect.Effect<infer A, infer _E, infer _R>
  ? (...args: P) => Promise<Plain<A>>
  : never

type EffectMethods = {
  readonly [
    K in keyof ClientService as ClientService[K] extends
      (...args: ReadonlyArray<never>) => Effect.Effect<unknown, unknown, unknown> ? K : never
  ]: AsyncMethod<
    ClientService[K]
  >
}

/**
 * The commands of the client as Promises: one `async` method per Effect method of
 * the client service, with the same parameters, each rejecting with the same typed
 * error its Effect fails with (see that interface for which method fails with what).
 *
 * @since 0.1.0
 * @category models
 */
export type Commands = EffectMethods

/**
 * The bulk operations of {@link Bulk} as Promises. `getEach` reports every key's own outcome (a failing
 * server fails only its keys) and never rejects for a key's failure; the writes report each key's
 * outcome like the client's `setMany` / `deleteMany` / `touchMany`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BulkCommands {
  readonly getEach: (
    keys: Iterable<string>,
    options?: Parameters<typeof Bulk.getEach>[2]
  ) => Promise<Plain<SuccessOf<ReturnType<typeof Bulk.getEach>>>>
  readonly setMany: AsyncMethod<
    (...args: DropFirst<Parameters<typeof Bulk.setMany>>) => ReturnType<typeof Bulk.setMany>
  >
  readonly deleteMany: AsyncMethod<
    (...args: DropFirst<Parameters<typeof Bulk.deleteMany>>) => ReturnType<typeof Bulk.deleteMany>
  >
  readonly touchMany: AsyncMethod<
    (...args: DropFirst<Parameters<typeof Bulk.touchMany>>) => ReturnType<typeof Bulk.touchMany>
  >
  /**
   * The streaming multiget as an async iterable: keys in (any iterable or async iterable), `[key,
   * outcome]` out in input order, batched and bounded like `Bulk.getStream`. A server failure is an
   * outcome, not a rejection; the iteration rejects only when the key source throws (with its error),
   * when the client is closed, or on abort (with `signal.reason`). Breaking out of the loop stops it.
   */
  readonly getStream: (
    keys: Iterable<string> | AsyncIterable<string>,
    options?: Bulk.StreamOptions
  ) => AsyncIterable<readonly [string, StreamOutcome]>
}

/**
 * One key's outcome in {@link BulkCommands.getStream}: the item (`undefined` on a miss) or the error.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamOutcome = Outcome<
  Plain<OutcomeSuccess<Bulk.GetResult>>,
  OutcomeFailure<Bulk.GetResult>
>

type SuccessOf<T> = T extends Effect.Effect<infer A, infer _E, infer _R> ? A : never

type DropFirst<P> = P extends readonly [unknown, ...infer Rest] ? Rest : never

/**
 * A Promise client: the {@link Commands}, {@link BulkCommands} under `bulk`, `withSignal` for a
 * per-call `AbortSignal`, `run` to run any Effect program against the same client, and `close`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PromiseClient<R = MemcachedClient.MemcachedClient, ER = unknown> extends Commands {
  /** The bulk operations (per-key outcomes). */
  readonly bulk: BulkCommands
  /** The servers, in configuration order. Rejects only when the layer cannot be built (its error). */
  readonly servers: () => Promise<ClientService["servers"]>
  /** Index (in {@link PromiseClient.servers}) of the server `key` is routed to. Rejects like `servers`. */
  readonly serverFor: (key: string) => Promise<number>
  /**
   * The same client whose calls run under `signal`: aborted before the call, it rejects with
   * `signal.reason` and sends nothing; aborted in flight, the request is interrupted and the call
   * rejects with `signal.reason`.
   */
  readonly withSignal: (signal: AbortSignal) => PromiseClient<R, ER>
  /**
   * Cache-aside with leases ({@link CacheAside.Service.getOrSet}): the cached value of `key`, or the
   * result of `compute` stored under it so that `compute` runs once per expiry across every client of
   * the cluster (concurrent calls in this process share one `mg` and one `compute`). `compute` gets an
   * `AbortSignal` that fires when every caller of the flight is gone. Rejects with `compute`'s own
   * rejection (after the lease is released), a `MemcachedError`, or `CacheAsideLeaseTimeout`; on a
   * text-only server with `MemcachedInputError("Unsupported")`.
   */
  readonly getOrSet: (
    key: string,
    compute: (signal: AbortSignal) => Promise<MemcachedClient.Value>,
    options?: CacheAside.RawOptions
  ) => Promise<Uint8Array>
  /**
   * Marks `key` stale ({@link CacheAside.Service.invalidate}): readers get the old value while one
   * of them recomputes it. `false` when the key does not exist. Rejects with a `MemcachedError`.
   */
  readonly invalidate: (key: string, options?: CacheAside.InvalidateOptions) => Promise<boolean>
  /**
   * Runs an Effect program that needs the client (or any service of the layer) and settles like the
   * methods do: resolves with its value, rejects with its typed error (not a `FiberFailure`), or with
   * `signal.reason` when aborted.
   */
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<A>
  /** The runtime the client lives in (for advanced use: `runtime.runFork`, streams, …). */
  readonly runtime: ManagedRuntime.ManagedRuntime<R, ER>
  /** True once {@link PromiseClient.close} was called. */
  readonly closed: boolean
  /**
   * Closes every connection and disposes the runtime. Requests still pending fail with
   * `MemcachedConnectionError("Closed")`; later calls reject with it. Idempotent; never rejects.
   */
  readonly close: () => Promise<void>
}

/** Converts an Effect result into its Promise-facing form (see {@link Plain}). */
const toPlain = (value: unknown): unknown => {
  if (Option.isOption(value)) return Option.getOrUndefined(value)
  if (value instanceof Map) {
    let outcomes = false
    for (const v of value.values()) {
      outcomes = isOutcome(v)
      break
    }
    if (!outcomes) return value
    const out = new Map<unknown, Outcome<unknown, unknown>>()
    for (const [k, v] of value as Map<unknown, EditionOutcome<unknown, unknown>>) {
      out.set(k, match(v, (found) => ({ ok: true, value: toPlain(found) }), (error) => ({ ok: false, error })))
    }
    return out
  }
  return value
}

const toPlainOutcome = (result: Bulk.GetResult): StreamOutcome =>
  match(
    result,
    (found): StreamOutcome => ({ ok: true, value: Option.getOrUndefined(found) }),
    (error): StreamOutcome => ({ ok: false, error })
  )

/** Fails with `signal.reason` once `signal` aborts. */
const aborted = (signal: AbortSignal): Effect.Effect<never, unknown> =>
  callback<never, unknown>((resume) => {
    const onAbort = () => resume(Effect.fail(signal.reason))
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })

/** The error a failed exit rejects with: the typed failure itself, the abort reason, or the defect. */
const rejection = (cause: Cause.Cause<unknown>, signal: AbortSignal | undefined): unknown => {
  const failure = failureOf(cause)
  if (Option.isSome(failure)) return failure.value
  if (signal?.aborted === true && isInterruptedOnly(cause)) return signal.reason
  return Cause.squash(cause)
}

const closedError = () =>
  new MemcachedConnectionError({ reason: "Closed", server: "", message: "the Promise client was closed" })

interface Shared<R, ER> {
  readonly runtime: ManagedRuntime.ManagedRuntime<R, ER>
  closed: boolean
  /** The cache-aside service (its single-flight table is shared by every call), built on first use. */
  cacheAside?: Promise<CacheAside.Service> | undefined
  cacheAsideScope?: CloseableScope | undefined
}

const runner =
  <R, ER>(shared: Shared<R, ER>, signal: AbortSignal | undefined) =>
  <A, E>(effect: Effect.Effect<A, E, R>): Promise<A> => {
    if (shared.closed) return Promise.reject(closedError())
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    return shared.runtime.runPromiseExit(effect, signal === undefined ? undefined : { signal }).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      // A runtime's disposal may interrupt the calls still running (Effect 4's does): close() cut them.
      if (shared.closed && isInterruptedOnly(exit.cause)) throw closedError()
      throw rejection(exit.cause, signal)
    })
  }

/**
 * The Effect methods of the service, by name (the engine's one list of them). Checked against the interface both ways: a name that is
 * not a method fails to compile, and so does a method missing here (see `exhaustive` below), so a
 * command added to the client cannot be silently absent from the facade.
 */
const commandNames = METHODS satisfies ReadonlyArray<keyof Commands>

type MissingCommand = Exclude<keyof Commands, typeof commandNames[number]>
const exhaustive: [MissingCommand] extends [never] ? true : { readonly missing: MissingCommand } = true
void exhaustive

const build = <R, ER>(
  shared: Shared<R | MemcachedClient.MemcachedClient, ER>,
  signal: AbortSignal | undefined
): PromiseClient<R | MemcachedClient.MemcachedClient, ER> => {
  const run = runner(shared, signal)
  const call = (f: (client: ClientService) => Effect.Effect<unknown, unknown>) =>
    run(Effect.flatMap(MemcachedClient.MemcachedClient, f)).then(toPlain)
  const commands: Record<string, (...args: Array<unknown>) => Promise<unknown>> = {}
  for (const name of commandNames) {
    commands[name] = (...args) =>
      call((client) => (client[name] as (...a: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args))
  }
  const getStream: BulkCommands["getStream"] = (keys, options) => {
    const source: Stream.Stream<string, unknown> = Symbol.asyncIterator in keys
      ? Stream.fromAsyncIterable(keys as AsyncIterable<string>, (e) => e)
      : Stream.fromIterable(keys as Iterable<string>)
    const results = Stream.unwrap(
      Effect.map(MemcachedClient.MemcachedClient, (client) => Bulk.getStream(client, options)(source))
    ).pipe(Stream.map(([key, result]) => [key, toPlainOutcome(result)] as const))
    const guarded = signal === undefined ? results : Stream.interruptWhen(results, aborted(signal))
    async function* iterate(): AsyncGenerator<readonly [string, StreamOutcome]> {
      if (shared.closed) throw closedError()
      if (signal?.aborted === true) throw signal.reason
      yield* await toAsyncIterable(shared.runtime, guarded)
    }
    return iterate()
  }
  const bulk: BulkCommands = {
    getStream,
    getEach: (keys, options) => call((client) => Bulk.getEach(client, keys, options)) as never,
    setMany: (entries, options) => call((client) => Bulk.setMany(client, entries, options)) as never,
    deleteMany: (keys) => call((client) => Bulk.deleteMany(client, keys)) as never,
    touchMany: (keys, ttl) => call((client) => Bulk.touchMany(client, keys, ttl)) as never
  }
  // One cache-aside service per client, living until close() (its flights end with its scope).
  const cacheAside = (): Promise<CacheAside.Service> =>
    shared.cacheAside ??= run(Effect.gen(function*() {
      const scope = yield* Scope.make()
      shared.cacheAsideScope = scope
      return yield* inScope(CacheAside.make(), scope)
    }))
  const base: Record<string, unknown> = {
    ...commands,
    bulk,
    getOrSet: async (
      key: string,
      compute: (signal: AbortSignal) => Promise<MemcachedClient.Value>,
      options?: CacheAside.RawOptions
    ) => {
      const cache = await cacheAside()
      return run(cache.getOrSet(key, Effect.tryPromise({ try: compute, catch: (e) => e }), options))
    },
    invalidate: async (key: string, options?: CacheAside.InvalidateOptions) =>
      run((await cacheAside()).invalidate(key, options)),
    servers: () => run(Effect.map(MemcachedClient.MemcachedClient, (client) => client.servers)),
    serverFor: (key: string) => run(Effect.map(MemcachedClient.MemcachedClient, (client) => client.serverFor(key))),
    run,
    runtime: shared.runtime,
    withSignal: (s: AbortSignal) => build<R, ER>(shared, s),
    close: async () => {
      if (shared.closed) return
      shared.closed = true
      const scope = shared.cacheAsideScope
      if (scope !== undefined) await shared.runtime.runPromise(Scope.close(scope, Exit.void))
      await shared.runtime.dispose()
    }
  }
  Object.defineProperty(base, "closed", { get: () => shared.closed, enumerable: true })
  return base as unknown as PromiseClient<R | MemcachedClient.MemcachedClient, ER>
}

/**
 * A Promise client over any layer that provides a {@link MemcachedClient.MemcachedClient} (for instance
 * `MemcachedTest.layer()` for the in-memory server, or a layer with a custom transport or ring). The
 * layer is built on the first call; a layer that fails to build rejects each call with its error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromLayer = <R, ER>(
  layer: Layer.Layer<R | MemcachedClient.MemcachedClient, ER>
): PromiseClient<R | MemcachedClient.MemcachedClient, ER> =>
  build<R, ER>({ runtime: ManagedRuntime.make(layer), closed: false }, undefined)

/**
 * A Promise client configured by options, over `MemcachedClient.layer(options)`. Invalid options
 * reject every call with the `ConfigError` naming the option; each command rejects with the typed
 * `MemcachedError` its Effect fails with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (
  options: MemcachedClient.MemcachedClientOptions = {}
): PromiseClient<MemcachedClient.MemcachedClient, unknown> => fromLayer(MemcachedClient.layer(options))
