/**
 * Contender: memcache-client (electrode). Best settings found for this workload:
 * - `new MemcacheClient({ server: { server, maxConnections: 1 }, noDelay: true, cmdTimeout: 10000 })`:
 *   text protocol, pipelined on one connection;
 * - its multi-server option is redundancy (a random server per command), not key sharding, so the
 *   4-server multi-get uses 4 single-server clients + FNV-1a routing, one `get([keys])` per server;
 * - values are Buffers (stored with its binary flag, returned as Buffers).
 */
import { MemcacheClient } from "memcache-client"
import { type Adapter, type AdapterFactory, type Got, runGeneric } from "../scenarios.js"

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

type Ret = { value: Got }

const factory: AdapterFactory = {
  settings:
    "new MemcacheClient({server: {server, maxConnections: 1}, noDelay: true, cmdTimeout: 10000}); text protocol, " +
    "pipelined; 4-server multi-get = 4 clients + FNV-1a routing, one get([keys]) per server; Buffer values",
  async make(servers, purpose): Promise<Adapter> {
    const cs = servers.map(
      (server) =>
        new MemcacheClient({
          server: { server, maxConnections: 1 },
          noDelay: true,
          cmdTimeout: purpose === "mem" ? 60_000 : 10_000
        })
    )
    const pick = (key: string) => (cs.length === 1 ? cs[0]! : cs[fnv1a(key) % cs.length]!)
    return {
      get: (key) => pick(key).get<Got>(key).then((r) => (r as Ret | undefined)?.value),
      set: (key, value) => pick(key).set(key, value.buf).then((r) => r[0] === "STORED"),
      getMulti: async (keys) => {
        const groups: Array<Array<string>> = cs.map(() => [])
        for (const k of keys) groups[cs.length === 1 ? 0 : fnv1a(k) % cs.length]!.push(k)
        const out = new Map<string, Got>()
        await Promise.all(
          groups.map(async (g, s) => {
            if (g.length === 0) return
            const r = (await cs[s]!.get<Record<string, Ret>>(g)) as unknown as Record<string, Ret>
            for (const k of g) {
              const v = r[k]
              if (v !== undefined) out.set(k, v.value)
            }
          })
        )
        return out
      },
      close: () => {
        for (const c of cs) c.shutdown()
      }
    }
  }
}

await runGeneric("memcache-client", factory)
