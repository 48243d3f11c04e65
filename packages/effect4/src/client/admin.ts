/**
 * The admin methods, answered per server: flushAll, version, stats, verbosity, protocols.
 * Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { ServerProtocolName } from "../../../../src/engine/pool.js"
import { toExptime } from "../Key.js"
import type { AdminOptions, MemcachedClient, PerServer } from "./models.js"
import { type MemcachedError, MemcachedInputError } from "../MemcachedError.js"
import { encodeFlushAll, encodeStats, encodeVerbosity, encodeVersion } from "../../../../src/protocol/client.js"
import { commandFor, type CommandRow, commands, U32_MAX } from "../../../../src/engine/commands.js"
import { toMemcachedError } from "./request.js"
import type { ClientContext } from "./context.js"

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdmin = (
  ctx: ClientContext
): Pick<MemcachedClient, "flushAll" | "version" | "stats" | "verbosity" | "protocols"> => {
  const { servers, pools, timers, retrying, submit, timeoutOf, proxyRejects } = ctx
  /**
   * One admin command on every server (or the one `options.server` names), each server's outcome
   * reported on its own: one dead server never hides the others' results.
   */
  const perServer = <A>(
    options: AdminOptions | undefined,
    row: CommandRow,
    head: string,
    label: string
  ): Effect.Effect<PerServer<A>, MemcachedInputError> => {
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const target = options?.server
    const targets = target === undefined ? pools : pools.filter((p) => p.spec.name === target)
    if (targets.length === 0) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "InvalidArgument",
          message: `unknown server ${JSON.stringify(target)}; the servers are ${servers.map((s) => s.name).join(", ")}`
        })
      )
    }
    return Effect.forEach(
      targets,
      (pool) =>
        Effect.map(
          Effect.result(retrying(
            row,
            Effect.callback<A, MemcachedError>((resume) => {
              pool.whenKnown(() => {
                const rejected = proxyRejects(pool, label)
                if (rejected !== undefined) return resume(Exit.fail(rejected))
                submit(pool, commandFor(row, pool.protocol === "meta"), head, undefined, label, timeout, resume)
              })
            })
          )),
          (a) => [pool.spec.name, a] as const
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((entries) => new Map(entries)))
  }
  return {
    flushAll: (delay, options) =>
      Effect.suspend(() => {
        const exptime = toExptime(delay, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        return perServer<void>(options, commands.flush_all, encodeFlushAll(exptime), "flush_all")
      }),
    version: (options) => perServer<string>(options, commands.version, encodeVersion(), "version"),
    stats: (argument, options) => {
      if (argument !== undefined && !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(argument)) {
        return Effect.fail(
          new MemcachedInputError({
            reason: "InvalidArgument",
            message: `invalid stats argument ${JSON.stringify(argument)}`
          })
        )
      }
      return perServer<ReadonlyMap<string, string>>(options, commands.stats, encodeStats(argument), "stats")
    },
    verbosity: (level, options) =>
      Number.isInteger(level) && level >= 0 && level <= U32_MAX
        ? perServer<void>(options, commands.verbosity, encodeVerbosity(level), "verbosity")
        : Effect.fail(
          new MemcachedInputError({ reason: "InvalidArgument", message: `invalid verbosity level ${level}` })
        ),
    protocols: () =>
      Effect.forEach(
        pools,
        (pool) =>
          Effect.callback<readonly [string, ServerProtocolName], MemcachedError>((resume) =>
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
