/**
 * Contender: memjs + `Effect.tryPromise` — what an Effect user has today without effect-memcached:
 * memjs' Promise API (same client settings as `contenders/memjs.ts`) wrapped in one `Effect.tryPromise`
 * per call, driven by the same long-lived fibers as effect-memcached. memjs has no multi-get and no
 * bulk write: a multi-get is one `Effect.tryPromise` around `Promise.all` of the keys' `get()`s, a
 * `setMany` one around `Promise.all` of the `set()`s.
 */
import { Effect } from "effect"
import memjs from "memjs"
import { type EffectFactory, runEffect } from "../effectDriver.js"

await runEffect(async () => {
  const factory: EffectFactory = {
    settings: "memjs.Client.create(servers, {timeout: 10, retries: 1, logger: silent}) Promise API, one " +
      "Effect.tryPromise per call; multi-get / setMany: one Effect.tryPromise around Promise.all of single calls",
    make: (servers) =>
      Effect.gen(function*() {
        const opts = { timeout: 10, conntimeout: 10, retries: 1, logger: { log: () => undefined } }
        const c = memjs.Client.create(servers.join(","), opts as memjs.ClientOptions)
        yield* Effect.addFinalizer(() => Effect.sync(() => c.close()))
        return {
          get: (key) => Effect.tryPromise(() => c.get(key)),
          value: (r) => (r as { value: Buffer | null }).value ?? undefined,
          set: (key, value) =>
            Effect.tryPromise(() =>
              c.set(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), { expires: 0 })
            ),
          getMany: (keys) =>
            Effect.tryPromise(async () => {
              const vs = await Promise.all(keys.map((k) => c.get(k)))
              const m = new Map<string, Buffer>()
              for (let i = 0; i < keys.length; i++) if (vs[i]!.value !== null) m.set(keys[i]!, vs[i]!.value!)
              return m
            }),
          lookup: (m, k) => (m as Map<string, Buffer>).get(k),
          setMany: (entries) =>
            Effect.tryPromise(() =>
              Promise.all(
                entries.map(([k, v]) => c.set(k, Buffer.from(v.buffer, v.byteOffset, v.byteLength), { expires: 0 }))
              )
            ),
          failures: (r) => {
            const n = (r as Array<boolean>).filter((ok) => !ok).length
            return { count: n, first: "not stored" }
          }
        }
      })
  }
  return factory
})
