/**
 * The single-key commands without a value: delete, touch, incr, decr (noreply where the protocol has
 * it), over the engine's request facade. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { type CommandRow, commands } from "../engine/commands.js"
import type { Resume } from "./completion.js"
import type { EngineError } from "../engine/types.js"
import type { MemcachedError } from "../MemcachedError.js"
import { rejected, toMemcachedError } from "./completion.js"
import type { ClientContext } from "./context.js"
import { ttlSeconds } from "./decode.js"
import type { CallOptions, MemcachedClient } from "./models.js"
import { callback } from "../edition.js"

type Options = (CallOptions & { readonly noreply?: boolean | undefined }) | undefined

/**
 * Builds these methods of the client over its context; each fails as its JSDoc on {@link MemcachedClient} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeKeyCommands = (ctx: ClientContext): Pick<MemcachedClient, "delete" | "touch" | "incr" | "decr"> => {
  const { requests, retrying, timeoutOf } = ctx
  /** One request: sent without waiting under `noreply`, else one `Effect.async` retried per its row. */
  const run = <A>(
    row: CommandRow,
    options: Options,
    send: (noreply: boolean, resume: Resume) => EngineError | undefined
  ): Effect.Effect<A, MemcachedError> => {
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const e = send(true, undefined!)
        return e === undefined ? Effect.void as Effect.Effect<any> : Effect.fail(toMemcachedError(e))
      })
    }
    return retrying(row, callback<A, MemcachedError>((resume) => rejected(resume, send(false, resume))))
  }
  const delta = (command: "incr" | "decr") => (key: string, d: number | bigint, options?: CallOptions) => {
    const timeout = timeoutOf(options)
    return run<bigint>(
      commands[command],
      options,
      (noreply, resume) => requests.delta(command, key, d, noreply, timeout, resume)
    )
  }
  return {
    delete: (key, options) => {
      const timeout = timeoutOf(options)
      return run<void>(commands.delete, options, (noreply, resume) => requests.del(key, noreply, timeout, resume))
    },
    touch: (key, ttl, options) => {
      const timeout = timeoutOf(options)
      const seconds = ttlSeconds(ttl)
      return run<void>(
        commands.touch,
        options,
        (noreply, resume) => requests.touch(key, seconds, noreply, timeout, resume)
      )
    },
    incr: delta("incr"),
    decr: delta("decr")
  }
}
