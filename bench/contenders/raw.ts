/**
 * Contender: the raw pipelined client of `bench/raw.ts` (1 connection per server).
 */
import { RawClient } from "../raw.js"
import { type Adapter, type AdapterFactory, readChildInput, runGeneric } from "../scenarios.js"

/** `raw` (text `get` lines, one multi-key `get` per server) or `raw-mg` (`mg <key> v` lines for every get). */
const MG = readChildInput().options.get === "mg"

/** `BENCH_SELFTEST_CORRUPT=1 npm run bench -- --quick --only raw` must show FAIL cells. */
const CORRUPT = process.env.BENCH_SELFTEST_CORRUPT === "1"

const factory: AdapterFactory = {
  settings: MG
    ? "bench/raw.ts, meta gets: every get is one `mg <key> v` line, a multi-get is one pipelined `mg` line per key " +
      "(FNV-1a mod n); sets are text `set`; 1 connection per server, pipelined, 1 write per tick, Promise per request"
    : "bench/raw.ts: text protocol, 1 connection per server, pipelined, 1 write per tick (process.nextTick), " +
      "indexOf parser, zero-copy value slices, Promise per request; multi-get: FNV-1a mod n, one `get k1..kn` per server",
  async make(servers, purpose): Promise<Adapter> {
    const c = purpose === "mem" ? RawClient.lazy(servers) : await RawClient.connect(servers)
    if (CORRUPT) {
      // Self-test of the bench's value checks: every 1000th get returns a wrong value.
      let n = 0
      const get = (key: string) =>
        c.get(key).then((v) => (++n % 1000 === 0 && v !== undefined ? Buffer.from(v).fill(120, 0, 4) : v))
      return {
        get,
        set: (key, value) => c.set(key, value.buf),
        getMulti: (keys) => c.getMulti(keys),
        close: () => c.close()
      }
    }
    if (MG) {
      return {
        get: (key) => c.mg(key),
        set: (key, value) => c.set(key, value.buf),
        getMulti: (keys) => c.getMultiMg(keys),
        close: () => c.close()
      }
    }
    return {
      get: (key) => c.get(key),
      set: (key, value) => c.set(key, value.buf),
      getMulti: (keys) => c.getMulti(keys),
      close: () => c.close()
    }
  }
}

await runGeneric("raw", factory)
