/**
 * Stampede-proof cache-aside over memcached's meta protocol: `getOrSet` with leases, stale-while-revalidate,
 * early refresh and in-process single-flight.
 *
 * One `mg <key> v c f t N<lockTtl> [R<recache>] [T<touch>]` decides what a caller does:
 *
 * | reply | meaning | what happens |
 * |---|---|---|
 * | value, no `W`/`Z`/`X` | hit | the value |
 * | empty stub + `W` | miss, this client holds the lease | `compute`, then `ms … C<cas>` (a lost CAS is expected) |
 * | value + `W` (`R` crossed, or `X` after {@link Service.invalidate}) | early refresh won | the current value at once; `compute` + `ms C` in the background |
 * | value + `Z` or `X` | someone else refreshes | the current (possibly stale) value |
 * | empty stub + `Z` | someone else computes | wait on a jittered backoff bounded by the lease TTL, then retry the `mg` |
 *
 * Concurrent callers of one key in one process share one flight: one `mg`, one `compute`, one write. The
 * flight runs in a fiber of the service's scope; callers await its result, so interrupting one caller never
 * cancels the compute the others wait for, and when every caller is gone the flight is interrupted and its
 * lease released (`md <key> C<cas>`).
 *
 * Text-protocol servers: every operation fails with `MemcachedInputError("Unsupported")` (from `metaGet`).
 * An `add`-a-lock-key fallback was rejected: it cannot serve stale values, cannot invalidate to stale, holds
 * locks in a second key that a proxy may route elsewhere, and would silently weaken the guarantees documented
 * here. A typed failure makes the missing capability visible.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { Ttl } from "./Key.js"
import * as MemcachedClient from "./MemcachedClient.js"
import { MemcachedInputError, type MemcachedError } from "./MemcachedError.js"
import type * as ValueCodec from "./ValueCodec.js"
import { type Codec, Engine, LeaseTimeout, rawCodec, resolve, type Step, toBytes } from "./cacheAside/lease.js"
import { CacheAside } from "./cacheAside/service.js"
import {
  type Counter,
  counter,
  currentFiber,
  type DurationInput,
  forkDaemon,
  interruptFork,
  type RunningFiber,
  scopedLayer
} from "./edition.js"
import { type ClientTelemetry, telemetryOf } from "./client/telemetry.js"
import { Attr, type CacheAsideOutcome } from "./engine/telemetry.js"

// ---------------------------------------------------------------------------------------------
// Errors and options
// ---------------------------------------------------------------------------------------------

/**
 * Another client held the lease of `keys` for the whole wait (bounded by the lease TTL + `wait.max`); only
 * raised with `onLeaseTimeout: "fail"` (the default). Re-exported from the engine module.
 *
 * @since 0.1.0
 * @category errors
 */
export { LeaseTimeout }

/**
 * The failures a cache-aside call adds to the caller's own `compute` error: a `MemcachedError` of the
 * `mg` (network, server, protocol; `MemcachedInputError` for an invalid key or option, or
 * `MemcachedInputError("Unsupported")` on a text-protocol server) or a {@link LeaseTimeout}.
 *
 * @since 0.1.0
 * @category errors
 */
export type CacheAsideError = MemcachedError | LeaseTimeout

/**
 * How a caller that finds another client's lease (empty stub + `Z`) waits: exponential backoff from
 * `initial` by `factor`, each delay jittered (×0.8–1.2) and capped at `max`, for at most the lease TTL
 * (see {@link GetOrSetOptions.lockTtl}) plus one `max`. Defaults: 10 ms, 1.5, 250 ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  readonly initial?: DurationInput | undefined
  readonly factor?: number | undefined
  readonly max?: DurationInput | undefined
}

/**
 * Probabilistic early expiration (XFetch, Vattani et al. 2015): every read asks the server for the
 * recache token when the remaining TTL is below `delta · beta · −ln(U)`, `U` uniform in (0, 1], so a hot
 * key is refreshed a little before it expires, by one client (the token), with a probability that grows
 * as expiry nears. `delta` is how long a compute takes; `beta` (default 1) above 1 refreshes earlier.
 * memcached's TTL has one-second granularity, so the threshold is rounded up to whole seconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface XFetchOptions {
  readonly delta: DurationInput
  readonly beta?: number | undefined
}

/**
 * Options of {@link Service.getOrSet} and {@link Service.getOrSetMany}.
 *
 * @since 0.1.0
 * @category models
 */
export interface GetOrSetOptions {
  /** TTL of the value written back. Default 0 (never expires). */
  readonly ttl?: Ttl | undefined
  /**
   * TTL of the lease (the empty stub `mg … N<lockTtl>` creates on a miss): how long other clients wait for
   * the winner before the stub expires and the next caller wins. Whole seconds, 1 s to 30 days. Default 10 s.
   */
  readonly lockTtl?: Ttl | undefined
  /**
   * Early refresh: when the value's remaining TTL is below this, one reader wins the recache token
   * (`R`), gets the current value at once and refreshes it in the background. Default none.
   */
  readonly recache?: Ttl | undefined
  /** Probabilistic early refresh on top of (or instead of) `recache`. */
  readonly xfetch?: XFetchOptions | undefined
  /**
   * Also update the TTL of the item read (`T`). memcached applies it to a fresh lease stub too, so the
   * wait bound becomes the larger of `lockTtl` and `touch`.
   */
  readonly touch?: Ttl | undefined
  /** How losers wait for another client's compute. */
  readonly wait?: WaitOptions | undefined
  /**
   * What a caller does when the wait is over and the lease is still held by someone else: `"fail"` with
   * {@link LeaseTimeout} (default) or `"compute"` (run compute without writing the value).
   */
  readonly onLeaseTimeout?: "fail" | "compute" | undefined
  /** The client's per-request timeout for the `mg`/`ms`/`md` this call sends. */
  readonly timeout?: DurationInput | undefined
}

/**
 * The raw variant's options: {@link GetOrSetOptions} plus the client flags the value is written with.
 *
 * @since 0.1.0
 * @category models
 */
export interface RawOptions extends GetOrSetOptions {
  /** The 32-bit client flags written with a computed value. Default 0. */
  readonly flags?: number | undefined
}

/**
 * Options of {@link Service.invalidate}.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidateOptions {
  /** TTL of the stale item (`md … I T<staleTtl>`). Default: the item keeps its TTL. */
  readonly staleTtl?: Ttl | undefined
  readonly timeout?: DurationInput | undefined
}

/**
 * The operations over one value type `A` (see {@link Service.typed}).
 *
 * @since 0.1.0
 * @category models
 */
export interface TypedCacheAside<A> {
  /**
   * {@link Service.getOrSet} for values of `A`. Fails with the compute's `E`, a {@link CacheAsideError},
   * or `MemcachedValueError` when a cached value does not decode or a computed one does not encode.
   */
  readonly getOrSet: <E, R>(
    key: string,
    compute: Effect.Effect<A, E, R>,
    options?: GetOrSetOptions
  ) => Effect.Effect<A, E | CacheAsideError | ValueCodec.MemcachedValueError, R>
  /** {@link Service.getOrSetMany} for values of `A`; fails like {@link TypedCacheAside.getOrSet}. */
  readonly getOrSetMany: <E, R>(
    keys: Iterable<string>,
    computeMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, A>, E, R>,
    options?: GetOrSetOptions
  ) => Effect.Effect<ReadonlyMap<string, A>, E | CacheAsideError | ValueCodec.MemcachedValueError, R>
}

/**
 * The cache-aside service's operations (one service per client; it owns the in-process single-flight
 * table and the fibers of flights and background refreshes, which end with its scope).
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends TypedCacheAside<Uint8Array> {
  /**
   * The value of `key`, computing and storing it on a miss so that across every client of the cluster
   * `compute` runs once per expiry (per lease TTL when the winner dies). A caller waits at most: one `mg`
   * round trip, plus `compute` and one `ms` when it wins, or plus the wait (lease TTL + `wait.max`) and then
   * one more round when another client holds the lease. Fails with the compute's `E` (after the lease is
   * released, so the next caller wins at once), a `MemcachedError` of the `mg`, or {@link LeaseTimeout}.
   * A failed write-back (lost CAS included) does not fail the call.
   */
  readonly getOrSet: <E, R>(
    key: string,
    compute: Effect.Effect<MemcachedClient.Value, E, R>,
    options?: RawOptions
  ) => Effect.Effect<Uint8Array, E | CacheAsideError, R>
  /**
   * Many keys at once: one `mg` per key, all sent in the same tick (so one write per server connection),
   * then one `computeMany` call for every key won, written back with `ms … C<cas>`; keys held by others are
   * waited for together and a second round may compute the keys won then. Keys `computeMany` leaves out
   * are released and absent from the result. Refreshes (stale or `R` wins) are computed inline here.
   * Does not coalesce with in-process `getOrSet` flights (leases still protect the cluster). Fails like
   * {@link Service.getOrSet}.
   */
  readonly getOrSetMany: <E, R>(
    keys: Iterable<string>,
    computeMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, MemcachedClient.Value>, E, R>,
    options?: RawOptions
  ) => Effect.Effect<ReadonlyMap<string, Uint8Array>, E | CacheAsideError, R>
  /**
   * Marks `key` stale (`md <key> I [T<staleTtl>]`): readers keep getting the old value (counted as
   * stale-served) while exactly one of them (the `W` winner) recomputes it. `false` when the key does not
   * exist. Fails with a `MemcachedError` (`Unsupported` on text servers).
   */
  readonly invalidate: (key: string, options?: InvalidateOptions) => Effect.Effect<boolean, MemcachedError>
  /** The same operations over a codec (use `ValueCodec.schema(S)` for an Effect Schema). */
  readonly typed: <A>(codec: ValueCodec.ValueCodec<A>) => TypedCacheAside<A>
  /** The counters of this service (tagged `cache=<name>`). */
  readonly metrics: CacheAsideMetrics
}

/**
 * The cache-aside service: in the Effect 3 edition an interface (extending {@link Service}) and its
 * `Context.Tag`, in the Effect 4 edition a `Context.Service` class of shape {@link Service}.
 *
 * @since 0.1.0
 * @category tags
 */
export { CacheAside }

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/**
 * Counters, one increment per `mg` outcome unless noted: `hit` (fresh value), `miss` (no usable value:
 * a stub), `won` (this client got the lease or recache token), `lost` (someone else holds it),
 * `staleServed` (a stale/refreshing value returned), `waited` (one backoff sleep), `coalesced` (a caller
 * joined an in-process flight), `computeFailed`, `writeLost` (write-back CAS lost: expected after an
 * invalidation or a lease expiry), `writeFailed` (write-back failed otherwise), `leaseTimeout`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAsideMetrics {
  readonly hit: Counter
  readonly miss: Counter
  readonly won: Counter
  readonly lost: Counter
  readonly staleServed: Counter
  readonly waited: Counter
  readonly coalesced: Counter
  readonly computeFailed: Counter
  readonly writeLost: Counter
  readonly writeFailed: Counter
  readonly leaseTimeout: Counter
}

const metricNames = [
  "hit",
  "miss",
  "won",
  "lost",
  "staleServed",
  "waited",
  "coalesced",
  "computeFailed",
  "writeLost",
  "writeFailed",
  "leaseTimeout"
] as const

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())

/**
 * The counters of a service named `name` (`memcached_cache_aside_<event>_total{cache=name}`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const metricsFor = (name: string): CacheAsideMetrics => {
  const out: Record<string, Counter> = {}
  for (const n of metricNames) {
    out[n] = counter(`memcached_cache_aside_${snake(n)}_total`, { cache: name })
  }
  return out as unknown as CacheAsideMetrics
}

/** What a call's span is told about it (telemetry on only). */
interface Note {
  outcome: CacheAsideOutcome | undefined
  coalesced: boolean
}

const annotate = (span: Tracer.Span | undefined, note: Note): void => {
  if (span === undefined) return
  span.attribute(Attr.coalesced, note.coalesced)
  const outcome = note.outcome
  if (outcome === undefined) return
  span.attribute(Attr.outcome, outcome)
  span.attribute(Attr.hit, outcome !== "computed" && outcome !== "lease_timeout_computed")
  span.attribute(Attr.win, outcome === "computed" || outcome === "refreshing" || outcome === "stale_refreshing")
  span.attribute(Attr.stale, outcome === "stale" || outcome === "stale_refreshing")
}

/** The spans of the service's calls when its client was built with `telemetry`; the calls as they are otherwise. */
const tracedCalls = (telemetry: ClientTelemetry | undefined) => ({
  note: (): Note | undefined => telemetry === undefined ? undefined : { outcome: undefined, coalesced: false },
  getOrSet: <A, E, R>(key: string, call: Effect.Effect<A, E, R>, note: Note | undefined): Effect.Effect<A, E, R> =>
    telemetry === undefined ? call : telemetry.run("getOrSet", [key], call, (_, span) => annotate(span, note!)),
  getOrSetMany: <A, E, R>(
    keys: ReadonlyArray<string>,
    call: Effect.Effect<ReadonlyMap<string, A>, E, R>
  ): Effect.Effect<ReadonlyMap<string, A>, E, R> =>
    telemetry === undefined
      ? call
      : telemetry.run("getOrSetMany", keys, call, (found, span) => span?.attribute(Attr.keysHit, found.size))
})

interface Flight {
  readonly codec: unknown
  readonly deferred: Deferred.Deferred<unknown, unknown>
  fiber: RunningFiber | undefined
  waiters: number
}

/** Options of {@link make}. */
export interface MakeOptions {
  /** Tag of this service's metrics (`cache=<name>`). Default `"default"`. */
  readonly name?: string | undefined
}

/**
 * Builds the service over the `MemcachedClient` in context; flights and background refreshes run in the
 * given scope and are interrupted (leases released) when it closes. Never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MakeOptions = {}
): Effect.Effect<Service, never, MemcachedClient.MemcachedClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* MemcachedClient.MemcachedClient
    // Flight fibers are daemons tracked here and interrupted (leases released) when the scope closes:
    // cheaper per flight than a child scope each (`forkIn`).
    const live = new Set<RunningFiber>()
    yield* Effect.addFinalizer(() => Fiber.interruptAll(live))
    const metrics = metricsFor(options.name ?? "default")
    const flights = new Map<string, Flight>()
    // Counters are updated synchronously with the services the service was built with (its registry).
    const engine = new Engine(client, metrics, yield* Effect.context<never>())
    const traced = tracedCalls(telemetryOf(client))

    const single = <A, E, R>(
      key: string,
      compute: Effect.Effect<A, E, R>,
      codec: Codec<A>,
      identity: unknown,
      options: RawOptions | undefined
    ): Effect.Effect<unknown, E | CacheAsideError | ValueCodec.MemcachedValueError, R> => {
      const o = resolve(options)
      if (o instanceof MemcachedInputError) return Effect.fail(o)
      const note = traced.note()
      const call = Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          let flight = flights.get(key)
          let coalesced = false
          if (flight !== undefined && flight.codec === identity) {
            coalesced = true
            engine.inc(metrics.coalesced)
          } else {
            const deferred = yield* Deferred.make<unknown, unknown>()
            const f: Flight = { codec: identity, deferred, fiber: undefined, waiters: 0 }
            flight = f
            // A flight of another codec on this key keeps running; this one is not registered.
            const registered = !flights.has(key)
            if (registered) flights.set(key, f)
            const unregister = Effect.sync(() => {
              if (flights.get(key) === f) flights.delete(key)
            })
            f.fiber = yield* Effect.andThen(
              // Registered from inside the fiber, so a flight that ends at once is never left in `live`.
              Effect.map(currentFiber, (fiber) => void live.add(fiber)),
              engine.flight(key, compute, codec, o)
            ).pipe(
              Effect.onExit((exit) =>
                Effect.andThen(
                  // Unregistered before callers get the value (Effect 4 may resume a waiter before this fiber
                  // runs on), so callers arriving after it, or during a background refresh, read the server
                  // again, where the value is already written (a stuck refresh never pins an old value here).
                  unregister,
                  Exit.isSuccess(exit)
                    ? Deferred.succeed(deferred, exit.value)
                    : Deferred.failCause(deferred, exit.cause)
                )
              ),
              Effect.flatMap((step) => step.refresh ?? Effect.void),
              Effect.ensuring(unregister),
              // Every outcome reached the callers through the deferred; the fiber itself ends quietly.
              Effect.exit,
              Effect.ensuring(Effect.map(currentFiber, (fiber) => void live.delete(fiber))),
              // Forked from inside the mask: the flight itself must stay interruptible.
              Effect.interruptible,
              forkDaemon
            )
          }
          const joined = flight
          joined.waiters++
          if (note !== undefined) {
            note.coalesced = coalesced
          }
          return yield* restore(Deferred.await(joined.deferred)).pipe(
            // The flight's Step: callers get its value; telemetry notes how it was obtained.
            Effect.map((step) => {
              const { outcome, value } = step as Step<unknown>
              if (note !== undefined) {
                note.outcome = outcome
              }
              return value
            }),
            Effect.ensuring(Effect.suspend(() => {
              joined.waiters--
              if (joined.waiters > 0 || joined.fiber === undefined) {
                return Effect.void
              }
              return Effect.flatMap(Deferred.isDone(joined.deferred), (done) => {
                if (done) {
                  return Effect.void
                }
                // Every caller is gone: stop the compute and release the lease; new callers start afresh.
                if (flights.get(key) === joined) {
                  flights.delete(key)
                }
                return interruptFork(joined.fiber!)
              })
            }))
          ) as Effect.Effect<unknown, E | CacheAsideError | ValueCodec.MemcachedValueError, R>
        })
      )
      return traced.getOrSet(key, call, note)
    }

    const typed = <A>(codec: Codec<A>, identity: unknown): TypedCacheAside<A> => ({
      getOrSet: (key, compute, options) => single(key, compute, codec, identity, options) as Effect.Effect<A, never>,
      getOrSetMany: (keys, computeMany, options) => {
        const o = resolve(options)
        if (o instanceof MemcachedInputError) return Effect.fail(o)
        const list = Array.from(new Set(keys))
        return traced.getOrSetMany(list, engine.many(list, computeMany, codec, o))
      }
    })

    const service: Service = {
      getOrSet: (key, compute, options) =>
        single(key, Effect.map(compute, toBytes), rawCodec(options?.flags ?? 0), "raw", options) as Effect.Effect<
          Uint8Array,
          never
        >,
      getOrSetMany: (keys, computeMany, options) => {
        const o = resolve(options)
        if (o instanceof MemcachedInputError) return Effect.fail(o)
        const bytesMany = (ks: ReadonlyArray<string>) =>
          Effect.map(computeMany(ks), (m) => new Map([...m].map(([k, v]) => [k, toBytes(v)] as const)))
        // The raw codec never fails: no MemcachedValueError can arise here.
        const list = Array.from(new Set(keys))
        return traced.getOrSetMany(list, engine.many(list, bytesMany, rawCodec(o.flags), o)) as Effect.Effect<
          ReadonlyMap<string, Uint8Array>,
          never
        >
      },
      invalidate: (key, options) =>
        client.metaDelete(key, { invalidate: true, ttl: options?.staleTtl, timeout: options?.timeout }).pipe(
          Effect.as(true),
          Effect.catchIf(
            (e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound",
            () => Effect.succeed(false)
          )
        ),
      typed: (codec) => typed(codec, codec),
      metrics
    }
    return service
  })

/**
 * The service as a layer over the `MemcachedClient` in context; its flights end with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MakeOptions = {}): Layer.Layer<CacheAside, never, MemcachedClient.MemcachedClient> =>
  scopedLayer(CacheAside, make(options))

/**
 * {@link Service.getOrSet} through the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getOrSet = <E, R>(
  key: string,
  compute: Effect.Effect<MemcachedClient.Value, E, R>,
  options?: RawOptions
): Effect.Effect<Uint8Array, E | CacheAsideError, R | CacheAside> =>
  Effect.flatMap(CacheAside, (c) => c.getOrSet(key, compute, options))

/**
 * {@link Service.invalidate} through the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const invalidate = (
  key: string,
  options?: InvalidateOptions
): Effect.Effect<boolean, MemcachedError, CacheAside> => Effect.flatMap(CacheAside, (c) => c.invalidate(key, options))
