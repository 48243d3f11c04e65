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
 * | value + `W` (`R` crossed, or `X` after {@link CacheAside.invalidate}) | early refresh won | the current value at once; `compute` + `ms C` in the background |
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
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { type Ttl, toExptime } from "./Key.js"
import * as MemcachedClient from "./MemcachedClient.js"
import { MemcachedInputError, type MemcachedError } from "./MemcachedError.js"
import type { MetaItem } from "./protocol/meta.js"
import type * as ValueCodec from "./ValueCodec.js"

// ---------------------------------------------------------------------------------------------
// Errors and options
// ---------------------------------------------------------------------------------------------

/**
 * Another client held the lease of `keys` (an empty stub answered with `Z`) for the whole wait, which is
 * bounded by the lease TTL: the winner neither wrote a value nor released the lease in time. Only raised
 * with `onLeaseTimeout: "fail"` (the default).
 *
 * @since 0.1.0
 * @category errors
 */
export class LeaseTimeout extends Data.TaggedError("CacheAsideLeaseTimeout")<{
  readonly keys: ReadonlyArray<string>
  readonly waited: Duration.Duration
}> {
  override get message(): string {
    return `lease of ${this.keys.join(", ")} still held by another client after ${Duration.format(this.waited)}`
  }
}

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
  readonly initial?: Duration.DurationInput | undefined
  readonly factor?: number | undefined
  readonly max?: Duration.DurationInput | undefined
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
  readonly delta: Duration.DurationInput
  readonly beta?: number | undefined
}

/**
 * Options of {@link CacheAside.getOrSet} and {@link CacheAside.getOrSetMany}.
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
  readonly timeout?: Duration.DurationInput | undefined
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
 * Options of {@link CacheAside.invalidate}.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidateOptions {
  /** TTL of the stale item (`md … I T<staleTtl>`). Default: the item keeps its TTL. */
  readonly staleTtl?: Ttl | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The operations over one value type `A` (see {@link CacheAside.typed}).
 *
 * @since 0.1.0
 * @category models
 */
export interface TypedCacheAside<A> {
  /**
   * {@link CacheAside.getOrSet} for values of `A`. Fails with the compute's `E`, a {@link CacheAsideError},
   * or `MemcachedValueError` when a cached value does not decode or a computed one does not encode.
   */
  readonly getOrSet: <E, R>(
    key: string,
    compute: Effect.Effect<A, E, R>,
    options?: GetOrSetOptions
  ) => Effect.Effect<A, E | CacheAsideError | ValueCodec.MemcachedValueError, R>
  /** {@link CacheAside.getOrSetMany} for values of `A`; fails like {@link TypedCacheAside.getOrSet}. */
  readonly getOrSetMany: <E, R>(
    keys: Iterable<string>,
    computeMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, A>, E, R>,
    options?: GetOrSetOptions
  ) => Effect.Effect<ReadonlyMap<string, A>, E | CacheAsideError | ValueCodec.MemcachedValueError, R>
}

/**
 * The cache-aside service (one per client; it owns the in-process single-flight table and the fibers of
 * flights and background refreshes, which end with its scope).
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAside extends TypedCacheAside<Uint8Array> {
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
   * {@link CacheAside.getOrSet}.
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
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const CacheAside: Context.Tag<CacheAside, CacheAside> = Context.GenericTag<CacheAside>(
  "effect-memcached/CacheAside"
)

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
  readonly hit: Metric.Metric.Counter<number>
  readonly miss: Metric.Metric.Counter<number>
  readonly won: Metric.Metric.Counter<number>
  readonly lost: Metric.Metric.Counter<number>
  readonly staleServed: Metric.Metric.Counter<number>
  readonly waited: Metric.Metric.Counter<number>
  readonly coalesced: Metric.Metric.Counter<number>
  readonly computeFailed: Metric.Metric.Counter<number>
  readonly writeLost: Metric.Metric.Counter<number>
  readonly writeFailed: Metric.Metric.Counter<number>
  readonly leaseTimeout: Metric.Metric.Counter<number>
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
  const out: Record<string, Metric.Metric.Counter<number>> = {}
  for (const n of metricNames) {
    out[n] = Metric.counter(`memcached_cache_aside_${snake(n)}_total`, { incremental: true }).pipe(
      Metric.tagged("cache", name)
    )
  }
  return out as unknown as CacheAsideMetrics
}

// ---------------------------------------------------------------------------------------------
// Classification of one mg reply
// ---------------------------------------------------------------------------------------------

type Outcome =
  | { readonly _tag: "Hit"; readonly item: MetaItem }
  | { readonly _tag: "WonStub"; readonly cas: bigint | undefined }
  | { readonly _tag: "WonData"; readonly item: MetaItem }
  | { readonly _tag: "LostData"; readonly item: MetaItem }
  | { readonly _tag: "LostEmpty" }

/**
 * A lease stub is what `N` creates: an empty value with flags 0. An empty value stored with flags 0 is
 * therefore treated as "no data" while a token is out (it is recomputed, never served as stale).
 */
const isStub = (item: MetaItem): boolean =>
  item.value === undefined || (item.value.length === 0 && (item.flags ?? 0) === 0)

const classify = (reply: Option.Option<MetaItem>): Outcome => {
  // With N a miss always vivifies; None only comes from a server that ignores N: compute and `add`.
  if (Option.isNone(reply)) return { _tag: "WonStub", cas: undefined }
  const item = reply.value
  const stub = isStub(item)
  if (item.win) return stub ? { _tag: "WonStub", cas: item.cas } : { _tag: "WonData", item }
  if (item.alreadyWon || item.stale) return stub ? { _tag: "LostEmpty" } : { _tag: "LostData", item }
  return { _tag: "Hit", item }
}

// ---------------------------------------------------------------------------------------------
// Options, resolved once per call
// ---------------------------------------------------------------------------------------------

interface Resolved {
  readonly ttl: Ttl | undefined
  readonly lockTtl: number
  readonly recache: number
  readonly xfetch: { readonly deltaSeconds: number; readonly beta: number } | undefined
  readonly touch: Ttl | undefined
  readonly schedule: () => Schedule.Schedule<unknown>
  readonly onLeaseTimeout: "fail" | "compute"
  readonly timeout: Duration.DurationInput | undefined
  readonly flags: number
}

const seconds = (ttl: Ttl, what: string): number | MemcachedInputError => {
  const s = toExptime(ttl, 0)
  if (typeof s !== "number") return s
  if (s > 30 * 24 * 3600) return new MemcachedInputError({ reason: "InvalidTtl", message: `${what} must be at most 30 days` })
  return s
}

const TEN_MILLIS = Duration.millis(10)
const MAX_WAIT_STEP = Duration.millis(250)

// Options objects are usually constants: resolve each once.
const resolved = new WeakMap<RawOptions, Resolved>()
let resolvedDefault: Resolved | undefined

const resolve = (options: RawOptions | undefined): Resolved | MemcachedInputError => {
  if (options === undefined) return resolvedDefault ??= resolveNow(undefined) as Resolved
  const known = resolved.get(options)
  if (known !== undefined) return known
  const r = resolveNow(options)
  if (!(r instanceof MemcachedInputError)) resolved.set(options, r)
  return r
}

const resolveNow = (options: RawOptions | undefined): Resolved | MemcachedInputError => {
  const lockTtl = seconds(options?.lockTtl ?? 10, "lockTtl")
  if (typeof lockTtl !== "number") return lockTtl
  if (lockTtl < 1) return new MemcachedInputError({ reason: "InvalidTtl", message: "lockTtl must be at least 1 second" })
  const recache = options?.recache === undefined ? 0 : seconds(options.recache, "recache")
  if (typeof recache !== "number") return recache
  const touch = options?.touch === undefined ? 0 : seconds(options.touch, "touch")
  if (typeof touch !== "number") return touch
  const beta = options?.xfetch?.beta ?? 1
  const delta = options?.xfetch === undefined ? undefined : Duration.decodeUnknown(options.xfetch.delta)
  if (delta !== undefined && (Option.isNone(delta) || !Duration.isFinite(delta.value) || !(beta > 0))) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: "xfetch needs a finite delta and a beta > 0" })
  }
  const initial = options?.wait?.initial === undefined ? TEN_MILLIS : Duration.decode(options.wait.initial)
  const max = options?.wait?.max === undefined ? MAX_WAIT_STEP : Duration.decode(options.wait.max)
  const factor = options?.wait?.factor ?? 1.5
  if (!(factor >= 1) || !Duration.isFinite(max) || Duration.toMillis(initial) <= 0) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: "wait needs initial > 0, a finite max and factor >= 1" })
  }
  const flags = options?.flags ?? 0
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: `flags must be a 32-bit unsigned integer, got ${flags}` })
  }
  // Sleeps are capped at `max` and none starts after `lease`: the whole wait is under lease + max.
  const lease = Duration.seconds(Math.max(lockTtl, touch))
  // Built only when a caller has to wait (most calls never do).
  const schedule = () =>
    Schedule.exponential(initial, factor).pipe(
      Schedule.jittered,
      Schedule.modifyDelay((d) => Duration.min(d, max)),
      Schedule.upTo(lease)
    )
  return {
    ttl: options?.ttl,
    lockTtl,
    recache,
    xfetch: delta === undefined || Option.isNone(delta) ? undefined : { deltaSeconds: Duration.toMillis(delta.value) / 1000, beta },
    touch: options?.touch,
    schedule,
    onLeaseTimeout: options?.onLeaseTimeout ?? "fail",
    timeout: options?.timeout,
    flags
  }
}

/** The `R` threshold of one read: the fixed one, or XFetch's draw when larger. 0 = no `R`. */
const recacheFor = (o: Resolved): Effect.Effect<number> =>
  o.xfetch === undefined
    ? Effect.succeed(o.recache)
    : Effect.map(Random.next, (u) => {
      const draw = Math.ceil(o.xfetch!.deltaSeconds * o.xfetch!.beta * -Math.log(1 - u))
      return Math.max(o.recache, Math.min(draw, 30 * 24 * 3600))
    })

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

interface Codec<A> {
  readonly encode: (value: A) => Either.Either<ValueCodec.Encoded, ValueCodec.MemcachedValueError>
  readonly decode: (bytes: Uint8Array, flags: number) => Either.Either<A, ValueCodec.MemcachedValueError>
}

const utf8 = new TextEncoder()

const toBytes = (value: MemcachedClient.Value): Uint8Array => (typeof value === "string" ? utf8.encode(value) : value)

const rawCodec = (flags: number): Codec<Uint8Array> => ({
  encode: (bytes) => Either.right({ bytes, flags }),
  decode: (bytes) => Either.right(bytes)
})

/** What a flight produced: the value, and a background refresh to run after callers have it. */
interface Step<A> {
  readonly value: A
  readonly refresh: Effect.Effect<void> | undefined
}

interface Flight {
  readonly codec: unknown
  readonly deferred: Deferred.Deferred<unknown, unknown>
  fiber: Fiber.RuntimeFiber<void> | undefined
  waiters: number
}

class Wait {
  readonly _tag = "Wait"
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
): Effect.Effect<CacheAside, never, MemcachedClient.MemcachedClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* MemcachedClient.MemcachedClient
    // Flight fibers are daemons tracked here and interrupted (leases released) when the scope closes:
    // cheaper per flight than a child scope each (`forkIn`).
    const live = new Set<Fiber.RuntimeFiber<void>>()
    yield* Effect.addFinalizer(() => Fiber.interruptAll(live))
    const metrics = metricsFor(options.name ?? "default")
    const flights = new Map<string, Flight>()
    const engine = new Engine(client, metrics)

    const single = <A, E, R>(
      key: string,
      compute: Effect.Effect<A, E, R>,
      codec: Codec<A>,
      identity: unknown,
      options: RawOptions | undefined
    ): Effect.Effect<unknown, E | CacheAsideError | ValueCodec.MemcachedValueError, R> => {
      const o = resolve(options)
      if (o instanceof MemcachedInputError) return Effect.fail(o)
      return Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          let flight = flights.get(key)
          if (flight !== undefined && flight.codec === identity) {
            metrics.coalesced.unsafeUpdate(1, [])
          } else {
            const deferred = yield* Deferred.make<unknown, unknown>()
            const f: Flight = { codec: identity, deferred, fiber: undefined, waiters: 0 }
            flight = f
            // A flight of another codec on this key keeps running; this one is not registered.
            const registered = !flights.has(key)
            if (registered) flights.set(key, f)
            f.fiber = yield* Effect.zipRight(
              // Registered from inside the fiber, so a flight that ends at once is never left in `live`.
              Effect.withFiberRuntime<void>((fiber) => Effect.sync(() => void live.add(fiber as Fiber.RuntimeFiber<void>))),
              engine.flight(key, compute, codec, o)
            ).pipe(
              Effect.onExit((exit) =>
                Exit.isSuccess(exit)
                  ? Deferred.succeed(deferred, exit.value.value)
                  : Deferred.failCause(deferred, exit.cause)
              ),
              Effect.flatMap((step) => step.refresh ?? Effect.void),
              Effect.ensuring(Effect.sync(() => {
                if (flights.get(key) === f) flights.delete(key)
              })),
              Effect.asVoid,
              Effect.catchAllCause(() => Effect.void),
              Effect.ensuring(Effect.withFiberRuntime<void>((fiber) => Effect.sync(() => void live.delete(fiber as Fiber.RuntimeFiber<void>)))),
              // Forked from inside the mask: the flight itself must stay interruptible.
              Effect.interruptible,
              Effect.forkDaemon
            )
          }
          const joined = flight
          joined.waiters++
          return yield* restore(Deferred.await(joined.deferred)).pipe(
            Effect.ensuring(Effect.suspend(() => {
              joined.waiters--
              if (joined.waiters > 0 || joined.fiber === undefined) return Effect.void
              return Effect.flatMap(Deferred.isDone(joined.deferred), (done) => {
                if (done) return Effect.void
                // Every caller is gone: stop the compute and release the lease; new callers start afresh.
                if (flights.get(key) === joined) flights.delete(key)
                return Effect.asVoid(Fiber.interruptFork(joined.fiber!))
              })
            }))
          ) as Effect.Effect<unknown, E | CacheAsideError | ValueCodec.MemcachedValueError, R>
        })
      )
    }

    const typed = <A>(codec: Codec<A>, identity: unknown): TypedCacheAside<A> => ({
      getOrSet: (key, compute, options) =>
        single(key, compute, codec, identity, options) as Effect.Effect<A, never>,
      getOrSetMany: (keys, computeMany, options) => {
        const o = resolve(options)
        if (o instanceof MemcachedInputError) return Effect.fail(o)
        return engine.many(Array.from(new Set(keys)), computeMany, codec, o)
      }
    })

    const service: CacheAside = {
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
        return engine.many(Array.from(new Set(keys)), bytesMany, rawCodec(o.flags), o) as Effect.Effect<
          ReadonlyMap<string, Uint8Array>,
          never
        >
      },
      invalidate: (key, options) =>
        client.metaDelete(key, { invalidate: true, ttl: options?.staleTtl, timeout: options?.timeout }).pipe(
          Effect.as(true),
          Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.succeed(false))
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
  Layer.scoped(CacheAside, make(options))

/**
 * {@link CacheAside.getOrSet} through the service in context.
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
 * {@link CacheAside.invalidate} through the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const invalidate = (key: string, options?: InvalidateOptions): Effect.Effect<boolean, MemcachedError, CacheAside> =>
  Effect.flatMap(CacheAside, (c) => c.invalidate(key, options))

// ---------------------------------------------------------------------------------------------
// Engine: the protocol steps of a flight and of a batch
// ---------------------------------------------------------------------------------------------

class Engine {
  constructor(
    readonly client: MemcachedClient.MemcachedClient,
    readonly metrics: CacheAsideMetrics
  ) {}

  inc(counter: Metric.Metric.Counter<number>, n = 1): void {
    if (n > 0) counter.unsafeUpdate(n, [])
  }

  read(key: string, o: Resolved): Effect.Effect<Option.Option<MetaItem>, MemcachedError> {
    return Effect.flatMap(recacheFor(o), (recache) =>
      this.client.metaGet(key, {
        cas: true,
        ttl: true,
        vivify: o.lockTtl,
        recache: recache > 0 ? recache : undefined,
        touch: o.touch,
        timeout: o.timeout
      }))
  }

  /** Counts the outcome and turns a served value into `A`. */
  account(outcome: Outcome): void {
    const m = this.metrics
    switch (outcome._tag) {
      case "Hit":
        return this.inc(m.hit)
      case "WonStub":
        this.inc(m.miss)
        return this.inc(m.won)
      case "WonData":
        this.inc(m.won)
        return outcome.item.stale ? this.inc(m.staleServed) : this.inc(m.hit)
      case "LostData":
        this.inc(m.lost)
        return this.inc(m.staleServed)
      case "LostEmpty":
        this.inc(m.miss)
        return this.inc(m.lost)
    }
  }

  decode<A>(codec: Codec<A>, item: MetaItem): Either.Either<A, ValueCodec.MemcachedValueError> {
    return codec.decode(item.value ?? new Uint8Array(0), item.flags ?? 0)
  }

  /** Writes a computed value back over the lease (`ms C<cas>`, or `add` without one); never fails. */
  write(key: string, encoded: ValueCodec.Encoded, cas: bigint | undefined, o: Resolved): Effect.Effect<void> {
    return this.client.metaSet(key, encoded.bytes, {
      cas,
      mode: cas === undefined ? "add" : undefined,
      ttl: o.ttl,
      flags: encoded.flags,
      timeout: o.timeout
    }).pipe(
      Effect.asVoid,
      Effect.catchAll((e) =>
        Effect.sync(() =>
          this.inc(e._tag === "MemcachedStoreError" ? this.metrics.writeLost : this.metrics.writeFailed)
        )
      )
    )
  }

  /**
   * Gives the lease back after a failed or interrupted compute: a stub is deleted (`md C<cas>`), a value
   * is re-invalidated (`md I C<cas>`, which clears the token) so the next reader wins at once and the
   * others keep the value. Never fails.
   */
  release(key: string, cas: bigint | undefined, item: MetaItem | undefined, o: Resolved): Effect.Effect<void> {
    if (cas === undefined) return Effect.void
    const ttl = item?.ttl !== undefined && item.ttl > 0 ? item.ttl : undefined
    return this.client.metaDelete(key, { cas, invalidate: item !== undefined, ttl, timeout: o.timeout }).pipe(
      Effect.ignore
    )
  }

  /** compute → encode → write back; on failure (or interruption) the lease is released first. */
  computeAndWrite<A, E, R>(
    key: string,
    compute: Effect.Effect<A, E, R>,
    codec: Codec<A>,
    cas: bigint | undefined,
    item: MetaItem | undefined,
    o: Resolved,
    restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z> = (effect) => effect
  ): Effect.Effect<A, E | ValueCodec.MemcachedValueError, R> {
    return Effect.flatMap(restore(compute), (value) => Effect.map(codec.encode(value), (encoded) => [value, encoded] as const)).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) ? Effect.void : Effect.zipRight(
          Effect.sync(() => this.inc(this.metrics.computeFailed)),
          this.release(key, cas, item, o)
        )
      ),
      Effect.tap(([, encoded]) => this.write(key, encoded, cas, o)),
      Effect.map(([value]) => value)
    )
  }

  /** One key: read, then hit / compute / serve stale / wait and retry. */
  flight<A, E, R>(
    key: string,
    compute: Effect.Effect<A, E, R>,
    codec: Codec<A>,
    o: Resolved
  ): Effect.Effect<Step<A>, E | CacheAsideError | ValueCodec.MemcachedValueError, R> {
    // From the `mg` to the release handler of the compute nothing may be interrupted: a lease won on the
    // wire but never seen would stay held by nobody until it expires. Only `compute` is interruptible.
    const attempt: Effect.Effect<Step<A>, E | MemcachedError | ValueCodec.MemcachedValueError | Wait, R> = Effect.uninterruptibleMask((restore) => Effect.flatMap(
      this.read(key, o),
      (reply): Effect.Effect<Step<A>, E | MemcachedError | ValueCodec.MemcachedValueError | Wait, R> => {
        const outcome = classify(reply)
        this.account(outcome)
        switch (outcome._tag) {
          case "Hit":
          case "LostData":
            return Effect.map(this.decode(codec, outcome.item), (value) => ({ value, refresh: undefined }))
          case "WonData": {
            const refresh = Effect.ignore(this.computeAndWrite(key, compute, codec, outcome.item.cas, outcome.item, o))
            return Effect.map(this.decode(codec, outcome.item), (value) => ({ value, refresh: refresh as Effect.Effect<void> }))
          }
          case "WonStub":
            return Effect.map(
              this.computeAndWrite(key, compute, codec, outcome.cas, undefined, o, restore),
              (value) => ({ value, refresh: undefined })
            )
          case "LostEmpty":
            return Effect.fail(new Wait())
        }
      }
    ))
    return this.retrying(attempt, [key], o, Effect.map(compute, (value) => ({ value, refresh: undefined })))
  }

  /** Retries `attempt` while it asks to wait, on the wait schedule; then fails or runs `fallback`. */
  retrying<B, E, R>(
    attempt: Effect.Effect<B, E | Wait, R>,
    keys: ReadonlyArray<string>,
    o: Resolved,
    fallback: Effect.Effect<B, E, R>
  ): Effect.Effect<B, E | LeaseTimeout, R> {
    return Effect.gen(this, function*() {
      let driver: Schedule.ScheduleDriver<unknown, unknown> | undefined
      let started = 0
      while (true) {
        const result = yield* Effect.either(attempt)
        if (Either.isRight(result)) return result.right
        if (!(result.left instanceof Wait)) return yield* Effect.fail(result.left as E)
        if (driver === undefined) {
          driver = yield* Schedule.driver(o.schedule())
          started = yield* Effect.clockWith((c) => c.currentTimeMillis)
        }
        const more = yield* Effect.option(driver.next(undefined))
        if (Option.isSome(more)) {
          this.inc(this.metrics.waited)
          continue
        }
        this.inc(this.metrics.leaseTimeout)
        if (o.onLeaseTimeout === "compute") return yield* fallback
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        return yield* Effect.fail(new LeaseTimeout({ keys, waited: Duration.millis(now - started) }))
      }
    })
  }

  /** Many keys: read all, one computeMany for the keys won, write back, wait for the keys held by others. */
  many<A, E, R>(
    keys: ReadonlyArray<string>,
    computeMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, A>, E, R>,
    codec: Codec<A>,
    o: Resolved
  ): Effect.Effect<ReadonlyMap<string, A>, E | CacheAsideError | ValueCodec.MemcachedValueError, R> {
    const out = new Map<string, A>()
    let pending = keys
    // As in `flight`: uninterruptible from the `mg`s to the release handler; only computeMany is interruptible.
    const round: Effect.Effect<void, E | MemcachedError | ValueCodec.MemcachedValueError | Wait, R> = Effect.uninterruptibleMask((restore) => Effect.gen(this, function*() {
      const replies = yield* Effect.forEach(pending, (key) => this.read(key, o), { concurrency: "unbounded" })
      const won: Array<{ key: string; cas: bigint | undefined; item: MetaItem | undefined }> = []
      const waiting: Array<string> = []
      for (let i = 0; i < pending.length; i++) {
        const key = pending[i]!
        const outcome = classify(replies[i]!)
        this.account(outcome)
        switch (outcome._tag) {
          case "Hit":
          case "LostData":
            out.set(key, yield* this.decode(codec, outcome.item))
            break
          case "WonStub":
            won.push({ key, cas: outcome.cas, item: undefined })
            break
          case "WonData":
            won.push({ key, cas: outcome.item.cas, item: outcome.item })
            break
          case "LostEmpty":
            waiting.push(key)
        }
      }
      if (won.length > 0) yield* this.computeWon(won, (ks) => restore(computeMany(ks)), codec, o, out)
      pending = waiting
      if (waiting.length > 0) return yield* Effect.fail(new Wait())
    }))
    const fallback = Effect.suspend(() => computeMany(pending)).pipe(
      Effect.map((computed) => {
        for (const key of pending) if (computed.has(key)) out.set(key, computed.get(key)!)
      })
    )
    return Effect.as(this.retrying(round, keys, o, fallback).pipe(
      Effect.mapError((e) => (e instanceof LeaseTimeout ? new LeaseTimeout({ keys: pending, waited: e.waited }) : e))
    ), out)
  }

  computeWon<A, E, R>(
    won: ReadonlyArray<{ key: string; cas: bigint | undefined; item: MetaItem | undefined }>,
    computeMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, A>, E, R>,
    codec: Codec<A>,
    o: Resolved,
    out: Map<string, A>
  ): Effect.Effect<void, E | ValueCodec.MemcachedValueError, R> {
    const releaseAll = (which: typeof won) =>
      Effect.forEach(which, (w) => this.release(w.key, w.cas, w.item, o), { concurrency: "unbounded", discard: true })
    return Effect.gen(this, function*() {
      const computed = yield* Effect.suspend(() => computeMany(won.map((w) => w.key))).pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) ? Effect.void : Effect.zipRight(Effect.sync(() => this.inc(this.metrics.computeFailed)), releaseAll(won))
        )
      )
      const writes: Array<readonly [typeof won[number], ValueCodec.Encoded, A]> = []
      const missing: Array<typeof won[number]> = []
      for (const w of won) {
        if (!computed.has(w.key)) {
          missing.push(w)
          continue
        }
        const value = computed.get(w.key)!
        const encoded = codec.encode(value)
        if (Either.isLeft(encoded)) {
          yield* releaseAll(won)
          return yield* Effect.fail(encoded.left)
        }
        writes.push([w, encoded.right, value])
      }
      for (const [w, , value] of writes) out.set(w.key, value)
      yield* Effect.forEach(writes, ([w, encoded]) => this.write(w.key, encoded, w.cas, o), { concurrency: "unbounded", discard: true })
      yield* releaseAll(missing)
    })
  }
}
