/**
 * The protocol side of {@link CacheAside}: how one `mg` reply is classified, options resolved, and the steps of
 * a flight (read, compute, write back, release, wait) and of a batch. Internal: the public API, including
 * {@link LeaseTimeout}, is re-exported by `CacheAside.ts`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import type { CacheAsideError, CacheAsideMetrics, RawOptions } from "../CacheAside.js"
import {
  cappedBackoff,
  type ClientService,
  type Counter,
  decodeDuration,
  type DurationInput,
  fromOutcome,
  increment,
  type Outcome as Result,
  scheduleSteps,
  succeed
} from "../edition.js"
import type { CacheAsideOutcome } from "../engine/telemetry.js"
import { type Ttl, toExptime } from "../Key.js"
import type * as MemcachedClient from "../MemcachedClient.js"
import { type MemcachedError, MemcachedInputError } from "../MemcachedError.js"
import type { MetaItem } from "../protocol/meta.js"
import type * as ValueCodec from "../ValueCodec.js"

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

/** Options after validation and defaults. @internal */
export interface Resolved {
  readonly ttl: Ttl | undefined
  readonly lockTtl: number
  readonly recache: number
  readonly xfetch: { readonly deltaSeconds: number; readonly beta: number } | undefined
  readonly touch: Ttl | undefined
  readonly schedule: () => Schedule.Schedule<unknown>
  readonly onLeaseTimeout: "fail" | "compute"
  readonly timeout: DurationInput | undefined
  readonly flags: number
}

const seconds = (ttl: Ttl, what: string): number | MemcachedInputError => {
  const s = toExptime(ttl, 0)
  if (typeof s !== "number") return s
  if (s > 30 * 24 * 3600) {
    return new MemcachedInputError({ reason: "InvalidTtl", message: `${what} must be at most 30 days` })
  }
  return s
}

const TEN_MILLIS = Duration.millis(10)
const MAX_WAIT_STEP = Duration.millis(250)

// Options objects are usually constants: resolve each once.
const resolved = new WeakMap<RawOptions, Resolved>()
let resolvedDefault: Resolved | undefined

/** Validates and completes call options (cached per options object). Fails with `MemcachedInputError`. @internal */
export const resolve = (options: RawOptions | undefined): Resolved | MemcachedInputError => {
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
  if (lockTtl < 1) {
    return new MemcachedInputError({ reason: "InvalidTtl", message: "lockTtl must be at least 1 second" })
  }
  const recache = options?.recache === undefined ? 0 : seconds(options.recache, "recache")
  if (typeof recache !== "number") return recache
  const touch = options?.touch === undefined ? 0 : seconds(options.touch, "touch")
  if (typeof touch !== "number") return touch
  const beta = options?.xfetch?.beta ?? 1
  const delta = options?.xfetch === undefined ? undefined : decodeDuration(options.xfetch.delta)
  if (delta !== undefined && (Option.isNone(delta) || !Duration.isFinite(delta.value) || !(beta > 0))) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: "xfetch needs a finite delta and a beta > 0" })
  }
  const initialOption = options?.wait?.initial === undefined
    ? Option.some(TEN_MILLIS)
    : decodeDuration(options.wait.initial)
  const maxOption = options?.wait?.max === undefined ? Option.some(MAX_WAIT_STEP) : decodeDuration(options.wait.max)
  const factor = options?.wait?.factor ?? 1.5
  if (
    Option.isNone(initialOption) || Option.isNone(maxOption) || !(factor >= 1) ||
    !Duration.isFinite(maxOption.value) || Duration.toMillis(initialOption.value) <= 0
  ) {
    return new MemcachedInputError({
      reason: "InvalidArgument",
      message: "wait needs initial > 0, a finite max and factor >= 1"
    })
  }
  const initial = initialOption.value
  const max = maxOption.value
  const flags = options?.flags ?? 0
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    return new MemcachedInputError({
      reason: "InvalidArgument",
      message: `flags must be a 32-bit unsigned integer, got ${flags}`
    })
  }
  // Sleeps are capped at `max` and none starts after `lease`: the whole wait is under lease + max.
  const lease = Duration.seconds(Math.max(lockTtl, touch))
  // Built only when a caller has to wait (most calls never do).
  const schedule = () => cappedBackoff(initial, factor, max, lease)
  return {
    ttl: options?.ttl,
    lockTtl,
    recache,
    xfetch: delta === undefined || Option.isNone(delta)
      ? undefined
      : { deltaSeconds: Duration.toMillis(delta.value) / 1000, beta },
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

/** A codec as the engine needs it (ValueCodec is one). @internal */
export interface Codec<A> {
  readonly encode: (value: A) => Result<ValueCodec.Encoded, ValueCodec.MemcachedValueError>
  readonly decode: (bytes: Uint8Array, flags: number) => Result<A, ValueCodec.MemcachedValueError>
}

const utf8 = new TextEncoder()

/** A value as bytes (strings as UTF-8). @internal */
export const toBytes = (
  value: MemcachedClient.Value
): Uint8Array => (typeof value === "string" ? utf8.encode(value) : value)

/** The bytes codec of the raw variant, writing `flags`. Never fails. @internal */
export const rawCodec = (flags: number): Codec<Uint8Array> => ({
  encode: (bytes) => succeed({ bytes, flags }),
  decode: (bytes) => succeed(bytes)
})

/** What a flight produced: the value, and a background refresh to run after callers have it. */
export interface Step<A> {
  readonly value: A
  readonly refresh: Effect.Effect<void> | undefined
  /** How the value was obtained (telemetry's `memcached.cache_aside.outcome`). */
  readonly outcome: CacheAsideOutcome
}

/** The internal "lease held by someone else, no value" signal. @internal */
export class Wait {
  readonly _tag = "Wait"
}

// ---------------------------------------------------------------------------------------------
// Engine: the protocol steps of a flight and of a batch
// ---------------------------------------------------------------------------------------------

/** The protocol steps over one client; never fails except as each method says. @internal */
export class Engine {
  constructor(
    readonly client: ClientService,
    readonly metrics: CacheAsideMetrics,
    /** The services the metrics are updated with (their registry and attributes): the service's own. */
    readonly context: Context.Context<never> = Context.empty()
  ) {}

  inc(counter: Counter, n = 1): void {
    if (n > 0) increment(counter, n, this.context)
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

  decode<A>(codec: Codec<A>, item: MetaItem): Effect.Effect<A, ValueCodec.MemcachedValueError> {
    return fromOutcome(codec.decode(item.value ?? new Uint8Array(0), item.flags ?? 0))
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
      Effect.match({
        onFailure: (e) =>
          this.inc(e._tag === "MemcachedStoreError" ? this.metrics.writeLost : this.metrics.writeFailed),
        onSuccess: () => undefined
      })
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
    return Effect.flatMap(
      restore(compute),
      (value) => Effect.map(fromOutcome(codec.encode(value)), (encoded) => [value, encoded] as const)
    ).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) ? Effect.void : Effect.andThen(
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
    const attempt: Effect.Effect<Step<A>, E | MemcachedError | ValueCodec.MemcachedValueError | Wait, R> = Effect
      .uninterruptibleMask((restore) =>
        Effect.flatMap(
          this.read(key, o),
          (reply): Effect.Effect<Step<A>, E | MemcachedError | ValueCodec.MemcachedValueError | Wait, R> => {
            const outcome = classify(reply)
            this.account(outcome)
            switch (outcome._tag) {
              case "Hit":
              case "LostData": {
                const served = outcome._tag === "Hit" ? "hit" : "stale"
                return Effect.map(
                  this.decode(codec, outcome.item),
                  (value) => ({ value, refresh: undefined, outcome: served })
                )
              }
              case "WonData": {
                const refresh = Effect.ignore(
                  this.computeAndWrite(key, compute, codec, outcome.item.cas, outcome.item, o)
                )
                const served = outcome.item.stale ? "stale_refreshing" : "refreshing"
                return Effect.map(
                  this.decode(codec, outcome.item),
                  (value) => ({ value, refresh: refresh as Effect.Effect<void>, outcome: served })
                )
              }
              case "WonStub":
                return Effect.map(
                  this.computeAndWrite(key, compute, codec, outcome.cas, undefined, o, restore),
                  (value) => ({ value, refresh: undefined, outcome: "computed" as const })
                )
              case "LostEmpty":
                return Effect.fail(new Wait())
            }
          }
        )
      )
    return this.retrying(
      attempt,
      [key],
      o,
      Effect.map(compute, (value) => ({ value, refresh: undefined, outcome: "lease_timeout_computed" as const }))
    )
  }

  /** Retries `attempt` while it asks to wait, on the wait schedule; then fails or runs `fallback`. */
  retrying<B, E, R>(
    attempt: Effect.Effect<B, E | Wait, R>,
    keys: ReadonlyArray<string>,
    o: Resolved,
    fallback: Effect.Effect<B, E, R>
  ): Effect.Effect<B, E | LeaseTimeout, R> {
    const engine = this
    return Effect.gen(function*() {
      let next: Effect.Effect<boolean> | undefined
      let started = 0
      while (true) {
        const result = yield* Effect.match(attempt, {
          onFailure: (error) => ({ ok: false as const, error }),
          onSuccess: (value) => ({ ok: true as const, value })
        })
        if (result.ok) return result.value
        if (!(result.error instanceof Wait)) return yield* Effect.fail(result.error as E)
        if (next === undefined) {
          next = yield* scheduleSteps(o.schedule())
          started = yield* Effect.clockWith((c) => c.currentTimeMillis)
        }
        // Sleeps the next delay; false (no sleep) once the wait is over.
        if (yield* next) {
          engine.inc(engine.metrics.waited)
          continue
        }
        engine.inc(engine.metrics.leaseTimeout)
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
    const engine = this
    const out = new Map<string, A>()
    let pending = keys
    // As in `flight`: uninterruptible from the `mg`s to the release handler; only computeMany is interruptible.
    const round: Effect.Effect<void, E | MemcachedError | ValueCodec.MemcachedValueError | Wait, R> = Effect
      .uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const replies = yield* Effect.forEach(pending, (key) => engine.read(key, o), { concurrency: "unbounded" })
          const won: Array<{ key: string; cas: bigint | undefined; item: MetaItem | undefined }> = []
          const waiting: Array<string> = []
          for (let i = 0; i < pending.length; i++) {
            const key = pending[i]!
            const outcome = classify(replies[i]!)
            engine.account(outcome)
            switch (outcome._tag) {
              case "Hit":
              case "LostData":
                out.set(key, yield* engine.decode(codec, outcome.item))
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
          if (won.length > 0) yield* engine.computeWon(won, (ks) => restore(computeMany(ks)), codec, o, out)
          pending = waiting
          if (waiting.length > 0) return yield* Effect.fail(new Wait())
        })
      )
    const fallback = Effect.suspend(() => computeMany(pending)).pipe(
      Effect.map((computed) => {
        for (const key of pending) if (computed.has(key)) out.set(key, computed.get(key)!)
      })
    )
    return Effect.as(
      this.retrying(round, keys, o, fallback).pipe(
        Effect.mapError((e) => (e instanceof LeaseTimeout ? new LeaseTimeout({ keys: pending, waited: e.waited }) : e))
      ),
      out
    )
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
    const engine = this
    return Effect.gen(function*() {
      const computed = yield* Effect.suspend(() => computeMany(won.map((w) => w.key))).pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.andThen(Effect.sync(() => engine.inc(engine.metrics.computeFailed)), releaseAll(won))
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
        const encoded = yield* fromOutcome(codec.encode(value)).pipe(Effect.tapError(() => releaseAll(won)))
        writes.push([w, encoded, value])
      }
      for (const [w, , value] of writes) out.set(w.key, value)
      yield* Effect.forEach(writes, ([w, encoded]) => engine.write(w.key, encoded, w.cas, o), {
        concurrency: "unbounded",
        discard: true
      })
      yield* releaseAll(missing)
    })
  }
}
