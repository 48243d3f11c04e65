/**
 * The meta-only methods (`metaGet`, `metaSet`, `metaDelete`, `metaArithmetic`, `metaDebug`): each waits
 * for the server's protocol when not known yet and fails with `MemcachedInputError("Unsupported")` on
 * a text-only server, before anything is sent.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Option from "effect/Option"
import type { Command, Slot, Timers } from "../engine/connection.js"
import type { ServerPool, ServerProtocolName, Settings } from "../engine/pool.js"
import { type Ttl, toExptime, validateKey } from "../Key.js"
import type { CallOptions, MemcachedClient, MetaKeyOptions } from "../MemcachedClient.js"
import { type MemcachedError, MemcachedInputError, type MemcachedReadError } from "../MemcachedError.js"
import {
  base64KeyProblem,
  encodeMetaArithmetic,
  encodeMetaDebug,
  encodeMetaDelete,
  encodeMetaGet,
  encodeMetaSetHeader,
  type MetaItem,
  wireKey
} from "../protocol/meta.js"
import { casProblem, type CommandRow, commands, storeModes, toBytes, U32_MAX, u64 } from "./commands.js"

/**
 * What the meta methods need of the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaContext {
  readonly poolOf: (key: string) => ServerPool
  readonly timeoutOf: (options: CallOptions | undefined) => number | MemcachedInputError
  readonly timers: Timers
  readonly settings: Settings
  readonly retrying: <A, E extends MemcachedError>(row: CommandRow, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly submit: (
    pool: ServerPool,
    command: Command,
    head: string,
    data: Uint8Array | undefined,
    key: string,
    timeout: number,
    resume: (effect: Effect.Effect<any, any>) => void
  ) => Slot
}

/**
 * Builds the meta-only methods over the client's pools. Each fails as its JSDoc on
 * {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMetaMethods = (
  { poolOf, retrying, settings, submit, timeoutOf, timers }: MetaContext
): Pick<MemcachedClient, "metaGet" | "metaSet" | "metaDelete" | "metaArithmetic" | "metaDebug"> => {
  /**
   * A meta-only request: waits for the server's protocol when not known yet, fails with
   * `Unsupported` on a text-only server. `build` gets the wire key and a TTL converter.
   */
  const metaOnly = <A, E extends MemcachedError = MemcachedError>(
    key: string,
    options: MetaKeyOptions | undefined,
    label: "metaGet" | "metaSet" | "metaDelete" | "metaArithmetic" | "metaDebug",
    build: (
      wire: string,
      ttlOf: (ttl: Ttl | undefined) => number | undefined | MemcachedInputError
    ) => readonly [string, Uint8Array | undefined] | MemcachedInputError
  ): Effect.Effect<A, E | MemcachedInputError> => {
    const row = commands[label]
    if (options?.base64 === true) {
      const problem = typeof key === "string" ? base64KeyProblem(key) : "key must be a string"
      if (problem !== undefined) {
        return Effect.fail(new MemcachedInputError({ reason: "InvalidKey", message: `invalid base64 key: ${problem}`, key }))
      }
    } else {
      const invalidKey = validateKey(key)
      if (invalidKey !== undefined) return Effect.fail(invalidKey)
    }
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const wire = wireKey(key, options?.base64)
    return retrying(row, Effect.async<A, E | MemcachedInputError>((resume) => {
      const pool = poolOf(key)
      const go = (p: ServerProtocolName | MemcachedError): void => {
        if (typeof p !== "string") return resume(Exit.fail(p as E))
        if (p !== "meta") {
          return resume(Exit.fail(
            new MemcachedInputError({
              reason: "Unsupported",
              message: `${label} needs the meta protocol; ${pool.spec.name} speaks the text protocol`,
              key
            })
          ))
        }
        const now = timers.now()
        const built = build(wire, (ttl) => (ttl === undefined ? undefined : toExptime(ttl, now)))
        if (!Array.isArray(built)) return resume(Exit.fail(built as MemcachedInputError))
        const [head, data] = built as readonly [string, Uint8Array | undefined]
        submit(pool, row.meta, head, data, key, timeout, resume)
      }
      if (pool.protocol !== undefined) go(pool.protocol)
      else pool.detect(go)
    }))
  }

  return {
    metaGet: (key, options) =>
      metaOnly<Option.Option<MetaItem>, MemcachedReadError>(key, options, "metaGet", (wire, ttlOf) => {
        const touch = ttlOf(options?.touch)
        const vivify = ttlOf(options?.vivify)
        const recache = ttlOf(options?.recache)
        for (const t of [touch, vivify, recache]) if (typeof t === "object") return t
        return [
          encodeMetaGet(wire, {
            base64: options?.base64,
            value: options?.value !== false,
            flags: true,
            cas: options?.cas,
            ttl: options?.ttl,
            size: options?.size,
            hit: options?.hit,
            lastAccess: options?.lastAccess,
            noLru: options?.noLru,
            touch: touch as number | undefined,
            vivify: vivify as number | undefined,
            recache: recache as number | undefined
          }),
          undefined
        ]
      }),
    metaSet: (key, value, options) => {
      if (typeof value !== "string" && !(value instanceof Uint8Array)) {
        return Effect.fail(new MemcachedInputError({ reason: "InvalidValue", message: "value must be a Uint8Array or a string", key }))
      }
      const flags = options?.flags ?? 0
      if (!Number.isInteger(flags) || flags < 0 || flags > U32_MAX) {
        return Effect.fail(
          new MemcachedInputError({ reason: "InvalidArgument", message: `flags must be a 32-bit unsigned integer, got ${flags}`, key })
        )
      }
      const bad = casProblem(key, options?.cas) ?? casProblem(key, options?.casUnique)
      if (bad !== undefined) return Effect.fail(bad)
      const data = toBytes(value)
      if (data.length > settings.maxValueSize) {
        return Effect.fail(
          new MemcachedInputError({ reason: "ValueTooLarge", message: `value of ${data.length} bytes exceeds maxValueSize ${settings.maxValueSize}`, key })
        )
      }
      const mode = options?.mode === undefined ? undefined : storeModes[options.mode]
      return metaOnly(key, options, "metaSet", (wire, ttlOf) => {
        const ttl = ttlOf(options?.ttl)
        const vivify = ttlOf(options?.vivify)
        for (const t of [ttl, vivify]) if (typeof t === "object") return t
        return [
          encodeMetaSetHeader(wire, data.length, {
            base64: options?.base64,
            flags,
            ttl: ttl as number | undefined,
            mode,
            compareCas: options?.cas,
            newCas: options?.casUnique,
            invalidate: options?.invalidate,
            vivify: vivify as number | undefined,
            returnCas: true
          }),
          data
        ]
      })
    },
    metaDelete: (key, options) => {
      const bad = casProblem(key, options?.cas) ?? casProblem(key, options?.casUnique)
      if (bad !== undefined) return Effect.fail(bad)
      return metaOnly(key, options, "metaDelete", (wire, ttlOf) => {
        const ttl = ttlOf(options?.ttl)
        if (typeof ttl === "object") return ttl
        return [
          encodeMetaDelete(wire, {
            base64: options?.base64,
            compareCas: options?.cas,
            newCas: options?.casUnique,
            invalidate: options?.invalidate,
            ttl,
            removeValue: options?.tombstone
          }),
          undefined
        ]
      })
    },
    metaArithmetic: (key, options) => {
      const delta = u64(options?.delta)
      const initial = u64(options?.initial)
      if (delta === null || initial === null) {
        return Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: "delta and initial must be unsigned 64-bit integers", key }))
      }
      const bad = casProblem(key, options?.cas) ?? casProblem(key, options?.casUnique)
      if (bad !== undefined) return Effect.fail(bad)
      return metaOnly(key, options, "metaArithmetic", (wire, ttlOf) => {
        const ttl = ttlOf(options?.ttl)
        const vivify = ttlOf(options?.vivify)
        for (const t of [ttl, vivify]) if (typeof t === "object") return t
        return [
          encodeMetaArithmetic(wire, {
            base64: options?.base64,
            mode: options?.mode,
            delta,
            initial,
            vivify: vivify as number | undefined,
            ttl: ttl as number | undefined,
            compareCas: options?.cas,
            newCas: options?.casUnique,
            value: true,
            returnTtl: true,
            returnCas: true
          }),
          undefined
        ]
      })
    },
    metaDebug: (key, options) =>
      metaOnly<Option.Option<ReadonlyMap<string, string>>, MemcachedReadError>(key, options, "metaDebug", (wire) => [encodeMetaDebug(wire, options?.base64), undefined])
  }
}
