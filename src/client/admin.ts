/**
 * The admin methods, answered per server: flushAll, version, stats, verbosity, protocols, over the
 * engine's request facade. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { type CommandRow, commands } from "../engine/commands.js"
import type { ServerProtocolName } from "../engine/pool.js"
import type { EngineError } from "../engine/types.js"
import type { MemcachedError, MemcachedInputError } from "../MemcachedError.js"
import { toMemcachedError } from "./completion.js"
import type { ClientContext } from "./context.js"
import { ttlSeconds } from "./decode.js"
import type { AdminOptions, MemcachedClient, PerServer } from "./models.js"
import { callback, outcome } from "../edition.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdmin = (
  ctx: ClientContext
): Pick<MemcachedClient, "flushAll" | "version" | "stats" | "verbosity" | "protocols"> => {
  const { pools, requests, retrying, timeoutOf } = ctx
  const { adminLines } = requests
  const inputFailure = (e: EngineError) => Effect.fail(toMemcachedError(e) as MemcachedInputError)
  /**
   * One admin command on every server (or the one `options.server` names), each server's outcome
   * reported on its own: one dead server never hides the others' results.
   */
  const perServer = <A>(
    options: AdminOptions | undefined,
    row: CommandRow,
    head: string | EngineError,
    label: string
  ): Effect.Effect<PerServer<A>, MemcachedInputError> => {
    if (typeof head !== "string") return inputFailure(head)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return inputFailure(timeout)
    const targets = requests.adminTargets(options?.server)
    if (!Array.isArray(targets)) return inputFailure(targets as EngineError)
    return Effect.forEach(
      targets,
      (pool) =>
        Effect.map(
          outcome(retrying(
            row,
            callback<A, MemcachedError>((resume) => requests.admin(pool, row, head, label, timeout, resume))
          )),
          (a) => [pool.spec.name, a] as const
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((entries) => new Map(entries)))
  }
  return {
    flushAll: (delay, options) =>
      Effect.suspend(() =>
        perServer<void>(options, commands.flush_all, adminLines.flushAll(ttlSeconds(delay)), "flush_all")
      ),
    version: (options) => perServer<string>(options, commands.version, adminLines.version(), "version"),
    stats: (argument, options) =>
      perServer<ReadonlyMap<string, string>>(options, commands.stats, adminLines.stats(argument), "stats"),
    verbosity: (level, options) =>
      perServer<void>(options, commands.verbosity, adminLines.verbosity(level), "verbosity"),
    protocols: () =>
      Effect.forEach(
        pools,
        (pool) =>
          callback<readonly [string, ServerProtocolName], MemcachedError>((resume) =>
            pool.detect((p) =>
              resume(
                typeof p === "string" ? Exit.succeed([pool.spec.name, p] as const) : Exit.fail(toMemcachedError(p))
              )
            )
          ),
        { concurrency: "unbounded" }
      ).pipe(Effect.map((entries) => new Map(entries)))
  }
}
