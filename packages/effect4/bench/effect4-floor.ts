/**
 * Contender: the Effect 4 floor — the raw client of `bench/raw.ts` plus one `Effect.callback` (Effect 4.1)
 * per request
 * (one-parameter register, no canceler; resumed from the raw client's completion callback), driven by
 * the same long-lived fibers as effect-memcached. What any Effect 4 client costs at least: one fiber
 * suspend/resume per call on top of the fastest Node client.
 *
 * Gets are `mg <key> v` lines (the best single-key form on memcached 1.6); a multi-get is one
 * `Effect.callback` around one multi-key `get` per server; `setMany` is one `Effect.callback` around the
 * pipelined text `set`s of all entries.
 */
import { Effect } from "effect"
import { RawClient } from "../../../bench/raw.js"
import { type EffectFactory, runEffect } from "./effectDriver.js"

await runEffect(async () => {
  const factory: EffectFactory = {
    settings: "bench/raw.ts + one Effect.callback per call (register(resume), resumed from the raw completion); " +
      "gets: `mg <key> v`; multi-get: one multi-key `get` per server in one Effect.callback; sets: text `set`; " +
      "setMany: all sets pipelined in one Effect.callback",
    make: (servers, purpose) =>
      Effect.gen(function*() {
        const c = purpose === "mem"
          ? RawClient.lazy(servers)
          : yield* Effect.promise(() => RawClient.connect(servers))
        yield* Effect.addFinalizer(() => Effect.sync(() => c.close()))
        return {
          get: (key) =>
            Effect.callback<Buffer | undefined, Error>((resume) => {
              c.pick(key).mgWith(key, (v) => resume(Effect.succeed(v)), (e) => resume(Effect.fail(e)))
            }),
          value: (v) => v as Buffer | undefined,
          set: (key, value) =>
            Effect.callback<Buffer | undefined, Error>((resume) => {
              c.pick(key).setWith(key, value, (v) => resume(Effect.succeed(v)), (e) => resume(Effect.fail(e)))
            }),
          getMany: (keys) =>
            Effect.callback<Map<string, Buffer>, unknown>((resume) => {
              c.getMulti(keys).then((m) => resume(Effect.succeed(m)), (e) => resume(Effect.fail(e)))
            }),
          lookup: (m, k) => (m as Map<string, Buffer>).get(k),
          setMany: (entries) =>
            Effect.callback<number, never>((resume) => {
              let left = entries.length
              let failed = 0
              const done = () => {
                if (--left === 0) resume(Effect.succeed(failed))
              }
              for (const [k, v] of entries) {
                c.pick(k).setWith(k, v, done, () => {
                  failed++
                  done()
                })
              }
            }),
          failures: (n) => ({ count: n as number, first: "set failed" })
        }
      })
  }
  return factory
})
