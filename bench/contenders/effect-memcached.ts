/**
 * Contender: effect-memcached (this project), driven by `bench/effectDriver.ts` (long-lived fibers).
 *
 * It uses only API present in every build the bench compares (`--dist PATH` picks another build's
 * `dist/`, e.g. one of the code before a change): `MemcachedClient.layer(options)`, `MemcachedClient`
 * (the service tag) and the service's `get`, `set`, `getMany` and `setMany`. The variant (a line of the
 * contender table in `bench/run.ts`) arrives as `input.options` and is spread into the layer's options.
 */
import { Context, Effect, Either, Layer, Option, Redacted } from "effect"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { type EffectFactory, runEffect } from "../effectDriver.js"

/** The part of the `MemcachedClient` module the bench uses (identical in the builds it compares). */
interface Item {
  readonly value: Uint8Array
}
interface Service {
  readonly get: (key: string) => Effect.Effect<Option.Option<Item>, unknown>
  readonly set: (key: string, value: Uint8Array) => Effect.Effect<void, unknown>
  readonly getMany: (keys: Iterable<string>) => Effect.Effect<ReadonlyMap<string, Item>, unknown>
  readonly setMany: (
    entries: Iterable<readonly [string, Uint8Array]>
  ) => Effect.Effect<ReadonlyMap<string, Either.Either<void, unknown>>>
}
interface Module {
  readonly MemcachedClient: Context.Tag<unknown, Service>
  readonly layer: (options: Record<string, unknown>) => Layer.Layer<unknown, unknown>
}

await runEffect(async (input) => {
  // The bench measures a compiled build (`npm run build` first), as users run it: tsx's on-the-fly
  // transform adds a keep-names wrapper call to every closure. BENCH_FROM_SRC=1 measures the sources.
  const dist = input.dist ?? path.join(import.meta.dirname, "..", "..", "dist")
  const MC: Module = process.env.BENCH_FROM_SRC === "1" && input.dist === undefined
    ? await import("../../src/MemcachedClient.js") as unknown as Module
    : await import(pathToFileURL(path.join(dist, "MemcachedClient.js")).href)
  // `auth.password` travels as JSON; the client takes it as a Redacted.
  const auth = input.options.auth as { username: string; password: string } | undefined
  const opts = auth === undefined
    ? input.options
    : { ...input.options, auth: { username: auth.username, password: Redacted.make(auth.password) } }
  // The telemetry lines run under a real OpenTelemetry SDK (spans and metrics exported to no-op sinks).
  const layer = opts.telemetry === undefined ? undefined : (await import("../otelPipeline.js")).layer
  const factory: EffectFactory = {
    layer,
    settings:
      `MemcachedClient.layer({servers${
        Object.keys(opts).length > 0 ? `, ${JSON.stringify(opts).slice(1, -1)}` : ""
      }}) ` +
      `from ${input.dist ?? "dist/ of this tree"}, defaults otherwise (1 connection/server, timeout 5s); ` +
      "get / set / getMany (its own ketama placement over 4 servers) / setMany; driver: long-lived fibers, Effect.whileLoop",
    make: (servers, purpose) =>
      Effect.gen(function*() {
        const extra = purpose === "mem" ? { timeout: "60 seconds" } : {}
        const ctx = yield* Layer.build(MC.layer({ servers, ...opts, ...extra }))
        const c = Context.get(ctx, MC.MemcachedClient)
        return {
          get: c.get,
          value: (o) => {
            const x = o as Option.Option<Item>
            return Option.isSome(x) ? x.value.value : undefined
          },
          set: c.set,
          getMany: c.getMany,
          lookup: (m, k) => (m as ReadonlyMap<string, Item>).get(k)?.value,
          setMany: c.setMany,
          failures: (r) => {
            let count = 0
            let first: unknown
            for (const e of (r as ReadonlyMap<string, Either.Either<void, unknown>>).values()) {
              if (Either.isLeft(e)) {
                count++
                first ??= e.left
              }
            }
            return { count, first }
          }
        }
      })
  }
  return factory
})
