/**
 * The driver of the shared auto-discovery cases (discoveryCases.ts), one source for both editions: a
 * world per case — a runtime with TestClock (edition.testClockLayer) or the live clock — whose clients
 * live in scopes it closes.
 */
import { it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Discovery from "../../src/Discovery.js"
import { type CloseableScope, type DurationInput, inScope } from "../../src/edition.js"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import type { Transport } from "../../src/MemcachedTransport.js"
import { adjustClock, testClockLayer } from "./edition.js"
import type { DiscoveryCase, DiscoveryHandle, PlainStatus, World } from "./discoveryCases.js"

const plain = (s: Discovery.DiscoveryStatus): PlainStatus => ({
  version: Option.getOrUndefined(s.version),
  nodes: [...s.nodes],
  mode: Option.getOrUndefined(s.mode),
  polls: s.polls,
  failures: s.failures,
  ignored: s.ignored,
  changes: s.changes,
  lastError: Option.getOrUndefined(Option.map(s.lastError, (e) => ({ _tag: e._tag, reason: e.reason })))
})

const promise = <A>(p: Promise<Exit.Exit<A, unknown>>): Promise<A> =>
  p.then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  })

/** A world: a runtime with TestClock (or the live clock); clients in scopes it closes. */
export const world = (clock: "test" | "live"): World => {
  const runtime = ManagedRuntime.make(clock === "test" ? testClockLayer : Layer.empty)
  const values = new WeakMap<DiscoveryHandle, Discovery.Discovery>()
  const scopes: Array<CloseableScope> = []
  return {
    discovery: (setup) => {
      const value = Discovery.elastiCache(setup.endpoint, {
        schedule: setup.everySeconds === undefined ? undefined : Schedule.spaced(Duration.seconds(setup.everySeconds)),
        retry: setup.retry === undefined ? undefined : Schedule.recurs(setup.retry === "none" ? 0 : setup.retry),
        pollOnEjection: setup.pollOnEjection,
        timeout: setup.timeout as DurationInput | undefined,
        command: setup.command as Discovery.ElastiCacheOptions["command"]
      })
      const handle: DiscoveryHandle = {
        status: () => runtime.runPromise(Effect.map(Discovery.status(value), plain)),
        inUse: () => value.state.inUse
      }
      values.set(handle, value)
      return handle
    },
    client: async (setup) => {
      const scope = await runtime.runPromise(Scope.make())
      scopes.push(scope)
      const c = await promise(runtime.runPromiseExit(
        MemcachedClient.make({
          discovery: values.get(setup.discovery),
          servers: setup.servers,
          transport: setup.transport as Transport | undefined,
          protocol: setup.protocol,
          failureLimit: setup.failureLimit,
          tls: setup.tls,
          timeout: setup.timeoutMs === undefined ? undefined : Duration.millis(setup.timeoutMs)
        }).pipe((effect) => inScope(effect, scope))
      ))
      const run = <A>(effect: Effect.Effect<A, unknown>) => promise(Effect.runPromiseExit(effect))
      return {
        names: () => c.servers.map((s) => s.name),
        serverFor: (key) => c.serverFor(key),
        set: (key, value) => run(c.set(key, value)),
        getString: (key) => run(Effect.map(c.getString(key), Option.getOrUndefined)),
        close: () => runtime.runPromise(Scope.close(scope, Exit.void))
      }
    },
    adjust: (millis) => clock === "test" ? runtime.runPromise(adjustClock(millis)) : Promise.resolve(),
    close: async () => {
      for (const scope of scopes) await runtime.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
    }
  }
}

/** Registers each case as a test with a world of its own, closed after it. */
export const registerDiscovery = (cases: ReadonlyArray<DiscoveryCase>) => {
  for (const c of cases) {
    it(c.name, async () => {
      const w = world(c.clock)
      try {
        await c.run(w)
      } finally {
        await w.close()
      }
    }, 60_000)
  }
}
