/**
 * The read methods: get, gets, getString, getMany, gat, gats, over the engine's request facade (one
 * `Effect.async` (Effect 4: `Effect.callback`) per request; hits as `Option.some`). Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { commands, utf8Decoder } from "../engine/commands.js"
import { getMany as engineGetMany } from "../engine/requests.js"
import { EngineError } from "../engine/types.js"
import type { Ttl } from "../Key.js"
import type { MemcachedReadError } from "../MemcachedError.js"
import { rejected, resumeReleasing, toMemcachedError } from "./completion.js"
import type { ClientContext } from "./context.js"
import { ttlSeconds } from "./decode.js"
import type { CallOptions, CasItem, Item, MemcachedClient } from "./models.js"
import { callback } from "../edition.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeReads = (
  ctx: ClientContext
): Pick<MemcachedClient, "get" | "gets" | "getString" | "getMany" | "gat" | "gats"> => {
  const { requests, settings, retrying, timeoutOf } = ctx
  const retrieve = (cas: boolean) => {
    const row = cas ? commands.gets : commands.get
    return (key: string, options?: CallOptions) => {
      const timeout = options === undefined ? settings.timeout : timeoutOf(options)
      return retrying(
        row,
        callback<Option.Option<Item>, MemcachedReadError>((resume) =>
          rejected(resume, requests.get(key, cas, timeout, resume))
        )
      )
    }
  }
  const get = retrieve(false)
  // The gets finisher fails a hit without a CAS unique (withCas), so every item has one.
  const gets = retrieve(true) as (
    key: string,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>

  const gat = (command: "gat" | "gats") => (key: string, ttl: Ttl, options?: CallOptions) => {
    const timeout = timeoutOf(options)
    const seconds = ttlSeconds(ttl)
    return retrying(
      commands[command],
      callback<Option.Option<Item>, MemcachedReadError>((resume) =>
        rejected(resume, requests.gat(command, key, seconds, timeout, resume))
      )
    )
  }

  const getMany = (
    keysIn: Iterable<string>,
    options?: CallOptions & { readonly cas?: boolean | undefined }
  ): Effect.Effect<ReadonlyMap<string, Item>, MemcachedReadError> => {
    // Another iterable is drained now (every run of the effect asks for the same keys, even from a one-shot
    // iterable); an array is read when the effect runs, as `Effect.forEach` reads it.
    const keys = Array.isArray(keysIn) ? keysIn as ReadonlyArray<string> : Array.from(keysIn)
    const timeout = timeoutOf(options)
    const cas = options?.cas === true
    return callback<ReadonlyMap<string, Item>, MemcachedReadError>((resume) =>
      rejected(
        resume,
        engineGetMany(ctx, keys, cas, timeout, (result) =>
          result instanceof EngineError
            ? resume(Exit.fail(toMemcachedError(result) as MemcachedReadError))
            : resumeReleasing(resume, result))
      )
    )
  }
  return {
    get,
    gets,
    getString: (key, options) => Effect.map(get(key, options), Option.map((item) => utf8Decoder.decode(item.value))),
    getMany,
    gat: gat("gat"),
    gats: gat("gats") as MemcachedClient["gats"]
  }
}
