/**
 * A Keyv (v5) storage adapter over effect-memcached: `new Keyv({ store: new KeyvMemcached(options) })`.
 * It passes Keyv's compliance suite (`@keyv/test-suite`) against memcached 1.6 and the in-memory server.
 *
 * - Keyv serializes; the adapter stores the serialized string as is (UTF-8) and returns it as a string.
 * - TTLs are Keyv's milliseconds, sent to memcached as whole seconds rounded up (memcached's
 *   granularity); Keyv checks its own `expires` on read, so expiry is millisecond-exact for Keyv users.
 * - `clear`: `"flush"` (the default, as `@keyv/memcache` does it) flushes every server, whatever the
 *   namespace; `"namespace"` clears only the adapter's namespace, through namespace generations
 *   (see `NamespaceGeneration`: one extra auto-batched read per call, keys stored as
 *   `<namespace>:<generation>:<key>`). Without a namespace, `clear` always flushes.
 * - One adapter per namespace: Keyv writes its namespace onto the store, so give each `Keyv` its own
 *   adapter (they can share one client: `new KeyvMemcached(client)`).
 * - Errors: every method rejects with the client's typed `MemcachedError` (Keyv then emits or throws
 *   it according to its own options), except `delete`, which resolves `false` for a missing key.
 *
 * One source for both editions (the Effect 4 package compiles this file over its own client).
 *
 * @since 0.1.0
 */
import { EventEmitter } from "node:events"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { KeyvStoreAdapter, StoredData } from "keyv"
import { type ClientService, match } from "./edition.js"
import * as MemcachedClient from "./MemcachedClient.js"
import { MemcachedInputError } from "./MemcachedError.js"
import type { MemcachedError } from "./MemcachedError.js"
import * as MemcachedPromise from "./MemcachedPromise.js"
import * as NamespaceGeneration from "./NamespaceGeneration.js"

/**
 * Options of {@link KeyvMemcached}.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyvMemcachedOptions {
  /**
   * What `clear()` removes: `"flush"` (default) flushes every server (`flush_all`), as `@keyv/memcache`
   * does; `"namespace"` clears only this adapter's namespace (namespace generations).
   */
  readonly clear?: "flush" | "namespace" | undefined
}

type Client = MemcachedPromise.PromiseClient<MemcachedClient.MemcachedClient, unknown>

const isPromiseClient = (u: unknown): u is Client =>
  typeof u === "object" && u !== null && "run" in u && "withSignal" in u && "close" in u

const decode = (item: MemcachedClient.Item): string => Buffer.from(item.value).toString("utf8")

const ttlOf = (ttl: number | undefined): Duration.Duration | undefined =>
  typeof ttl === "number" && Number.isFinite(ttl) && ttl > 0 ? Duration.millis(ttl) : undefined

const storable = (value: unknown): Effect.Effect<string | Uint8Array, MemcachedInputError> =>
  typeof value === "string" || value instanceof Uint8Array
    ? Effect.succeed(value)
    : Effect.fail(
      new MemcachedInputError({
        reason: "InvalidValue",
        message: `KeyvMemcached stores strings or bytes (leave serialization to Keyv), got ${typeof value}`
      })
    )

/**
 * The Keyv store. Construct it from client options (it then owns its client and `disconnect()` closes
 * it) or from a shared {@link MemcachedPromise.PromiseClient} (which `disconnect()` leaves open).
 *
 * @since 0.1.0
 * @category models
 */
export class KeyvMemcached extends EventEmitter implements KeyvStoreAdapter {
  /** Keyv reads and writes adapter options here (e.g. a custom `deserialize`); unused by the adapter. */
  opts: Record<string, unknown>
  /** Set by Keyv to its namespace. */
  namespace?: string | undefined
  /** The Promise client the adapter runs on. */
  readonly client: Client
  private readonly owned: boolean
  private readonly clearMode: "flush" | "namespace"

  /**
   * Fails nothing at construction; invalid client options reject every call with their `ConfigError`.
   */
  constructor(client?: Client | MemcachedClient.MemcachedClientOptions, options: KeyvMemcachedOptions = {}) {
    super()
    this.owned = !isPromiseClient(client)
    this.client = isPromiseClient(client) ? client : MemcachedPromise.createClient(client ?? {})
    this.clearMode = options.clear ?? "flush"
    this.opts = { clear: this.clearMode }
  }

  private run<A>(f: (client: ClientService) => Effect.Effect<A, MemcachedError>): Promise<A> {
    return this.client.run(Effect.flatMap(MemcachedClient.MemcachedClient, f))
  }

  /** The namespace generations, when `clear: "namespace"` and a namespace is set. */
  private generations(client: ClientService): NamespaceGeneration.Namespace | undefined {
    const ns = this.namespace
    return this.clearMode === "namespace" && ns !== undefined && ns !== ""
      ? NamespaceGeneration.make(client, ns)
      : undefined
  }

  /** The keys memcached stores `keys` under (Keyv's namespace prefix is kept, or replaced by the generation's). */
  private wire(
    client: ClientService,
    keys: ReadonlyArray<string>
  ): Effect.Effect<Array<string>, MemcachedError> {
    const ns = this.generations(client)
    if (ns === undefined) return Effect.succeed([...keys])
    const prefix = `${ns.name}:`
    return ns.keys(keys.map((k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k)))
  }

  /** Reads a key: the stored string, or `undefined`. Rejects with the client's `MemcachedError`. */
  get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.run((c) =>
      Effect.flatMap(this.wire(c, [key]), ([k]) => c.get(k!)).pipe(
        Effect.map((o) => Option.getOrUndefined(Option.map(o, decode)) as StoredData<Value> | undefined)
      )
    )
  }

  /** Reads many keys in one round trip per server, in order (`undefined` for a miss). Rejects like `get`. */
  getMany<Value>(keys: Array<string>): Promise<Array<StoredData<Value | undefined>>> {
    return this.run((c) =>
      Effect.flatMap(this.wire(c, keys), (wire) =>
        Effect.map(c.getMany(wire), (found) =>
          wire.map((k) => {
            const item = found.get(k)
            return (item === undefined ? undefined : decode(item)) as StoredData<Value | undefined>
          })))
    )
  }

  /**
   * Stores Keyv's serialized value, with `ttl` in milliseconds (rounded up to whole seconds; none or
   * 0 never expires). Resolves `true`; rejects with `MemcachedInputError` (invalid key, a value that is
   * not a string or bytes) or the client's network and server errors.
   */
  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return this.run((c) =>
      Effect.all([this.wire(c, [key]), storable(value)]).pipe(
        Effect.flatMap(([[k], v]) => c.set(k!, v, { ttl: ttlOf(ttl) })),
        Effect.as(true)
      )
    )
  }

  /**
   * Stores many entries, pipelined, one batch per TTL. Resolves when every entry was stored; otherwise
   * rejects with the first failing key's `MemcachedError` (the other entries were still written), or
   * with `MemcachedInputError` before anything is sent when a value is not a string or bytes.
   */
  setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    const wireOf = (keys: ReadonlyArray<string>, c: ClientService) => this.wire(c, keys)
    return this.run((c) =>
      Effect.gen(function*() {
        const wire = yield* wireOf(entries.map((e) => e.key), c)
        const byTtl = new Map<number, Array<readonly [string, string | Uint8Array]>>()
        for (let i = 0; i < entries.length; i++) {
          const ttl = entries[i]!.ttl ?? 0
          const group = byTtl.get(ttl) ?? []
          group.push([wire[i]!, yield* storable(entries[i]!.value)])
          byTtl.set(ttl, group)
        }
        const failures = new Map<string, MemcachedError>()
        for (const [ttl, group] of byTtl) {
          const written = yield* c.setMany(group, { ttl: ttlOf(ttl) })
          for (const [k, r] of written) match(r, () => undefined, (e) => failures.set(k, e))
        }
        for (const k of wire) {
          const failure = failures.get(k)
          if (failure !== undefined) return yield* Effect.fail(failure)
        }
      })
    )
  }

  /** Deletes a key: `true` when it existed, `false` when not. Rejects with network or server errors. */
  delete(key: string): Promise<boolean> {
    return this.run((c) =>
      Effect.flatMap(this.wire(c, [key]), ([k]) => c.delete(k!)).pipe(
        Effect.as(true),
        Effect.catchIf((e) => e._tag === "MemcachedStoreError" && e.reason === "NotFound", () => Effect.succeed(false))
      )
    )
  }

  /** Deletes many keys: `true` when every key existed and was deleted. Rejects like `get`. */
  deleteMany(keys: Array<string>): Promise<boolean> {
    return this.run((c) =>
      Effect.flatMap(
        this.wire(c, keys),
        (wire) =>
          Effect.map(c.deleteMany(wire), (results) =>
            wire.every((k) => {
              const r = results.get(k)
              return r !== undefined && match(r, () => true, () => false)
            }))
      )
    )
  }

  /** True when the key is stored. Rejects like `get`. */
  has(key: string): Promise<boolean> {
    return this.get(key).then((v) => v !== undefined)
  }

  /** For each key, whether it is stored (one round trip per server). Rejects like `get`. */
  hasMany(keys: Array<string>): Promise<Array<boolean>> {
    return this.getMany(keys).then((values) => values.map((v) => v !== undefined))
  }

  /**
   * Clears: with `clear: "namespace"` and a namespace, only the namespace (a new generation); otherwise
   * flushes every server. Rejects with the client's network or server errors.
   */
  clear(): Promise<void> {
    return this.run((c) => {
      const ns = this.generations(c)
      return ns === undefined ? c.flushAll() : ns.clear
    })
  }

  /** Closes the client when the adapter created it; a shared client stays open. Never rejects. */
  async disconnect(): Promise<void> {
    if (this.owned) await this.client.close()
  }
}
