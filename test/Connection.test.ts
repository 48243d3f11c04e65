import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type * as net from "node:net"
import { Duplex } from "node:stream"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import type { MemcachedError } from "../src/MemcachedError.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { Transport } from "../src/MemcachedTransport.js"
import {
  acquireFakeServer,
  type FakeServer,
  freePort,
  type MemcachedProcess,
  startMemcached
} from "./support/memcached.js"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const text = (item: Option.Option<MemcachedClient.Item>): string | undefined =>
  Option.isSome(item) ? Buffer.from(item.value.value).toString("latin1") : undefined

const failureOf = (exit: Exit.Exit<unknown, MemcachedError>): MemcachedError | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const f = Cause.failureOption(exit.cause)
  return Option.isSome(f) ? f.value : undefined
}

const reasonOf = (exit: Exit.Exit<unknown, MemcachedError>): string => {
  const e = failureOf(exit)
  if (e === undefined) return Exit.isSuccess(exit) ? "success" : `defect/interrupt: ${Cause.pretty(exit.cause)}`
  return `${e._tag}:${"reason" in e ? e.reason : ""}`
}

/** A deterministic PRNG so failures reproduce. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * A fake-server handler answering `get <keys>` like memcached from `values` (per socket line buffer),
 * `set` with STORED and `version` with a version; everything else ERROR.
 */
const miniMemcached = (values: Map<string, string>) => {
  const buffers = new Map<net.Socket, string>()
  return (socket: net.Socket, chunk: Buffer) => {
    let buf = (buffers.get(socket) ?? "") + chunk.toString("latin1")
    let out = ""
    for (;;) {
      const eol = buf.indexOf("\r\n")
      if (eol < 0) break
      const line = buf.slice(0, eol)
      const [cmd, ...args] = line.split(" ")
      if (cmd === "get" || cmd === "gets") {
        for (const k of args) {
          const v = values.get(k)
          if (v !== undefined) out += `VALUE ${k} 0 ${v.length}\r\n${v}\r\n`
        }
        out += "END\r\n"
        buf = buf.slice(eol + 2)
      } else if (cmd === "set") {
        const n = Number(args[3])
        if (buf.length < eol + 2 + n + 2) break
        values.set(args[0]!, buf.slice(eol + 2, eol + 2 + n))
        buf = buf.slice(eol + 2 + n + 2)
        out += "STORED\r\n"
      } else if (cmd === "version") {
        out += "VERSION fake\r\n"
        buf = buf.slice(eol + 2)
      } else {
        out += "ERROR\r\n"
        buf = buf.slice(eol + 2)
      }
    }
    buffers.set(socket, buf)
    if (out !== "") socket.write(out, "latin1")
  }
}

const waitClosed = (socket: net.Socket): Promise<void> =>
  socket.destroyed || socket.readableEnded
    ? Promise.resolve()
    : new Promise((resolve) => {
      socket.once("close", () => resolve())
      socket.once("end", () => resolve())
    })

const elapsedSince = (start: number) => Date.now() - start

// ---------------------------------------------------------------------------------------------
// Against a real memcached
// ---------------------------------------------------------------------------------------------

describe("Connection against memcached", () => {
  let mc: MemcachedProcess
  let big: MemcachedProcess
  beforeAll(async () => {
    ;[mc, big] = await Promise.all([startMemcached(["-m", "256"]), startMemcached(["-I", "8m", "-m", "256"])])
  })
  afterAll(async () => {
    await Promise.all([mc?.stop(), big?.stop()])
  })

  const client = (options: MemcachedClient.MemcachedClientOptions = {}, process: MemcachedProcess = mc) =>
    MemcachedClient.make({ protocol: "text", servers: [`127.0.0.1:${process.port}`], ...options })

  it.scopedLive("basic round trip: set, get, miss, delete", () =>
    Effect.gen(function*() {
      const c = yield* client()
      yield* c.set("basic:a", "hello", { flags: 7 })
      const item = yield* c.get("basic:a")
      assert.strictEqual(text(item), "hello")
      assert.strictEqual(Option.getOrThrow(item).flags, 7)
      assert.isTrue(Option.isNone(yield* c.get("basic:missing")))
      yield* c.delete("basic:a")
      assert.isTrue(Option.isNone(yield* c.get("basic:a")))
    }))

  for (const autoBatch of [true, false]) {
    it.scopedLive(
      `THE interruption test: thousands of pipelined gets, ~20% interrupted at random moments (autoBatch ${autoBatch})`,
      () =>
        Effect.gen(function*() {
          const c = yield* client({ timeout: "20 seconds", autoBatch })
          const rand = prng(42)
          const N = 3000
          const keys = Array.from({ length: N }, (_, i) => `intr:${i}`)
          const values = new Map<string, string>()
          for (const k of keys) {
            // varied sizes so replies span socket chunks: mostly small, some up to ~40 KB
            const size = rand() < 0.05 ? Math.floor(rand() * 40_000) : Math.floor(rand() * 200)
            const v = `<${k}>` + "x".repeat(size) + `</${k}>`
            values.set(k, v)
          }
          yield* Effect.forEach(keys, (k) => c.set(k, values.get(k)!), { concurrency: "unbounded", discard: true })

          const before = yield* c.stats()
          const connectionsBefore = Either.getOrThrow([...before.values()][0]!).get("total_connections")

          for (let round = 0; round < 3; round++) {
            const M = 5000
            const requested: Array<string> = []
            const fibers: Array<Fiber.RuntimeFiber<Option.Option<MemcachedClient.Item>, MemcachedError>> = []
            for (let i = 0; i < M; i++) {
              const k = keys[Math.floor(rand() * N)]!
              requested.push(k)
              fibers.push(yield* Effect.fork(i % 3 === 0 ? c.gets(k) : c.get(k)))
            }
            // interrupt ~20%: some at once (before the flush), some after a yield, some after a few ms
            const victims = fibers.filter(() => rand() < 0.2)
            const interrupters = yield* Effect.forEach(victims, (f) => {
              const r = rand()
              const wait = r < 0.3
                ? Effect.void
                : r < 0.6
                ? Effect.yieldNow()
                : Effect.sleep(Duration.millis(Math.floor(rand() * 15)))
              return Effect.fork(Effect.andThen(wait, Fiber.interrupt(f)))
            })
            yield* Fiber.joinAll(interrupters)
            const exits = yield* Effect.forEach(fibers, Fiber.await)
            let ok = 0
            let interrupted = 0
            for (let i = 0; i < M; i++) {
              const exit = exits[i]!
              if (Exit.isSuccess(exit)) {
                ok++
                assert.strictEqual(
                  text(exit.value),
                  values.get(requested[i]!),
                  `get ${requested[i]} returned another value`
                )
              } else {
                assert.isTrue(Exit.isInterrupted(exit), `request ${i} failed: ${reasonOf(exit)}`)
                interrupted++
              }
            }
            assert.isAbove(ok, M * 0.6)
            assert.isAbove(interrupted, 0)
            // still in sync: every key reads back its own value
            const again = yield* Effect.forEach(keys, (k) => c.get(k), { concurrency: "unbounded" })
            for (let i = 0; i < N; i++) {
              assert.strictEqual(text(again[i]!), values.get(keys[i]!), `after round ${round}: ${keys[i]}`)
            }
          }
          // and the connection was never dropped to get back in sync
          const after = yield* c.stats()
          assert.strictEqual(Either.getOrThrow([...after.values()][0]!).get("total_connections"), connectionsBefore)
        }),
      60_000
    )
  }

  it.scopedLive("long keys (250 bytes, ASCII and UTF-8) in batched gets and getMany", () =>
    Effect.gen(function*() {
      const c = yield* client()
      const keys = Array.from({ length: 300 }, (_, i) =>
        i % 2 === 0 ? `${i}:`.padEnd(250, "k") : `${i}:` + "é".repeat(100) + "a".repeat(250 - 200 - `${i}:`.length))
      for (const k of keys) {
        assert.strictEqual(Buffer.byteLength(k), 250, k)
      }
      yield* Effect.forEach(keys, (k, i) =>
        c.set(k, `v${i}`), { concurrency: "unbounded", discard: true })
      const got = yield* Effect.forEach(keys, (k) =>
        c.get(k), { concurrency: "unbounded" })
      got.forEach((item, i) => assert.strictEqual(text(item), `v${i}`, keys[i]))
      const many = yield* c.getMany(keys)
      assert.strictEqual(many.size, keys.length)
      keys.forEach((k, i) => assert.strictEqual(Buffer.from(many.get(k)!.value).toString(), `v${i}`))
      const withCas = yield* c.getMany(keys.slice(0, 150), { cas: true })
      for (const item of withCas.values()) assert.isDefined(item.cas)
    }))

  it.scopedLive("multi-key getMany batches under random interruption stay in sync", () =>
    Effect.gen(function*() {
      const c = yield* client({ maxKeysPerGet: 7 })
      const rand = prng(7)
      const keys = Array.from({ length: 500 }, (_, i) => `mk:${i}`)
      // every third key is missing
      yield* Effect.forEach(keys, (k, i) => (i % 3 === 0 ? Effect.void : c.set(k, `val(${k})`)), {
        concurrency: "unbounded",
        discard: true
      })
      const batches = Array.from({ length: 400 }, () =>
        Array.from({ length: 1 + Math.floor(rand() * 30) }, () => keys[Math.floor(rand() * 500)]!))
      const fibers = yield* Effect.forEach(batches, (b) =>
        Effect.fork(c.getMany(b)))
      yield* Effect.forEach(fibers.filter(() => rand() < 0.25), (f) => Fiber.interrupt(f), { discard: true })
      for (let i = 0; i < batches.length; i++) {
        const exit = yield* Fiber.await(fibers[i]!)
        if (Exit.isInterrupted(exit)) continue
        assert.isTrue(Exit.isSuccess(exit), reasonOf(exit))
        const map = (exit as Exit.Success<ReadonlyMap<string, MemcachedClient.Item>, never>).value
        for (const k of new Set(batches[i]!)) {
          const idx = Number(k.slice(3))
          const got = map.get(k)
          if (idx % 3 === 0) assert.isUndefined(got, k)
          else assert.strictEqual(got && Buffer.from(got.value).toString(), `val(${k})`, k)
        }
        assert.strictEqual(map.size, new Set(batches[i]!.filter((k) => Number(k.slice(3)) % 3 !== 0)).size)
      }
      assert.strictEqual(text(yield* c.get("mk:1")), "val(mk:1)")
    }))

  it.scopedLive("TTLs: over 30 days is sent as an absolute time the server honours; 0 never expires", () =>
    Effect.gen(function*() {
      const c = yield* client()
      yield* c.set("ttl:31d", "v", { ttl: Duration.days(31) })
      yield* c.set("ttl:30d", "v", { ttl: "30 days" })
      yield* c.set("ttl:0", "v", { ttl: 0 })
      yield* c.set("ttl:halfsecond", "v", { ttl: Duration.millis(500) })
      for (const k of ["ttl:31d", "ttl:30d", "ttl:0", "ttl:halfsecond"]) {
        assert.strictEqual(text(yield* c.get(k)), "v", k)
      }
      yield* c.touch("ttl:0", Duration.days(40))
      assert.strictEqual(text(yield* c.gat("ttl:0", Duration.days(40))), "v")
      assert.strictEqual(
        reasonOf(yield* Effect.exit(c.set("ttl:neg", "v", { ttl: -1 }))),
        "MemcachedInputError:InvalidTtl"
      )
      assert.strictEqual(
        reasonOf(yield* Effect.exit(c.set("ttl:neg", "v", { ttl: "-5 seconds" }))),
        "MemcachedInputError:InvalidTtl"
      )
    }))

  it.scopedLive("interrupting every request of a burst leaves the connection in sync", () =>
    Effect.gen(function*() {
      const c = yield* client()
      yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => c.set(`burst:${i}`, `v${i}`), {
        concurrency: "unbounded",
        discard: true
      })
      const fibers = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
        Effect.fork(c.get(`burst:${i}`)))
      yield* Effect.forEach(fibers, Fiber.interrupt, { concurrency: "unbounded", discard: true })
      for (let i = 0; i < 200; i += 17) {
        assert.strictEqual(text(yield* c.get(`burst:${i}`)), `v${i}`)
      }
    }))

  it.scopedLive("maxInFlight 4: 1000 concurrent sets and gets all complete correctly", () =>
    Effect.gen(function*() {
      const c = yield* client({ maxInFlight: 4 })
      const ids = Array.from({ length: 1000 }, (_, i) => i)
      yield* Effect.forEach(ids, (i) => c.set(`cap:${i}`, `value-${i}`.repeat((i % 13) + 1)), {
        concurrency: "unbounded",
        discard: true
      })
      const got = yield* Effect.forEach(ids, (i) => c.get(`cap:${i}`), { concurrency: "unbounded" })
      for (const i of ids) assert.strictEqual(text(got[i]!), `value-${i}`.repeat((i % 13) + 1))
    }))

  it.scopedLive(
    "a 5 MB value round-trips while small requests interleave (memcached -I 8m)",
    () =>
      Effect.gen(function*() {
        const c = yield* client({ timeout: "30 seconds" }, big)
        const size = 5 * 1024 * 1024
        const value = Buffer.alloc(size)
        for (let i = 0; i < size; i++) value[i] = (i * 31 + (i >> 10)) & 0xff
        const small = Array.from({ length: 300 }, (_, i) => i)
        const smallOps = Effect.forEach(small, (i) =>
          Effect.andThen(c.set(`sm:${i}`, `s${i}`), c.get(`sm:${i}`)).pipe(
            Effect.map((item) => assert.strictEqual(text(item), `s${i}`))
          ), { concurrency: "unbounded", discard: true })
        yield* Effect.all([c.set("big:5mb", value), smallOps], { concurrency: "unbounded" })
        const [item] = yield* Effect.all([c.get("big:5mb"), smallOps, c.get("big:5mb")], { concurrency: "unbounded" })
        assert.isTrue(Option.isSome(item))
        assert.strictEqual(Option.getOrThrow(item).value.length, size)
        assert.isTrue(Buffer.from(Option.getOrThrow(item).value).equals(value))
        // several large values in flight at once, with maxInFlight 2
        const c2 = yield* client({ timeout: "30 seconds", maxInFlight: 2 }, big)
        const vals = [1, 2, 3].map((n) => Buffer.alloc(2 * 1024 * 1024 + n, n))
        yield* Effect.forEach(vals, (v, i) => c2.set(`big:2mb:${i}`, v), { concurrency: "unbounded", discard: true })
        const back = yield* Effect.forEach(vals, (_, i) => c2.get(`big:2mb:${i}`), { concurrency: "unbounded" })
        back.forEach((b, i) => assert.isTrue(Buffer.from(Option.getOrThrow(b).value).equals(vals[i]!)))
      }),
    60_000
  )

  it.scopedLive("version and stats", () =>
    Effect.gen(function*() {
      const c = yield* client()
      const versions = yield* c.version()
      assert.deepStrictEqual(versions.get(`127.0.0.1:${mc.port}`), Either.right("1.6.18"))
      const stats = yield* c.stats()
      assert.strictEqual(Either.getOrThrow(stats.get(`127.0.0.1:${mc.port}`)!).get("pid"), String(mc.pid))
      const settings = yield* c.stats("settings")
      assert.strictEqual(Either.getOrThrow(settings.get(`127.0.0.1:${mc.port}`)!).get("tcpport"), String(mc.port))
      yield* c.verbosity(0)
    }))

  it.scopedLive("meta protocol: flags and CAS of a get come back (the first return flag is not skipped)", () =>
    Effect.gen(function*() {
      const c = yield* client({ protocol: "meta" })
      yield* c.set("meta:f", "hello", { flags: 42 })
      const item = Option.getOrThrow(yield* c.get("meta:f"))
      assert.strictEqual(Buffer.from(item.value).toString(), "hello")
      assert.strictEqual(item.flags, 42)
      const withCas = Option.getOrThrow(yield* c.gets("meta:f"))
      assert.strictEqual(withCas.flags, 42)
      assert.isDefined(withCas.cas)
      const touched = Option.getOrThrow(yield* c.gat("meta:f", 100))
      assert.strictEqual(touched.flags, 42)
      const text_ = yield* client()
      const viaText = Option.getOrThrow(yield* text_.gets("meta:f"))
      assert.strictEqual(withCas.cas, viaText.cas)
    }))

  it.scopedLive("noreply sets followed by a get see the value", () =>
    Effect.gen(function*() {
      const c = yield* client()
      for (let i = 0; i < 100; i++) yield* c.set(`nr:${i}`, `n${i}`, { noreply: true })
      assert.strictEqual(text(yield* c.get("nr:99")), "n99")
      const all = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => c.get(`nr:${i}`), {
        concurrency: "unbounded"
      })
      all.forEach((item, i) => assert.strictEqual(text(item), `n${i}`))
    }))

  it.scopedLive("noreply commands the server rejects do not shift later replies", () =>
    Effect.gen(function*() {
      const c = yield* client()
      yield* c.set("rej:exists", "E")
      yield* c.set("rej:other", "O")
      // add on an existing key → NOT_STORED; replace/append on a missing one → NOT_STORED;
      // delete of a missing key → NOT_FOUND; a value over the item size limit (1 MB) → SERVER_ERROR
      yield* c.add("rej:exists", "X", { noreply: true })
      yield* c.replace("rej:missing", "X", { noreply: true })
      yield* c.append("rej:missing", "X", { noreply: true })
      yield* c.delete("rej:missing2", { noreply: true })
      yield* c.set("rej:huge", Buffer.alloc(2 * 1024 * 1024, 1), { noreply: true })
      yield* c.cas("rej:exists", "X", 1n, { noreply: true })
      const [a, b, d] = yield* Effect.all([c.get("rej:exists"), c.get("rej:other"), c.get("rej:missing")], {
        concurrency: "unbounded"
      })
      assert.strictEqual(text(a), "E")
      assert.strictEqual(text(b), "O")
      assert.strictEqual(text(d), undefined)
      yield* c.set("rej:after", "A")
      assert.strictEqual(text(yield* c.get("rej:after")), "A")
    }))

  it.scopedLive("store errors, server errors and counters come back typed and in order", () =>
    Effect.gen(function*() {
      const c = yield* client()
      yield* c.set("typed:n", "10")
      const results = yield* Effect.all([
        c.incr("typed:n", 5).pipe(Effect.exit),
        c.add("typed:n", "x").pipe(Effect.exit),
        c.incr("typed:missing", 1).pipe(Effect.exit),
        c.set("typed:s", "abc").pipe(Effect.exit),
        c.incr("typed:s", 1).pipe(Effect.exit),
        c.set("typed:huge", Buffer.alloc(2 * 1024 * 1024)).pipe(Effect.exit),
        c.decr("typed:n", 100).pipe(Effect.exit),
        c.get("typed:s").pipe(Effect.exit)
      ], { concurrency: "unbounded" })
      assert.deepStrictEqual(results.map((r) => reasonOf(r)), [
        "success",
        "MemcachedStoreError:NotStored",
        "MemcachedStoreError:NotFound",
        "success",
        "MemcachedServerError:ClientError",
        "MemcachedServerError:ServerError",
        "success",
        "success"
      ])
      assert.strictEqual((results[0] as Exit.Success<bigint, never>).value, 15n)
      assert.strictEqual((results[6] as Exit.Success<bigint, never>).value, 0n)
      assert.strictEqual(text((results[7] as Exit.Success<Option.Option<MemcachedClient.Item>, never>).value), "abc")
      yield* c.set("typed:max", "18446744073709551614")
      assert.strictEqual(yield* c.incr("typed:max", 1), 18446744073709551615n)
      assert.strictEqual(yield* c.incr("typed:max", 1), 0n)
    }))

  it.scopedLive("a request after the client's scope closed fails with Closed and opens no connection", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const c = yield* client().pipe(Scope.extend(scope))
      const before = yield* Effect.scoped(Effect.flatMap(client(), (o) => o.stats()))
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Effect.exit(c.get("closed:key"))
      const after = yield* Effect.scoped(Effect.flatMap(client(), (o) => o.stats()))
      assert.strictEqual(reasonOf(exit), "MemcachedConnectionError:Closed")
      // only the second probe client connected in between
      assert.strictEqual(
        Number(Either.getOrThrow([...after.values()][0]!).get("total_connections")),
        Number(Either.getOrThrow([...before.values()][0]!).get("total_connections")) + 1
      )
    }))

  it.scopedLive("closing the scope fails pending requests with Closed", () =>
    Effect.gen(function*() {
      const server = yield* acquireFakeServer()
      const scope = yield* Scope.make()
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [server.address] }).pipe(Scope.extend(scope))
      const fiber = yield* Effect.fork(Effect.exit(c.get("pending")))
      yield* Effect.promise(() => server.receivedUntil(0, (d) => d.includes("get pending\r\n")))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(reasonOf(yield* Fiber.join(fiber)), "MemcachedConnectionError:Closed")
    }))
})

// ---------------------------------------------------------------------------------------------
// Against a fake server
// ---------------------------------------------------------------------------------------------

/** The keys of the complete `get`/`gets` lines received so far (single or auto-batched). */
const requestedKeys = (all: string): Array<string> =>
  all.split("\r\n").slice(0, -1).filter((l) => l.startsWith("get ") || l.startsWith("gets ")).flatMap((l) =>
    l.split(" ").slice(1)
  )

for (const autoBatch of [true, false]) {
  describe(`Connection against a misbehaving server (autoBatch ${autoBatch})`, () => {
    const clientFor = (server: FakeServer, options: MemcachedClient.MemcachedClientOptions = {}) =>
      MemcachedClient.make({ protocol: "text", servers: [server.address], autoBatch, ...options })

    it.scopedLive("request timeout: every pending request fails with Timeout (or Closed), the connection closes", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer()
        const c = yield* clientFor(server, { timeout: "200 millis" })
        const start = Date.now()
        const fibers = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => Effect.fork(Effect.exit(i % 10 === 9 ? c.get(`t:${i}`, { timeout: "10 seconds" }) : c.get(`t:${i}`)))
        )
        const exits = yield* Effect.forEach(fibers, Fiber.join)
        const elapsed = elapsedSince(start)
        assert.isBelow(elapsed, 200 + 2000, "did not hang")
        exits.forEach((exit, i) => {
          const r = reasonOf(exit)
          if (i % 10 === 9) assert.strictEqual(r, "MemcachedConnectionError:Closed", `request ${i}`)
          else assert.oneOf(r, ["MemcachedConnectionError:Timeout", "MemcachedConnectionError:Closed"], `request ${i}`)
        })
        assert.strictEqual(reasonOf(exits[0]!), "MemcachedConnectionError:Timeout")
        yield* Effect.promise(() => waitClosed(server.sockets[0]!))
      }))

    it.scopedLive("a late reply never reaches a later request", () =>
      Effect.gen(function*() {
        const answer = miniMemcached(new Map([["k2", "own-k2"], ["k", "new-k"]]))
        const server = yield* acquireFakeServer((socket, chunk, _all, index) => {
          if (index === 0) {
            // connection 0 answers late: after the client's timeout
            setTimeout(() => {
              if (!socket.destroyed) socket.write("VALUE k 0 4\r\nlate\r\nEND\r\nVALUE k2 0 4\r\nlate\r\nEND\r\n")
            }, 300)
            return
          }
          answer(socket, chunk)
        })
        const c = yield* clientFor(server, { timeout: "100 millis" })
        const first = yield* Effect.exit(c.get("k"))
        assert.strictEqual(reasonOf(first), "MemcachedConnectionError:Timeout")
        // the next request opens a new connection and gets its own answer
        const second = yield* c.get("k2", { timeout: "5 seconds" })
        assert.strictEqual(text(second), "own-k2")
        yield* Effect.sleep("400 millis")
        assert.strictEqual(text(yield* c.get("k2", { timeout: "5 seconds" })), "own-k2")
        assert.strictEqual(text(yield* c.get("k", { timeout: "5 seconds" })), "new-k")
        assert.strictEqual(server.sockets.length, 2)
      }))

    it.scopedLive("server closes mid-pipeline: all pending fail typed, nothing hangs, next request reconnects", () =>
      Effect.gen(function*() {
        const answer = miniMemcached(new Map([["m0", "A"], ["b", "B"]]))
        const server = yield* acquireFakeServer((socket, chunk, all, index) => {
          if (index === 0) {
            // once every request is in, answer part of the first one and close
            if (requestedKeys(all).length === 50) socket.end("VALUE m0 0 1\r\nA\r\n")
            return
          }
          answer(socket, chunk)
        })
        const c = yield* clientFor(server, { timeout: "10 seconds" })
        const start = Date.now()
        const exits = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => Effect.exit(c.get(`m${i}`)),
          {
            concurrency: "unbounded"
          }
        )
        assert.isBelow(elapsedSince(start), 5000)
        for (const exit of exits) {
          assert.oneOf(reasonOf(exit), ["MemcachedConnectionError:Closed", "MemcachedConnectionError:Reset"])
        }
        assert.strictEqual(text(yield* c.get("b")), "B")
        assert.strictEqual(server.sockets.length, 2)
      }))

    it.scopedLive("server closes mid-value: pending fail typed, next request reconnects", () =>
      Effect.gen(function*() {
        const answer = miniMemcached(new Map([["a", "A"], ["b", "B"]]))
        const server = yield* acquireFakeServer((socket, chunk, all, index) => {
          if (index === 0) {
            if (requestedKeys(all).length === 3) socket.end("VALUE x0 0 10\r\nabc")
            return
          }
          answer(socket, chunk)
        })
        const c = yield* clientFor(server, { timeout: "10 seconds" })
        const start = Date.now()
        const exits = yield* Effect.all([0, 1, 2].map((i) => Effect.exit(c.get(`x${i}`))), { concurrency: "unbounded" })
        assert.isBelow(elapsedSince(start), 5000)
        for (const exit of exits) {
          assert.oneOf(reasonOf(exit), ["MemcachedConnectionError:Closed", "MemcachedConnectionError:Reset"])
        }
        assert.strictEqual(text(yield* c.get("b")), "B")
      }))

    it.scopedLive("server resets the connection: pending fail with a connection error", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (requestedKeys(all).length === 10) socket.resetAndDestroy()
        })
        const c = yield* clientFor(server, { timeout: "10 seconds" })
        const exits = yield* Effect.all(Array.from({ length: 10 }, (_, i) => Effect.exit(c.get(`r${i}`))), {
          concurrency: "unbounded"
        })
        for (const exit of exits) {
          assert.oneOf(reasonOf(exit), ["MemcachedConnectionError:Closed", "MemcachedConnectionError:Reset"])
        }
      }))

    it.scopedLive("replies trickling in a few bytes at a time are reassembled", () =>
      Effect.gen(function*() {
        const values = new Map(Array.from({ length: 20 }, (_, i) => [`tr${i}`, `value\r\nEND\r\n${i}`] as const))
        const answer = miniMemcached(values)
        const pending = new Map<net.Socket, { out: string; pumping: boolean }>()
        const server = yield* acquireFakeServer((socket, chunk) => {
          // capture what the responder would write and dribble it out in 3-byte pieces, in order
          const real = socket.write.bind(socket)
          const q = pending.get(socket) ?? { out: "", pumping: false }
          pending.set(socket, q)
          ;(socket as { write: unknown }).write = (s: string) => {
            q.out += s
            return true
          }
          answer(socket, chunk)
          ;(socket as { write: unknown }).write = real
          const tick = () => {
            if (q.out === "" || socket.destroyed) {
              q.pumping = false
              return
            }
            real(q.out.slice(0, 3), "latin1")
            q.out = q.out.slice(3)
            setTimeout(tick, 1)
          }
          if (!q.pumping) {
            q.pumping = true
            tick()
          }
        })
        const c = yield* clientFor(server, { timeout: "20 seconds" })
        const got = yield* Effect.forEach([...values.keys()], (k) => c.get(k), { concurrency: 4 })
        got.forEach((item, i) => assert.strictEqual(text(item), values.get(`tr${i}`)))
      }))

    it.scopedLive("garbage reply: in-flight requests fail with MemcachedProtocolError", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (requestedKeys(all).length === 5) socket.write("HELLO THERE\r\n")
        })
        const c = yield* clientFor(server, { timeout: "5 seconds" })
        const exits = yield* Effect.all(Array.from({ length: 5 }, (_, i) => Effect.exit(c.get(`g${i}`))), {
          concurrency: "unbounded"
        })
        for (const exit of exits) assert.strictEqual(reasonOf(exit), "MemcachedProtocolError:Malformed")
        yield* Effect.promise(() => waitClosed(server.sockets[0]!))
      }))

    it.scopedLive("garbage after a good reply: the good one succeeds, the rest fail with MemcachedProtocolError", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (requestedKeys(all).length === 1) socket.write("VALUE g0 0 1\r\n0\r\nEND\r\n")
          if (requestedKeys(all).length === 5) socket.write("STORED\r\nHELLO\r\n")
        })
        const c = yield* clientFor(server, { timeout: "5 seconds" })
        assert.strictEqual(text(yield* c.get("g0")), "0")
        const exits = yield* Effect.all(Array.from({ length: 4 }, (_, i) => Effect.exit(c.get(`g${i + 1}`))), {
          concurrency: "unbounded"
        })
        for (const exit of exits) {
          assert.oneOf(reasonOf(exit), ["MemcachedProtocolError:Malformed", "MemcachedProtocolError:Unexpected"])
        }
      }))

    it.scopedLive("a VALUE for a key that was not requested fails with MemcachedProtocolError, never another key's value", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (requestedKeys(all).length === 2) socket.write("VALUE zzz 0 1\r\nZ\r\nEND\r\nVALUE a 0 1\r\nA\r\nEND\r\n")
        })
        const c = yield* clientFor(server, { timeout: "5 seconds" })
        const [a, b] = yield* Effect.all([Effect.exit(c.get("a")), Effect.exit(c.get("b"))], {
          concurrency: "unbounded"
        })
        assert.strictEqual(reasonOf(a), "MemcachedProtocolError:Unexpected")
        assert.strictEqual(reasonOf(b), "MemcachedProtocolError:Unexpected")
      }))

    it.scopedLive("a shifted reply (b's VALUE to a lone get of a) is a protocol error, not b's value", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (requestedKeys(all).length === 1) socket.write("VALUE b 0 1\r\nB\r\nEND\r\n")
        })
        const c = yield* clientFor(server, { timeout: "5 seconds" })
        assert.strictEqual(reasonOf(yield* Effect.exit(c.get("a"))), "MemcachedProtocolError:Unexpected")
      }))

    it.scopedLive("hits out of request order in a batch are a protocol error", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          const keys = requestedKeys(all)
          if (keys.length === 2) {
            // a batched "get a b" must be answered a then b; separate gets must be answered in turn
            socket.write(
              autoBatch
                ? "VALUE b 0 1\r\nB\r\nVALUE a 0 1\r\nA\r\nEND\r\n"
                : "VALUE b 0 1\r\nB\r\nEND\r\nVALUE a 0 1\r\nA\r\nEND\r\n"
            )
          }
        })
        const c = yield* clientFor(server, { timeout: "5 seconds" })
        const [a, b] = yield* Effect.all([Effect.exit(c.get("a")), Effect.exit(c.get("b"))], {
          concurrency: "unbounded"
        })
        // never a's request with b's value or vice versa
        if (Exit.isSuccess(a)) assert.notStrictEqual(text(a.value), "B")
        if (Exit.isSuccess(b)) assert.notStrictEqual(text(b.value), "A")
        assert.isTrue(Exit.isFailure(a) || Exit.isFailure(b))
      }))

    it.scopedLive("a reply with no request waiting is a protocol error too", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (all.includes("get a\r\n")) socket.write("END\r\nEND\r\n")
        })
        const c = yield* clientFor(server, { timeout: "5 seconds" })
        const a = yield* Effect.exit(c.get("a"))
        assert.strictEqual(reasonOf(a), "success")
        yield* Effect.promise(() => waitClosed(server.sockets[0]!))
      }))

    it.scopedLive("a value over maxValueSize fails with ValueTooLarge without buffering it", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer((socket, _chunk, all) => {
          if (all.includes("get big\r\n")) socket.write("VALUE big 0 2000000\r\nxxxx")
        })
        const c = yield* clientFor(server, { timeout: "5 seconds", maxValueSize: 1_000_000 })
        assert.strictEqual(reasonOf(yield* Effect.exit(c.get("big"))), "MemcachedProtocolError:ValueTooLarge")
      }))

    it.scopedLive("a request that times out while still queued (never written) fails alone", () =>
      Effect.gen(function*() {
        // the server answers every get, slowly (300 ms)
        const answer = miniMemcached(new Map([["slow", "S"], ["fast", "F"]]))
        const server = yield* acquireFakeServer((socket, chunk) => {
          setTimeout(() => answer(socket, chunk), 300)
        })
        const c = yield* clientFor(server, { timeout: "5 seconds", maxInFlight: 1 })
        const slow = yield* Effect.fork(Effect.exit(c.get("slow")))
        yield* Effect.promise(() => server.receivedUntil(0, (d) => d.includes("slow")))
        // queued behind "slow" (maxInFlight 1), with a deadline shorter than slow's reply time
        const queued = yield* Effect.exit(c.get("fast", { timeout: "100 millis" }))
        assert.strictEqual(reasonOf(queued), "MemcachedConnectionError:Timeout")
        // the in-flight request is unaffected: nothing was written for the queued one, nothing to desync
        const first = yield* Fiber.join(slow)
        assert.strictEqual(reasonOf(first), "success")
        assert.strictEqual(text((first as Exit.Success<Option.Option<MemcachedClient.Item>, never>).value), "S")
        assert.strictEqual(server.sockets.length, 1)
      }))

    it.scopedLive("maxQueued: requests beyond the queue fail at once with Overloaded", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer()
        const c = yield* clientFor(server, { timeout: "300 millis", maxInFlight: 1, maxQueued: 2 })
        const exits = yield* Effect.all(Array.from({ length: 6 }, (_, i) => Effect.exit(c.get(`o${i}`))), {
          concurrency: "unbounded"
        })
        const reasons = exits.map((e) => reasonOf(e))
        assert.strictEqual(reasons.filter((r) => r === "MemcachedConnectionError:Overloaded").length, 3, reasons.join())
      }))

    it.scopedLive("connect refused → Connect, fast", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(() => freePort())
        const c = yield* MemcachedClient.make({
          protocol: "text",
          servers: [`127.0.0.1:${port}`],
          timeout: "10 seconds"
        })
        const start = Date.now()
        const exits = yield* Effect.all([Effect.exit(c.get("a")), Effect.exit(c.set("b", "x"))], {
          concurrency: "unbounded"
        })
        assert.isBelow(elapsedSince(start), 2000)
        for (const exit of exits) {
          assert.strictEqual(reasonOf(exit as Exit.Exit<unknown, MemcachedError>), "MemcachedConnectionError:Connect")
        }
        // and again: each request retries the connection, each fails fast
        assert.strictEqual(reasonOf(yield* Effect.exit(c.get("a"))), "MemcachedConnectionError:Connect")
      }))

    class NeverConnects extends Duplex {
      connecting = true
      override _read() {}
      override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
        callback()
      }
    }

    it.scopedLive("connect timeout → ConnectTimeout (a transport that never connects)", () =>
      Effect.gen(function*() {
        const sockets: Array<NeverConnects> = []
        const transport: Transport = {
          connect: () => {
            const s = new NeverConnects()
            sockets.push(s)
            return s
          }
        }
        const c = yield* MemcachedClient.make({
          protocol: "text",
          servers: ["127.0.0.1:1"],
          connectTimeout: "100 millis",
          transport
        })
        const start = Date.now()
        const exits = yield* Effect.all([Effect.exit(c.get("a")), Effect.exit(c.get("b"))], {
          concurrency: "unbounded"
        })
        assert.isBelow(elapsedSince(start), 2000)
        for (const exit of exits) assert.strictEqual(reasonOf(exit), "MemcachedConnectionError:ConnectTimeout")
        assert.isTrue(sockets[0]!.destroyed)
      }))

    /** A transport whose stream connects after `delay` ms and answers `get` with END. */
    class SlowConnect extends Duplex {
      connecting = true
      constructor(delay: number) {
        super()
        setTimeout(() => {
          if (this.destroyed) return
          this.connecting = false
          this.emit("connect")
        }, delay)
      }
      override _read() {}
      override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
        const gets = chunk.toString("latin1").split("\r\n").filter((l) => l.startsWith("get "))
        for (let i = 0; i < gets.length; i++) this.push("END\r\n")
        callback()
      }
    }

    it.scopedLive("a short per-call timeout while connecting does not cut the connect budget of other requests", () =>
      Effect.gen(function*() {
        const transport: Transport = { connect: () => new SlowConnect(300) }
        const c = yield* MemcachedClient.make({
          servers: ["127.0.0.1:1"],
          connectTimeout: "2 seconds",
          timeout: "5 seconds",
          transport
        })
        const [short, long] = yield* Effect.all([
          Effect.exit(c.get("a", { timeout: "50 millis" })),
          Effect.exit(c.get("b"))
        ], { concurrency: "unbounded" })
        assert.strictEqual(reasonOf(short), "MemcachedConnectionError:Timeout")
        assert.strictEqual(reasonOf(long), "success")
      }))

    it.scopedLive("a transport that throws → Connect", () =>
      Effect.gen(function*() {
        const transport: Transport = {
          connect: () => {
            throw new Error("boom")
          }
        }
        const c = yield* MemcachedClient.make({ protocol: "text", servers: ["127.0.0.1:1"], transport })
        assert.strictEqual(reasonOf(yield* Effect.exit(c.get("a"))), "MemcachedConnectionError:Connect")
      }))

    it.effect("TestClock: a request times out exactly when the clock passes its deadline", () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer()
        const c = yield* MemcachedClient.make({
          protocol: "text",
          servers: [server.address],
          timeout: "1 second",
          connectTimeout: "10 seconds"
        })
        // open the connection first (real IO), then start the request whose deadline we drive
        const fiber = yield* Effect.fork(c.get("tc"))
        yield* Effect.promise(() => server.receivedUntil(0, (d) => d.includes("get tc\r\n")))
        yield* TestClock.adjust("999 millis")
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "must not time out before the deadline")
        yield* TestClock.adjust("1 millis")
        const exit = yield* Fiber.await(fiber)
        assert.strictEqual(reasonOf(exit), "MemcachedConnectionError:Timeout")
        yield* Effect.promise(() => waitClosed(server.sockets[0]!))
      }).pipe(Effect.scoped))
  })
}
