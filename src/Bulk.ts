/**
 * Bulk operations over many keys: a `Stream` multiget with bounded memory, and `getMany` / `setMany` /
 * `deleteMany` / `touchMany` that report every key's own outcome. Keys are grouped by server, each
 * group goes out pipelined (multi-key `get` lines chunked by `maxKeysPerGet`), servers are asked in
 * parallel, and one failing server fails only its own keys.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { MemcachedClient } from "./client/models.js"
import type { DurationInput, Outcome } from "./edition.js"
import { fail, flattenIterables, fromNullable, match, outcome, succeed } from "./edition.js"
import * as Cluster from "./engine/cluster.js"
import type { Ttl } from "./Key.js"
import type { Item, StoreOptions, Value, WriteResult as ClientWriteResult } from "./MemcachedClient.js"
import type { MemcachedError } from "./MemcachedError.js"

/**
 * The outcome of one key in a bulk read: a success of `Option.some(item)` for a hit, of `Option.none()` for a
 * miss, a failure with the error when its server failed (an `Either` in Effect 3, a `Result` in Effect 4).
 *
 * @since 0.1.0
 * @category models
 */
export type GetResult = Outcome<Option.Option<Item>, MemcachedError>

/**
 * What a server failure means for its keys in a bulk read: a per-key failure (the default), or a
 * miss (`"miss"`, for caches where a failed read should fall through to the source of truth).
 *
 * @since 0.1.0
 * @category models
 */
export type OnServerError = "error" | "miss"

const groupByServer = (client: MemcachedClient, keys: Iterable<string>): Map<number, Array<string>> =>
  Cluster.groupByServer(keys, (k) => k, client.serverFor)

/**
 * Reads many keys and returns every key's own result (unlike `MemcachedClient.getMany`, which fails as
 * a whole). Invalid keys fail their own entry with `MemcachedInputError`; a server that fails or times
 * out fails only its keys (or turns them into misses with `onServerError: "miss"`). Never fails as a
 * whole.
 *
 * @since 0.1.0
 * @category reads
 */
export const getEach = (
  client: MemcachedClient,
  keys: Iterable<string>,
  options?: {
    readonly cas?: boolean | undefined
    readonly timeout?: DurationInput | undefined
    readonly onServerError?: OnServerError | undefined
  }
): Effect.Effect<ReadonlyMap<string, GetResult>> => {
  const miss = options?.onServerError === "miss"
  const failed = (error: MemcachedError): GetResult =>
    miss && error._tag !== "MemcachedInputError" ? succeed(Option.none()) : fail(error)
  const read = { cas: options?.cas, timeout: options?.timeout }
  return Effect.forEach(
    groupByServer(client, keys).values(),
    (group) =>
      outcome(client.getMany(group, read)).pipe(Effect.flatMap((result) =>
        match(result, (found) =>
          Effect.succeed(
            group.map((k): readonly [string, GetResult] => [k, succeed(fromNullable(found.get(k)))])
          ), (error) => {
          if (error._tag !== "MemcachedInputError") {
            const f = failed(error)
            return Effect.succeed(group.map((k) => [k, f] as const))
          }
          // An invalid key fails alone: read the group's keys one by one (they still pipeline and auto-batch).
          const get = options?.cas === true ? client.gets : client.get
          return Effect.forEach(
            group,
            (k) =>
              Effect.map(
                outcome(get(k, read)),
                (r) => [k, match(r, () => r as GetResult, failed)] as const
              ),
            { concurrency: "unbounded" }
          )
        })
      )),
    { concurrency: "unbounded" }
  ).pipe(Effect.map((groups) => new Map(groups.flat())))
}

/**
 * Options of {@link getStream}.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  /** Keys collected before a batch is sent. Default 100. */
  readonly batchSize?: number | undefined
  /** Longest a partial batch waits for more keys. Default 2 ms. */
  readonly window?: DurationInput | undefined
  /** Batches in flight at once (memory is bounded by `batchSize × concurrency`). Default 4. */
  readonly concurrency?: number | undefined
  readonly cas?: boolean | undefined
  readonly timeout?: DurationInput | undefined
  readonly onServerError?: OnServerError | undefined
}

/**
 * A streaming multiget: keys in, `[key, result]` out in input order, batched by size or time window,
 * with bounded memory and backpressure to the producer. Each batch is one pipelined request per server;
 * a failing server yields a failure (or misses) for its keys only.
 *
 * @since 0.1.0
 * @category reads
 */
export const getStream =
  (client: MemcachedClient, options?: StreamOptions) =>
  <E, R>(keys: Stream.Stream<string, E, R>): Stream.Stream<readonly [string, GetResult], E, R> =>
    keys.pipe(
      Stream.groupedWithin(options?.batchSize ?? 100, options?.window ?? "2 millis"),
      Stream.mapEffect(
        (batch) =>
          Effect.map(getEach(client, batch, options), (results) =>
            Array.from(batch, (key) => [key, results.get(key)!] as const)),
        { concurrency: options?.concurrency ?? 4 }
      ),
      flattenIterables
    )

/**
 * The outcome of one key in a bulk write: a success when it took effect, a failure with the error otherwise
 * (e.g. `MemcachedStoreError("NotFound")` for a delete of a missing key).
 *
 * @since 0.1.0
 * @category models
 */
export type WriteResult = ClientWriteResult

/**
 * Stores many values and reports each key's outcome; never fails as a whole. On meta servers the
 * writes go out as quiet `ms` batches closed by `mn` (only failures travel back, each tied to its key);
 * on text servers as pipelined `set`s. See `MemcachedClient.setMany`.
 *
 * @since 0.1.0
 * @category writes
 */
export const setMany = (
  client: MemcachedClient,
  entries: Iterable<readonly [string, Value]>,
  options?: StoreOptions
): Effect.Effect<ReadonlyMap<string, WriteResult>> => client.setMany(entries, options)

/**
 * Deletes many keys and reports each key's outcome (`NotFound` for a missing key); quiet `md` batches
 * on meta servers.
 *
 * @since 0.1.0
 * @category writes
 */
export const deleteMany = (
  client: MemcachedClient,
  keys: Iterable<string>
): Effect.Effect<ReadonlyMap<string, WriteResult>> => client.deleteMany(keys)

/**
 * Updates the TTL of many keys, pipelined, and reports each key's outcome.
 *
 * @since 0.1.0
 * @category writes
 */
export const touchMany = (
  client: MemcachedClient,
  keys: Iterable<string>,
  ttl: Ttl
): Effect.Effect<ReadonlyMap<string, WriteResult>> => client.touchMany(keys, ttl)
