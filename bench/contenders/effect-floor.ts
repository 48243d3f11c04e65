/**
 * Contender: the Effect floor — the raw client of `bench/raw.ts` plus one callback effect per request
 * (`Effect.async` in Effect 3, `Effect.callback` in Effect 4: one-parameter register, no canceler;
 * resumed from the raw client's completion callback), driven by the same long-lived fibers as
 * effect-memcached. What any Effect client costs at least: one fiber suspend/resume per call on top of
 * the fastest Node client. Written once for both editions (packages/effect4/editions.json): the
 * `effect4-floor` line runs its Effect 4 copy.
 *
 * Gets are `mg <key> v` lines (the best single-key form on memcached 1.6); a multi-get is one callback
 * effect around one multi-key `get` per server; `setMany` is one around the pipelined text `set`s of all
 * entries.
 */
import { Effect } from "effect"
import { RawClient } from "../raw.js"
import { callback, callbackName } from "../edition.js"
import { type EffectFactory, runEffect } from "../effectDriver.js"

await runEffect(async () => {
  const factory: EffectFactory = {
    settings: `bench/raw.ts + one ${callbackName} per call (register(resume), resumed from the raw completion); ` +
      `gets: \`mg <key> v\`; multi-get: one multi-key \`get\` per server in one ${callbackName}; sets: text \`set\`; ` +
      `setMany: all sets pipelined in one ${callbackName}`,
    make: (servers, purpose) =>
      Effect.gen(function*() {
        const c = purpose === "mem"
          ? RawClient.lazy(servers)
          : yield* Effect.promise(() => RawClient.connect(servers))
        yield* Effect.addFinalizer(() => Effect.sync(() => c.close()))
        return {
          get: (key) =>
            callback<Buffer | undefined, Error>((resume) => {
              c.pick(key).mgWith(key, (v) => resume(Effect.succeed(v)), (e) => resume(Effect.fail(e)))
            }),
          value: (v) => v as Buffer | undefined,
          set: (key, value) =>
            callback<Buffer | undefined, Error>((resume) => {
              c.pick(key).setWith(key, value, (v) => resume(Effect.succeed(v)), (e) => resume(Effect.fail(e)))
            }),
          getMany: (keys) =>
            callback<Map<string, Buffer>, unknown>((resume) => {
              c.getMulti(keys).then((m) => resume(Effect.succeed(m)), (e) => resume(Effect.fail(e)))
            }),
          lookup: (m, k) => (m as Map<string, Buffer>).get(k),
          setMany: (entries) =>
            callback<number, never>((resume) => {
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
