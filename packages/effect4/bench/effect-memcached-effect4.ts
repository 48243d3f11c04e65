/**
 * Contender: effect-memcached-effect4 (the Effect 4 edition of this project), driven by the Effect 4
 * port of the bench's fiber driver (`./effectDriver.ts`). It runs in a child process whose `effect` is
 * Effect 4.1 (packages/effect4/node_modules). It measures the package's compiled `dist/` (`npm run build
 * -w effect-memcached-effect4` first) when it exists, else the sources through tsx; the report says which.
 * The variant (a line of the contender table in `bench/run.ts`) arrives as `input.options`.
 */
import { Context, Effect, Layer, Option, Result } from "effect"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type * as MemcachedClientModule from "../src/MemcachedClient.js"
import { type EffectFactory, runEffect } from "./effectDriver.js"

interface Item {
  readonly value: Uint8Array
}

await runEffect(async (input) => {
  const dist = path.join(import.meta.dirname, "..", "dist", "packages", "effect4", "src", "MemcachedClient.js")
  const fromDist = process.env.BENCH_FROM_SRC !== "1" && existsSync(dist)
  const MC: typeof MemcachedClientModule = fromDist
    ? await import(pathToFileURL(dist).href)
    : await import("../src/MemcachedClient.js")
  const opts = input.options
  const factory: EffectFactory = {
    settings:
      `Effect 4.1: MemcachedClient.layer({servers${
        Object.keys(opts).length > 0 ? `, ${JSON.stringify(opts).slice(1, -1)}` : ""
      }}) from ${fromDist ? "packages/effect4/dist" : "packages/effect4/src (tsx)"}, defaults otherwise; ` +
      "get / set / getMany / setMany; driver: long-lived fibers, Effect.whileLoop (Effect 4)",
    make: (servers, purpose) =>
      Effect.gen(function*() {
        const extra = purpose === "mem" ? { timeout: "60 seconds" } : {}
        const ctx = yield* Layer.build(
          MC.layer({ servers, ...opts, ...extra } as MemcachedClientModule.MemcachedClientOptions)
        )
        const c = Context.get(ctx, MC.MemcachedClient)
        return {
          get: c.get,
          value: (o) => {
            const x = o as Option.Option<Item>
            return Option.isSome(x) ? x.value.value as Buffer : undefined
          },
          set: c.set,
          getMany: c.getMany,
          lookup: (m, k) => (m as ReadonlyMap<string, Item>).get(k)?.value as Buffer | undefined,
          setMany: c.setMany,
          failures: (r) => {
            let count = 0
            let first: unknown
            for (const e of (r as ReadonlyMap<string, Result.Result<void, unknown>>).values()) {
              if (Result.isFailure(e)) {
                count++
                first ??= e.failure
              }
            }
            return { count, first }
          }
        }
      })
  }
  return factory
})
