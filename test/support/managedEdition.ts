/**
 * The driver of the shared TLS/authentication cases (managedCases.ts), one source for both editions: a
 * scoped client per use, its logs collected at every level (edition.collectLogs), failures as
 * `{ _tag, reason, message, shown }`.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import * as ServerSpec from "../../src/ServerSpec.js"
import { collectLogs } from "./edition.js"
import { type Failure, type ManagedClient, type ManagedEdition, type PlainOptions, shownOf } from "./managedCases.js"

const run = <A>(effect: Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const e = Cause.squash(exit.cause) as Partial<Failure>
    const failure: Failure = {
      _tag: e._tag ?? "Unknown",
      reason: e.reason ?? "",
      message: e.message ?? "",
      shown: shownOf(Cause.pretty(exit.cause), Cause.squash(exit.cause))
    }
    throw failure
  })

const toOptions = (o: PlainOptions): MemcachedClient.MemcachedClientOptions => ({
  servers: o.servers.map((s) => typeof s === "string" ? s : ServerSpec.make(s)),
  tls: o.tls,
  auth: o.auth === undefined ? undefined : { username: o.auth.username, password: Redacted.make(o.auth.password) },
  protocol: o.protocol,
  connectTimeout: "3 seconds",
  timeout: o.timeoutMs === undefined ? undefined : Duration.millis(o.timeoutMs),
  failureLimit: o.failureLimit,
  ...(o.retries === undefined ? {} : { retry: Schedule.recurs(o.retries), retryNonIdempotent: true })
})

/** This edition's driver of the managed cases. */
export const managedEdition: ManagedEdition = {
  withClient: (options, use) => {
    const logs: Array<string> = []
    return Effect.runPromiseExit(
      collectLogs(
        Effect.scoped(Effect.gen(function*() {
          const c = yield* MemcachedClient.make(toOptions(options))
          const client: ManagedClient = {
            set: (key, value) => run(c.set(key, value)),
            getString: (key, timeoutMs) =>
              run(Effect.map(
                c.getString(key, timeoutMs === undefined ? undefined : { timeout: Duration.millis(timeoutMs) }),
                Option.getOrUndefined
              )),
            protocols: () => run(Effect.map(c.protocols(), (m) => [...m.values()])),
            logs: () => logs
          }
          return yield* Effect.promise(() => use(client))
        })),
        (line) => logs.push(line)
      )
    ).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  }
}
