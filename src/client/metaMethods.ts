/**
 * The meta-only methods (`metaGet`, `metaSet`, `metaDelete`, `metaArithmetic`, `metaDebug`) over the
 * engine's meta requests: each waits for the server's protocol when not known yet and fails with
 * `MemcachedInputError("Unsupported")` on a text-only server, before anything is sent.
 *
 * @since 0.1.0
 */
import type * as Option from "effect/Option"
import { commands } from "../engine/commands.js"
import { makeMetaRequests } from "../engine/metaRequests.js"
import type { Ttl } from "../Key.js"
import type { MemcachedClient, MetaCounter, MetaSetResult } from "./models.js"
import type { MemcachedError, MemcachedReadError } from "../MemcachedError.js"
import type { MetaItem } from "../protocol/meta.js"
import { effectEdition, rejected } from "./completion.js"
import type { ClientContext } from "./context.js"
import { ttlSeconds } from "./decode.js"
import { callback } from "../edition.js"

/**
 * Builds the meta-only methods over the client's pools. Each fails as its JSDoc on
 * {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMetaMethods = (
  ctx: ClientContext
): Pick<MemcachedClient, "metaGet" | "metaSet" | "metaDelete" | "metaArithmetic" | "metaDebug"> => {
  const { retrying, timeoutOf } = ctx
  const meta = makeMetaRequests(ctx, effectEdition, (ttl: Ttl) => ttlSeconds(ttl))
  return {
    metaGet: (key, options) => {
      const timeout = timeoutOf(options)
      return retrying(
        commands.metaGet,
        callback<Option.Option<MetaItem>, MemcachedReadError>((resume) =>
          rejected(resume, meta.metaGet(key, options, timeout, resume))
        )
      )
    },
    metaSet: (key, value, options) => {
      const timeout = timeoutOf(options)
      return retrying(
        commands.metaSet,
        callback<MetaSetResult, MemcachedError>((resume) =>
          rejected(resume, meta.metaSet(key, value, options, timeout, resume))
        )
      )
    },
    metaDelete: (key, options) => {
      const timeout = timeoutOf(options)
      return retrying(
        commands.metaDelete,
        callback<void, MemcachedError>((resume) => rejected(resume, meta.metaDelete(key, options, timeout, resume)))
      )
    },
    metaArithmetic: (key, options) => {
      const timeout = timeoutOf(options)
      return retrying(
        commands.metaArithmetic,
        callback<MetaCounter, MemcachedError>(
          (resume) => rejected(resume, meta.metaArithmetic(key, options, timeout, resume))
        )
      )
    },
    metaDebug: (key, options) => {
      const timeout = timeoutOf(options)
      return retrying(
        commands.metaDebug,
        callback<Option.Option<ReadonlyMap<string, string>>, MemcachedReadError>((resume) =>
          rejected(resume, meta.metaDebug(key, options?.base64, timeout, resume))
        )
      )
    }
  }
}
