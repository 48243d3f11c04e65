/**
 * Contender: memcached (3rd-eden). Best settings found for this workload:
 * - `new Memcached(servers, { poolSize: 25 })`, other options default (retries 5, timeout 5 s,
 *   idle 5 s); text protocol, consistent hash ring, native `getMulti` across servers;
 * - values are passed as strings: its sockets are utf8-decoded, so values come back as strings.
 */
import Memcached from "memcached"
import { type Adapter, type AdapterFactory, type Got, runGeneric } from "../scenarios.js"

const factory: AdapterFactory = {
  settings:
    "new Memcached(servers, {poolSize: 25}) (defaults otherwise: retries 5, timeout 5s, idle 5s); text protocol, " +
    "hashring, native getMulti; values as strings (utf8-decoded sockets)",
  async make(servers, purpose): Promise<Adapter> {
    const c = new Memcached(servers.slice(), purpose === "mem" ? { poolSize: 25, timeout: 60_000 } : { poolSize: 25 })
    return {
      get: (key) =>
        new Promise<Got>((resolve, reject) => c.get(key, (err, data) => (err ? reject(err) : resolve(data as Got)))),
      set: (key, value) =>
        new Promise<boolean>((resolve, reject) =>
          c.set(key, value.str, 0, (err, ok) => (err ? reject(err) : resolve(ok)))
        ),
      getMulti: (keys) =>
        new Promise<Record<string, Got>>((resolve, reject) =>
          c.getMulti(keys.slice(), (err, data) => (err ? reject(err) : resolve(data as Record<string, Got>)))
        ),
      close: () => c.end()
    }
  }
}

await runGeneric("memcached", factory)
