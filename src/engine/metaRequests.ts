/**
 * The meta-only requests of the engine's facade (`metaGet`, `metaSet`, `metaDelete`, `metaArithmetic`,
 * `metaDebug`): each validates its options, waits for the server's protocol when not known yet, fails
 * `Unsupported` on a text-only server (nothing sent), and submits. Options are the edition's own objects,
 * read field by field; their TTL fields are of the edition's duration type `T`, turned into seconds by
 * the edition's `ttlOf`. Plain TypeScript.
 *
 * @since 0.1.0
 */
import type { StorageCommand } from "../protocol/client.js"
import {
  base64KeyProblem,
  encodeMetaArithmetic,
  encodeMetaDebug,
  encodeMetaDelete,
  encodeMetaGet,
  encodeMetaSetHeader
} from "../protocol/meta.js"
import { commands, storeModes, toBytes } from "./commands.js"
import { casError, exptimeAt, flagsError, keyError, sizeError, type TtlSeconds, u64, valueError } from "./keys.js"
import type { ServerPool, ServerProtocolName } from "./pool.js"
import { type Edition, poolRouter, type RequestContext, type Timeout } from "./requests.js"
import { type Endpoint, EngineError, inputError } from "./types.js"

/** The options every meta request reads. */
interface KeyFields {
  readonly base64?: boolean | undefined
}

/**
 * What `metaGet` reads of its options.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaGetFields<T> extends KeyFields {
  /** Return the value (default true). */
  readonly value?: boolean | undefined
  /** Return the remaining TTL (`ttl` of the result, -1 = never). */
  readonly ttl?: boolean | undefined
  /** Return whether the item was fetched before. */
  readonly hit?: boolean | undefined
  /** Return the seconds since the last access. */
  readonly lastAccess?: boolean | undefined
  /** Return the value's size. */
  readonly size?: boolean | undefined
  /** Return the CAS unique. */
  readonly cas?: boolean | undefined
  /** Update the TTL. */
  readonly touch?: T | undefined
  /** On a miss, create an empty item with this TTL and win the recache token (`win`). */
  readonly vivify?: T | undefined
  /** Win the recache token when the remaining TTL is below this. */
  readonly recache?: T | undefined
  /** Do not bump the item in the LRU nor count the access. */
  readonly noLru?: boolean | undefined
}

/**
 * What `metaSet` reads of its options.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaSetFields<T> extends KeyFields {
  readonly ttl?: T | undefined
  readonly flags?: number | undefined
  /** Default `set`. */
  readonly mode?: Exclude<StorageCommand, "cas"> | undefined
  /** Compare and swap: store only if the item's CAS unique is this. */
  readonly cas?: bigint | undefined
  /** The CAS unique the stored item gets (`E`, memcached ≥ 1.6.21). */
  readonly casUnique?: bigint | undefined
  /** With `cas` older than the item's: store anyway, marked stale (`I`). */
  readonly invalidate?: boolean | undefined
  /** With append/prepend: create the item when missing, with this TTL (memcached ≥ 1.6.21). */
  readonly vivify?: T | undefined
}

/**
 * What `metaDelete` reads of its options.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaDeleteFields<T> extends KeyFields {
  /** Delete only if the CAS unique matches. */
  readonly cas?: bigint | undefined
  /** Mark stale instead of deleting (`I`). */
  readonly invalidate?: boolean | undefined
  /** With `invalidate`: the stale item's TTL. */
  readonly ttl?: T | undefined
  /** Keep the item but drop its value (`x`, memcached ≥ 1.6.21). */
  readonly tombstone?: boolean | undefined
  /** The CAS unique an invalidated item gets (`E`, memcached ≥ 1.6.21). */
  readonly casUnique?: bigint | undefined
}

/**
 * What `metaArithmetic` reads of its options.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaArithmeticFields<T> extends KeyFields {
  /** Default 1. */
  readonly delta?: number | bigint | undefined
  /** Default `incr`. */
  readonly mode?: "incr" | "decr" | undefined
  /** Create a missing counter with `initial` (default 0) and this TTL. */
  readonly vivify?: T | undefined
  readonly initial?: number | bigint | undefined
  /** Update the TTL. */
  readonly ttl?: T | undefined
  /** Only if the CAS unique matches. */
  readonly cas?: bigint | undefined
  /** The CAS unique the counter gets (`E`, memcached ≥ 1.6.21). */
  readonly casUnique?: bigint | undefined
}

type MetaLabel = "metaGet" | "metaSet" | "metaDelete" | "metaArithmetic" | "metaDebug"

/** A request's (header, data), or its input error. */
type Built = readonly [string, Uint8Array | undefined] | EngineError

/** The key's problem (plain or base64 per `base64`), before anything is sent. */
const metaKeyError = (key: string, base64: boolean | undefined): EngineError | undefined => {
  if (base64 !== true) return keyError(key)
  const problem = typeof key === "string" ? base64KeyProblem(key) : "key must be a string"
  return problem === undefined ? undefined : inputError("InvalidKey", `invalid base64 key: ${problem}`, key)
}

/** The first TTL that failed to convert, if any. */
const badTtl = (...ttls: ReadonlyArray<number | EngineError>): EngineError | undefined => {
  for (const t of ttls) if (typeof t === "object") return t
  return undefined
}

/** The problem of a `cas` or `casUnique` option, if any. */
const casOptionsError = (
  key: string,
  options: { readonly cas?: bigint | undefined; readonly casUnique?: bigint | undefined } | undefined
): EngineError | undefined => casError(key, options?.cas) ?? casError(key, options?.casUnique)

/** What a meta request needs of the client. */
interface MetaDeps<R> {
  readonly edition: Edition<R>
  readonly poolOf: (key: string) => ServerPool
  readonly timers: { readonly now: () => number }
}

/**
 * A meta-only request: waits for the server's protocol when not known yet, fails `Unsupported` on a
 * text-only server; `build` gets the key as given (the encoders base64-encode it when asked) and the
 * time for TTL conversions.
 */
const metaOnly = <R>(
  { edition, poolOf, timers }: MetaDeps<R>,
  label: MetaLabel,
  key: string,
  base64: boolean | undefined,
  timeout: Timeout,
  build: (wire: string, now: number) => Built,
  resume: R
): EngineError | undefined => {
  const bad = metaKeyError(key, base64) ?? (typeof timeout === "number" ? undefined : timeout)
  if (bad !== undefined) return bad
  const pool = poolOf(key)
  const go = (p: ServerProtocolName | EngineError): void => {
    if (typeof p !== "string") return edition.fail(resume, p)
    if (p !== "meta") {
      return edition.fail(
        resume,
        inputError("Unsupported", `${label} needs the meta protocol; ${pool.spec.name} speaks the text protocol`, key)
      )
    }
    // The encoders base64-encode the key themselves when their `base64` flag is set: they get the key as
    // given (encoding it here too sent the base64 of the base64, so a plain get never found the item).
    const built = build(key, timers.now())
    if (built instanceof EngineError) return edition.fail(resume, built)
    pool.connection().enqueue(
      edition.slot(commands[label].meta, built[0], built[1], key, timeout as number, resume)
    )
  }
  if (pool.protocol !== undefined) go(pool.protocol)
  else pool.detect(go)
  return undefined
}

/**
 * Builds the meta-only requests over the client's pools; `ttlOf` decodes the edition's TTL values.
 * Each returns the `Input` error found before waiting for the protocol, or `undefined`; later failures
 * (the probe's error, `Unsupported`, a TTL option) go to `edition.fail`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMetaRequests = <R, T, S extends Endpoint = Endpoint>(
  ctx: RequestContext<S>,
  edition: Edition<R>,
  ttlOf: (ttl: T) => TtlSeconds
) => {
  const { settings } = ctx
  const deps: MetaDeps<R> = { edition, poolOf: poolRouter(ctx), timers: ctx.timers }
  /** The exptime of an optional TTL option at `now` (undefined stays absent). */
  const exptime = (ttl: T | undefined, now: number): number | undefined | EngineError =>
    ttl === undefined ? undefined : exptimeAt(ttlOf(ttl), { now: () => now })

  const metaGet = (key: string, options: MetaGetFields<T> | undefined, timeout: Timeout, resume: R) =>
    metaOnly(deps, "metaGet", key, options?.base64, timeout, (wire, now) => {
      const touch = exptime(options?.touch, now)
      const vivify = exptime(options?.vivify, now)
      const recache = exptime(options?.recache, now)
      const bad = badTtl(touch ?? 0, vivify ?? 0, recache ?? 0)
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
    }, resume)

  /** `metaSet`: value type, flags, CAS options and size are checked first. */
  const metaSet = (
    key: string,
    value: unknown,
    options: MetaSetFields<T> | undefined,
    timeout: Timeout,
    resume: R
  ): EngineError | undefined => {
    const flags = options?.flags ?? 0
    const bad = valueError(value, key) ?? flagsError(flags, key) ?? casOptionsError(key, options)
    if (bad !== undefined) return bad
    const data = toBytes(value as string | Uint8Array)
    const tooLarge = sizeError(data.length, settings.maxValueSize, key)
    if (tooLarge !== undefined) return tooLarge
    const mode = options?.mode === undefined ? undefined : storeModes[options.mode]
    return metaOnly(deps, "metaSet", key, options?.base64, timeout, (wire, now) => {
      const ttl = exptime(options?.ttl, now)
      const vivify = exptime(options?.vivify, now)
      const badT = badTtl(ttl ?? 0, vivify ?? 0)
      if (badT !== undefined) return badT
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
    }, resume)
  }

  const metaDelete = (
    key: string,
    options: MetaDeleteFields<T> | undefined,
    timeout: Timeout,
    resume: R
  ): EngineError | undefined => {
    const bad = casOptionsError(key, options)
    if (bad !== undefined) return bad
    return metaOnly(deps, "metaDelete", key, options?.base64, timeout, (wire, now) => {
      const ttl = exptime(options?.ttl, now)
      if (ttl instanceof EngineError) return ttl
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
    }, resume)
  }

  const metaArithmetic = (
    key: string,
    options: MetaArithmeticFields<T> | undefined,
    timeout: Timeout,
    resume: R
  ): EngineError | undefined => {
    const delta = u64(options?.delta)
    const initial = u64(options?.initial)
    if (delta === null || initial === null) {
      return inputError("InvalidArgument", "delta and initial must be unsigned 64-bit integers", key)
    }
    const bad = casOptionsError(key, options)
    if (bad !== undefined) return bad
    return metaOnly(deps, "metaArithmetic", key, options?.base64, timeout, (wire, now) => {
      const ttl = exptime(options?.ttl, now)
      const vivify = exptime(options?.vivify, now)
      const badT = badTtl(ttl ?? 0, vivify ?? 0)
      if (badT !== undefined) return badT
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
    }, resume)
  }

  const metaDebug = (key: string, base64: boolean | undefined, timeout: Timeout, resume: R) =>
    metaOnly(deps, "metaDebug", key, base64, timeout, (wire) => [encodeMetaDebug(wire, base64), undefined], resume)

  return { metaGet, metaSet, metaDelete, metaArithmetic, metaDebug }
}
