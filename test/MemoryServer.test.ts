import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import type { Duplex } from "node:stream"
import { Effect, TestClock } from "effect"
import * as MemoryServer from "../src/server/MemoryServer.js"
import * as ServerLayer from "../src/server/layer.js"
import { startMemcached } from "./support/memcached.js"

const b = (s: string) => Buffer.from(s, "latin1")

/** Runs input through a bare session and returns every reply as one latin1 string. */
const run = (server: MemoryServer.MemoryServer, input: string): string =>
  Buffer.concat(server.session().receive(b(input)).replies).toString("latin1")

const fakeClock = (start = 1_700_000_000_000) => {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

/** Collects what a stream sends until `done(text)` or the timeout; resolves with the text. */
const collect = (stream: Duplex | net.Socket, done: (text: string) => boolean, timeoutMs = 2000) =>
  new Promise<{ text: string; ended: boolean }>((resolve) => {
    let text = ""
    let ended = false
    const finish = () => {
      clearTimeout(timer)
      stream.off("data", onData)
      stream.off("end", onEnd)
      stream.off("close", onEnd)
      stream.off("error", onEnd)
      resolve({ text, ended })
    }
    const onData = (d: Buffer) => {
      text += d.toString("latin1")
      if (done(text)) finish()
    }
    const onEnd = () => {
      ended = true
      finish()
    }
    const timer = setTimeout(finish, timeoutMs)
    stream.on("data", onData)
    stream.on("end", onEnd)
    stream.on("close", onEnd)
    stream.on("error", onEnd)
  })

const request = (stream: Duplex | net.Socket, input: string, expect: string, timeoutMs = 2000) => {
  const p = collect(stream, (t) => t.length >= expect.length, timeoutMs)
  stream.write(b(input))
  return p
}

const tcpConnect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(s))
    s.once("error", reject)
  })

describe("MemoryServer engine", () => {
  it("its stored entry is StoredItem: the public surface has one Item (the client's)", () => {
    const s = MemoryServer.make()
    run(s, "set k 7 0 1\r\nx\r\n")
    const entry = s.peek("k")
    expectTypeOf(entry).toEqualTypeOf<MemoryServer.StoredItem | undefined>()
    assert.strictEqual(entry?.flags, 7)
    assert.strictEqual(entry?.value.toString("latin1"), "x")
    // @ts-expect-error the server exports no `Item` (checked by tsc over test/)
    type _NoItem = MemoryServer.Item
  })

  it("stores and retrieves with set/add/replace/append/prepend/cas/delete", () => {
    const s = MemoryServer.make()
    assert.strictEqual(run(s, "set k 7 0 3\r\nabc\r\nget k\r\n"), "STORED\r\nVALUE k 7 3\r\nabc\r\nEND\r\n")
    assert.strictEqual(run(s, "add k 0 0 1\r\nx\r\nadd n 1 0 1\r\nx\r\n"), "NOT_STORED\r\nSTORED\r\n")
    assert.strictEqual(
      run(s, "replace zz 0 0 1\r\nx\r\nreplace n 2 0 1\r\ny\r\nget n\r\n"),
      "NOT_STORED\r\nSTORED\r\nVALUE n 2 1\r\ny\r\nEND\r\n"
    )
    assert.strictEqual(
      run(s, "append k 99 0 2\r\nde\r\nprepend k 99 0 1\r\n_\r\nget k\r\n"),
      "STORED\r\nSTORED\r\nVALUE k 7 6\r\n_abcde\r\nEND\r\n"
    )
    assert.strictEqual(run(s, "append zz 0 0 1\r\nx\r\nprepend zz 0 0 1\r\nx\r\n"), "NOT_STORED\r\nNOT_STORED\r\n")
    const cas = s.peek("k")!.cas
    assert.strictEqual(run(s, `cas k 0 0 1 ${cas + 100n}\r\nx\r\n`), "EXISTS\r\n")
    assert.strictEqual(
      run(s, `cas k 3 0 1 ${cas}\r\nx\r\ngets k\r\n`),
      `STORED\r\nVALUE k 3 1 ${s.peek("k")!.cas}\r\nx\r\nEND\r\n`
    )
    assert.strictEqual(run(s, "cas zz 0 0 1 1\r\nx\r\n"), "NOT_FOUND\r\n")
    assert.strictEqual(run(s, "delete k\r\ndelete k\r\nget k\r\n"), "DELETED\r\nNOT_FOUND\r\nEND\r\n")
    assert.strictEqual(run(s, "get n zz n\r\n"), "VALUE n 2 1\r\ny\r\nVALUE n 2 1\r\ny\r\nEND\r\n")
    const st = s.stats()
    assert.strictEqual(st.cas_badval, 1)
    assert.strictEqual(st.cas_hits, 1)
    assert.strictEqual(st.cas_misses, 1)
    assert.strictEqual(st.delete_hits, 1)
    assert.strictEqual(st.delete_misses, 1)
  })

  it("CAS uniques come from one counter, bumped by every modification", () => {
    const s = MemoryServer.make()
    run(s, "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n1\r\n")
    const a = s.peek("a")!.cas
    assert.strictEqual(s.peek("b")!.cas, a + 1n)
    run(s, "incr a 1\r\ntouch b 10\r\n")
    assert.strictEqual(s.peek("a")!.cas, a + 2n)
    assert.strictEqual(s.peek("b")!.cas, a + 1n)
  })

  it("keeps 32-bit flags and round-trips binary values", () => {
    const s = MemoryServer.make()
    const session = s.session()
    const value = Buffer.from([0, 13, 10, 255])
    const out = Buffer.concat(
      session.receive(Buffer.concat([b("set k 4294967295 0 4\r\n"), value, b("\r\nget k\r\n")])).replies
    )
    assert.deepStrictEqual([...out], [
      ...Buffer.concat([b("STORED\r\nVALUE k 4294967295 4\r\n"), value, b("\r\nEND\r\n")])
    ])
  })

  it.effect("expires items with TestClock (relative, absolute, negative, touch, gat)", () =>
    Effect.gen(function*() {
      const clock = yield* Effect.clock
      const s = MemoryServer.make({ now: () => clock.unsafeCurrentTimeMillis() })
      assert.strictEqual(
        run(s, "set a 0 2 1\r\nx\r\nset never 0 0 1\r\nx\r\nset neg 0 -1 1\r\nx\r\nget neg\r\n"),
        "STORED\r\nSTORED\r\nSTORED\r\nEND\r\n"
      )
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(run(s, "get a\r\n"), "VALUE a 0 1\r\nx\r\nEND\r\n")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(run(s, "get a\r\n"), "END\r\n")
      assert.strictEqual(s.stats().get_expired, 2) // neg and a
      // > 30 days is an absolute Unix time.
      const nowSec = Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
      run(s, `set abs 0 ${nowSec + 60 * 60 * 24 * 31} 1\r\nx\r\nset past 0 ${60 * 60 * 24 * 31} 1\r\nx\r\n`)
      assert.isDefined(s.peek("abs"))
      yield* TestClock.adjust("30 days")
      assert.isDefined(s.peek("abs"))
      assert.isDefined(s.peek("never"))
      yield* TestClock.adjust("1 days")
      assert.isUndefined(s.peek("abs"))
      // touch and gat move the expiry.
      run(s, "set t 0 1 1\r\nx\r\nset g 0 1 1\r\nx\r\n")
      assert.strictEqual(run(s, "touch t 10\r\ntouch missing 10\r\n"), "TOUCHED\r\nNOT_FOUND\r\n")
      assert.strictEqual(run(s, "gat 10 g missing\r\n"), "VALUE g 0 1\r\nx\r\nEND\r\n")
      const cas = s.peek("g")!.cas
      assert.strictEqual(run(s, "gats 10 g\r\n"), `VALUE g 0 1 ${cas}\r\nx\r\nEND\r\n`)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(run(s, "get t g\r\n"), "VALUE t 0 1\r\nx\r\nVALUE g 0 1\r\nx\r\nEND\r\n")
      assert.strictEqual(run(s, "touch t -1\r\nget t\r\n"), "TOUCHED\r\nEND\r\n")
      const st = s.stats()
      assert.strictEqual(st.touch_hits, 4)
      assert.strictEqual(st.touch_misses, 2)
    }))

  it("incr/decr: wrap at 2^64, floor at 0, in-place padding, non-numeric, 20-digit values", () => {
    const s = MemoryServer.make()
    assert.strictEqual(
      run(s, "set a 0 0 20\r\n18446744073709551615\r\nincr a 1\r\nget a\r\n"),
      "STORED\r\n0\r\nVALUE a 0 20\r\n0                   \r\nEND\r\n"
    )
    assert.strictEqual(
      run(s, "set a 0 0 2\r\n10\r\ndecr a 100\r\nget a\r\n"),
      "STORED\r\n0\r\nVALUE a 0 2\r\n0 \r\nEND\r\n"
    )
    assert.strictEqual(
      run(s, "set a 0 0 2\r\n99\r\nincr a 1\r\nget a\r\n"),
      "STORED\r\n100\r\nVALUE a 0 3\r\n100\r\nEND\r\n"
    )
    assert.strictEqual(
      run(s, "set a 0 0 19\r\n9999999999999999999\r\nincr a 1\r\n"),
      "STORED\r\n10000000000000000000\r\n"
    )
    assert.strictEqual(run(s, "incr a 18446744073709551615\r\n"), "9999999999999999999\r\n")
    assert.strictEqual(
      run(s, "set a 0 0 1\r\nx\r\nincr a 1\r\n"),
      "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
    )
    assert.strictEqual(
      run(s, "set a 0 0 0\r\n\r\nincr a 1\r\n"),
      "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
    )
    assert.strictEqual(
      run(s, "set a 0 0 2\r\n1a\r\nincr a 1\r\n"),
      "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
    )
    assert.strictEqual(
      run(s, "set a 0 0 21\r\n999999999999999999999\r\nincr a 1\r\n"),
      "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
    )
    assert.strictEqual(run(s, "set a 0 0 21\r\n000000000000000000001\r\nincr a 1\r\n"), "STORED\r\n2\r\n")
    assert.strictEqual(run(s, "set a 0 0 3\r\n1 x\r\nincr a 1\r\n"), "STORED\r\n2\r\n")
    assert.strictEqual(
      run(s, "incr nope 1\r\ndecr nope 1\r\nincr a 1 noreply\r\nget a\r\n"),
      "NOT_FOUND\r\nNOT_FOUND\r\nVALUE a 5 3\r\n3  \r\nEND\r\n".replace(" 5 ", " 0 ")
    )
    const st = s.stats()
    assert.strictEqual(st.incr_misses, 1)
    assert.strictEqual(st.decr_misses, 1)
    assert.isAtLeast(st.incr_hits, 5)
  })

  it("flush_all: immediate, noreply, and delayed (only items stored before the flush time)", () => {
    const c = fakeClock()
    const s = MemoryServer.make({ now: c.now })
    assert.strictEqual(
      run(s, "set a 0 0 1\r\nx\r\nflush_all\r\nset b 0 0 1\r\ny\r\nget a b\r\n"),
      "STORED\r\nOK\r\nSTORED\r\nVALUE b 0 1\r\ny\r\nEND\r\n"
    )
    assert.strictEqual(s.stats().get_flushed, 1)
    assert.strictEqual(run(s, "flush_all noreply\r\nget b\r\n"), "END\r\n")
    assert.strictEqual(
      run(s, "set c 0 0 1\r\nx\r\nflush_all 10\r\nget c\r\n"),
      "STORED\r\nOK\r\nVALUE c 0 1\r\nx\r\nEND\r\n"
    )
    c.advance(9000)
    assert.strictEqual(
      run(s, "set d 0 0 1\r\nx\r\nget c d\r\n"),
      "STORED\r\nVALUE c 0 1\r\nx\r\nVALUE d 0 1\r\nx\r\nEND\r\n"
    )
    c.advance(1000)
    // c and d were last touched before the flush time: both invalid now; e is stored after it.
    assert.strictEqual(run(s, "set e 0 0 1\r\nx\r\nget c d e\r\n"), "STORED\r\nVALUE e 0 1\r\nx\r\nEND\r\n")
    assert.strictEqual(s.stats().cmd_flush, 3)
  })

  it("evicts least recently used items under the memory limit and counts evictions", () => {
    const s = MemoryServer.make({ maxBytes: 10_000 })
    const v = "x".repeat(900)
    for (let i = 0; i < 15; i++) run(s, `set k${i} 0 0 900\r\n${v}\r\n`)
    assert.isAtMost(s.stats().bytes, 10_000)
    const before = s.stats().evictions
    assert.isAbove(before, 0)
    // Touch the oldest surviving key so it is no longer the LRU victim.
    const survivors = Array.from({ length: 15 }, (_, i) => `k${i}`).filter((k) => s.peek(k) !== undefined)
    const oldest = survivors[0]!
    run(s, `get ${oldest}\r\n`)
    run(s, `set new 0 0 900\r\n${v}\r\n`)
    assert.isDefined(s.peek(oldest))
    assert.isUndefined(s.peek(survivors[1]!))
    assert.strictEqual(s.stats().evictions, before + 1)
    assert.strictEqual(s.stats().curr_items, s.size)
  })

  it("rejects items over the size limit after swallowing the data; a failed set drops the old value", () => {
    const s = MemoryServer.make({ maxItemSize: 1024 })
    const big = "x".repeat(2000)
    assert.strictEqual(
      run(s, `set a 0 0 1\r\nb\r\nappend a 0 0 2000\r\n${big}\r\nget a\r\nset a 0 0 2000\r\n${big}\r\nget a\r\n`),
      "STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE a 0 1\r\nb\r\nEND\r\nSERVER_ERROR object too large for cache\r\nEND\r\n"
    )
    assert.strictEqual(run(s, `set a 0 0 2000 noreply\r\n${big}\r\nversion\r\n`), `VERSION ${MemoryServer.VERSION}\r\n`)
    assert.strictEqual(s.stats().store_too_large, 3)
  })

  it("reports stats, stats settings, stats reset, version, verbosity", () => {
    const s = MemoryServer.make({ maxBytes: 1 << 20, maxItemSize: 2048 })
    run(s, "set a 0 0 1\r\nx\r\nget a b\r\n")
    const stats = run(s, "stats\r\n")
    for (
      const name of [
        "pid",
        "uptime",
        "time",
        "version",
        "curr_items",
        "total_items",
        "bytes",
        "curr_connections",
        "total_connections",
        "cmd_get",
        "cmd_set",
        "cmd_touch",
        "cmd_flush",
        "get_hits",
        "get_misses",
        "get_expired",
        "get_flushed",
        "delete_hits",
        "delete_misses",
        "incr_hits",
        "incr_misses",
        "decr_hits",
        "decr_misses",
        "cas_hits",
        "cas_misses",
        "cas_badval",
        "touch_hits",
        "touch_misses",
        "evictions",
        "limit_maxbytes",
        "threads"
      ]
    ) {
      assert.match(stats, new RegExp(`STAT ${name} \\S+\\r\\n`), name)
    }
    assert.include(stats, "STAT cmd_get 2\r\nSTAT cmd_set 1\r\n")
    assert.include(stats, "STAT get_hits 1\r\nSTAT get_misses 1\r\n")
    assert.include(stats, "STAT limit_maxbytes 1048576\r\n")
    assert.isTrue(stats.endsWith("END\r\n"))
    const settings = run(s, "stats settings\r\n")
    assert.include(settings, "STAT maxbytes 1048576\r\n")
    assert.include(settings, "STAT item_size_max 2048\r\n")
    assert.strictEqual(run(s, "stats reset\r\n"), "RESET\r\n")
    assert.strictEqual(s.stats().cmd_get, 0)
    assert.strictEqual(
      run(s, "stats bogus\r\nversion\r\nverbosity 1\r\nverbosity 1 noreply\r\n"),
      `ERROR\r\nVERSION ${MemoryServer.VERSION}\r\nOK\r\n`
    )
  })

  it("peek and clear do not affect stats", () => {
    const s = MemoryServer.make()
    run(s, "set a 0 0 1\r\nx\r\n")
    assert.strictEqual(s.peek("a")?.value.toString(), "x")
    assert.isUndefined(s.peek("zz"))
    assert.strictEqual(s.stats().cmd_get, 0)
    s.clear()
    assert.strictEqual(s.size, 0)
    assert.strictEqual(s.stats().curr_items, 0)
    assert.strictEqual(s.stats().bytes, 0)
  })

  it("answers a subset of the meta protocol", () => {
    const s = MemoryServer.make()
    assert.strictEqual(
      run(s, "ms k 2 F5 T0\r\nhi\r\nmg k v f\r\nmg nope v\r\nmn\r\n"),
      "HD\r\nVA 2 f5\r\nhi\r\nEN\r\nMN\r\n"
    )
    assert.strictEqual(run(s, "md k q\r\nmd k\r\n"), "NF\r\n")
  })
})

describe("MemoryServer transports", () => {
  it("connect(): replies asynchronously, pipelining-safe, quit closes", async () => {
    const s = MemoryServer.make()
    const d = s.connect()
    let sync = false
    d.once("data", () => void (sync = true))
    d.write(b("set a 0 0 1\r\nx\r\nget a\r\nge"))
    assert.isFalse(sync, "a reply must never be pushed synchronously inside write")
    const r = await request(d, "t a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
    assert.strictEqual(r.text, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
    assert.strictEqual(s.stats().curr_connections, 1)
    const q = collect(d, () => false, 1000)
    d.write(b("quit\r\n"))
    assert.isTrue((await q).ended)
    assert.strictEqual(s.stats().curr_connections, 0)
    assert.strictEqual(s.stats().total_connections, 1)
  })

  it("listen(): serves TCP on an ephemeral loopback port; close() stops it", async () => {
    const s = MemoryServer.make()
    const { host, port } = await s.listen({ port: 0 })
    try {
      assert.strictEqual(host, "127.0.0.1")
      const sock = await tcpConnect(port)
      const r = await request(sock, "set a 0 0 1\r\nx\r\nget a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
      assert.strictEqual(r.text, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
      sock.destroy()
    } finally {
      await s.close()
    }
    await new Promise<void>((resolve) => {
      const c = net.connect({ port, host: "127.0.0.1" })
      c.once("error", () => resolve())
      c.once("connect", () => {
        c.destroy()
        assert.fail("server should be closed")
      })
    })
  })

  it("a non-get line over 2048 bytes without an end closes the connection", async () => {
    const s = MemoryServer.make()
    const d = s.connect()
    const r = collect(d, () => false, 1000)
    d.write(b("x".repeat(3000)))
    const out = await r
    assert.strictEqual(out.text, "")
    assert.isTrue(out.ended)
  })
})

const ports = new WeakMap<MemoryServer.MemoryServer, number>()
const transports: Array<[string, (s: MemoryServer.MemoryServer) => Promise<Duplex | net.Socket>]> = [
  ["duplex", async (s) => s.connect()],
  [
    "tcp",
    async (s) => {
      let port = ports.get(s)
      if (port === undefined) {
        port = (await s.listen({ port: 0 })).port
        ports.set(s, port)
      }
      return tcpConnect(port)
    }
  ]
]

describe("MemoryServer faults", () => {
  for (const [name, open] of transports) {
    it(`${name}: delay, black hole, injected reply, drop, refuse, reset`, async () => {
      const s = MemoryServer.make()
      try {
        const c = await open(s)
        // delay
        s.faults.delay(150)
        const t0 = Date.now()
        const r1 = await request(c, "version\r\n", `VERSION ${MemoryServer.VERSION}\r\n`)
        assert.strictEqual(r1.text, `VERSION ${MemoryServer.VERSION}\r\n`)
        assert.isAtLeast(Date.now() - t0, 140)
        s.faults.delay(0)
        // injected raw reply replaces the next reply only
        s.faults.replyWith("SERVER_ERROR injected\r\n")
        const r2 = await request(
          c,
          "version\r\nversion\r\n",
          `SERVER_ERROR injected\r\nVERSION ${MemoryServer.VERSION}\r\n`
        )
        assert.strictEqual(r2.text, `SERVER_ERROR injected\r\nVERSION ${MemoryServer.VERSION}\r\n`)
        // black hole: reads, never replies, does not execute
        s.faults.blackHole()
        const r3 = await request(c, "set bh 0 0 1\r\nx\r\n", "STORED\r\n", 300)
        assert.strictEqual(r3.text, "")
        assert.isFalse(r3.ended)
        assert.isUndefined(s.peek("bh"))
        s.faults.blackHole(false)
        // drop all connections
        const closed = collect(c, () => false, 2000)
        s.faults.dropConnections()
        assert.isTrue((await closed).ended)
        assert.strictEqual(s.stats().curr_connections, 0)
        // refuse new connections
        s.faults.refuseConnections()
        const refused = await open(s).then(
          (c2) => collect(c2, () => false, 2000).then((r) => r.ended && r.text === ""),
          () => true
        )
        assert.isTrue(refused)
        s.faults.reset()
        const c3 = await open(s)
        const r4 = await request(c3, "version\r\n", `VERSION ${MemoryServer.VERSION}\r\n`)
        assert.strictEqual(r4.text, `VERSION ${MemoryServer.VERSION}\r\n`)
        c3.destroy()
      } finally {
        await s.close()
      }
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Differential test against a real memcached
// ---------------------------------------------------------------------------------------------

const hasMemcached = spawnSync("memcached", ["-h"], { stdio: "ignore" }).status === 0

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })

/** Sends `input` on a fresh connection and returns everything received within a quiet period. */
const exchange = async (port: number, input: Buffer): Promise<string> => {
  const sock = await tcpConnect(port)
  let text = ""
  let last = Date.now()
  sock.on("data", (d: Buffer) => {
    text += d.toString("latin1")
    last = Date.now()
  })
  let ended = false
  sock.on("close", () => void (ended = true))
  sock.on("error", () => void (ended = true))
  sock.write(input)
  const start = Date.now()
  while (!ended && Date.now() - last < 150 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20))
  // Wait for a full quiet period after the last byte.
  while (!ended && Date.now() - last < 150) await new Promise((r) => setTimeout(r, 20))
  sock.destroy()
  return text + (ended ? "<closed>" : "")
}

const scrubCas = (s: string) => s.replace(/^(VALUE \S+ \d+ \d+) \d+\r\n/gm, "$1 <cas>\r\n")

const sequences: Array<string | Buffer> = [
  // Auto-discovery on a server without a cluster configuration (issue 16): ERROR, then a miss.
  "config get cluster\r\nconfig\r\nconfig get cluster HTTP/1.1\r\nget AmazonElastiCache:cluster\r\nversion\r\n",
  "set a 0 0 1\r\nx\r\nget a\r\ngets a\r\nget a nope a\r\n",
  "set n 5 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nget n\r\nincr n 18446744073709551615\r\nincr n 2\r\n",
  "set w 0 0 20\r\n18446744073709551615\r\nincr w 1\r\nget w\r\n",
  "set t 0 0 1\r\nx\r\nincr t 1\r\nincr nope 1\r\ndecr nope 1\r\nincr t x\r\nincr t -1\r\n",
  "add a2 1 0 1\r\nx\r\nadd a2 1 0 1\r\ny\r\nreplace a2 2 0 1\r\nz\r\nreplace r2 0 0 1\r\nz\r\nget a2\r\n",
  "set p 3 0 1\r\nm\r\nappend p 9 0 1\r\nZ\r\nprepend p 9 0 1\r\nA\r\nget p\r\nappend p2 0 0 1\r\nx\r\n",
  "cas c 0 0 1 1\r\nx\r\nset c 0 0 1\r\nx\r\ncas c 0 0 1 999999\r\ny\r\nget c\r\n",
  "set d 0 0 1\r\nx\r\ndelete d\r\ndelete d\r\ndelete d 0\r\ndelete d 1\r\ndelete d noreply\r\nget d\r\n",
  "set q 0 0 1 noreply\r\nx\r\nget q\r\nadd q 0 0 1 noreply\r\ny\r\nget q\r\nincr q 1 noreply\r\ntouch q 10 noreply\r\nversion\r\n",
  "set e 0 -1 1\r\nx\r\nget e\r\ntouch nope 10\r\nset e 0 0 1\r\nx\r\ntouch e 100\r\ngat 100 e\r\ngats 0 nope\r\n",
  "foo\r\n\r\nget\r\nGET a\r\nset a 0 0\r\nset a 0 0 1 2 3\r\nb\r\nset a 0 0 -1\r\nset a x 0 1\r\nb\r\n",
  "set a 0 0 1\r\nab\r\nset a 0 0 1 noreply\r\nbX\r\ncas a 0 0 1\r\nb\r\ncas a 0 0 1 x\r\nb\r\n",
  `get ${"k".repeat(251)}\r\nset ${"k".repeat(251)} 0 0 1\r\nb\r\nincr ${"k".repeat(251)} 1\r\n`,
  "touch a\r\ntouch a x\r\ngat x a\r\nflush_all x\r\nverbosity\r\nverbosity x\r\nverbosity 1 2 3\r\nverbosity 1\r\nincr a 1 noreply x\r\n",
  "set v 0 0 9\r\nx\r\nEND\r\n\r\nget v\r\nset z 0 0 0\r\n\r\nget z\r\nincr z 1\r\n",
  "set big 0 0 2000000\r\n" + "x".repeat(2000000) + "\r\nget big\r\nset ok 0 0 1048500\r\n" + "y".repeat(1048500) +
  "\r\nincr ok 1\r\n",
  "set f 0 0 1\r\nx\r\nflush_all\r\nget f\r\nset f 0 0 1\r\ny\r\nget f\r\nflush_all 0 noreply\r\nget f\r\nflush_all -1\r\n",
  "set sp 0 0 3\r\n1 x\r\nincr sp 1\r\nget sp\r\nset sp 0 0 21\r\n000000000000000000001\r\nincr sp 1\r\nset sp 0 0 2\r\n1a\r\nincr sp 1\r\n",
  "get a\r\r\nset  a  0 0 1\r\nb\r\nget  a\r\nset a 0 0 1  \r\nb\r\nget a\n",
  Buffer.concat([b("set bin 0 0 5\r\n"), Buffer.from([0, 255, 13, 10, 7]), b("\r\nget bin\r\n")]),
  "version x\r\nquit\r\nversion\r\n",
  "x".repeat(3000)
]

describe("MemoryServer vs memcached 1.6 (differential)", () => {
  it("answers identical byte sequences identically (CAS uniques aside)", async () => {
    assert.isTrue(hasMemcached, "the memcached binary is required (apt-get install memcached)")
    const port = await freePort()
    const child = spawn("memcached", ["-u", "nobody", "-l", "127.0.0.1", "-p", String(port), "-U", "0", "-t", "1"], {
      stdio: "ignore"
    })
    const mem = MemoryServer.make()
    try {
      const { port: ours } = await mem.listen({ port: 0 })
      for (let i = 0; i < 50; i++) {
        const ok = await tcpConnect(port).then((s) => (s.destroy(), true), () => false)
        if (ok) break
        await new Promise((r) => setTimeout(r, 50))
      }
      for (const seq of sequences) {
        const input = typeof seq === "string" ? b(seq) : seq
        const real = scrubCas(await exchange(port, input)).replaceAll("VERSION 1.6.18\r\n", "VERSION <v>\r\n")
        const mine = scrubCas(await exchange(ours, input)).replaceAll(
          `VERSION ${MemoryServer.VERSION}\r\n`,
          "VERSION <v>\r\n"
        )
        assert.strictEqual(mine, real, JSON.stringify(input.subarray(0, 120).toString("latin1")))
      }
    } finally {
      if (child.pid !== undefined) process.kill(child.pid, "SIGTERM")
      await mem.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Fidelity with memcached 1.6.18 (issue 11): each assertion runs against a real memcached and the
// in-memory server alike.
// ---------------------------------------------------------------------------------------------

/** Sends `input` and then `mn`; resolves with everything before the `MN` that answers it. */
const talk = async (port: number, input: string): Promise<string> => {
  const sock = await tcpConnect(port)
  try {
    const r = await request(sock, input + "mn\r\n", "", 5000)
    let text = r.text
    while (!text.endsWith("MN\r\n")) {
      const more = await collect(sock, (t) => (text + t).endsWith("MN\r\n"), 5000)
      if (more.text === "" && more.ended) throw new Error(`connection closed after ${JSON.stringify(text)}`)
      text += more.text
    }
    return text.slice(0, -4)
  } finally {
    sock.destroy()
  }
}

/** `STAT name value` lines as [name, value] pairs, in order. */
const statRows = (text: string): Array<[string, string]> =>
  text.split("\r\n").filter((l) => l.startsWith("STAT ")).map((l) => {
    const [, name, ...rest] = l.split(" ")
    return [name!, rest.join(" ")]
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A fresh real memcached and a fresh in-memory server (emulating `emulate`), both on TCP. */
const pair = async (emulate?: MemoryServer.Emulation) => {
  const mc = await startMemcached(["-t", "1"])
  const mem = MemoryServer.make(emulate === undefined ? {} : { emulate })
  const { port } = await mem.listen({ port: 0 })
  return {
    ports: [mc.port, port] as const,
    mem,
    stop: async () => {
      await mc.stop()
      await mem.close()
    }
  }
}

/** The same input on both servers: [memcached's reply, the in-memory server's]. */
const both = async (ports: readonly [number, number], input: string): Promise<[string, string]> => {
  const [real, ours] = await Promise.all([talk(ports[0], input), talk(ports[1], input)])
  return [real, ours]
}

const normalizeCas = (s: string) => s.replace(/\bcas=\d+/g, "cas=<c>").replace(/ c\d+/g, " c<c>")

describe("MemoryServer fidelity with memcached 1.6.18", () => {
  it("ma T on a counter that outgrew its value is lost with the replaced item; in place it applies", async () => {
    const p = await pair()
    try {
      const input =
        "ms grow 1 T0\r\n9\r\nma grow T1000 t v\r\nme grow\r\nms fit 1 T0\r\n5\r\nma fit T1000 t\r\nme fit\r\n" +
        "ms viv 1\r\n1\r\nma nope N0 J7 T50 t v\r\nme nope\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.include(real, "ME grow exp=-1 ")
      assert.strictEqual(normalizeCas(ours), normalizeCas(real))
    } finally {
      await p.stop()
    }
  })

  it("flush_all: curr_items and bytes drop to 0 (at once here, within a second on memcached)", async () => {
    const p = await pair()
    try {
      for (const port of p.ports) {
        await talk(port, "set fa 0 0 1\r\nx\r\nset fb 3 0 2\r\nxy\r\nflush_all\r\n")
        let rows: Map<string, string> = new Map()
        for (let i = 0; i < 40; i++) {
          rows = new Map(statRows(await talk(port, "stats\r\n")))
          if (rows.get("curr_items") === "0") break
          await sleep(50)
        }
        assert.strictEqual(rows.get("curr_items"), "0", `port ${port}`)
        assert.strictEqual(rows.get("bytes"), "0", `port ${port}`)
      }
      assert.strictEqual(p.mem.stats().curr_items, 0)
      // A flushed item is still a flushed miss when asked for, as on memcached.
      assert.strictEqual(await talk(p.ports[1], "get fa\r\n"), "END\r\n")
      const delayed = MemoryServer.make({ now: fakeClock().now })
      run(delayed, "set d 0 0 1\r\nx\r\nflush_all 10\r\n")
      assert.strictEqual(delayed.stats().curr_items, 1)
    } finally {
      await p.stop()
    }
  })

  it("stats and stats settings carry every field memcached 1.6.18 prints, in its order", async () => {
    const p = await pair()
    try {
      const [real, ours] = await both(p.ports, "set a 0 0 1\r\nx\r\nget a\r\nstats\r\n")
      assert.deepStrictEqual(statRows(ours).map((r) => r[0]), statRows(real).map((r) => r[0]))
      const [realS, oursS] = await both(p.ports, "stats settings\r\n")
      assert.deepStrictEqual(statRows(oursS).map((r) => r[0]), statRows(realS).map((r) => r[0]))
      const s = new Map(statRows(ours))
      assert.match(s.get("rusage_user")!, /^\d+\.\d{6}$/)
      assert.match(s.get("rusage_system")!, /^\d+\.\d{6}$/)
      assert.isAbove(Number(s.get("bytes_read")), 20)
      assert.isAbove(Number(s.get("bytes_written")), 20)
      assert.strictEqual(s.get("curr_items"), "1")
      assert.strictEqual(s.get("accepting_conns"), "1")
      const settings = new Map(statRows(oursS))
      assert.strictEqual(settings.get("tcpport"), String(p.ports[1]))
      assert.strictEqual(settings.get("item_size_max"), "1048576")
      assert.strictEqual(settings.get("growth_factor"), "1.25")
    } finally {
      await p.stop()
    }
  })

  it("stats items, slabs, sizes, conns: memcached's fields, items in memcached's slab classes", async () => {
    const p = await pair()
    try {
      const store = `set a 0 0 1\r\nx\r\nset bb 5 100 300\r\n${"y".repeat(300)}\r\nset big 0 0 5000\r\n${
        "z".repeat(5000)
      }\r\n`
      const [real, ours] = await both(p.ports, store + "stats items\r\nstats slabs\r\nstats sizes\r\n")
      const names = (t: string) => statRows(t).map((r) => r[0])
      assert.deepStrictEqual(names(ours), names(real))
      const pick = (t: string, re: RegExp) => statRows(t).filter((r) => re.test(r[0]))
      const exact =
        /^(items:\d+:(number|mem_requested)|\d+:(chunk_size|chunks_per_page|total_pages|used_chunks)|active_slabs|total_malloced|sizes_status)$/
      assert.deepStrictEqual(pick(ours, exact), pick(real, exact))
      const [realC, oursC] = await both(p.ports, "stats conns\r\n")
      const shape = (t: string) =>
        statRows(t).map(([n, v]) =>
          `${n.replace(/^\d+/, "#")}=${/addr/.test(n) ? v.split(":")[0] : n.endsWith("state") ? v : ""}`
        )
      assert.deepStrictEqual(shape(oursC), shape(realC))
    } finally {
      await p.stop()
    }
  })

  it("stats cachedump answers like memcached, and memcdump lists the keys", async () => {
    const p = await pair()
    try {
      const nowSec = Math.floor(Date.now() / 1000)
      const store = `set one 0 0 1\r\nx\r\nset two 0 ${nowSec + 1000} 3\r\nabc\r\n`
      await both(p.ports, store)
      // memcached dumps its cold LRU only: give its maintainer a moment to move the new items there.
      await sleep(1500)
      const input = "stats cachedump 1 0\r\nstats cachedump 1 1\r\nstats cachedump 2 0\r\nstats cachedump 99 0\r\n" +
        "stats cachedump\r\nstats cachedump x y\r\nstats cachedump 1\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.strictEqual(ours, real)
      // Asynchronous: the server answering memcdump runs in this process.
      const dump = await new Promise<string>((resolve, reject) => {
        const child = spawn("memcdump", [`--servers=127.0.0.1:${p.ports[1]}`], { stdio: ["ignore", "pipe", "inherit"] })
        let out = ""
        child.stdout.on("data", (d: Buffer) => void (out += d.toString()))
        child.once("error", (e) => reject(new Error(`memcdump (libmemcached-tools) is required: ${e.message}`)))
        child.once(
          "close",
          (code) => (code === 0 ? resolve(out) : reject(new Error(`memcdump exited ${code}: ${out}`)))
        )
      })
      assert.deepStrictEqual(dump.trim().split("\n").sort(), ["one", "two"])
    } finally {
      await p.stop()
    }
  })

  it("stats detail on|off|dump answers as memcached", async () => {
    const p = await pair()
    try {
      const input = "stats detail on\r\nset foo:a 0 0 1\r\nx\r\nget foo:a foo:b bar:c plain\r\ndelete foo:a\r\n" +
        "stats detail dump\r\nstats detail off\r\nget foo:a\r\nstats detail dump\r\nstats detail\r\nstats detail x\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.strictEqual(ours, real)
      const settings = new Map(statRows(await talk(p.ports[1], "stats detail on\r\nstats settings\r\n")))
      assert.strictEqual(settings.get("detail_enabled"), "yes")
    } finally {
      await p.stop()
    }
  })

  it("ma with a bad delta or other bad number answers memcached's error line", async () => {
    const p = await pair()
    try {
      const input = "set n 0 0 1\r\n5\r\nma n Dx\r\nma n D-1\r\nma n D\r\nma n D18446744073709551616\r\nma n D1x\r\n" +
        "ma n Jx\r\nma n Nx\r\nma n Cx\r\nma n Tx\r\nma n Dx q\r\nma n M\r\nma n Mx\r\nma n Mx Dx\r\nmd n Cx\r\nmd n T\r\n" +
        "mg n Tx\r\nms n 1 Cx\r\n1\r\nms n 1 F\r\n1\r\nms n 1 F18446744073709551616\r\n1\r\nms n 1 M\r\n1\r\nms n 1 MX\r\n1\r\n" +
        "ms n 1 F4294967297\r\n1\r\nmg n f v\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.strictEqual(ours, real)
    } finally {
      await p.stop()
    }
  })

  it("emulate 1.6.18 rejects newer meta flags as 1.6.18 does; the default accepts them", async () => {
    const p = await pair("1.6.18")
    try {
      const input =
        "set n 0 0 1\r\n5\r\nmg n E5 v\r\nms n 1 E5\r\n1\r\nms n 1 MA N0\r\n1\r\nmg n v\r\nms miss 1 MA N100\r\n1\r\n" +
        "mg miss v\r\nmd n x\r\nma n E5\r\nmd n E5\r\nversion\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.strictEqual(ours.replace(/VERSION \S+/, "VERSION <v>"), real.replace(/VERSION \S+/, "VERSION <v>"))
      assert.include(ours, "VERSION 1.6.18-effect-memory\r\n")
      const newest = MemoryServer.make()
      assert.strictEqual(
        run(
          newest,
          "ms n 1 E5\r\n1\r\nmg n c v\r\nmd n x q\r\nmg n s v\r\nms miss 1 MA N100\r\n1\r\nmg miss v\r\nversion\r\n"
        ),
        `HD\r\nVA 1 c5\r\n1\r\nVA 0 s0\r\n\r\nHD\r\nVA 1\r\n1\r\nVERSION ${MemoryServer.VERSION}\r\n`
      )
    } finally {
      await p.stop()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The standalone server (issue 11 item 16): the package bin, TLS and unix-socket listeners
// ---------------------------------------------------------------------------------------------

/** Runs src/server/bin.ts (what the package bin is built from) until it prints `want` listening lines. */
const startCli = (args: ReadonlyArray<string>, want = 1) =>
  new Promise<{ lines: Array<string>; child: ReturnType<typeof spawn> }>((resolve, reject) => {
    const child = spawn(path.resolve("node_modules/.bin/tsx"), ["src/server/bin.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out} ${err}`)), 20_000)
    child.stderr!.on("data", (d: Buffer) => void (err += d.toString()))
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const lines = out.split("\n").filter((l) => l.includes(" listening on "))
      if (lines.length >= want) {
        clearTimeout(timer)
        resolve({ lines, child })
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited ${code}: ${out} ${err}`))
    })
  })

const stopCli = (child: ReturnType<typeof spawn>) =>
  new Promise<number | null>((resolve) => {
    child.removeAllListeners("exit")
    if (child.exitCode !== null) return resolve(child.exitCode)
    child.once("exit", (code) => resolve(code))
    process.kill(child.pid!, "SIGTERM")
  })

/** A self-signed certificate for 127.0.0.1, made with openssl in a fresh temp directory. */
const makeCertificate = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memtls-"))
  const cert = path.join(dir, "cert.pem")
  const key = path.join(dir, "key.pem")
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1"
  ], { stdio: "ignore" })
  assert.strictEqual(r.status, 0, "openssl is required to make the test certificate")
  return { dir, cert, key }
}

const tlsExchange = (port: number, ca: Buffer, input: string, expect: string) =>
  new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca }, () => {
      request(s as unknown as net.Socket, input, expect).then((r) => {
        s.destroy()
        resolve(r.text)
      }, reject)
    })
    s.once("error", reject)
  })

describe("MemoryServer standalone (cli)", () => {
  it("the package bin points at the build of src/server/bin.ts, an executable script", () => {
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { bin: Record<string, string> }
    const target = pkg.bin["effect-memcached-server"]!
    assert.match(target, /^\.\/dist\/.+\.js$/)
    // tsconfig.build.json compiles src/ into dist/ (rootDir src).
    const source = target.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")
    assert.isTrue(fs.readFileSync(source, "utf8").startsWith("#!/usr/bin/env node\n"), source)
    const build = JSON.parse(fs.readFileSync("tsconfig.build.json", "utf8")) as {
      compilerOptions: { rootDir: string; outDir: string }
    }
    assert.deepStrictEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ["src", "dist"])
  })

  it("--tls-cert/--tls-key: the TCP listener speaks TLS (node:tls client, openssl-made certificate)", async () => {
    const { dir, cert, key } = makeCertificate()
    const { lines, child } = await startCli(["--port", "0", "--tls-cert", cert, "--tls-key", key])
    try {
      const port = Number(/tls:127\.0\.0\.1:(\d+)/.exec(lines[0]!)![1])
      const ca = fs.readFileSync(cert)
      const text = await tlsExchange(
        port,
        ca,
        "set t 0 0 2\r\nok\r\nget t\r\nstats settings\r\n",
        "STAT memory_file (null)\r\nEND\r\n"
      )
      assert.isTrue(text.startsWith("STORED\r\nVALUE t 0 2\r\nok\r\nEND\r\n"), text)
      assert.include(text, "STAT ssl_enabled yes\r\n")
      // A plaintext client gets nothing useful from a TLS listener.
      const plain = await tcpConnect(port)
      const r = await request(plain, "version\r\n", "VERSION", 1000)
      assert.notInclude(r.text, "VERSION")
      plain.destroy()
    } finally {
      assert.strictEqual(await stopCli(child), 0)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("--unix: listens on a unix socket only; with --port on both", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memunix-"))
    const sock = path.join(dir, "mc.sock")
    const unixTalk = (input: string, expect: string) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(sock, () => request(s, input, expect).then((r) => (s.destroy(), resolve(r.text)), reject))
        s.once("error", reject)
      })
    try {
      const a = await startCli(["--unix", sock])
      assert.deepStrictEqual(a.lines.map((l) => l.replace(/^.* listening on /, "")), [`unix:${sock}`])
      assert.strictEqual(
        await unixTalk("set u 0 0 1\r\nx\r\nget u\r\n", "STORED\r\nVALUE u 0 1\r\nx\r\nEND\r\n"),
        "STORED\r\nVALUE u 0 1\r\nx\r\nEND\r\n"
      )
      assert.include(
        await unixTalk("stats settings\r\n", "memory_file (null)\r\nEND\r\n"),
        `STAT domain_socket ${sock}\r\n`
      )
      assert.strictEqual(await stopCli(a.child), 0)
      const b = await startCli(["--unix", sock, "--port", "0", "--emulate", "1.6.18"], 2)
      const port = Number(/tcp:127\.0\.0\.1:(\d+)/.exec(b.lines[1]!)![1])
      assert.strictEqual(
        await unixTalk("version\r\n", "VERSION 1.6.18-effect-memory\r\n"),
        "VERSION 1.6.18-effect-memory\r\n"
      )
      const c = await tcpConnect(port)
      assert.strictEqual(
        (await request(c, "version\r\n", "VERSION 1.6.18-effect-memory\r\n")).text,
        "VERSION 1.6.18-effect-memory\r\n"
      )
      c.destroy()
      assert.strictEqual(await stopCli(b.child), 0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a bad option exits 2 with the usage", () => {
    const r = spawnSync(path.resolve("node_modules/.bin/tsx"), ["src/server/bin.ts", "--bogus"], { encoding: "utf8" })
    assert.strictEqual(r.status, 2)
    assert.include(r.stderr, "usage: effect-memcached-server")
    const half = spawnSync(path.resolve("node_modules/.bin/tsx"), ["src/server/bin.ts", "--tls-cert", "x.pem"], {
      encoding: "utf8"
    })
    assert.strictEqual(half.status, 2)
    assert.include(half.stderr, "--tls-cert and --tls-key go together")
  })
})

// ---------------------------------------------------------------------------------------------
// The Effect-facing layer: Clock-driven server, NodeSocketServer listener
// ---------------------------------------------------------------------------------------------

const realSleep = (ms: number) => Effect.promise(() => sleep(ms))

describe("MemoryServer Effect layer", () => {
  it.effect("the delay fault follows the Effect Clock (TestClock), as item expiry does", () =>
    Effect.gen(function*() {
      const server = yield* ServerLayer.Server
      const d = server.connect()
      let text = ""
      d.on("data", (chunk: Buffer) => void (text += chunk.toString("latin1")))
      server.faults.delay(60_000)
      d.write(b("set k 0 2 1\r\nx\r\nversion\r\n"))
      yield* realSleep(100)
      assert.strictEqual(text, "", "nothing before the TestClock moves")
      yield* TestClock.adjust("59 seconds")
      yield* realSleep(50)
      assert.strictEqual(text, "")
      yield* TestClock.adjust("1 seconds")
      yield* realSleep(50)
      assert.strictEqual(text, `STORED\r\nVERSION ${MemoryServer.VERSION}\r\n`)
      // 60 s of TestClock have passed: the 2 s item is gone.
      server.faults.delay(0)
      d.write(b("get k\r\n"))
      yield* realSleep(50)
      assert.isTrue(text.endsWith("VERSION " + MemoryServer.VERSION + "\r\nEND\r\n"), text)
      d.destroy()
    }).pipe(Effect.provide(ServerLayer.layer())))

  it.effect(
    "listenPlatform: NodeSocketServer listener passes memccapable and closes with its scope",
    () =>
      Effect.gen(function*() {
        const server = yield* ServerLayer.Server
        const port = yield* Effect.scoped(Effect.gen(function*() {
          const { port } = yield* ServerLayer.listenPlatform(server, { port: 0 })
          const sock = yield* Effect.promise(() => tcpConnect(port))
          const r = yield* Effect.promise(() =>
            request(sock, "set a 0 0 1\r\nx\r\nget a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
          )
          assert.strictEqual(r.text, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
          const q = yield* Effect.promise(() => request(sock, "quit\r\n", "never", 2000))
          assert.isTrue(q.ended)
          const capable = yield* Effect.promise(() =>
            new Promise<{ code: number | null; output: string }>((resolve, reject) => {
              const child = spawn("memccapable", ["-a", "-h", "127.0.0.1", "-p", String(port)], {
                stdio: ["ignore", "pipe", "pipe"]
              })
              let output = ""
              child.stdout.on("data", (d: Buffer) => void (output += d.toString()))
              child.stderr.on("data", (d: Buffer) => void (output += d.toString()))
              child.once("error", reject)
              child.once("close", (code) => resolve({ code, output }))
            })
          )
          assert.strictEqual(capable.code, 0, capable.output)
          assert.include(capable.output, "All tests passed")
          return port
        }))
        const refused = yield* Effect.promise(() => tcpConnect(port).then((s) => (s.destroy(), false), () => true))
        assert.isTrue(refused, "the listener stops with its scope")
      }).pipe(Effect.provide(ServerLayer.layer())),
    60_000
  )
})

describe("MemoryServer fidelity with memcached 1.6.18: admin, HTTP, flags", () => {
  it("HTTP-looking lines close the connection; other unknown lines answer ERROR", async () => {
    const p = await pair()
    try {
      for (
        const input of [
          "GET / HTTP/1.1\r\nmn\r\n",
          "POST /x HTTP/1.0\r\nmn\r\n",
          "HEAD / HTTP/1.1\r\nmn\r\n",
          "GETX / HTTP/1.1\r\nmn\r\n",
          "foo HTTP/1.1\r\nmn\r\n",
          "HTTP/1.1\r\nmn\r\n",
          "foo HTTP/\r\nmn\r\n",
          "mn\r\nDELETE / HTTP/1.1\r\nmn\r\n",
          "GET\r\nmn\r\n",
          "GET /\r\nmn\r\n",
          "foo HTTP/1.1 x\r\nmn\r\n",
          "foo http/1.1\r\nmn\r\n",
          "set k HTTP/1.1\r\nmn\r\n",
          "mx a HTTP/1.1\r\nmn\r\n",
          "get / HTTP/1.1\r\nmn\r\n"
        ]
      ) {
        const [real, ours] = await Promise.all([exchange(p.ports[0], b(input)), exchange(p.ports[1], b(input))])
        assert.strictEqual(ours, real, JSON.stringify(input))
      }
    } finally {
      await p.stop()
    }
  })

  it("cache_memlimit, slabs, lru, lru_crawler, shutdown answer as memcached and change the settings", async () => {
    const p = await pair()
    try {
      const input =
        "cache_memlimit 100\r\ncache_memlimit\r\ncache_memlimit x\r\ncache_memlimit 0\r\ncache_memlimit 100 noreply\r\n" +
        "slabs automove 1\r\nslabs automove 0\r\nslabs automove 2\r\nslabs automove 3\r\nslabs automove\r\nslabs reassign 1 2\r\n" +
        "slabs reassign 99 2\r\nslabs reassign x y\r\nslabs reassign -1 2\r\nslabs reassign 1 1\r\nslabs\r\nslabs foo\r\n" +
        "lru mode flat\r\nlru mode segmented\r\nlru mode x\r\nlru\r\nlru foo\r\nlru tune 10 30 0.1 2\r\nlru temp_ttl 100\r\n" +
        "lru_crawler crawl 99\r\nlru_crawler crawl x\r\nlru_crawler\r\nlru_crawler foo\r\nlru_crawler sleep 100\r\n" +
        "lru_crawler tocrawl 10\r\nlru_crawler metadump\r\nlru_crawler crawl all\r\nshutdown\r\nshutdown graceful\r\nshutdown x\r\n" +
        "cache_memlimit 16\r\nslabs automove 2\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.strictEqual(ours, real)
      const settings = (t: string) =>
        statRows(t).filter(([n]) => ["maxbytes", "slab_automove", "lru_segmented"].includes(n))
      const [realS, oursS] = await both(p.ports, "stats settings\r\n")
      assert.deepStrictEqual(settings(oursS), settings(realS))
      assert.strictEqual(new Map(statRows(await talk(p.ports[1], "stats\r\n"))).get("limit_maxbytes"), String(16 << 20))
    } finally {
      await p.stop()
    }
  })

  it("cache_memlimit lowers the limit that stores evict down to", () => {
    const s = MemoryServer.make()
    assert.strictEqual(run(s, "cache_memlimit 8\r\n"), "OK\r\n")
    const v = "v".repeat(100_000)
    for (let i = 0; i < 120; i++) run(s, `set k${i} 0 0 ${v.length}\r\n${v}\r\n`)
    assert.isAtMost(s.stats().bytes, 8 << 20)
    assert.isAbove(s.stats().evictions, 0)
  })

  it("lru_crawler metadump lists every item as memcached does", async () => {
    const p = await pair()
    try {
      await both(p.ports, "set a 5 0 1\r\nx\r\nset b 0 100 2\r\nxy\r\nset sp%ce 0 0 1\r\nz\r\nget a\r\n")
      const dump = async (port: number) =>
        (await exchange(port, b("lru_crawler metadump all\r\n"))).replace(/(exp|la)=\d+/g, "$1=<t>").split("\n").sort()
      assert.deepStrictEqual(await dump(p.ports[1]), await dump(p.ports[0]))
    } finally {
      await p.stop()
    }
  })

  it("text flags 2^32 … 2^64-1 are stored truncated to 32 bits; beyond, bad command line format", async () => {
    const p = await pair()
    try {
      const input = "set f 4294967296 0 1\r\nx\r\nget f\r\nset f 4294967297 0 1\r\nx\r\nget f\r\n" +
        "set f 18446744073709551615 0 1\r\nx\r\nget f\r\nset f 18446744073709551616 0 1\r\nx\r\nget f\r\nset f -1 0 1\r\nx\r\n" +
        "set f 99999999999999999999999 0 1\r\nx\r\nadd g 8589934593 0 1\r\nx\r\ncas f 4294967298 0 1 1\r\nx\r\nget g\r\n"
      const [real, ours] = await both(p.ports, input)
      assert.strictEqual(ours, real)
    } finally {
      await p.stop()
    }
  })
})

describe("MemoryServer shutdown", () => {
  it("enabled, shutdown closes the connection without a reply and stops the server; the cli exits 0", async () => {
    const s = MemoryServer.make({ enableShutdown: true })
    const { port } = await s.listen({ port: 0 })
    const sock = await tcpConnect(port)
    assert.strictEqual(
      (await request(sock, "shutdown x\r\n", "CLIENT_ERROR invalid shutdown mode\r\n")).text,
      "CLIENT_ERROR invalid shutdown mode\r\n"
    )
    const r = await request(sock, "shutdown graceful\r\n", "never", 3000)
    assert.deepStrictEqual([r.text, r.ended], ["", true])
    await s.closed
    assert.isFalse(await tcpConnect(port).then((c) => (c.destroy(), true), () => false))
    const cli = await startCli(["--port", "0", "--enable-shutdown"])
    const cliPort = Number(/tcp:127\.0\.0\.1:(\d+)/.exec(cli.lines[0]!)![1])
    const exited = new Promise<number | null>((resolve) => {
      cli.child.removeAllListeners("exit")
      cli.child.once("exit", (code) => resolve(code))
    })
    const c = await tcpConnect(cliPort)
    assert.isTrue((await request(c, "shutdown\r\n", "never", 5000)).ended)
    assert.strictEqual(await exited, 0)
  })
})
