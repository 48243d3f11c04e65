/**
 * Auto-batching: single-key gets that reach a connection in the same tick go out as one multi-key
 * command and their replies are split back by key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, type Scope } from "effect"
import * as net from "node:net"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { acquireFakeServer, acquireMemcached } from "./support/memcached.js"

const text = (o: Option.Option<MemcachedClient.Item>) => Option.map(o, (i) => Buffer.from(i.value).toString())

/** A TCP proxy in front of a real server that records every byte the client sends (latin1). */
const acquireRecordingProxy = (
  targetPort: number
): Effect.Effect<{ readonly address: string; readonly sent: () => string }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; address: string; sent: () => string }>((resume) => {
      let sent = ""
      const server = net.createServer((client) => {
        const upstream = net.connect(targetPort, "127.0.0.1")
        client.on("data", (chunk) => {
          sent += chunk.toString("latin1")
          upstream.write(chunk)
        })
        upstream.on("data", (chunk) => client.write(chunk))
        const end = () => {
          client.destroy()
          upstream.destroy()
        }
        client.on("close", end)
        upstream.on("close", end)
        client.on("error", end)
        upstream.on("error", end)
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as net.AddressInfo).port
        resume(Effect.succeed({ server, address: `127.0.0.1:${port}`, sent: () => sent }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

/** The command lines the client sent (data blocks of sets included as lines, which these tests do not check). */
const lines = (sent: string) => sent.split("\r\n").filter((l) => l !== "")

describe("auto-batching", () => {
  it.scoped("independent gets in one tick become one multi-key get on the wire", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, _chunk, received) => {
        // Answer once the whole batch line arrived: hits for a and c (in request order), miss for b.
        if (received.endsWith("\r\n") && !received.includes("answered")) {
          socket.write("VALUE a 0 1\r\nA\r\nVALUE c 0 1\r\nC\r\nEND\r\n")
        }
      })
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [fake.address] })
      const [a, b, cc] = yield* Effect.all([c.get("a"), c.get("b"), c.get("c")], { concurrency: "unbounded" })
      assert.strictEqual(fake.received[0], "get a b c\r\n")
      assert.deepStrictEqual(text(a), Option.some("A"))
      assert.isTrue(Option.isNone(b))
      assert.deepStrictEqual(text(cc), Option.some("C"))
    }))

  it.scoped("with autoBatch off every get is its own command", () =>
    Effect.gen(function*() {
      const fake = yield* acquireFakeServer((socket, chunk) => {
        for (const line of chunk.toString("latin1").split("\r\n")) if (line !== "") socket.write("END\r\n")
      })
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [fake.address], autoBatch: false })
      yield* Effect.all([c.get("a"), c.get("b")], { concurrency: "unbounded" })
      assert.strictEqual(fake.received[0], "get a\r\nget b\r\n")
    }))

  it.scoped("a write between gets keeps the order: get, set, get of one key", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [`127.0.0.1:${mc.port}`] })
      yield* c.set("order", "old")
      const [before, , after] = yield* Effect.all([c.get("order"), c.set("order", "new"), c.get("order")], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(text(before), Option.some("old"))
      assert.deepStrictEqual(text(after), Option.some("new"))
    }))

  it.scoped("thousands of concurrent gets with misses, duplicates and interruptions each get their own value", () =>
    Effect.gen(function*() {
      const mc = yield* acquireMemcached()
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [`127.0.0.1:${mc.port}`] })
      const keys = Array.from({ length: 2000 }, (_, i) => `ab:${i}`)
      yield* Effect.forEach(keys, (k, i) => (i % 4 === 0 ? Effect.void : c.set(k, `v:${k}`)), {
        concurrency: 100,
        discard: true
      })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 6000 }, (_, n) => keys[(n * 7919) % keys.length]!),
        (k) => Effect.fork(Effect.map(c.get(k), (o) => [k, text(o)] as const)),
        { concurrency: "unbounded" }
      )
      const interrupted = new Set<number>()
      for (let i = 0; i < fibers.length; i += 5) interrupted.add(i)
      yield* Effect.forEach([...interrupted], (i) => Fiber.interrupt(fibers[i]!), { discard: true })
      let checked = 0
      for (let i = 0; i < fibers.length; i++) {
        if (interrupted.has(i)) continue
        const [k, v] = yield* Fiber.join(fibers[i]!)
        const index = Number(k.slice(3))
        assert.deepStrictEqual(v, index % 4 === 0 ? Option.none() : Option.some(`v:${k}`))
        checked++
      }
      assert.isTrue(checked >= 4800)
      // The connection is still in sync.
      assert.deepStrictEqual(text(yield* c.get("ab:1")), Option.some("v:ab:1"))
      assert.isTrue(Option.isNone(yield* c.get("ab:0")))
    }))

  it.effect("gets mixed with gets-with-cas in one tick are batched per command", () =>
    Effect.gen(function*() {
      const c = yield* MemcachedClient.MemcachedClient
      yield* c.set("x", "1")
      yield* c.set("y", "2")
      const [x, y, xs, ys] = yield* Effect.all([c.get("x"), c.get("y"), c.gets("x"), c.gets("y")], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(text(x), Option.some("1"))
      assert.deepStrictEqual(text(y), Option.some("2"))
      assert.isUndefined(Option.getOrThrow(x).cas)
      assert.isDefined(Option.getOrThrow(xs).cas)
      assert.isDefined(Option.getOrThrow(ys).cas)
    }).pipe(Effect.provide(MemcachedTest.layer({ protocol: "text" }))))

  it.scoped("a server error for a batch fails every get in it, and the connection stays usable", () =>
    Effect.gen(function*() {
      let first = true
      const fake = yield* acquireFakeServer((socket, chunk) => {
        if (!chunk.toString("latin1").endsWith("\r\n")) return
        if (first) {
          first = false
          socket.write("SERVER_ERROR out of memory\r\n")
        } else socket.write("VALUE k 0 2\r\nok\r\nEND\r\n")
      })
      const c = yield* MemcachedClient.make({ protocol: "text", servers: [fake.address] })
      const results = yield* Effect.all([Effect.either(c.get("k")), Effect.either(c.get("j"))], {
        concurrency: "unbounded"
      })
      for (const r of results) {
        assert.isTrue(r._tag === "Left" && r.left._tag === "MemcachedServerError")
      }
      assert.deepStrictEqual(text(yield* c.get("k")), Option.some("ok"))
    }))

  describe("on meta servers", () => {
    it.scoped("same-tick gets (and gets) go out as multi-key text get/gets lines, split back by key, misses too", () =>
      Effect.gen(function*() {
        const mc = yield* acquireMemcached()
        const proxy = yield* acquireRecordingProxy(mc.port)
        for (const protocol of ["meta", "auto"] as const) {
          const c = yield* MemcachedClient.make({ protocol, servers: [proxy.address] })
          const keys = Array.from({ length: 60 }, (_, i) => `${protocol}:${i}`)
          yield* Effect.forEach(keys, (k, i) => (i % 3 === 0 ? Effect.void : c.set(k, `v:${k}`)), { discard: true })
          const before = proxy.sent().length
          const got = yield* Effect.all(keys.map((k) => c.get(k)), { concurrency: "unbounded" })
          const withCas = yield* Effect.all(keys.slice(0, 10).map((k) => c.gets(k)), { concurrency: "unbounded" })
          for (let i = 0; i < keys.length; i++) {
            assert.deepStrictEqual(text(got[i]!), i % 3 === 0 ? Option.none() : Option.some(`v:${keys[i]}`))
          }
          for (let i = 0; i < 10; i++) {
            if (i % 3 === 0) assert.isTrue(Option.isNone(withCas[i]!))
            else assert.strictEqual(typeof Option.getOrThrow(withCas[i]!).cas, "bigint")
          }
          const sent = lines(proxy.sent().slice(before))
          assert.isFalse(sent.some((l) => l.startsWith("mg ")), sent.join(" | "))
          const gets = sent.filter((l) => l.startsWith("get "))
          // 60 keys: at most one line per batch cap, each with many keys.
          assert.isAtMost(gets.length, 60 / 10)
          assert.deepStrictEqual(gets.flatMap((l) => l.split(" ").slice(1)), keys)
          assert.deepStrictEqual(
            sent.filter((l) => l.startsWith("gets ")).flatMap((l) => l.split(" ").slice(1)),
            keys.slice(0, 10)
          )
        }
      }))

    it.scoped("getMany on a meta server is one multi-key get per chunk (no mg lines)", () =>
      Effect.gen(function*() {
        const mc = yield* acquireMemcached()
        const proxy = yield* acquireRecordingProxy(mc.port)
        const c = yield* MemcachedClient.make({ protocol: "meta", servers: [proxy.address], maxKeysPerGet: 50 })
        const keys = Array.from({ length: 120 }, (_, i) => `gm:${i}`)
        yield* Effect.forEach(keys, (k, i) => (i % 4 === 0 ? Effect.void : c.set(k, `v:${k}`)), { discard: true })
        const before = proxy.sent().length
        const found = yield* c.getMany(keys)
        const withCas = yield* c.getMany(keys.slice(0, 20), { cas: true })
        assert.strictEqual(found.size, 90)
        for (const [i, k] of keys.entries()) {
          assert.strictEqual(found.has(k), i % 4 !== 0)
          if (i % 4 !== 0) assert.strictEqual(Buffer.from(found.get(k)!.value).toString(), `v:${k}`)
        }
        assert.strictEqual(withCas.size, 15)
        for (const item of withCas.values()) assert.strictEqual(typeof item.cas, "bigint")
        assert.deepStrictEqual(lines(proxy.sent().slice(before)).map((l) => l.split(" ").length - 1), [50, 50, 20, 20])
        assert.isFalse(lines(proxy.sent().slice(before)).some((l) => l.startsWith("mg ") || l === "mn"))
      }))

    it.scoped("batches are capped at maxKeysPerGet and all are sent before the first is answered (several in flight)", () =>
      Effect.gen(function*() {
        const fake = yield* acquireFakeServer((socket, _chunk, received) => {
          // Answer only once all three batch lines arrived (each key's value is its name upper-cased; k3 misses).
          if (received.split("\r\n").length - 1 === 3 && !received.includes("done")) {
            let reply = ""
            for (const line of lines(received)) {
              for (const k of line.split(" ").slice(1)) {
                if (k !== "k3") reply += `VALUE ${k} 0 ${k.length}\r\n${k.toUpperCase()}\r\n`
              }
              reply += "END\r\n"
            }
            socket.write(reply)
          }
        })
        const c = yield* MemcachedClient.make({ protocol: "meta", servers: [fake.address], maxKeysPerGet: 4 })
        const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)
        const got = yield* Effect.all(keys.map((k) => c.get(k)), { concurrency: "unbounded" })
        assert.deepStrictEqual(lines(fake.received[0]!), ["get k0 k1 k2 k3", "get k4 k5 k6 k7", "get k8 k9"])
        for (let i = 0; i < keys.length; i++) {
          assert.deepStrictEqual(text(got[i]!), i === 3 ? Option.none() : Option.some(keys[i]!.toUpperCase()))
        }
      }))

    it.scoped("each caller keeps its own deadline and interruption; the connection stays in sync", () =>
      Effect.gen(function*() {
        const mc = yield* acquireMemcached()
        const c = yield* MemcachedClient.make({ protocol: "meta", servers: [`127.0.0.1:${mc.port}`] })
        const keys = Array.from({ length: 300 }, (_, i) => `dl:${i}`)
        yield* Effect.forEach(keys, (k) => c.set(k, `v:${k}`), { concurrency: 50, discard: true })
        // Interrupt every 3rd caller of one tick's batches: the others get their own values.
        const fibers = yield* Effect.forEach(keys, (k) => Effect.fork(c.get(k)), { concurrency: "unbounded" })
        for (let i = 0; i < fibers.length; i += 3) yield* Fiber.interrupt(fibers[i]!)
        for (let i = 0; i < fibers.length; i++) {
          const exit = yield* Fiber.await(fibers[i]!)
          if (i % 3 === 0) continue
          assert.isTrue(Exit.isSuccess(exit))
          if (Exit.isSuccess(exit)) assert.deepStrictEqual(text(exit.value), Option.some(`v:${keys[i]}`))
        }
        assert.deepStrictEqual(text(yield* c.get("dl:0")), Option.some("v:dl:0"))
      }))

    it.scopedLive("a caller's short deadline in a batch is its own: it times out, nobody hangs", () =>
      Effect.gen(function*() {
        // The server never answers: the 300 ms caller fails with Timeout at its deadline, the 60 s ones
        // are failed with the connection (Closed), well before their own deadline.
        const fake = yield* acquireFakeServer()
        const c = yield* MemcachedClient.make({ protocol: "meta", servers: [fake.address] })
        const started = Date.now()
        const [short, long1, long2] = yield* Effect.all([
          Effect.flip(c.get("s", { timeout: Duration.millis(300) })),
          Effect.flip(c.get("l1", { timeout: Duration.seconds(60) })),
          Effect.flip(c.get("l2", { timeout: Duration.seconds(60) }))
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(lines(fake.received[0]!), ["get s l1 l2"])
        assert.isTrue(short._tag === "MemcachedConnectionError" && short.reason === "Timeout")
        for (const e of [long1, long2]) assert.isTrue(e._tag === "MemcachedConnectionError" && e.reason === "Closed")
        assert.isBelow(Date.now() - started, 30_000)
      }))

    it.scoped("a huge value in a batch with small hits and misses", () =>
      Effect.gen(function*() {
        const mc = yield* acquireMemcached(["-I", "4m"])
        const c = yield* MemcachedClient.make({ protocol: "meta", servers: [`127.0.0.1:${mc.port}`] })
        const huge = Buffer.alloc(3 * 1024 * 1024 + 17)
        for (let i = 0; i < huge.length; i++) huge[i] = (i * 31 + 7) & 0xff
        yield* c.set("hv:huge", huge)
        yield* c.set("hv:a", "a")
        yield* c.set("hv:b", "b")
        const [a, miss, big, b] = yield* Effect.all(
          [c.get("hv:a"), c.get("hv:miss"), c.get("hv:huge"), c.get("hv:b")],
          {
            concurrency: "unbounded"
          }
        )
        assert.deepStrictEqual(text(a), Option.some("a"))
        assert.isTrue(Option.isNone(miss))
        assert.isTrue(Buffer.from(Option.getOrThrow(big).value).equals(huge))
        assert.deepStrictEqual(text(b), Option.some("b"))
      }))
  })
})
