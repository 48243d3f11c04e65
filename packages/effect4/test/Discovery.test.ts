/**
 * Auto-discovery through the Effect 4 client: the shared, edition-neutral cases of the root's
 * test/support/discoveryCases.ts (schedule under TestClock, jitter bounds, retries, older/equal
 * versions, legacy form, malformed replies, the ejection poll, the scope, composition errors, real
 * memcached as an unsupported endpoint and as a discovered node), plus Effect 4 specifics:
 * `Discovery.status` as an Effect with `Option`s, and a foreign value refused naming `discovery`.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, ManagedRuntime, Option, Schedule, Scope } from "effect"
import { TestClock } from "effect/testing"
import {
  compositionCases,
  type DiscoveryCase,
  type DiscoveryHandle,
  type PlainStatus,
  pollCases,
  realCases,
  tlsCases,
  type World
} from "../../../test/support/discoveryCases.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../../../test/support/tlsCerts.js"
import * as Discovery from "../src/Discovery.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { Transport } from "../src/MemcachedTransport.js"
import { acquireMemcached } from "./support/memcached.js"

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
const world = (clock: "test" | "live"): World => {
  const runtime = ManagedRuntime.make(clock === "test" ? TestClock.layer() : Layer.empty)
  const values = new WeakMap<DiscoveryHandle, Discovery.Discovery>()
  const scopes: Array<Scope.Closeable> = []
  return {
    discovery: (setup) => {
      const value = Discovery.elastiCache(setup.endpoint, {
        schedule: setup.everySeconds === undefined ? undefined : Schedule.spaced(Duration.seconds(setup.everySeconds)),
        retry: setup.retry === undefined ? undefined : Schedule.recurs(setup.retry === "none" ? 0 : setup.retry),
        pollOnEjection: setup.pollOnEjection,
        timeout: setup.timeout as Duration.Input | undefined,
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
        }).pipe(Scope.provide(scope))
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
    adjust: (millis) => clock === "test" ? runtime.runPromise(TestClock.adjust(millis)) : Promise.resolve(),
    close: async () => {
      for (const scope of scopes) await runtime.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
    }
  }
}

const register = (cases: ReadonlyArray<DiscoveryCase>) => {
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

describe("Discovery (Effect 4): first poll and schedule (TestClock)", () => register(pollCases))
describe("Discovery (Effect 4): composition and configuration errors", () => {
  register(compositionCases)

  it.effect("a value that is not a Discovery fails naming discovery", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(Effect.scoped(MemcachedClient.make({ discovery: { endpoint: "cfg:11211" } as any })))
      assert.include(String(e), "discovery")
      assert.include(String(e), "Discovery.elastiCache")
    }))

  it.effect("Discovery.status before any client: nothing polled, Options empty", () =>
    Effect.gen(function*() {
      const st = yield* Discovery.status(Discovery.elastiCache("cfg:11211"))
      assert.isTrue(Option.isNone(st.version) && Option.isNone(st.mode) && Option.isNone(st.lastError))
      assert.strictEqual(st.polls, 0)
    }))
})

describe("Discovery (Effect 4) over TLS", () => {
  let certs: TestCerts
  beforeAll(() => {
    certs = makeTestCerts()
  })
  afterAll(() => removeTestCerts(certs))
  register(tlsCases(() => certs))
})

describe("Discovery (Effect 4) against real memcached 1.6", () => {
  let port = 0
  let stop: (() => Promise<void>) | undefined
  beforeAll(async () => {
    const runtime = ManagedRuntime.make(Layer.empty)
    const scope = await runtime.runPromise(Scope.make())
    const mc = await runtime.runPromise(acquireMemcached().pipe(Scope.provide(scope)))
    port = mc.port
    stop = () => runtime.runPromise(Scope.close(scope, Exit.void)).then(() => runtime.dispose())
  }, 60_000)
  afterAll(() => stop?.(), 60_000)
  register(realCases(() => port))
})
