/**
 * Auto-discovery through the Effect 4 client: the shared, edition-neutral cases of the root's
 * test/support/discoveryCases.ts (schedule under TestClock, jitter bounds, retries, older/equal
 * versions, legacy form, malformed replies, the ejection poll, the scope, composition errors, real
 * memcached as an unsupported endpoint and as a discovered node), plus Effect 4 specifics:
 * `Discovery.status` as an Effect with `Option`s, and a foreign value refused naming `discovery`.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, ManagedRuntime, Option, Scope } from "effect"
import { compositionCases, pollCases, realCases, tlsCases } from "../../../test/support/discoveryCases.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../../../test/support/tlsCerts.js"
import * as Discovery from "../src/Discovery.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { registerDiscovery } from "./support/discoveryEdition.js"
import { acquireMemcached } from "./support/memcached.js"

describe("Discovery (Effect 4): first poll and schedule (TestClock)", () => registerDiscovery(pollCases))
describe("Discovery (Effect 4): composition and configuration errors", () => {
  registerDiscovery(compositionCases)

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
  registerDiscovery(tlsCases(() => certs))
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
  registerDiscovery(realCases(() => port))
})
