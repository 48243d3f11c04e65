/**
 * Micro-benchmark of key placement: ns per `serverFor` lookup for each distribution, 10 servers, 100k distinct
 * keys. Run with `npx tsx bench/placement.ts`.
 */
import * as Distribution from "../src/Distribution.js"
import * as ServerSpec from "../src/ServerSpec.js"

const servers = Array.from({ length: 10 }, (_, i) => ServerSpec.make({ host: `10.0.0.${i + 1}`, port: 11211 }))
const keys = Array.from({ length: 100_000 }, (_, i) => `user:${i * 7919}:session:${(i * 31) % 997}`)
const utf8Keys = keys.map((k, i) => (i % 10 === 0 ? `ключ:${k}` : k))

const distributions: ReadonlyArray<Distribution.Distribution> = [
  Distribution.ketama(),
  Distribution.ketama({ hash: "md5" }),
  Distribution.ketama({ hash: "crc" }),
  Distribution.ketama({ hash: "fnv1a_32" }),
  Distribution.ketama({ hash: "murmur3" }),
  Distribution.ketamaWeighted(),
  Distribution.modula(),
  Distribution.omcache(),
  Distribution.omcache({ variant: "weighted" }),
  Distribution.libmc(),
  Distribution.libmc({ hash: "fnv1a_32" }),
  Distribution.rendezvous(),
  Distribution.hashring({ defaultPort: 11211 })
]

const measure = (serverFor: (key: string) => number, input: ReadonlyArray<string>): number => {
  let sink = 0
  for (let round = 0; round < 3; round++) for (const k of input) sink += serverFor(k) // warm-up
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint()
    for (const k of input) sink += serverFor(k)
    const ns = Number(process.hrtime.bigint() - t0) / input.length
    best = Math.min(best, ns)
  }
  if (sink === -1) console.log("")
  return best
}

const rows: Array<Record<string, string>> = []
// Baseline: a call that only reads the key, to show the loop/call cost of this machine.
rows.push({
  distribution: "(baseline: key.length)",
  "ns/lookup (ASCII)": measure((k) => k.length, keys).toFixed(1),
  "ns/lookup (10% UTF-8)": measure((k) => k.length, utf8Keys).toFixed(1),
  "build µs (10 servers)": "-"
})
for (const d of distributions) {
  const t0 = process.hrtime.bigint()
  const placement = d.build(servers)
  const buildUs = Number(process.hrtime.bigint() - t0) / 1000
  rows.push({
    distribution: d.name,
    "ns/lookup (ASCII)": measure(placement.serverFor, keys).toFixed(1),
    "ns/lookup (10% UTF-8)": measure(placement.serverFor, utf8Keys).toFixed(1),
    "build µs (10 servers)": buildUs.toFixed(0)
  })
}
console.log(`node ${process.version}, 10 servers, ${keys.length} distinct keys, best of 5 rounds`)
console.table(rows)
