/**
 * Contender: memjs (binary protocol). Best settings found for this workload:
 * - one client over all servers, 1 socket per server (memjs pipelines requests by opaque id);
 * - `timeout: 10` s (the 0.5 s default aborts 512 KiB values under load), `retries: 1` (= no retry),
 *   `logger` silenced; callback API (its Promise API adds a wrapper per call);
 * - no multi-get in memjs' API: a multi-get is 100 concurrent `get()`s (routed by memjs' own hash).
 */
import memjs from "memjs"
import { type Adapter, type AdapterFactory, type Got, runGeneric } from "../scenarios.js"

const factory: AdapterFactory = {
  settings:
    "memjs.Client.create(servers, {timeout: 10, retries: 1, logger: silent}); binary protocol, 1 socket/server, " +
    "callback API; multi-get emulated with 100 concurrent get()s",
  async make(servers): Promise<Adapter> {
    const opts = { timeout: 10, conntimeout: 10, retries: 1, logger: { log: () => undefined } }
    const c = memjs.Client.create(servers.join(","), opts as memjs.ClientOptions)
    const get = (key: string) =>
      new Promise<Got>((resolve, reject) => c.get(key, (err, value) => (err ? reject(err) : resolve(value))))
    return {
      get,
      set: (key, value) =>
        new Promise<boolean>((resolve, reject) =>
          c.set(key, value.buf, { expires: 0 }, (err, ok) => (err ? reject(err) : resolve(ok ?? false)))
        ),
      getMulti: async (keys) => {
        const values = await Promise.all(keys.map(get))
        const m = new Map<string, Got>()
        for (let i = 0; i < keys.length; i++) m.set(keys[i]!, values[i])
        return m
      },
      close: () => c.close()
    }
  }
}

await runGeneric("memjs", factory)
