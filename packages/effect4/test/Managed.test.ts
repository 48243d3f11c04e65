/**
 * TLS and ASCII authentication through the Effect 4 client: the shared, edition-neutral cases of the
 * root's test/support/managedCases.ts against a real `memcached -Z` / `-Y` and the in-memory server's
 * TLS listener and auth file (certificates generated per run by openssl), plus the Effect 4 `Config`
 * entries (`MEMCACHED_USERNAME`/`MEMCACHED_PASSWORD`/`MEMCACHED_TLS`, `layerConfig` with `Config.Redacted`).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import {
  Cause,
  Config,
  ConfigProvider,
  Duration,
  Effect,
  Exit,
  Layer,
  Logger,
  Redacted,
  References,
  Schedule
} from "effect"
import {
  authCases,
  authConfigCases,
  type Failure,
  type ManagedCase,
  type ManagedClient,
  type ManagedEdition,
  PASSWORD,
  type PlainOptions,
  realAuthCases,
  shownOf,
  tlsCases,
  tlsSettingCases
} from "../../../test/support/managedCases.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "../../../test/support/tlsCerts.js"
import { memoryServer, realMemcached, type Target } from "../../../test/support/tlsTargets.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as ServerSpec from "../src/ServerSpec.js"

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

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

/** The Effect 4 edition: a scoped client per use, its logs collected at every level. */
const effect4: ManagedEdition = {
  withClient: (options, use) => {
    const logs: Array<string> = []
    const logger = Logger.make(({ fiber, message }) => {
      logs.push(`${String(message)} ${JSON.stringify(fiber.getRef(References.CurrentLogAnnotations))}`)
    })
    return Effect.runPromiseExit(
      Effect.scoped(Effect.gen(function*() {
        const c = yield* MemcachedClient.make(toOptions(options))
        const client: ManagedClient = {
          set: (key, value) => run(c.set(key, value)),
          getString: (key, timeoutMs) =>
            run(Effect.map(
              c.getString(key, timeoutMs === undefined ? undefined : { timeout: Duration.millis(timeoutMs) }),
              (o) => o._tag === "Some" ? o.value : undefined
            )),
          protocols: () => run(Effect.map(c.protocols(), (m) => [...m.values()])),
          logs: () => logs
        }
        return yield* Effect.promise(() => use(client))
      })).pipe(
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
    ).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  }
}

const register = (cases: ReadonlyArray<ManagedCase>, target: () => Target) => {
  for (const c of cases) it(c.name, () => c.run({ edition: effect4, target: target(), certs: () => certs }), 60_000)
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
