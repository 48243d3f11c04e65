/**
 * Test layers: the real {@link MemcachedClient} wired to fresh in-memory servers through the same codec,
 * without sockets. Item expiry follows Effect's `Clock`, so `TestClock.adjust` expires items.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ConfigError from "effect/ConfigError"
import * as MemcachedClient from "./MemcachedClient.js"
import * as MemoryServerModule from "./server/MemoryServer.js"
import * as ServerSpec from "./ServerSpec.js"

/**
 * The first (or only) in-memory server behind the test client: seed it, inspect it, inject faults.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemoryServer extends Context.Tag("effect-memcached/MemcachedTest/MemoryServer")<
  MemoryServer,
  MemoryServerModule.MemoryServer
>() {}

/**
 * Every in-memory server behind the test client, in ring order (`memory-0`, `memory-1`, …).
 *
 * @since 0.1.0
 * @category tags
 */
export class MemoryServers extends Context.Tag("effect-memcached/MemcachedTest/MemoryServers")<
  MemoryServers,
  ReadonlyArray<MemoryServerModule.MemoryServer>
>() {}

/**
 * Options of the test layer: the client's options (without `servers`), the number of in-memory servers,
 * and their memory and item-size limits.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestOptions extends Omit<MemcachedClient.MemcachedClientOptions, "servers" | "transport"> {
  /** How many in-memory servers. Default 1. */
  readonly servers?: number | undefined
  readonly maxBytes?: number | undefined
  readonly maxItemSize?: number | undefined
}

/**
 * A `MemcachedClient` over fresh in-memory servers (one by default), plus {@link MemoryServer} and
 * {@link MemoryServers} for seeding, inspection and fault injection. Fails with a `ConfigError` when
 * the client options are invalid.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: TestOptions = {}
): Layer.Layer<MemcachedClient.MemcachedClient | MemoryServer | MemoryServers, ConfigError.ConfigError> =>
  Layer.scopedContext(Effect.gen(function*() {
    const clock = yield* Effect.clock
    const count = options.servers ?? 1
    const servers = Array.from({ length: count }, () =>
      MemoryServerModule.make({
        now: () => clock.unsafeCurrentTimeMillis(),
        maxBytes: options.maxBytes,
        maxItemSize: options.maxItemSize
      }))
    yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all(servers.map((s) => s.close()))))
    const specs = servers.map((_, i) => ServerSpec.make({ host: `memory-${i}`, port: 11211 }))
    const byName = new Map(specs.map((s, i) => [s.name, servers[i]!]))
    const client = yield* MemcachedClient.make({
      ...options,
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
 * loopback port; the listener closes with the layer. Useful when the socket itself is part of the test.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTcp = (
  options: Omit<TestOptions, "servers"> = {}
): Layer.Layer<MemcachedClient.MemcachedClient | MemoryServer, ConfigError.ConfigError> =>
  Layer.scopedContext(Effect.gen(function*() {
    const clock = yield* Effect.clock
    const server = MemoryServerModule.make({
      now: () => clock.unsafeCurrentTimeMillis(),
      maxBytes: options.maxBytes,
      maxItemSize: options.maxItemSize
    })
    const address = yield* Effect.acquireRelease(
      Effect.promise(() => server.listen({ port: 0, host: "127.0.0.1" })),
      () => Effect.promise(() => server.close())
    )
    const client = yield* MemcachedClient.make({ ...options, servers: [`127.0.0.1:${address.port}`] })
    return Context.make(MemcachedClient.MemcachedClient, client).pipe(Context.add(MemoryServer, server))
  }))
