/**
 * TLS and ASCII authentication through the Effect 4 client: the shared, edition-neutral cases of the
 * root's test/support/managedCases.ts, driven by the shared support/managedEdition.ts, against a real `memcached -Z` / `-Y` and the in-memory server's
 * TLS listener and auth file (certificates generated per run by openssl), plus the Effect 4 `Config`
 * entries (`MEMCACHED_USERNAME`/`MEMCACHED_PASSWORD`/`MEMCACHED_TLS`, `layerConfig` with `Config.Redacted`).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import {
  authCases,
  authConfigCases,
  type ManagedCase,
  PASSWORD,
  realAuthCases,
  tlsCases,
  tlsSettingCases
} from "../../../test/support/managedCases.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../../../test/support/tlsCerts.js"
import { memoryServer, realMemcached, type Target } from "../../../test/support/tlsTargets.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { managedEdition } from "./support/managedEdition.js"

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

const register = (cases: ReadonlyArray<ManagedCase>, target: () => Target) => {
  for (const c of cases) {
    it(c.name, () => c.run({ edition: managedEdition, target: target(), certs: () => certs }), 60_000)
  }
}

describe("TLS against real memcached -Z (Effect 4)", () => register(tlsCases, () => realMemcached(certs.dir)))
describe("TLS against the in-memory server's TLS listener (Effect 4)", () => register(tlsCases, () => memoryServer))
describe("TLS settings (Effect 4)", () => register(tlsSettingCases, () => memoryServer))
describe("ASCII authentication against real memcached -Y (Effect 4)", () => {
  register(authCases, () => realMemcached(certs.dir))
  register(realAuthCases, () => realMemcached(certs.dir))
})
describe("ASCII authentication against the in-memory server (Effect 4)", () => register(authCases, () => memoryServer))
describe("auth configuration (Effect 4)", () => {
  register(authConfigCases, () => memoryServer)

  const provider = (env: Record<string, string>) => ConfigProvider.fromUnknown(env)

  it.effect("layerConfig reads the password with Config.Redacted; a bad one fails naming auth.password", () =>
    Effect.gen(function*() {
      const config = {
        servers: Config.succeed(["127.0.0.1:1"]),
        auth: Config.all({ username: Config.String("USER"), password: Config.Redacted("PASSWORD") })
      }
      const build = (env: Record<string, string>) =>
        Effect.scoped(Layer.build(MemcachedClient.layerConfig(config))).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, provider(env)),
          Effect.exit
        )
      assert.isTrue(Exit.isSuccess(yield* build({ USER: "alice", PASSWORD })))
      const bad = yield* build({ USER: "alice", PASSWORD: "two words" })
      assert.isTrue(Exit.isFailure(bad))
      const text = Exit.isFailure(bad) ? String(Cause.squash(bad.cause)) : ""
      assert.include(text, "auth.password")
      assert.notInclude(text, "two words")
    }))

  it.effect("MEMCACHED_USERNAME/MEMCACHED_PASSWORD (Redacted), MEMCACHED_TLS; one without the other fails", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) => Effect.exit(MemcachedClient.config.parse(provider(env)))
      const both = yield* read({ MEMCACHED_USERNAME: "alice", MEMCACHED_PASSWORD: PASSWORD, MEMCACHED_TLS: "true" })
      assert.isTrue(Exit.isSuccess(both))
      if (Exit.isSuccess(both)) {
        assert.strictEqual(both.value.auth?.username, "alice")
        assert.isTrue(Redacted.isRedacted(both.value.auth?.password))
        assert.notInclude(String(both.value.auth?.password), PASSWORD)
        assert.strictEqual(both.value.tls, true)
      }
      const none = yield* read({})
      assert.isTrue(Exit.isSuccess(none) && none.value.auth === undefined && none.value.tls === undefined)
      for (
        const [env, missing] of [[{ MEMCACHED_USERNAME: "alice" }, "MEMCACHED_PASSWORD"], [{
          MEMCACHED_PASSWORD: PASSWORD
        }, "MEMCACHED_USERNAME"]] as const
      ) {
        const half = yield* read(env)
        assert.isTrue(Exit.isFailure(half))
        const text = Exit.isFailure(half) ? String(Cause.squash(half.cause)) : ""
        assert.include(text, missing)
        assert.notInclude(text, PASSWORD)
      }
    }))
})
