/**
 * Test layers of the Effect 4 edition: the real {@link MemcachedClient} wired to fresh in-memory
 * servers (the shared, effect-free `MemoryServer`) through the same codec, without sockets. Item expiry
 * and the `delay` fault follow Effect's `Clock`, so `TestClock.adjust` expires items.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Scheduler } from "../../../src/server/connection.js"
import * as MemoryServerModule from "../../../src/server/MemoryServer.js"
import * as MemcachedClient from "./MemcachedClient.js"
import * as ServerSpec from "./ServerSpec.js"

/**
 * The first (or only) in-memory server behind the test client: seed it, inspect it, inject faults.
 *
 * @since 0.1.0
 * @category services
 */
export class MemoryServer extends Context.Service<MemoryServer, MemoryServerModule.MemoryServer>()(
  "effect-memcached/MemcachedTest/MemoryServer"
) {}

/**
 * Every in-memory server behind the test client, in ring order (`memory-0`, `memory-1`, …).
 *
 * @since 0.1.0
 * @category services
 */
export class MemoryServers extends Context.Service<MemoryServers, ReadonlyArray<MemoryServerModule.MemoryServer>>()(
  "effect-memcached/MemcachedTest/MemoryServers"
) {}

/**
 * Options of the test layers: the client's options (without `servers` and `transport`), the number of
 * in-memory servers, and their memory and item-size limits.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestOptions extends Omit<MemcachedClient.MemcachedClientOptions, "servers" | "transport"> {
  /** How many in-memory servers. Default 1. */
  readonly servers?: number | undefined
  readonly maxBytes?: number | undefined
  readonly maxItemSize?: number | undefined
  /** The memcached behaviour to emulate (default newest); `"1.6.18"` as that release. */
  readonly emulate?: MemoryServerModule.MemoryServerOptions["emulate"]
}

/**
 * A scheduler on the current `Clock` (so `TestClock` drives the servers' expiry and delays): `now`
 * reads it, `schedule` sleeps on it in a fiber interrupted by the returned cancel. Never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const clockScheduler: Effect.Effect<Scheduler> = Effect.gen(function*() {
  const clock = yield* Effect.clockWith(Effect.succeed)
  const services = yield* Effect.context<never>()
  const runCallback = Effect.runCallbackWith(services)
  return {
    now: () => clock.currentTimeMillisUnsafe(),
    schedule: (ms, f) => {
      const cancel = runCallback(Effect.sleep(ms), { onExit: (exit) => exit._tag === "Success" && f() })
      return () => cancel()
    }
  }
})

/**
 * A fresh in-memory server on the current `Clock`, closed with the scope. Never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeServer = (
  options: Omit<MemoryServerModule.MemoryServerOptions, "now" | "scheduler"> = {}
): Effect.Effect<MemoryServerModule.MemoryServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scheduler = yield* clockScheduler
    return yield* Effect.acquireRelease(
      Effect.sync(() => MemoryServerModule.make({ ...options, now: scheduler.now, scheduler })),
      (server) => Effect.promise(() => server.close())
    )
  })

const serverOptions = (options: TestOptions) => ({
  maxBytes: options.maxBytes,
  maxItemSize: options.maxItemSize,
  emulate: options.emulate
})

/**
 * A `MemcachedClient` over fresh in-process in-memory servers (one by default), plus
 * {@link MemoryServer} and {@link MemoryServers} for seeding, inspection and fault injection. Fails with
 * a `Config.ConfigError` when the client options are invalid.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: TestOptions = {}
): Layer.Layer<MemcachedClient.MemcachedClient | MemoryServer | MemoryServers, Config.ConfigError> =>
  Layer.effectContext(Effect.gen(function*() {
    const count = options.servers ?? 1
    const servers: Array<MemoryServerModule.MemoryServer> = []
    for (let i = 0; i < count; i++) servers.push(yield* makeServer(serverOptions(options)))
    const specs = servers.map((_, i) => ServerSpec.make({ host: `memory-${i}`, port: 11211 }))
    const byName = new Map(specs.map((s, i) => [s.name, servers[i]!]))
    const { emulate: _, maxBytes: __, maxItemSize: ___, servers: ____, ...clientOptions } = options
    const client = yield* MemcachedClient.make({
      ...clientOptions,
      servers: specs,
      transport: {
        connect: (spec) => {
          const server = byName.get(spec.name)
          if (server === undefined) throw new Error(`no in-memory server named ${spec.name}`)
          return server.connect()
        }
      }
    })
    return Context.make(MemcachedClient.MemcachedClient, client).pipe(
      Context.add(MemoryServer, servers[0]!),
      Context.add(MemoryServers, servers)
    )
  }))

/**
 * A `MemcachedClient` connected over real TCP to a fresh in-memory server listening on an ephemeral
 * loopback port; the listener closes with the layer. Fails with a `Config.ConfigError` when the client
 * options are invalid (a listen failure is a defect).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTcp = (
  options: Omit<TestOptions, "servers"> = {}
): Layer.Layer<MemcachedClient.MemcachedClient | MemoryServer, Config.ConfigError> =>
  Layer.effectContext(Effect.gen(function*() {
    const server = yield* makeServer(serverOptions(options))
    const address = yield* Effect.promise(() => server.listen({ port: 0, host: "127.0.0.1" }))
    const { emulate: _, maxBytes: __, maxItemSize: ___, ...clientOptions } = options
    const client = yield* MemcachedClient.make({ ...clientOptions, servers: [`127.0.0.1:${address.port}`] })
    return Context.make(MemcachedClient.MemcachedClient, client).pipe(Context.add(MemoryServer, server))
  }))
