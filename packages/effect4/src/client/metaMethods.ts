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
import type { Timers } from "../../../../src/engine/connection.js"
import type { ServerPool, ServerProtocolName, Settings } from "../../../../src/engine/pool.js"
import { type Ttl, toExptime, validateKey } from "../Key.js"
import type { CallOptions, MemcachedClient, MetaKeyOptions } from "./models.js"
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
} from "../../../../src/protocol/meta.js"
import type { EngineError } from "../../../../src/engine/types.js"
import { toMemcachedError } from "./request.js"
import {
  casProblem as sharedCasProblem,
  type CommandRow,
  commands,
  storeModes,
  toBytes,
  U32_MAX,
  u64
} from "../../../../src/engine/commands.js"
import type { Submit } from "./request.js"

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
  readonly submit: Submit
}

/** The shared CAS check, as the v4 input error. */
const casProblem = (key: string, cas: bigint | undefined): MemcachedInputError | undefined => {
  const problem = sharedCasProblem(key, cas)
  return problem === undefined ? undefined : toMemcachedError(problem) as MemcachedInputError
}

type MetaLabel = "metaGet" | "metaSet" | "metaDelete" | "metaArithmetic" | "metaDebug"

/** Builds a meta request from the wire key and a TTL converter: (header, data), or the input error. */
type Build = (
  wire: string,
  ttlOf: (ttl: Ttl | undefined) => number | undefined | MemcachedInputError
) => readonly [string, Uint8Array | undefined] | MemcachedInputError

/** The key's problem (plain or base64 per `options`), before anything is sent. */
const keyProblem = (key: string, options: MetaKeyOptions | undefined): MemcachedInputError | undefined => {
  if (options?.base64 !== true) return validateKey(key)
  const problem = typeof key === "string" ? base64KeyProblem(key) : "key must be a string"
  return problem === undefined
    ? undefined
    : new MemcachedInputError({ reason: "InvalidKey", message: `invalid base64 key: ${problem}`, key })
}

/**
 * A meta-only request: waits for the server's protocol when not known yet, fails with
 * `Unsupported` on a text-only server. `build` gets the wire key and a TTL converter.
 */
const metaOnly = <A, E extends MemcachedError = MemcachedError>(
  { poolOf, retrying, submit, timeoutOf, timers }: MetaContext,
  key: string,
  options: MetaKeyOptions | undefined,
  label: MetaLabel,
  build: Build
): Effect.Effect<A, E | MemcachedInputError> => {
  const row = commands[label]
  const invalidKey = keyProblem(key, options)
  if (invalidKey !== undefined) return Effect.fail(invalidKey)
  const timeout = timeoutOf(options)
  if (typeof timeout !== "number") return Effect.fail(timeout)
  const wire = wireKey(key, options?.base64)
  return retrying(
    row,
    Effect.callback<A, E | MemcachedInputError>((resume) => {
      const pool = poolOf(key)
      const go = (p: ServerProtocolName | EngineError): void => {
        if (typeof p !== "string") return resume(Exit.fail(toMemcachedError(p) as E))
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
    })
  )
}

/** The first TTL that failed to convert, if any. */
const badTtl = (...ttls: ReadonlyArray<number | undefined | MemcachedInputError>): MemcachedInputError | undefined => {
  for (const t of ttls) if (typeof t === "object") return t
  return undefined
}

type TtlPair = readonly [number | undefined, number | undefined]

/** The `ttl` and `vivify` options as exptimes, or the first one's input error. */
const ttlAndVivify = (
  ttlOf: Parameters<Build>[1],
  options: { readonly ttl?: Ttl | undefined; readonly vivify?: Ttl | undefined } | undefined
): TtlPair | MemcachedInputError => {
  const ttl = ttlOf(options?.ttl)
  const vivify = ttlOf(options?.vivify)
  return badTtl(ttl, vivify) ?? [ttl as number | undefined, vivify as number | undefined]
}

/** The problem of a `cas` or `casUnique` option, if any. */
const casOptionsProblem = (
  key: string,
  options: { readonly cas?: bigint | undefined; readonly casUnique?: bigint | undefined } | undefined
) => casProblem(key, options?.cas) ?? casProblem(key, options?.casUnique)

const metaGet = (ctx: MetaContext): MemcachedClient["metaGet"] => (key, options) =>
  metaOnly<Option.Option<MetaItem>, MemcachedReadError>(ctx, key, options, "metaGet", (wire, ttlOf) => {
    const touch = ttlOf(options?.touch)
    const vivify = ttlOf(options?.vivify)
    const recache = ttlOf(options?.recache)
    const bad = badTtl(touch, vivify, recache)
    if (bad !== undefined) return bad
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
  })

/** The value's problem for `metaSet` (type, flags, CAS options, size), before anything is sent. */
const metaSetProblem = (
  key: string,
  value: unknown,
  flags: number,
  options: Parameters<MemcachedClient["metaSet"]>[2]
): MemcachedInputError | undefined => {
  if (typeof value !== "string" && !(value instanceof Uint8Array)) {
    return new MemcachedInputError({ reason: "InvalidValue", message: "value must be a Uint8Array or a string", key })
  }
  if (!Number.isInteger(flags) || flags < 0 || flags > U32_MAX) {
    return new MemcachedInputError({
      reason: "InvalidArgument",
      message: `flags must be a 32-bit unsigned integer, got ${flags}`,
      key
    })
  }
  return casOptionsProblem(key, options)
}

const metaSet = (ctx: MetaContext): MemcachedClient["metaSet"] => (key, value, options) => {
  const flags = options?.flags ?? 0
  const bad = metaSetProblem(key, value, flags, options)
  if (bad !== undefined) return Effect.fail(bad)
  const data = toBytes(value)
  if (data.length > ctx.settings.maxValueSize) {
    return Effect.fail(
      new MemcachedInputError({
        reason: "ValueTooLarge",
        message: `value of ${data.length} bytes exceeds maxValueSize ${ctx.settings.maxValueSize}`,
        key
      })
    )
  }
  const mode = options?.mode === undefined ? undefined : storeModes[options.mode]
  return metaOnly(ctx, key, options, "metaSet", (wire, ttlOf) => {
    const t = ttlAndVivify(ttlOf, options)
    if (!Array.isArray(t)) return t as MemcachedInputError
    const [ttl, vivify] = t as TtlPair
    return [
      encodeMetaSetHeader(wire, data.length, {
        base64: options?.base64,
        flags,
        ttl,
        mode,
        compareCas: options?.cas,
        newCas: options?.casUnique,
        invalidate: options?.invalidate,
        vivify,
        returnCas: true
      }),
      data
    ]
  })
}

const metaDelete = (ctx: MetaContext): MemcachedClient["metaDelete"] => (key, options) => {
  const bad = casOptionsProblem(key, options)
  if (bad !== undefined) return Effect.fail(bad)
  return metaOnly(ctx, key, options, "metaDelete", (wire, ttlOf) => {
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
}

const metaArithmetic = (ctx: MetaContext): MemcachedClient["metaArithmetic"] => (key, options) => {
  const delta = u64(options?.delta)
  const initial = u64(options?.initial)
  if (delta === null || initial === null) {
    return Effect.fail(
      new MemcachedInputError({
        reason: "InvalidArgument",
        message: "delta and initial must be unsigned 64-bit integers",
        key
      })
    )
  }
  const bad = casOptionsProblem(key, options)
  if (bad !== undefined) return Effect.fail(bad)
  return metaOnly(ctx, key, options, "metaArithmetic", (wire, ttlOf) => {
    const t = ttlAndVivify(ttlOf, options)
    if (!Array.isArray(t)) return t as MemcachedInputError
    const [ttl, vivify] = t as TtlPair
    return [
      encodeMetaArithmetic(wire, {
        base64: options?.base64,
        mode: options?.mode,
        delta,
        initial,
        vivify,
        ttl,
        compareCas: options?.cas,
        newCas: options?.casUnique,
        value: true,
        returnTtl: true,
        returnCas: true
      }),
      undefined
    ]
  })
}

const metaDebug = (ctx: MetaContext): MemcachedClient["metaDebug"] => (key, options) =>
  metaOnly<Option.Option<ReadonlyMap<string, string>>, MemcachedReadError>(
    ctx,
    key,
    options,
    "metaDebug",
    (wire) => [encodeMetaDebug(wire, options?.base64), undefined]
  )

/**
 * Builds the meta-only methods over the client's pools. Each fails as its JSDoc on
 * {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMetaMethods = (
  ctx: MetaContext
): Pick<MemcachedClient, "metaGet" | "metaSet" | "metaDelete" | "metaArithmetic" | "metaDebug"> => ({
  metaGet: metaGet(ctx),
  metaSet: metaSet(ctx),
  metaDelete: metaDelete(ctx),
  metaArithmetic: metaArithmetic(ctx),
  metaDebug: metaDebug(ctx)
})
