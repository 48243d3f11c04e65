/**
 * A typed store view over a memcached client: {@link make} gives values of one type through a
 * {@link ValueCodec} or a `Schema` (with compression and large-value splitting), with `get`, `gets`,
 * `getMany`, a stream of many keys, `set`, `add`, `replace`, `cas`, `touch`, `gat` and `delete`, each with
 * per-call options and errors narrowed to the store methods it calls. {@link withKeyPrefix} gives one
 * typed namespace over a shared client, and {@link incr} / {@link decr} are counters with an initial value.
 *
 * Everything here is written against the small structural {@link RawStore} interface, which
 * `MemcachedClient` satisfies, so the same code runs over the real client, the in-memory server and
 * map-backed stores.
 *
 * Both editions share this module (packages/effect4/editions.json): a stream result is an `Either` in
 * Effect 3 and a `Result` in Effect 4; a schema is an Effect 3 `Schema` or any Schema 4 codec that needs no
 * services.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Bulk from "./Bulk.js"
import * as Edition from "./edition.js"
import type { Ttl } from "./Key.js"
import { keyProblem, MAX_KEY_LENGTH } from "./Key.js"
import * as LargeValue from "./LargeValue.js"
import type { ErrorOf, RawItem } from "./LargeValue.js"
import type { CallOptions, StoreOptions } from "./MemcachedClient.js"
import { MemcachedInputError } from "./MemcachedError.js"
import { U64_MAX } from "./protocol/bytes.js"
import * as ValueCodec from "./ValueCodec.js"

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/**
 * An item read with its CAS unique (the client's `gets` always carries one: a hit without a CAS
 * unique is a protocol error there).
 *
 * @since 0.1.0
 * @category models
 */
export interface CasItem extends RawItem {
  readonly cas: bigint
}

/**
 * The part of the client a typed store uses: bytes and flags in and out, with the client's per-call
 * options. `MemcachedClient` satisfies it structurally. Expected failures, as the client reports them:
 * `add` of an existing key and `replace` of a missing one are `MemcachedStoreError("NotStored")`; `cas`
 * after another write is `"Exists"`, of a missing key `"NotFound"`; `delete`, `touch`, `incr` and `decr`
 * of a missing key are `"NotFound"`. `E` bounds what the methods fail with; each function here narrows
 * its error type to the methods it calls ({@link ErrorOf}).
 *
 * @since 0.1.0
 * @category models
 */
export interface RawStore<E> extends LargeValue.TouchableChunkStore<E> {
  gets(key: string, options?: CallOptions): Effect.Effect<Option.Option<CasItem>, E>
  gat(key: string, ttl: Ttl, options?: CallOptions): Effect.Effect<Option.Option<RawItem>, E>
  add(key: string, value: Uint8Array, options?: StoreOptions): Effect.Effect<void, E>
  replace(key: string, value: Uint8Array, options?: StoreOptions): Effect.Effect<void, E>
  cas(key: string, value: Uint8Array, cas: bigint, options?: StoreOptions): Effect.Effect<void, E>
  incr(key: string, delta: bigint, options?: CallOptions): Effect.Effect<bigint, E>
  decr(key: string, delta: bigint, options?: CallOptions): Effect.Effect<bigint, E>
}

/**
 * The methods of `S` that make up a {@link RawStore}, with `S`'s own signatures (and so its narrowed
 * error types): what {@link withKeyPrefix} returns.
 *
 * @since 0.1.0
 * @category models
 */
export type RawStoreOf<S> = Pick<S, keyof RawStore<unknown> & keyof S>

const isStoreError = (reason: "NotStored" | "NotFound") => (e: unknown): boolean =>
  Predicate.isTagged(e, "MemcachedStoreError") && (e as { readonly reason?: unknown }).reason === reason

// ---------------------------------------------------------------------------------------------
// Key prefix
// ---------------------------------------------------------------------------------------------

// The one problem `hashLongKeys` repairs: Key's rules found nothing wrong with the key but its length.
const tooLongOnly = (key: string): boolean => {
  const problem = keyProblem(key)
  return problem !== undefined && problem.startsWith("key is ") && problem.endsWith(`more than ${MAX_KEY_LENGTH}`)
}

/**
 * Options of {@link withKeyPrefix}. With `hashLongKeys`, a prefixed key over 250 bytes (and otherwise
 * valid) is replaced by its first bytes, `#` and the SHA-1 of the whole prefixed key, instead of failing
 * with `InvalidKey`. Off by default.
 *
 * @since 0.1.0
 * @category key prefix
 */
export interface KeyPrefixOptions {
  readonly hashLongKeys?: boolean | undefined
}

/**
 * The key {@link withKeyPrefix} sends for `key`. Never fails: validation is the store's.
 *
 * @since 0.1.0
 * @category key prefix
 */
export const prefixedKey = (prefix: string, key: string, options?: KeyPrefixOptions): string => {
  const full = prefix + key
  return options?.hashLongKeys === true && tooLongOnly(full) ? LargeValue.fitKey(full) : full
}

/**
 * A view of `store` in which every key of every {@link RawStore} method (`get`, `gets`, `getMany`,
 * `gat`, `set`, `add`, `replace`, `cas`, `touch`, `delete`, `incr`, `decr`) is `prefix + key`, for one
 * typed namespace over a shared client: `make(withKeyPrefix(client, "users:"), User)`. `getMany`
 * returns the caller's keys. Each method fails as `store`'s does; the prefix is applied before the
 * store validates the key, so the 250-byte limit applies to the prefixed key (an over-long one is
 * `MemcachedInputError("InvalidKey")`, unless `hashLongKeys`).
 *
 * How it composes with the client's own `keyPrefix` option: the client prefixes every key it sends
 * (Bulk and streams included), after this view did, so the server sees `clientPrefix + prefix + key`.
 * Use the client option for a deployment-wide namespace and this view per typed namespace. The key
 * lengths checked here (`hashLongKeys`, and the chunk keys of split values) do not count the client's
 * prefix: keep `prefix + key` under `250 - clientPrefix` bytes, or the client reports `InvalidKey`.
 *
 * @since 0.1.0
 * @category key prefix
 */
export const withKeyPrefix = <S extends RawStore<unknown>>(
  store: S,
  prefix: string,
  options?: KeyPrefixOptions
): RawStoreOf<S> => {
  const k = (key: string) => prefixedKey(prefix, key, options)
  const view: RawStore<unknown> = {
    get: (key, o) => store.get(k(key), o),
    gets: (key, o) => store.gets(k(key), o),
    gat: (key, ttl, o) => store.gat(k(key), ttl, o),
    getMany: (keys, o) => {
      const back = new Map<string, string>()
      for (const key of keys) back.set(k(key), key)
      return Effect.map(store.getMany([...back.keys()], o), (found) => {
        const out = new Map<string, RawItem>()
        for (const [full, item] of found) {
          const original = back.get(full)
          if (original !== undefined) out.set(original, item)
        }
        return out
      })
    },
    set: (key, value, o) => store.set(k(key), value, o),
    add: (key, value, o) => store.add(k(key), value, o),
    replace: (key, value, o) => store.replace(k(key), value, o),
    cas: (key, value, cas, o) => store.cas(k(key), value, cas, o),
    touch: (key, ttl, o) => store.touch(k(key), ttl, o),
    delete: (key, o) => store.delete(k(key), o),
    incr: (key, delta, o) => store.incr(k(key), delta, o),
    decr: (key, delta, o) => store.decr(k(key), delta, o)
  }
  return view as unknown as RawStoreOf<S>
}

// ---------------------------------------------------------------------------------------------
// Typed store
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link make}.
 *
 * - `compression`: wrap the codec with {@link ValueCodec.compressed} (default: off; compressed values
 *   written by others are then a `Decode` error).
 * - `largeValues`: split values over the item size ({@link LargeValue}); `false` stores every value as
 *   one item (the server rejects too-large ones). Default: on, with LargeValue's defaults. (Timeouts
 *   are per call: each method's `timeout` option.)
 * - `onDecodeError`: `"fail"` (default) fails the read with the `MemcachedValueError`; `"miss"` reads an
 *   undecodable value as a miss.
 *
 * @since 0.1.0
 * @category typed store
 */
export interface Options {
  readonly compression?: ValueCodec.CompressionOptions | false | undefined
  readonly largeValues?: Omit<LargeValue.Options, "timeout"> | false | undefined
  readonly onDecodeError?: "fail" | "miss" | undefined
}

/**
 * Options of a typed write: the TTL and the per-call options.
 *
 * @since 0.1.0
 * @category typed store
 */
export interface WriteOptions extends CallOptions {
  readonly ttl?: Ttl | undefined
}

/**
 * A value read with its CAS unique, for a later {@link TypedStore.cas}. For a split value it is the
 * manifest's CAS unique: a `cas` write succeeds only if no one replaced the value since.
 *
 * @since 0.1.0
 * @category typed store
 */
export interface Versioned<A> {
  readonly value: A
  readonly cas: bigint
}

/**
 * Options of {@link TypedStore.getStream}: batching as `Bulk.getStream` (`batchSize` keys or `window`,
 * `concurrency` batches in flight), the per-call `timeout`, and `onServerError: "miss"` to read a key
 * whose read failed as a miss (an invalid key stays an error).
 *
 * @since 0.1.0
 * @category typed store
 */
export interface StreamOptions extends Omit<Bulk.StreamOptions, "cas"> {}

/**
 * The outcome of one key of {@link TypedStore.getStream}: a success with `Some(value)`, a success with
 * `None` for a miss, a failure with the error of a read that failed (its store error, or a
 * `MemcachedValueError` for its value only). An `Either` in Effect 3 (`Right(Some(value))`, `Right(None)`,
 * `Left(error)`), a `Result` in Effect 4 (`Success(...)`, `Failure(error)`).
 *
 * @since 0.1.0
 * @category typed store
 */
export type StreamResult<A, E> = Edition.Outcome<Option.Option<A>, E>

/**
 * Values of type `A` over a store `S`. Every method validates and encodes before any byte is sent, and
 * fails with the errors of the store methods it calls (so a `get` cannot fail with what only a write
 * can) plus `MemcachedValueError` where a value is encoded or decoded. With large values on, a split
 * value is read, written, touched and deleted as one: its chunks follow its manifest.
 *
 * @since 0.1.0
 * @category typed store
 */
export interface TypedStore<A, S extends RawStore<unknown>> {
  readonly codec: ValueCodec.ValueCodec<A>
  /** Reads and decodes `key`; a miss is `None`. Fails with `get`/`getMany` errors or `MemcachedValueError`. */
  readonly get: (
    key: string,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<A>, ErrorOf<S, "get" | "getMany"> | ValueCodec.MemcachedValueError>
  /**
   * Reads and decodes `key` with its CAS unique (`gets`); a miss is `None`. Fails with `gets`/`getMany`
   * errors or `MemcachedValueError` (with `onDecodeError: "miss"`, an undecodable value is `None`).
   */
  readonly gets: (
    key: string,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<Versioned<A>>, ErrorOf<S, "gets" | "getMany"> | ValueCodec.MemcachedValueError>
  /** Reads many keys with one multiget; misses are absent. Fails as a whole with `getMany` errors or the first `MemcachedValueError`. */
  readonly getMany: (
    keys: Iterable<string>,
    options?: CallOptions
  ) => Effect.Effect<ReadonlyMap<string, A>, ErrorOf<S, "getMany"> | ValueCodec.MemcachedValueError>
  /**
   * A streaming typed multiget: keys in, `[key, result]` out in input order, one `getMany` per batch.
   * Never fails on a key's account: when a batch's `getMany` fails (an invalid key, a failed server),
   * its keys are read one by one, so an invalid key or a key on a failed server fails alone (or, with
   * `onServerError: "miss"`, a server failure is a miss), and a bad value fails only its own key. Fails
   * only with the key stream's error.
   */
  readonly getStream: (
    options?: StreamOptions
  ) => <E2, R>(
    keys: Stream.Stream<string, E2, R>
  ) => Stream.Stream<
    readonly [string, StreamResult<A, ErrorOf<S, "get" | "getMany"> | ValueCodec.MemcachedValueError>],
    E2,
    R
  >
  /** Stores `value`. Fails with `MemcachedValueError` (`Encode`, `TooLarge`) before sending, or `set` errors. */
  readonly set: (
    key: string,
    value: A,
    options?: WriteOptions
  ) => Effect.Effect<void, ErrorOf<S, "set"> | ValueCodec.MemcachedValueError>
  /** Stores only when the key is absent; an existing key is `add`'s error (`MemcachedStoreError("NotStored")`). */
  readonly add: (
    key: string,
    value: A,
    options?: WriteOptions
  ) => Effect.Effect<void, ErrorOf<S, "set" | "add"> | ValueCodec.MemcachedValueError>
  /** Stores only when the key exists; a missing key is `replace`'s error (`MemcachedStoreError("NotStored")`). */
  readonly replace: (
    key: string,
    value: A,
    options?: WriteOptions
  ) => Effect.Effect<void, ErrorOf<S, "set" | "replace"> | ValueCodec.MemcachedValueError>
  /**
   * Stores `value` only if the key's CAS unique is still `cas` (from {@link TypedStore.gets}). Fails with
   * `cas`'s errors: `MemcachedStoreError("Exists")` after another write, `"NotFound"` when the key is gone.
   */
  readonly cas: (
    key: string,
    value: A,
    cas: bigint,
    options?: WriteOptions
  ) => Effect.Effect<void, ErrorOf<S, "set" | "cas"> | ValueCodec.MemcachedValueError>
  /**
   * Sets the TTL of `key` (and of a split value's chunks). Fails with `touch`'s errors
   * (`MemcachedStoreError("NotFound")` for a missing key) or `gat`'s (large values on: the item is read
   * with `gat` to find its chunks).
   */
  readonly touch: (key: string, ttl: Ttl, options?: CallOptions) => Effect.Effect<void, ErrorOf<S, "gat" | "touch">>
  /** Reads `key` and sets its TTL (`gat`, chunks included); a miss is `None`. Fails like {@link TypedStore.get}. */
  readonly gat: (
    key: string,
    ttl: Ttl,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<A>, ErrorOf<S, "gat" | "getMany"> | ValueCodec.MemcachedValueError>
  /** Deletes the key and, for a split value, its chunks. A missing key is `delete`'s error (`NotFound`). */
  readonly delete: (key: string, options?: CallOptions) => Effect.Effect<void, ErrorOf<S, "get" | "delete">>
}

const withKey = (key: string) => (e: ValueCodec.MemcachedValueError) =>
  e.key === key
    ? e
    : new ValueCodec.MemcachedValueError({ reason: e.reason, message: `${key}: ${e.message}`, key, cause: e.cause })

const toEncoded = (item: RawItem): ValueCodec.Encoded => ({ bytes: item.value, flags: item.flags })

const callOf = (options: CallOptions | undefined): CallOptions =>
  options?.timeout === undefined ? {} : { timeout: options.timeout }

/** What every operation of one typed store shares; the operations below are written over it. */
interface Context<A> {
  readonly store: RawStore<unknown>
  readonly codec: ValueCodec.ValueCodec<A>
  /** LargeValue's options, or `undefined` when large values are off. */
  readonly large: Omit<LargeValue.Options, "timeout"> | undefined
  readonly missOnError: boolean
}

type Read<X> = Effect.Effect<X, unknown>

const decode = <A>(c: Context<A>, key: string, encoded: ValueCodec.Encoded): Read<Option.Option<A>> => {
  return Edition.match(
    c.codec.decode(encoded.bytes, encoded.flags),
    (a): Read<Option.Option<A>> => Effect.succeed(Option.some(a)),
    (e) => {
      const error = withKey(key)(e)
      return c.missOnError
        ? Effect.as(Effect.logDebug(`undecodable value read as a miss: ${error.message}`), Option.none())
        : Effect.fail(error)
    }
  )
}

/** Assembles (large values on) and decodes an item read under `key`. */
const decodeItem = <A>(c: Context<A>, key: string, item: RawItem, call: CallOptions): Read<Option.Option<A>> =>
  c.large === undefined
    ? decode(c, key, toEncoded(item))
    : Effect.flatMap(
      LargeValue.assemble(c.store, key, item, { ...c.large, ...call }),
      Option.match({ onNone: () => Effect.succeedNone, onSome: (encoded) => decode(c, key, encoded) })
    )

const decodeFound = <A>(c: Context<A>, key: string, call: CallOptions) => (found: Option.Option<RawItem>) =>
  Option.isNone(found) ? Effect.succeedNone : decodeItem(c, key, found.value, call)

const getMany = <A>(c: Context<A>, keys: Iterable<string>, call: CallOptions): Read<ReadonlyMap<string, A>> => {
  const unique = [...new Set(keys)]
  const read: Read<ReadonlyMap<string, ValueCodec.Encoded>> = c.large === undefined
    ? Effect.map(c.store.getMany(unique, call), (items) => new Map([...items].map(([k, item]) => [k, toEncoded(item)])))
    : LargeValue.readMany(c.store, unique, { ...c.large, ...call })
  return Effect.flatMap(read, (found) => {
    const out = new Map<string, A>()
    return Effect.as(
      Effect.forEach(found, ([k, encoded]) =>
        Effect.map(decode(c, k, encoded), (o) => {
          if (Option.isSome(o)) out.set(k, o.value)
        }), { discard: true }),
      out
    )
  })
}

/** One batch of a typed stream: every key's own result, never a failure. */
const readBatch = <A>(
  c: Context<A>,
  batch: ReadonlyArray<string>,
  call: CallOptions,
  missOnServerError: boolean
): Effect.Effect<ReadonlyArray<readonly [string, StreamResult<A, unknown>]>> => {
  const failed = (e: unknown): StreamResult<A, unknown> =>
    missOnServerError && !Predicate.isTagged(e, "MemcachedInputError")
      ? Edition.succeed(Option.none())
      : Edition.fail(e)
  const each = (key: string, item: RawItem | undefined) =>
    item === undefined
      ? Effect.succeed([key, Edition.succeed(Option.none<A>())] as const)
      : Effect.map(Edition.outcome(decodeItem(c, key, item, call)), (r) => [key, r] as const)
  const unique = [...new Set(batch)]
  return Effect.flatMap(Edition.outcome(c.store.getMany(unique, call)), (found) =>
    Edition.match(
      found,
      (items) => Effect.forEach(batch, (k) => each(k, items.get(k)), { concurrency: 8 }),
      (error) => {
        if (unique.length === 1) {
          const f = failed(error)
          return Effect.succeed(batch.map((k) => [k, f] as const))
        }
        // The multiget failed as a whole (an invalid key, or one of the servers it spans): read the batch's
        // keys one by one (they still pipeline and auto-batch), so each key fails or succeeds on its own.
        const single = new Map<string, Effect.Effect<readonly [string, StreamResult<A, unknown>]>>()
        for (const k of unique) {
          single.set(
            k,
            Effect.flatMap(Edition.outcome(c.store.get(k, call)), (r) =>
              Edition.match(
                r,
                (item) => each(k, Option.getOrUndefined(item)),
                (e) => Effect.succeed([k, failed(e)] as const)
              ))
          )
        }
        return Effect.map(
          Effect.forEach(single.values(), (read) => read, { concurrency: "unbounded" }),
          (results) => {
            const byKey = new Map(results)
            return batch.map((k) => [k, byKey.get(k)!] as const)
          }
        )
      }
    ))
}

const getStream =
  <A>(c: Context<A>, options: StreamOptions | undefined) => <E2, R>(keys: Stream.Stream<string, E2, R>) => {
    const call = callOf(options)
    const missOnServerError = options?.onServerError === "miss"
    return keys.pipe(
      // A batch is a Chunk in Effect 3, an array in Effect 4: both iterable.
      Stream.groupedWithin(options?.batchSize ?? 100, options?.window ?? "2 millis"),
      Stream.mapEffect((batch) => readBatch(c, Array.from(batch), call, missOnServerError), {
        concurrency: options?.concurrency ?? 4
      }),
      Edition.flattenIterables
    )
  }

type ManifestWrite = (key: string, value: Uint8Array, options: StoreOptions) => Read<void>

const write = <A>(c: Context<A>, key: string, value: A, o: WriteOptions | undefined, last: ManifestWrite): Read<void> =>
  Effect.suspend(() => {
    const call = callOf(o)
    const ttl = o?.ttl === undefined ? {} : { ttl: o.ttl }
    return Edition.match(
      c.codec.encode(value),
      (encoded): Read<void> =>
        c.large === undefined
          ? last(key, encoded.bytes, { ...call, ...ttl, flags: encoded.flags })
          : LargeValue.write(c.store, key, encoded, { ...c.large, ...call, ...ttl }, last),
      (e) => Effect.fail(withKey(key)(e))
    )
  })

const gets = <A>(c: Context<A>, key: string, call: CallOptions): Read<Option.Option<Versioned<A>>> =>
  Effect.flatMap(c.store.gets(key, call), (found) => {
    if (Option.isNone(found)) return Effect.succeedNone
    const { cas } = found.value
    return Effect.map(decodeItem(c, key, found.value, call), Option.map((value) => ({ value, cas })))
  })

const touch = <A>(c: Context<A>, key: string, ttl: Ttl, call: CallOptions): Read<void> =>
  c.large === undefined
    ? c.store.touch(key, ttl, call)
    : Effect.flatMap(c.store.gat(key, ttl, call), (found) =>
      Option.isNone(found)
        // Gone: the store's touch reports it as it reports any missing key.
        ? c.store.touch(key, ttl, call)
        : LargeValue.touchChunks(c.store, key, found.value, ttl, call))

const gat = <A>(c: Context<A>, key: string, ttl: Ttl, call: CallOptions): Read<Option.Option<A>> =>
  Effect.flatMap(c.store.gat(key, ttl, call), (found) =>
    Option.isNone(found)
      ? Effect.succeedNone
      : Effect.andThen(
        LargeValue.touchChunks(c.store, key, found.value, ttl, call),
        decodeItem(c, key, found.value, call)
      ))

/**
 * A typed store view of `store`: reads decode with the codec (or `Schema`, stored as JSON with flags
 * `2`), writes encode; compression and large values are options. The view fails as its methods say
 * ({@link TypedStore}); building it never fails.
 *
 * @since 0.1.0
 * @category typed store
 */
export const make: {
  <Sch extends Edition.AnySchema, S extends RawStore<unknown>>(
    store: S,
    schema: Sch,
    options?: Options
  ): TypedStore<Edition.SchemaType<Sch>, S>
  <A, S extends RawStore<unknown>>(store: S, codec: ValueCodec.ValueCodec<A>, options?: Options): TypedStore<A, S>
} = <A, S extends RawStore<unknown>>(
  store: S,
  codecOrSchema: ValueCodec.ValueCodec<A> | Edition.AnySchema,
  options: Options = {}
): TypedStore<A, S> => {
  const base: ValueCodec.ValueCodec<A> = Schema.isSchema(codecOrSchema)
    ? ValueCodec.schema(codecOrSchema as Edition.AnySchema)
    : (codecOrSchema as ValueCodec.ValueCodec<A>)
  const codec = options.compression === undefined || options.compression === false
    ? base
    : ValueCodec.compressed(base, options.compression)
  const c: Context<A> = {
    store,
    codec,
    large: options.largeValues === false ? undefined : (options.largeValues ?? {}),
    missOnError: options.onDecodeError === "miss"
  }
  const view: TypedStore<A, RawStore<unknown>> = {
    codec,
    get: (key, o) => Effect.flatMap(store.get(key, callOf(o)), decodeFound(c, key, callOf(o))),
    gets: (key, o) => gets(c, key, callOf(o)),
    getMany: (keys, o) => getMany(c, keys, callOf(o)),
    getStream: (o) => getStream(c, o),
    set: (key, value, o) => write(c, key, value, o, (k, v, so) => store.set(k, v, so)),
    add: (key, value, o) => write(c, key, value, o, (k, v, so) => store.add(k, v, so)),
    replace: (key, value, o) => write(c, key, value, o, (k, v, so) => store.replace(k, v, so)),
    cas: (key, value, cas, o) => write(c, key, value, o, (k, v, so) => store.cas(k, v, cas, so)),
    touch: (key, ttl, o) => touch(c, key, ttl, callOf(o)),
    gat: (key, ttl, o) => gat(c, key, ttl, callOf(o)),
    delete: (
      key,
      o
    ) => (c.large === undefined ? store.delete(key, callOf(o)) : LargeValue.remove(store, key, callOf(o)))
  }
  return view as unknown as TypedStore<A, S>
}

// ---------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link incr} and {@link decr}.
 *
 * - `initial`: the counter's value when the key is missing (default: the delta applied to 0, i.e.
 *   `delta` for `incr` and `0` for `decr`, as OpenStack Swift does). The call returns it.
 * - `ttl`: the TTL given to a counter this call creates (an existing counter's TTL is left alone).
 * - `maxAttempts`: incr → add → incr rounds before giving up under a delete race (default 3).
 * - `timeout`: the per-call timeout of each `incr`/`decr`/`add` sent.
 *
 * @since 0.1.0
 * @category counters
 */
export interface CounterOptions extends CallOptions {
  readonly initial?: bigint | number | undefined
  readonly ttl?: Ttl | undefined
  readonly maxAttempts?: number | undefined
}

const toU64 = (name: string, value: bigint | number): bigint | MemcachedInputError => {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    return new MemcachedInputError({
      reason: "InvalidArgument",
      message: `${name} must be a safe integer or a bigint, got ${value}`
    })
  }
  const big = BigInt(value)
  if (big < 0n || big > U64_MAX) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: `${name} must be in 0 .. 2^64-1, got ${big}` })
  }
  return big
}

/**
 * The part of a {@link RawStore} the counters use.
 *
 * @since 0.1.0
 * @category counters
 */
export type CounterStore = Pick<RawStore<unknown>, "add" | "incr" | "decr">

/**
 * What {@link incr} and {@link decr} fail with over `S`: the store's `incr`/`decr`/`add` errors and
 * `MemcachedInputError("InvalidArgument")` for a bad delta or initial value.
 *
 * @since 0.1.0
 * @category counters
 */
export type CounterError<S extends CounterStore> = ErrorOf<S, "incr" | "decr" | "add"> | MemcachedInputError

const counter = (
  store: CounterStore,
  op: "incr" | "decr",
  key: string,
  delta: bigint | number,
  options: CounterOptions | undefined
): Effect.Effect<bigint, unknown> =>
  Effect.suspend((): Effect.Effect<bigint, unknown> => {
    let big = typeof delta === "bigint" ? delta : Number.isSafeInteger(delta) ? BigInt(delta) : NaN
    if (typeof big === "number") {
      return Effect.fail(
        new MemcachedInputError({
          reason: "InvalidArgument",
          message: `delta must be a safe integer or a bigint, got ${delta}`,
          key
        })
      )
    }
    // A negative delta runs the opposite command (Swift semantics).
    let command = op
    if (big < 0n) {
      big = -big
      command = op === "incr" ? "decr" : "incr"
    }
    const d = toU64("delta", big)
    if (d instanceof MemcachedInputError) return Effect.fail(d)
    const initial = toU64("initial", options?.initial ?? (command === "incr" ? d : 0n))
    if (initial instanceof MemcachedInputError) return Effect.fail(initial)
    const maxAttempts = Math.max(1, options?.maxAttempts ?? 3)
    const ttl = options?.ttl
    const call = callOf(options)
    const run = command === "incr" ? () => store.incr(key, d, call) : () => store.decr(key, d, call)
    const initialBytes = Buffer.from(initial.toString(10), "latin1")
    const addOptions: StoreOptions = { ...call, flags: ValueCodec.Flags.JSON, ...(ttl === undefined ? {} : { ttl }) }
    const attempt = (n: number): Effect.Effect<bigint, unknown> =>
      Effect.catchIf(run(), isStoreError("NotFound"), () =>
        Effect.catchIf(
          Effect.as(store.add(key, initialBytes, addOptions), initial),
          isStoreError("NotStored"),
          // Someone created it first: apply our delta to theirs (or give up after maxAttempts).
          (notStored) => (n + 1 >= maxAttempts ? Effect.fail(notStored) : attempt(n + 1))
        ))
    return attempt(0)
  })

/**
 * Adds `delta` to a counter, creating it with `initial` (and `ttl`) when it is missing: `incr`, on
 * `NotFound` `add`, on `NotStored` (a concurrent creator won) `incr` again. Values are `bigint`
 * (memcached counters are unsigned 64-bit and wrap at 2^64); a negative delta decrements. Fails with
 * {@link CounterError}: `InvalidArgument` before sending, the store's errors, or `add`'s
 * `MemcachedStoreError("NotStored")` after `maxAttempts` lost races.
 *
 * @since 0.1.0
 * @category counters
 */
export const incr = <S extends CounterStore>(
  store: S,
  key: string,
  delta: bigint | number,
  options?: CounterOptions
): Effect.Effect<bigint, CounterError<S>> =>
  counter(store, "incr", key, delta, options) as Effect.Effect<bigint, CounterError<S>>

/**
 * Subtracts `delta` from a counter (memcached floors at 0), creating it with `initial` (default 0) when
 * it is missing, like {@link incr}. Fails like {@link incr}.
 *
 * @since 0.1.0
 * @category counters
 */
export const decr = <S extends CounterStore>(
  store: S,
  key: string,
  delta: bigint | number,
  options?: CounterOptions
): Effect.Effect<bigint, CounterError<S>> =>
  counter(store, "decr", key, delta, options) as Effect.Effect<bigint, CounterError<S>>
