/**
 * Namespaces that can be cleared on memcached, which cannot list or delete keys by prefix: every key of
 * a namespace is stored under the namespace's current *generation* (`<namespace>:<generation>:<key>`),
 * and clearing the namespace moves it to a new random generation. The old keys are then unreachable
 * and age out of memcached's LRU (or their TTL). The generation lives in one item,
 * `<namespace>:~generation`; if it is ever evicted a new random generation is drawn, so old data can
 * never reappear. The cost is one extra read per call (auto-batched with concurrent calls).
 *
 * Used by the Keyv store's `clear: "namespace"` mode, the `KeyValueStore` layer with a `namespace`, and
 * the `Persistence` backing store (one namespace per store id).
 *
 * One source for both editions (the same key layout, so Effect 3 and Effect 4 processes share namespaces).
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { keyProblem } from "./Key.js"
import type { ClientService } from "./edition.js"
import type { MemcachedError } from "./MemcachedError.js"

/**
 * A namespace over one client: maps keys to their current wire keys, and clears.
 *
 * @since 0.1.0
 * @category models
 */
export interface Namespace {
  /** The namespace's name. */
  readonly name: string
  /** The key that holds the current generation. */
  readonly generationKey: string
  /**
   * The key under which `key` is stored in the current generation. Fails with the client's errors
   * when the generation item cannot be read or created (a network or server error).
   */
  readonly key: (key: string) => Effect.Effect<string, MemcachedError>
  /** {@link Namespace.key} for many keys, with one generation read. Fails like it. */
  readonly keys: (keys: ReadonlyArray<string>) => Effect.Effect<Array<string>, MemcachedError>
  /**
   * Clears the namespace: stores a new random generation. Fails with the client's errors (the
   * namespace is then not cleared).
   */
  readonly clear: Effect.Effect<void, MemcachedError>
}

const freshGeneration = (): string => randomBytes(6).toString("base64url")

/**
 * `prefix + key` when that is a valid memcached key; otherwise (spaces, control characters, more than
 * 250 bytes) `prefix + "#" + sha256(key)` in base64url, so any string can be stored. Never fails.
 *
 * @since 0.1.0
 * @category keys
 */
export const safeKey = (prefix: string, key: string): string => {
  const candidate = prefix + key
  return keyProblem(candidate) === undefined ? candidate : prefix + hashed(key)
}

const hashed = (s: string): string => "#" + createHash("sha256").update(s, "utf8").digest("base64url")

/**
 * A namespace named `name` over `client`. Keys of the namespace become `<name>:<generation>:<key>`,
 * so a key must leave room for the name and 10 characters within memcached's 250 bytes (a longer key
 * fails with `MemcachedInputError("InvalidKey")` when used, unless `hashInvalidKeys`, see
 * {@link safeKey}). Never fails itself.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  client: ClientService,
  name: string,
  options?: {
    /** Store keys that are not valid memcached keys (or too long once prefixed) under their SHA-256. */
    readonly hashInvalidKeys?: boolean | undefined
  }
): Namespace => {
  const hash = options?.hashInvalidKeys === true
  // A name that would make an invalid key (spaces, too long) is itself replaced by its hash.
  const base = hash && keyProblem(`${name}:~generation:`) !== undefined ? hashed(name) : name
  const generationKey = `${base}:~generation`
  const current: Effect.Effect<string, MemcachedError> = Effect.suspend(() => {
    const attempt = (n: number): Effect.Effect<string, MemcachedError> =>
      Effect.flatMap(client.getString(generationKey), (found) => {
        if (Option.isSome(found)) return Effect.succeed(found.value)
        const fresh = freshGeneration()
        // Two writers racing on a missing generation: the first `add` wins, the other reads it back.
        const write = n < 3 ? client.add(generationKey, fresh) : client.set(generationKey, fresh)
        return write.pipe(
          Effect.as(fresh),
          Effect.catchIf(
            (e) => e._tag === "MemcachedStoreError" && e.reason === "NotStored",
            () => attempt(n + 1)
          )
        )
      })
    return attempt(0)
  })
  const wire = (generation: string, key: string) =>
    hash ? safeKey(`${base}:${generation}:`, key) : `${base}:${generation}:${key}`
  return {
    name,
    generationKey,
    key: (key) => Effect.map(current, (g) => wire(g, key)),
    keys: (keys) => Effect.map(current, (g) => keys.map((k) => wire(g, k))),
    clear: Effect.suspend(() => client.set(generationKey, freshGeneration()))
  }
}
