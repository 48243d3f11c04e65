/**
 * Typed views over a memcached client: {@link typed} (values of one type through a {@link ValueCodec} or
 * a `Schema`, with compression and large-value splitting), {@link withKeyPrefix} (a namespace, with
 * optional hashing of over-long keys) and counters with an initial value ({@link incr}, {@link decr}).
 *
 * Everything here is written against the small structural {@link Store} interface, which
 * `MemcachedClient` satisfies, so the same code runs over the real client, the in-memory server and test
 * doubles.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { Ttl } from "./Key.js"
import * as LargeValue from "./LargeValue.js"
import { MemcachedInputError } from "./MemcachedError.js"
import * as ValueCodec from "./ValueCodec.js"

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/**
 * The part of the client the typed views use. `add` reports an existing key as a
 * `MemcachedStoreError` with reason `"NotStored"`; `incr`/`decr` report a missing key with reason
 * `"NotFound"`. `MemcachedClient` satisfies it structurally.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store<E> extends LargeValue.ChunkStore<E> {
  add(key: string, value: Uint8Array, options?: LargeValue.StoreOptions): Effect.Effect<void, E>
  incr(key: string, delta: bigint): Effect.Effect<bigint, E>
  decr(key: string, delta: bigint): Effect.Effect<bigint, E>
}

const isStoreError = (reason: "NotStored" | "NotFound") => (e: unknown): boolean =>
  Predicate.isTagged(e, "MemcachedStoreError") && (e as { readonly reason?: unknown }).reason === reason

// ---------------------------------------------------------------------------------------------
// Key prefix
// ---------------------------------------------------------------------------------------------

const forbiddenKeyChar = /[\u0000-\u0020\u007f-\u009f\s]/u

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
 * The key {@link withKeyPrefix} sends for `key`.
 *
 * @since 0.1.0
 * @category key prefix
 */
export const prefixedKey = (prefix: string, key: string, options?: KeyPrefixOptions): string => {
  const full = prefix + key
  if (options?.hashLongKeys !== true || forbiddenKeyChar.test(full)) return full
  return LargeValue.fitKey(full)
}

/**
 * A view of `store` in which every key is `prefix + key`. The prefix is applied before key validation,
 * so the 250-byte limit applies to the prefixed key (unless `hashLongKeys`). `getMany` returns the
 * caller's keys.
 *
 * @since 0.1.0
 * @category key prefix
 */
export const withKeyPrefix = <E>(store: Store<E>, prefix: string, options?: KeyPrefixOptions): Store<E> => {
  const k = (key: string) => prefixedKey(prefix, key, options)
  return {
    get: (key) => store.get(k(key)),
    getMany: (keys) => {
      const back = new Map<string, string>()
      for (const key of keys) back.set(k(key), key)
      return Effect.map(store.getMany([...back.keys()]), (found) => {
        const out = new Map<string, LargeValue.Item>()
        for (const [full, item] of found) {
          const original = back.get(full)
          if (original !== undefined) out.set(original, item)
        }
        return out
      })
    },
    set: (key, value, o) => store.set(k(key), value, o),
    add: (key, value, o) => store.add(k(key), value, o),
    delete: (key) => store.delete(k(key)),
    incr: (key, delta) => store.incr(k(key), delta),
    decr: (key, delta) => store.decr(k(key), delta)
  }
}

// ---------------------------------------------------------------------------------------------
// Typed view
// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link typed}.
 *
 * - `compression`: wrap the codec with {@link ValueCodec.compressed} (default: off; compressed values
 *   written by others are then a `Decode` error).
 * - `largeValues`: split values over the item size ({@link LargeValue}); `false` stores every value as
 *   one item (the server rejects too-large ones). Default: on, with LargeValue's defaults.
 * - `onDecodeError`: `"fail"` (default) fails the read with the `MemcachedValueError`; `"miss"` reads an
 *   undecodable value as a miss.
 *
 * @since 0.1.0
 * @category typed
 */
export interface TypedOptions {
  readonly compression?: ValueCodec.CompressionOptions | false | undefined
  readonly largeValues?: LargeValue.Options | false | undefined
  readonly onDecodeError?: "fail" | "miss" | undefined
}

/**
 * Options of a typed write.
 *
 * @since 0.1.0
 * @category typed
 */
export interface TypedWriteOptions {
  readonly ttl?: Ttl | undefined
}

/**
 * Values of type `A` over a store.
 *
 * @since 0.1.0
 * @category typed
 */
export interface TypedStore<A, E> {
  readonly codec: ValueCodec.ValueCodec<A>
  readonly get: (key: string) => Effect.Effect<Option.Option<A>, E | ValueCodec.MemcachedValueError>
  readonly getMany: (
    keys: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, A>, E | ValueCodec.MemcachedValueError>
  readonly set: (key: string, value: A, options?: TypedWriteOptions) => Effect.Effect<void, E | ValueCodec.MemcachedValueError>
  /** Stores only when the key is absent; an existing key is `MemcachedStoreError` `"NotStored"`. */
  readonly add: (key: string, value: A, options?: TypedWriteOptions) => Effect.Effect<void, E | ValueCodec.MemcachedValueError>
  /** Deletes the key and, for a split value, its chunks. */
  readonly delete: (key: string) => Effect.Effect<void, E>
}

const withKey = (key: string) => (e: ValueCodec.MemcachedValueError) =>
  e.key === key ? e : new ValueCodec.MemcachedValueError({ reason: e.reason, message: `${key}: ${e.message}`, key, cause: e.cause })

/**
 * A typed view of `store`: `get` decodes with the codec (or `Schema`, stored as JSON with flags `2`),
 * `set`/`add` encode. Compression and large values are options.
 *
 * @since 0.1.0
 * @category typed
 */
export const typed: {
  <A, I, E>(store: Store<E>, schema: Schema.Schema<A, I, never>, options?: TypedOptions): TypedStore<A, E>
  <A, E>(store: Store<E>, codec: ValueCodec.ValueCodec<A>, options?: TypedOptions): TypedStore<A, E>
} = <A, E>(
  store: Store<E>,
  codecOrSchema: ValueCodec.ValueCodec<A> | Schema.Schema<A, any, never>,
  options: TypedOptions = {}
): TypedStore<A, E> => {
  const base: ValueCodec.ValueCodec<A> = Schema.isSchema(codecOrSchema)
    ? ValueCodec.schema(codecOrSchema as Schema.Schema<A, any, never>)
    : (codecOrSchema as ValueCodec.ValueCodec<A>)
  const codec = options.compression === undefined || options.compression === false
    ? base
    : ValueCodec.compressed(base, options.compression)
  const large = options.largeValues === false ? undefined : (options.largeValues ?? {})
  const missOnError = options.onDecodeError === "miss"

  const decode = (key: string, encoded: ValueCodec.Encoded): Effect.Effect<Option.Option<A>, ValueCodec.MemcachedValueError> => {
    const r = codec.decode(encoded.bytes, encoded.flags)
    if (Either.isRight(r)) return Effect.succeed(Option.some(r.right))
    const error = withKey(key)(r.left)
    return missOnError
      ? Effect.as(Effect.logDebug(`undecodable value read as a miss: ${error.message}`), Option.none())
      : Effect.fail(error)
  }

  const read = (key: string): Effect.Effect<Option.Option<ValueCodec.Encoded>, E | ValueCodec.MemcachedValueError> =>
    large === undefined
      ? Effect.map(store.get(key), Option.map((item) => ({ bytes: item.value, flags: item.flags })))
      : LargeValue.read(store, key, large)

  const readMany = (keys: ReadonlyArray<string>) =>
    large === undefined
      ? Effect.map(store.getMany(keys), (items) => {
        const out = new Map<string, ValueCodec.Encoded>()
        for (const [k, item] of items) out.set(k, { bytes: item.value, flags: item.flags })
        return out as ReadonlyMap<string, ValueCodec.Encoded>
      })
      : LargeValue.readMany(store, keys, large)

  const write = (mode: "set" | "add") => (key: string, value: A, o?: TypedWriteOptions) =>
    Effect.suspend((): Effect.Effect<void, E | ValueCodec.MemcachedValueError> => {
      const encoded = codec.encode(value)
      if (Either.isLeft(encoded)) return Effect.fail(withKey(key)(encoded.left))
      const ttl = o?.ttl
      const last = (k: string, v: Uint8Array, so: LargeValue.StoreOptions) =>
        mode === "set" ? store.set(k, v, so) : store.add(k, v, so)
      if (large === undefined) {
        return last(key, encoded.right.bytes, ttl === undefined ? { flags: encoded.right.flags } : { flags: encoded.right.flags, ttl })
      }
      return LargeValue.write(store, key, encoded.right, ttl === undefined ? large : { ...large, ttl }, last)
    })

  return {
    codec,
    get: (key) =>
      Effect.flatMap(
        read(key),
        Option.match({ onNone: () => Effect.succeedNone, onSome: (encoded) => decode(key, encoded) })
      ),
    getMany: (keys) =>
      Effect.flatMap(readMany(keys), (found) => {
        const out = new Map<string, A>()
        return Effect.as(
          Effect.forEach(found, ([k, encoded]) =>
            Effect.map(decode(k, encoded), (o) => {
              if (Option.isSome(o)) out.set(k, o.value)
            }), { discard: true }),
          out as ReadonlyMap<string, A>
        )
      }),
    set: write("set"),
    add: write("add"),
    delete: (key) => (large === undefined ? store.delete(key) : LargeValue.remove(store, key))
  }
}

// ---------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------

const U64_MAX = (1n << 64n) - 1n

/**
 * Options of {@link incr} and {@link decr}.
 *
 * - `initial`: the counter's value when the key is missing (default: the delta applied to 0, i.e.
 *   `delta` for `incr` and `0` for `decr`, as OpenStack Swift does). The call returns it.
 * - `ttl`: the TTL given to a counter this call creates (an existing counter's TTL is left alone).
 * - `maxAttempts`: incr → add → incr rounds before giving up under a delete race (default 3).
 *
 * @since 0.1.0
 * @category counters
 */
export interface CounterOptions {
  readonly initial?: bigint | number | undefined
  readonly ttl?: Ttl | undefined
  readonly maxAttempts?: number | undefined
}

const toU64 = (name: string, value: bigint | number): bigint | MemcachedInputError => {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: `${name} must be a safe integer or a bigint, got ${value}` })
  }
  const big = BigInt(value)
  if (big < 0n || big > U64_MAX) {
    return new MemcachedInputError({ reason: "InvalidArgument", message: `${name} must be in 0 .. 2^64-1, got ${big}` })
  }
  return big
}

const counter = <E>(
  store: Store<E>,
  op: "incr" | "decr",
  key: string,
  delta: bigint | number,
  options: CounterOptions | undefined
): Effect.Effect<bigint, E | MemcachedInputError> =>
  Effect.suspend((): Effect.Effect<bigint, E | MemcachedInputError> => {
    let big = typeof delta === "bigint" ? delta : Number.isSafeInteger(delta) ? BigInt(delta) : NaN
    if (typeof big === "number") {
      return Effect.fail(
        new MemcachedInputError({ reason: "InvalidArgument", message: `delta must be a safe integer or a bigint, got ${delta}`, key })
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
    const run = command === "incr" ? () => store.incr(key, d) : () => store.decr(key, d)
    const initialBytes = Buffer.from(initial.toString(10), "latin1")
    const addOptions: LargeValue.StoreOptions = ttl === undefined
      ? { flags: ValueCodec.Flags.JSON }
      : { flags: ValueCodec.Flags.JSON, ttl }
    const attempt = (n: number): Effect.Effect<bigint, E> =>
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
 * (memcached counters are unsigned 64-bit and wrap at 2^64); a negative delta decrements.
 *
 * @since 0.1.0
 * @category counters
 */
export const incr = <E>(
  store: Store<E>,
  key: string,
  delta: bigint | number,
  options?: CounterOptions
): Effect.Effect<bigint, E | MemcachedInputError> => counter(store, "incr", key, delta, options)

/**
 * Subtracts `delta` from a counter (memcached floors at 0), creating it with `initial` (default 0) when
 * it is missing, like {@link incr}.
 *
 * @since 0.1.0
 * @category counters
 */
export const decr = <E>(
  store: Store<E>,
  key: string,
  delta: bigint | number,
  options?: CounterOptions
): Effect.Effect<bigint, E | MemcachedInputError> => counter(store, "decr", key, delta, options)
