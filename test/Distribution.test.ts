import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import * as Distribution from "../src/Distribution.js"
import { indexedLookup } from "../src/engine/distribution.js"
import * as Hash from "../src/Hash.js"
import * as ServerSpec from "../src/ServerSpec.js"

type Keys = ReadonlyArray<readonly [string, number]>
interface VectorServer {
  readonly spec?: string
  readonly host: string
  readonly port: number
  readonly weight?: number
  readonly alias?: string
  readonly unix_socket?: boolean
  readonly port_str?: string
}
interface Model {
  readonly key_hash: string
  readonly point_hash: string
  readonly weighted_continuum: boolean
  readonly point_names: "ketama" | "spy"
  readonly sort_hosts: boolean
}
interface Config {
  readonly id: string
  readonly servers: ReadonlyArray<VectorServer>
  readonly keys: Keys
  readonly model?: Model
  readonly pylibmc_behaviors?: Record<string, string | boolean>
  readonly dist?: string
  readonly hash?: Distribution.LibmcHash
  readonly hashring_options?: Record<string, number>
}

const load = (family: string): ReadonlyArray<Config> =>
  JSON.parse(readFileSync(new URL(`./fixtures/vectors/${family}.public.json`, import.meta.url), "utf8")).configs

const hashName = (name: string): Hash.HashName => {
  const h = Hash.parseName(name)
  if (h === undefined) throw new Error(`unknown hash ${name}`)
  return h
}

const specOf = (s: VectorServer): ServerSpec.ServerSpec =>
  s.unix_socket === true
    ? ServerSpec.make({ path: s.host })
    : ServerSpec.make({ host: s.host, port: s.port, weight: s.weight, alias: s.alias })

// Parse the spec string exactly as the client was given it when the vector records one.
const parsedSpecOf = (s: VectorServer): ServerSpec.ServerSpec => {
  if (s.spec === undefined) return specOf(s)
  const parsed = ServerSpec.parse(s.spec)
  if (Either.isLeft(parsed)) throw new Error(parsed.left)
  assert.strictEqual(parsed.right.host, s.host)
  assert.strictEqual(parsed.right.port, s.port)
  if (s.weight !== undefined) assert.strictEqual(parsed.right.weight, s.weight)
  assert.strictEqual(parsed.right.alias, s.alias)
  return parsed.right
}

const mismatches = (
  distribution: Distribution.Distribution,
  servers: ReadonlyArray<ServerSpec.ServerSpec>,
  keys: Keys
) => {
  const placement = distribution.build(servers)
  const bad: Array<string> = []
  for (const [key, expected] of keys) {
    const got = placement.serverFor(key)
    if (got !== expected) bad.push(`${JSON.stringify(key)}: got ${got}, expected ${expected}`)
  }
  return bad
}

const fromModel = (m: Model): Distribution.Distribution =>
  Distribution.libmemcached({
    hash: hashName(m.key_hash),
    pointHash: hashName(m.point_hash),
    weighted: m.weighted_continuum,
    pointNames: m.point_names,
    sortHosts: m.sort_hosts
  })

// pylibmc 1.6.3 applies behaviours in a fixed order (hash, ketama_hash, ketama, ketama_weighted, distribution,
// ..., _sort_hosts) before adding servers; expressed with the user-facing constructors.
const fromPylibmc = (b: Record<string, string | boolean>): Distribution.Distribution => {
  const spy = b["distribution"] === "consistent ketama spy"
  const sortHosts = b["_sort_hosts"] === true
  if (b["ketama_weighted"] === true) {
    return Distribution.ketamaWeighted({ pointNames: spy ? "spy" : "ketama", sortHosts })
  }
  const hash = typeof b["hash"] === "string" ? hashName(b["hash"]) : undefined
  return Distribution.ketama({ hash, pointNames: spy ? "spy" : "ketama", sortHosts })
}

let totalKeys = 0
const check = (
  label: string,
  distribution: Distribution.Distribution,
  servers: ReadonlyArray<ServerSpec.ServerSpec>,
  keys: Keys
) => {
  const bad = mismatches(distribution, servers, keys)
  totalKeys += keys.length
  assert.deepStrictEqual(bad.slice(0, 5), [], `${label}: ${bad.length} of ${keys.length} keys misplaced`)
  assert.isAbove(keys.length, 0)
}

describe("Distribution vectors", () => {
  for (const family of ["libmemcached_ketama_live", "libmemcached_ketama_offline", "libmemcached_ketama_ties"]) {
    describe(family, () => {
      for (const config of load(family)) {
        it.effect(`${config.id} (model)`, () =>
          Effect.sync(() => check(config.id, fromModel(config.model!), config.servers.map(specOf), config.keys)))
        if (config.pylibmc_behaviors !== undefined) {
          it.effect(`${config.id} (pylibmc behaviours, spec strings)`, () =>
            Effect.sync(() =>
              check(config.id, fromPylibmc(config.pylibmc_behaviors!), config.servers.map(parsedSpecOf), config.keys)
            ))
        }
      }
    })
  }

  describe("omcache", () => {
    for (const config of load("omcache")) {
      it.effect(config.id, () =>
        Effect.sync(() => {
          const variant = config.dist === "libmemcached_ketama"
            ? "ketama"
            : config.dist === "libmemcached_ketama_weighted"
            ? "weighted"
            : "pre1010"
          check(config.id, Distribution.omcache({ variant }), config.servers.map(parsedSpecOf), config.keys)
        }))
    }
  })

  describe("libmc", () => {
    for (const config of load("libmc")) {
      it.effect(
        config.id,
        () =>
          Effect.sync(() =>
            check(config.id, Distribution.libmc({ hash: config.hash }), config.servers.map(parsedSpecOf), config.keys)
          )
      )
    }
  })

  describe("pymemcache rendezvous", () => {
    for (const config of load("pymemcache_rendezvous")) {
      it.effect(config.id, () =>
        Effect.sync(() => {
          const servers = config.servers.map((s) => {
            const parsed = ServerSpec.parse(s.spec!)
            if (Either.isLeft(parsed)) throw new Error(parsed.left)
            return parsed.right
          })
          check(config.id, Distribution.rendezvous(), servers, config.keys)
        }))
    }
  })

  describe("npm hashring", () => {
    for (const config of load("hashring_npm")) {
      it.effect(config.id, () =>
        Effect.sync(() => {
          const defaultPort = config.hashring_options?.["default port"]
          check(config.id, Distribution.hashring({ defaultPort }), config.servers.map(specOf), config.keys)
        }))
    }
  })

  it.effect("checked a meaningful number of placements", () =>
    Effect.sync(() => {
      // runs last within this file (vitest runs tests in order)
      assert.isAtLeast(totalKeys, 80_000)
    }))
})

describe("Distribution properties", () => {
  const servers = (n: number, base = 0) =>
    Array.from({ length: n }, (_, i) => ServerSpec.make({ host: `10.0.0.${base + i + 1}`, port: 11211 }))
  const keys = Array.from({ length: 10_000 }, (_, i) => `user:${i}:profile`)
  const consistent: ReadonlyArray<Distribution.Distribution> = [
    Distribution.ketama(),
    Distribution.ketama({ hash: "md5" }),
    Distribution.ketamaWeighted(),
    Distribution.omcache(),
    Distribution.omcache({ variant: "weighted" }),
    Distribution.libmc(),
    Distribution.rendezvous(),
    Distribution.hashring({ defaultPort: 11211 })
  ]

  for (const d of consistent) {
    it.effect(`${d.name}: adding or removing one of N servers moves about 1/N of the keys`, () =>
      Effect.sync(() => {
        const n = 10
        const before = d.build(servers(n))
        const grown = d.build(servers(n + 1))
        const shrunk = d.build(servers(n).filter((_, i) => i !== 3))
        let movedAdd = 0
        let movedRemove = 0
        for (const k of keys) {
          const a = before.serverFor(k)
          const b = grown.serverFor(k)
          if (a !== b) {
            movedAdd++
            assert.strictEqual(b, n, "a key may only move to the new server")
          }
          const c = shrunk.servers[shrunk.serverFor(k)]!.name
          const orig = before.servers[a]!.name
          if (c !== orig) {
            movedRemove++
            assert.strictEqual(a, 3, "only keys of the removed server may move")
          }
        }
        const frac = (m: number) => m / keys.length
        assert.isAbove(frac(movedAdd), 0.5 / (n + 1))
        assert.isBelow(frac(movedAdd), 1.6 / (n + 1))
        assert.isAbove(frac(movedRemove), 0.5 / n)
        assert.isBelow(frac(movedRemove), 1.6 / n)
      }))

    it.effect(`${d.name}: placement does not depend on the server list order`, () =>
      Effect.sync(() => {
        const list = servers(8)
        const reversed = [...list].reverse()
        const a = d.build(list)
        const b = d.build(reversed)
        for (const k of keys) assert.strictEqual(a.servers[a.serverFor(k)]!.name, b.servers[b.serverFor(k)]!.name)
      }))
  }

  it.effect("modula: depends on the server order and moves most keys on a change", () =>
    Effect.sync(() => {
      const d = Distribution.modula()
      const list = servers(8)
      const a = d.build(list)
      const b = d.build([...list].reverse())
      const c = d.build(servers(9))
      let differentOrder = 0
      let moved = 0
      for (const k of keys) {
        assert.strictEqual(a.serverFor(k), Hash.hashString("one_at_a_time", k) % 8)
        if (a.servers[a.serverFor(k)]!.name !== b.servers[b.serverFor(k)]!.name) differentOrder++
        if (a.serverFor(k) !== c.serverFor(k)) moved++
      }
      assert.isAbove(differentOrder, keys.length / 2)
      assert.isAbove(moved, keys.length / 2)
    }))

  it.effect("one server gets every key without hashing; no server gives -1", () =>
    Effect.sync(() => {
      for (const d of [...consistent, Distribution.modula()]) {
        assert.strictEqual(d.build(servers(1)).serverFor("anything"), 0)
        assert.strictEqual(d.build([]).serverFor("anything"), -1)
      }
    }))

  it.effect("weighted ketama point counts follow libmemcached's float maths", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(new Set(Distribution.libmemcachedWeightedPoints(servers(24))), new Set([160]))
      assert.deepStrictEqual(new Set(Distribution.libmemcachedWeightedPoints(servers(25))), new Set([156]))
      const weighted = [1, 2, 3].map((w, i) => ServerSpec.make({ host: `h${i}`, weight: w }))
      assert.deepStrictEqual(Distribution.libmemcachedWeightedPoints(weighted), [80, 160, 240])
    }))

  it.effect("ketama switches to the weighted continuum when a weight > 1 appears", () =>
    Effect.sync(() => {
      const list = [1, 2, 1].map((w, i) => ServerSpec.make({ host: `h${i}`, weight: w }))
      const auto = Distribution.ketama().build(list)
      const forced = Distribution.libmemcached({ weighted: true }).build(list)
      for (const k of keys.slice(0, 2000)) assert.strictEqual(auto.serverFor(k), forced.serverFor(k))
    }))

  it.effect("non-ASCII keys hash as UTF-8 and do not disturb later ASCII lookups", () =>
    Effect.sync(() => {
      const p = Distribution.ketama().build(servers(5))
      const ascii = p.serverFor("plain-key")
      const long = "é".repeat(5000)
      const viaBytes = Hash.hashBytes("one_at_a_time", new TextEncoder().encode(long))
      assert.strictEqual(Hash.hashString("one_at_a_time", long), viaBytes)
      p.serverFor(long)
      assert.strictEqual(p.serverFor("plain-key"), ascii)
    }))

  it.effect("serverFor / placementFor helpers", () =>
    Effect.sync(() => {
      const list = servers(4)
      const s = Distribution.serverFor(list, "user:42")
      assert.strictEqual(s, list[Distribution.ketama().build(list).serverFor("user:42")])
      const d = Distribution.libmc()
      assert.strictEqual(Distribution.placementFor(list, d), Distribution.placementFor(list, d))
      assert.isUndefined(Distribution.serverFor([], "k"))
    }))

  it.effect("fromString parses every distribution setting and names bad ones", () =>
    Effect.sync(() => {
      const ok = {
        "ketama": "ketama",
        "ketama:md5": "ketama:md5",
        "consistent:default": "ketama",
        "ketama_weighted": "ketama_weighted",
        "ketama_weighted_spy": "ketama_weighted:spy",
        "modula": "modula",
        "modula:crc": "modula:crc",
        "omcache": "omcache",
        "omcache:pre1010": "omcache:pre1010",
        "libmc:fnv1a_32": "libmc:fnv1a_32",
        "rendezvous": "rendezvous",
        "hashring": "hashring",
        "hashring:11211": "hashring:11211"
      }
      for (const [input, name] of Object.entries(ok)) {
        const r = Distribution.fromString(input)
        assert.isTrue(Either.isRight(r), input)
        if (Either.isRight(r)) assert.strictEqual(r.right.name, name)
      }
      const bad = {
        "chord": "unknown distribution",
        "ketama:hsieh": "unknown hash",
        "omcache:fast": "unknown OMcache variant",
        "libmc:murmur": "unknown libmc hash",
        "rendezvous:x": "takes no option",
        "hashring:0": "not a port number"
      }
      for (const [input, problem] of Object.entries(bad)) {
        const r = Distribution.fromString(input)
        assert.isTrue(Either.isLeft(r), input)
        if (Either.isLeft(r)) assert.include(r.left, problem)
      }
    }))
})

describe("indexedLookup (the table-started lookup every consistent placement uses)", () => {
  const uint32 = fc.integer({ min: 0, max: 0xffffffff })
  // Spread rings, clustered rings (many points in one range: the bisection branch), ties, the extremes.
  const ring = fc.oneof(
    fc.array(uint32, { minLength: 1, maxLength: 600 }),
    fc.tuple(uint32, fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 200 })).map((
      [base, offsets]
    ) => offsets.map((o) => Math.min(0xffffffff, base + o))),
    fc.array(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff), { minLength: 1, maxLength: 20 })
  )
  it.effect("property: same owner as the binary search for every hash, around each point and anywhere", () =>
    Effect.sync(() => {
      fc.assert(
        fc.property(ring, fc.array(uint32, { maxLength: 50 }), (points, probes) => {
          const values = Uint32Array.from(points).sort()
          const continuum = { values, owners: Uint32Array.from(values, (_, i) => (i * 7919) % 13) }
          const find = indexedLookup(continuum)
          const hashes = [...probes, 0, 0xffffffff]
          for (const v of values) hashes.push(v, Math.max(0, v - 1), Math.min(0xffffffff, v + 1))
          for (const h of hashes) assert.strictEqual(find(h), Distribution.lookup(continuum, h), `h=${h}`)
        }),
        { numRuns: 300 }
      )
      assert.strictEqual(indexedLookup({ values: new Uint32Array(0), owners: new Uint32Array(0) })(5), -1)
    }))
})

describe("Distribution.lookup", () => {
  it.effect("is a lower bound with wrap-around, including ties and tiny rings", () =>
    Effect.sync(() => {
      let seed = 7
      const rnd = (m: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % m
      for (let trial = 0; trial < 300; trial++) {
        const n = 1 + rnd(40)
        const values = Uint32Array.from({ length: n }, () => rnd(50)).sort()
        const owners = Uint32Array.from({ length: n }, (_, i) => i)
        for (let h = 0; h <= 51; h++) {
          let expected = values.findIndex((v) => v >= h)
          if (expected < 0) expected = 0
          assert.strictEqual(Distribution.lookup({ values, owners }, h), expected)
        }
      }
      assert.strictEqual(Distribution.lookup({ values: new Uint32Array(0), owners: new Uint32Array(0) }, 5), -1)
      const top = Uint32Array.from([1, 0xffffffff])
      assert.strictEqual(Distribution.lookup({ values: top, owners: Uint32Array.from([0, 1]) }, 0xffffffff), 1)
    }))
})
