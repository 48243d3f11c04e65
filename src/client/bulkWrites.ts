/**
 * The client's bulk writes (`setMany`, `deleteMany`, `touchMany`) over the engine's bulk requests
 * (src/engine/bulk.ts): one `Effect.async` (Effect 4: `Effect.callback`) per call, each key's outcome an `Either`. The call never
 * fails as a whole.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Bulk from "../engine/bulk.js"
import type { CallOptions, StoreOptions, Value, WriteResult } from "./models.js"
import type { Ttl } from "../Key.js"
import { resumeReleasing, toMemcachedError } from "./completion.js"
import type { ClientContext } from "./context.js"
import { ttlSeconds } from "./decode.js"
import { callback, fail, succeed } from "../edition.js"

/** Each key's outcome as the client reports it. */
const asEither: Bulk.BulkResults<WriteResult> = {
  ok: succeed(undefined),
  fail: (error) => fail(toMemcachedError(error))
}

type Results = ReadonlyMap<string, WriteResult>

/**
 * Builds the bulk writes over the client's context. They never fail as a whole: an invalid key, TTL,
 * flags or timeout is that key's `Left(MemcachedInputError)`, before anything is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBulkWrites = (ctx: ClientContext) => ({
  setMany: (entries: Iterable<readonly [string, Value]>, options?: StoreOptions): Effect.Effect<Results> =>
    callback<Results>((resume) =>
      Bulk.setMany(
        ctx,
        entries,
        options?.flags ?? 0,
        ttlSeconds(options?.ttl),
        ctx.timeoutOf(options),
        asEither,
        (results) => resumeReleasing(resume, results)
      )
    ),
  deleteMany: (keys: Iterable<string>, options?: CallOptions): Effect.Effect<Results> =>
    callback<Results>((resume) =>
      Bulk.deleteMany(ctx, keys, ctx.timeoutOf(options), asEither, (results) => resumeReleasing(resume, results))
    ),
  touchMany: (keys: Iterable<string>, ttl: Ttl, options?: CallOptions): Effect.Effect<Results> =>
    callback<Results>((resume) =>
      Bulk.touchMany(
        ctx,
        keys,
        ttlSeconds(ttl),
        ctx.timeoutOf(options),
        asEither,
        (results) => resumeReleasing(resume, results)
      )
    )
})
