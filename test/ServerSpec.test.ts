import { assert, describe, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Distribution from "../src/Distribution.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedRing from "../src/MemcachedRing.js"
import * as ServerSpec from "../src/ServerSpec.js"

const good: ReadonlyArray<
  readonly [string, { host: string; port: number; weight?: number; alias?: string; path?: string; name: string }]
> = [
  ["localhost", { host: "localhost", port: 11211, name: "localhost:11211" }],
  ["  mc1.example.com  ", { host: "mc1.example.com", port: 11211, name: "mc1.example.com:11211" }],
  ["127.0.0.1:22211", { host: "127.0.0.1", port: 22211, name: "127.0.0.1:22211" }],
  ["[::1]:11212", { host: "::1", port: 11212, name: "[::1]:11212" }],
  ["[::1]", { host: "::1", port: 11211, name: "[::1]:11211" }],
  ["[fe80::1%eth0]:11211", { host: "fe80::1%eth0", port: 11211, name: "[fe80::1%eth0]:11211" }],
  ["[::1]:11212:3", { host: "::1", port: 11212, weight: 3, name: "[::1]:11212" }],
  ["127.0.0.1:22211:10", { host: "127.0.0.1", port: 22211, weight: 10, name: "127.0.0.1:22211" }],
  ["cache-a:11211/?5", { host: "cache-a", port: 11211, weight: 5, name: "cache-a:11211" }],
  ["cache-a/?2", { host: "cache-a", port: 11211, weight: 2, name: "cache-a:11211" }],
  ["127.0.0.1:22211 alpha", { host: "127.0.0.1", port: 22211, alias: "alpha", name: "127.0.0.1:22211" }],
  ["mc2.internal cache-2", { host: "mc2.internal", port: 11211, alias: "cache-2", name: "mc2.internal:11211" }],
  ["/var/run/memcached.sock", {
    host: "/var/run/memcached.sock",
    port: 0,
    path: "/var/run/memcached.sock",
    name: "/var/run/memcached.sock"
  }],
  ["unix:/tmp/mc.sock", { host: "/tmp/mc.sock", port: 0, path: "/tmp/mc.sock", name: "/tmp/mc.sock" }],
  ["h:1", { host: "h", port: 1, name: "h:1" }],
  ["h:65535", { host: "h", port: 65535, name: "h:65535" }]
]

const bad: ReadonlyArray<readonly [string, string]> = [
  ["", "server spec is empty"],
  ["   ", "server spec is empty"],
  [":11211", "host is empty"],
  ["[]:11211", "host is empty"],
  ["host:", "port is empty"],
  ["host:abc", "port \"abc\" is not a number"],
  ["host:0", "port 0 is out of range 1..65535"],
  ["host:65536", "port 65536 is out of range 1..65535"],
  ["host:-1", "port \"-1\" is not a number"],
  ["host:11211:0", "weight \"0\" is not a positive integer"],
  ["host:11211:1.5", "weight \"1.5\" is not a positive integer"],
  ["host:11211/?x", "weight \"x\" is not a positive integer"],
  ["host:11211:2/?3", "weight given twice"],
  ["[::1:11211", "unbalanced '['"],
  ["::1]:11211", "unbalanced ']'"],
  ["[[::1]]:11211", "unbalanced brackets"],
  ["[::1]x", "unexpected \"x\" after \"]\""],
  ["[::1]:1:2:3", "too many ':' after \"]\""],
  ["[nothex]:11211", "is not an IPv6 address"],
  ["::1:11211", "too many ':'"],
  ["fe80::1", "too many ':'"],
  ["host name:1 alias extra", "after alias"],
  ["udp:host:11211", "UDP servers are not supported"],
  ["unix:relative.sock", "must be absolute"],
  ["ho$t:11211", "host \"ho$t\" contains invalid characters"],
  ["host/path:11211", "unexpected '/'"]
]

describe("ServerSpec.parse", () => {
  for (const [input, expected] of good) {
    it.effect(`parses ${JSON.stringify(input)}`, () =>
      Effect.sync(() => {
        const r = ServerSpec.parse(input)
        if (Either.isLeft(r)) return assert.fail(r.left)
        const spec = r.right
        assert.strictEqual(spec.raw, input.trim())
        assert.strictEqual(spec.host, expected.host)
        assert.strictEqual(spec.port, expected.port)
        assert.strictEqual(spec.weight, expected.weight ?? 1)
        assert.strictEqual(spec.alias, expected.alias)
        assert.strictEqual(spec.path, expected.path)
        assert.strictEqual(spec.name, expected.name)
      }))
  }

  for (const [input, problem] of bad) {
    it.effect(`rejects ${JSON.stringify(input)}: ${problem}`, () =>
      Effect.sync(() => {
        const r = ServerSpec.parse(input)
        if (Either.isRight(r)) return assert.fail(`accepted ${JSON.stringify(r.right)}`)
        assert.include(r.left, problem)
        assert.include(r.left, JSON.stringify(input))
      }))
  }

  it.effect("format round-trips", () =>
    Effect.sync(() => {
      for (const [input] of good) {
        const spec = Either.getOrThrow(ServerSpec.parse(input))
        const again = Either.getOrThrow(ServerSpec.parse(ServerSpec.format(spec)))
        assert.deepStrictEqual({ ...again, raw: "" }, { ...spec, raw: "" })
      }
    }))
})

describe("ServerSpec lists", () => {
  it.effect("splits on commas (keeping aliases) or whitespace", () =>
    Effect.sync(() => {
      const a = Either.getOrThrow(ServerSpec.parseList("mc1:11211 alpha, mc2:11212 beta,[::1]"))
      assert.deepStrictEqual(a.map((s) => [s.name, s.alias]), [
        ["mc1:11211", "alpha"],
        ["mc2:11212", "beta"],
        ["[::1]:11211", undefined]
      ])
      const b = Either.getOrThrow(ServerSpec.parseList(" mc1  mc2:11212\nmc3:1:4 "))
      assert.deepStrictEqual(b.map((s) => [s.name, s.weight]), [["mc1:11211", 1], ["mc2:11212", 1], ["mc3:1", 4]])
    }))

  it.effect("names the offending entry", () =>
    Effect.sync(() => {
      const r = ServerSpec.parseList("mc1,mc2:99999,mc3")
      assert.isTrue(Either.isLeft(r))
      if (Either.isLeft(r)) {
        assert.include(r.left, "server #2 \"mc2:99999\"")
        assert.include(r.left, "out of range")
      }
      assert.deepStrictEqual(ServerSpec.parseList(" , "), Either.left("no memcached servers given"))
      const dup = ServerSpec.parseList("mc1, mc1:11211")
      assert.isTrue(Either.isLeft(dup) && dup.left.includes("listed twice"))
    }))

  it.effect("Schema decodes, encodes and reports the problem", () =>
    Effect.sync(() => {
      const spec = Schema.decodeUnknownSync(ServerSpec.FromString)("[::1]:11212")
      assert.strictEqual(spec.host, "::1")
      assert.strictEqual(Schema.encodeSync(ServerSpec.FromString)(spec), "[::1]:11212")
      const err = Schema.decodeUnknownEither(ServerSpec.FromString)("host:0")
      assert.isTrue(Either.isLeft(err) && err.left.message.includes("out of range"))
      const list = Schema.decodeUnknownSync(ServerSpec.ListFromString)("a,b:2")
      assert.deepStrictEqual(list.map((s) => s.name), ["a:11211", "b:2"])
    }))

  it.effect("config reads MEMCACHED_SERVERS and fails with a ConfigError naming the entry", () =>
    Effect.gen(function*() {
      const provider = (value: string) => ConfigProvider.fromMap(new Map([["MEMCACHED_SERVERS", value]]))
      const ok = yield* Effect.withConfigProvider(ServerSpec.config("MEMCACHED_SERVERS"), provider("a:1,b:2"))
      assert.deepStrictEqual(ok.map((s) => s.name), ["a:1", "b:2"])
      const failed = yield* Effect.either(
        Effect.withConfigProvider(ServerSpec.config("MEMCACHED_SERVERS"), provider("a:1,b:x"))
      )
      assert.isTrue(Either.isLeft(failed))
      if (Either.isLeft(failed)) {
        assert.isTrue(ConfigError.isConfigError(failed.left))
        const text = String(failed.left)
        assert.include(text, "server #2 \"b:x\"")
        assert.include(text, "MEMCACHED_SERVERS")
      }
      const missing = yield* Effect.either(
        Effect.withConfigProvider(ServerSpec.config("MEMCACHED_SERVERS"), ConfigProvider.fromMap(new Map()))
      )
      assert.isTrue(Either.isLeft(missing) && ConfigError.isMissingDataOnly(missing.left))
    }))
})

describe("MemcachedRing", () => {
  it.effect("config reads MEMCACHED_DISTRIBUTION and rejects bad values; MemcachedClient.config takes it", () =>
    Effect.gen(function*() {
      const read = (entries: ReadonlyArray<readonly [string, string]>) =>
        MemcachedRing.config().pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))),
          Effect.either
        )
      const dflt = yield* MemcachedClient.config.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      assert.isUndefined(dflt.distribution)
      const fromEnv = yield* MemcachedClient.config.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MEMCACHED_DISTRIBUTION", "libmc:crc_32"]])))
      )
      assert.strictEqual(fromEnv.distribution?.name, "libmc:crc_32")
      const omc = yield* read([["MEMCACHED_DISTRIBUTION", "omcache:pre1010"]])
      assert.isTrue(Either.isRight(omc) && omc.right.name === "omcache:pre1010")
      const badValue = yield* read([["MEMCACHED_DISTRIBUTION", "chord"]])
      assert.isTrue(Either.isLeft(badValue) && String(badValue.left).includes("unknown distribution"))
    }))

  it("every named ring is the distribution it says", () => {
    const rings: ReadonlyArray<readonly [Distribution.Distribution, string]> = [
      [MemcachedRing.ketama(), "ketama"],
      [MemcachedRing.ketama({ hash: "md5" }), "ketama:md5"],
      [MemcachedRing.ketamaWeighted(), "ketama_weighted"],
      [MemcachedRing.modula({ hash: "crc" }), "modula:crc"],
      [MemcachedRing.omcache({ variant: "weighted" }), "omcache:weighted"],
      [MemcachedRing.libmc({ hash: "crc_32" }), "libmc:crc_32"],
      [MemcachedRing.rendezvous(), "rendezvous"],
      [MemcachedRing.hashring({ defaultPort: 11211 }), "hashring:11211"]
    ]
    for (const [d, name] of rings) assert.strictEqual(d.name, name)
  })
})
