/**
 * Regression tests for the protocol defects of issue 11 (items 1, 2, 11, 12, 13) and the protocol
 * seams of issue 12. Each `it` names the defect it pins; the server-direction rules are also checked
 * against a real memcached 1.6 (started on a free port, stopped by PID) so the parser's answer is
 * memcached's, not a guess.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as net from "node:net"
import { makeReplyParser, type Reply } from "../../src/protocol/client.js"
import { ProtocolViolation } from "../../src/protocol/errors.js"
import {
  MAX_KEY_LENGTH,
  parseU64,
  parseU64Value,
  RELATIVE_TTL_MAX,
  U32_MAX,
  U64_MAX
} from "../../src/protocol/limits.js"
import {
  encodeMetaGet,
  encodeMetaGetItem,
  encodeMetaGetMany,
  encodeMetaNoop,
  encodeMetaTouch,
  metaFlags,
  metaKeyIs,
  metaToItem
} from "../../src/protocol/meta.js"
import { type Command, makeCommandParser } from "../../src/protocol/server.js"
import { type MemcachedProcess, startMemcached } from "../support/memcached.js"

const parse = (s: string): { replies: Array<Reply>; error: ProtocolViolation | undefined } => {
  const p = makeReplyParser()
  const replies = p.push(Buffer.from(s, "latin1"))
  return { replies, error: p.error }
}

const commands = (s: string): Array<Command> => makeCommandParser().push(Buffer.from(s, "latin1"))

describe("reply parser: numbers in replies (issue 11.1-2)", () => {
  const malformed = (line: string, why: string) => {
    const { error, replies } = parse(line)
    assert.instanceOf(error, ProtocolViolation, why)
    assert.strictEqual(error!.reason, "Malformed", why)
    assert.deepStrictEqual(replies, [], why)
  }

  it("mg VA with cXYZ fails the parser instead of yielding cas undefined (BigInt threw in the engine)", () => {
    malformed("VA 3 f0 cXYZ kk\r\nabc\r\n", "cXYZ")
  })
  it("fxyz, f above 2^32-1 and an empty f are malformed (made-up flags before)", () => {
    malformed("VA 1 fxyz kk\r\na\r\n", "fxyz")
    malformed("VA 1 f4294967296 kk\r\na\r\n", "f 2^32")
    malformed("HD f\r\n", "bare f")
    malformed("HD f-1\r\n", "negative f")
  })
  it("c above 2^64-1, 21 digits, a sign: malformed", () => {
    malformed("HD c18446744073709551616\r\n", "2^64")
    malformed("HD c000000000000000000001\r\n", "22 digits")
    malformed("HD c-5\r\n", "negative")
    malformed("HD c+5\r\n", "plus sign")
  })
  it("t, s, l, h: only what memcached sends", () => {
    for (
      const bad of ["t-2", "t", "t4294967296", "t1.5", "s-1", "s", "l1x", "h2", "h", "h01", "k", "W1", "Zx", "b64", "5"]
    ) {
      malformed(`HD ${bad}\r\n`, bad)
    }
  })
  it("a well-formed meta reply still parses, numbers pre-parsed for the hot path", () => {
    const { replies, error } = parse(
      "VA 2 f4294967295 c18446744073709551615 t-1 s2 h1 l0 kab Oop W X Z\r\nhi\r\nHD t30\r\n"
    )
    assert.isUndefined(error)
    const r = replies[0]!
    assert(r._tag === "Meta")
    assert.strictEqual(r.clientFlags, U32_MAX)
    assert.strictEqual(r.cas, U64_MAX)
    const f = metaFlags(r)
    assert.deepStrictEqual(
      { ...f },
      {
        flags: U32_MAX,
        cas: U64_MAX,
        ttl: -1,
        size: 2,
        hit: true,
        lastAccess: 0,
        win: true,
        stale: true,
        alreadyWon: true,
        opaque: "op",
        key: "ab"
      }
    )
    const hd = replies[1]!
    assert(hd._tag === "Meta")
    assert.strictEqual(metaFlags(hd).ttl, 30)
  })
  it("numeric replies: negative, 21+ digit and > 2^64-1 values are malformed (ma/incr returned -12n / > 2^64-1)", () => {
    for (const bad of ["-12", "23456789012345678901234", "18446744073709551616", "12 ", "1a"]) {
      const { error } = parse(bad + "\r\n")
      assert.strictEqual(error?.reason, "Malformed", bad)
    }
    assert.deepStrictEqual(parse("18446744073709551615\r\n").replies, [{ _tag: "Numeric", value: U64_MAX }])
  })
  it("VALUE flags above 2^32-1, a bad CAS, a bad length: malformed", () => {
    for (
      const bad of [
        "VALUE k 4294967296 1\r\nx\r\n",
        "VALUE k 0 1 18446744073709551616\r\nx\r\n",
        "VALUE k 0 1x\r\nx\r\n",
        "VALUE k -1 1\r\nx\r\n"
      ]
    ) {
      assert.strictEqual(parse(bad).error?.reason, "Malformed", bad)
    }
    const ok = parse("VALUE k 4294967295 1 18446744073709551615\r\nx\r\nEND\r\n")
    assert.isUndefined(ok.error)
    const v = ok.replies[0]!
    assert(v._tag === "Value")
    assert.strictEqual(v.flags, U32_MAX)
    assert.strictEqual(v.cas, U64_MAX)
  })
  it("parseU64Value is the ma/incr value check: digits only, ≤ 2^64-1", () => {
    const v = (s: string) => parseU64Value(Buffer.from(s))
    assert.strictEqual(v("0"), 0n)
    assert.strictEqual(v("18446744073709551615"), U64_MAX)
    for (const bad of ["", "-12", "hello", "18446744073709551616", "1 ", " 1", "12345678901234567890123"]) {
      assert.strictEqual(v(bad), -1n, bad)
    }
    // the two-part path for 16..20 digits builds no string and is exact
    assert.strictEqual(parseU64(Buffer.from("12345678901234567890"), 0, 20), 12345678901234567890n)
    assert.strictEqual(parseU64(Buffer.from("0000000000000001"), 0, 16), 1n)
  })
})

describe("meta helpers for the engine (issue 12: one scanner, no rescans in the client)", () => {
  it("metaToItem reads the pre-parsed fields; metaKeyIs compares the k token", () => {
    const { replies } = parse(
      `VA 3 f7 c99 kkey\r\nabc\r\nVA 1 k${Buffer.from("ключ").toString("latin1")}\r\nx\r\nEN\r\n`
    )
    const [a, b, en] = replies
    assert(a?._tag === "Meta" && b?._tag === "Meta" && en?._tag === "Meta")
    const item = metaToItem(a)
    assert.deepStrictEqual([Buffer.from(item.value).toString(), item.flags, item.cas], ["abc", 7, 99n])
    assert.isTrue(metaKeyIs(a, "key"))
    assert.isFalse(metaKeyIs(a, "kez"))
    assert.isFalse(metaKeyIs(a, "ke"))
    assert.isTrue(metaKeyIs(b, "ключ"))
    assert.deepStrictEqual([metaToItem(b).flags, metaToItem(b).cas], [0, undefined])
    assert.isFalse(metaKeyIs(en, "key"))
  })
  it("MetaReply.flag finds any token, bare flags as empty strings", () => {
    const r = parse("HD W Oabc kx\r\n").replies[0]!
    assert(r._tag === "Meta")
    assert.strictEqual(r.flag("W"), "")
    assert.strictEqual(r.flag("O"), "abc")
    assert.isUndefined(r.flag("c"))
    assert.isTrue(r.has("k"))
  })
  it("the encoders for the wire strings the client built inline", () => {
    assert.strictEqual(encodeMetaGetItem("k", false), "mg k v f k\r\n")
    assert.strictEqual(encodeMetaGetItem("k", true), "mg k v f c k\r\n")
    assert.strictEqual(encodeMetaGetItem("k", false, 30), "mg k T30 v f k\r\n")
    assert.strictEqual(encodeMetaGetItem("k", true, 30), "mg k T30 v f c k\r\n")
    // the same bytes as the general encoder
    assert.strictEqual(
      encodeMetaGetItem("k", true, 30),
      encodeMetaGet("k", { touch: 30, value: true, flags: true, cas: true, returnKey: true })
    )
    assert.strictEqual(encodeMetaTouch("k", 0), "mg k T0\r\n")
    assert.strictEqual(encodeMetaGetMany(["a", "b"]), "mg a k v f q\r\nmg b k v f q\r\nmn\r\n")
    assert.strictEqual(encodeMetaGetMany(["a"], { cas: true }), "mg a k v f c q\r\nmn\r\n")
    assert.strictEqual(encodeMetaNoop(), "mn\r\n")
  })
  it("limits: one home for 250, 2^32-1, 2^64-1 and the 30-day boundary", () => {
    assert.deepStrictEqual([MAX_KEY_LENGTH, U32_MAX, U64_MAX, RELATIVE_TTL_MAX], [
      250,
      4294967295,
      18446744073709551615n,
      2592000
    ])
  })
})

// ---------------------------------------------------------------------------------------------
// Server direction, checked against memcached 1.6
// ---------------------------------------------------------------------------------------------

const HTTP_CLOSE = [
  "GET / HTTP/1.1",
  "POST /x HTTP/1.0",
  "HEAD / HTTP/1.1",
  "PUT /x HTTP/1.1",
  "GETX / HTTP/1.1",
  "foo HTTP/1.1",
  "HTTP/1.1",
  "foo HTTP/",
  "xx HTTP/1.1",
  "mzz HTTP/1.1",
  "misbehave HTTP/1.1",
  "VERSION HTTP/1.1"
]
const HTTP_ERROR = [
  "GET",
  "GET /",
  "foo HTTP/1.1 x",
  "foo http/1.1",
  "sets / HTTP/1.1",
  "gex / HTTP/1.1",
  "mx a HTTP/1.1",
  "x HTTP/1.1",
  "stat HTTP/1.1",
  "watch HTTP/1.1",
  "HTTP/1.1 200"
]

describe("command parser: HTTP lines, flags, admin (issue 11.11-13)", () => {
  it("HTTP-looking lines close the connection without a reply (11.11)", () => {
    for (const line of HTTP_CLOSE) {
      const p = makeCommandParser()
      assert.deepStrictEqual(p.push(Buffer.from(line + "\r\nversion\r\n")), [{ _tag: "Fatal", reply: undefined }], line)
      assert.isTrue(p.closed, line)
    }
    for (const line of HTTP_ERROR) {
      assert.deepStrictEqual(commands(line + "\r\n"), [{ _tag: "Invalid", reply: "ERROR", noreply: false }], line)
    }
    // `config …` is parsed (ElastiCache's auto-discovery, issue 16); a server without a cluster
    // configuration answers it ERROR as memcached 1.6.18 does (test/MemoryServer.test.ts, differential).
    assert.deepStrictEqual(commands("config get cluster\r\n"), [{ _tag: "Config", args: ["get", "cluster"] }])
    const g = commands("get / HTTP/1.1\r\n")[0]!
    assert(g._tag === "Get")
    assert.deepStrictEqual(g.keys, ["/", "HTTP/1.1"])
  })
  it("text flags 2^32 .. 2^64-1 are truncated to 32 bits as 1.6.18 stores them (11.13)", () => {
    const flagsOf = (f: string) => {
      const c = commands(`set k ${f} 0 1\r\nx\r\n`)[0]!
      return c._tag === "Store" ? c.flags : c
    }
    assert.strictEqual(flagsOf("4294967297"), 1)
    assert.strictEqual(flagsOf("+4294967297"), 1)
    assert.strictEqual(flagsOf("04294967297"), 1)
    assert.strictEqual(flagsOf("18446744073709551615"), 4294967295)
    assert.strictEqual(flagsOf("4294967295"), 4294967295)
    for (const bad of ["18446744073709551616", "-1", "12345678901234567890123", "1x"]) {
      // rejected, and the data line is then read as a command (memcached answers it ERROR)
      assert.deepStrictEqual(commands(`set k ${bad} 0 1\r\nx\r\n`), [
        { _tag: "Invalid", reply: "CLIENT_ERROR bad command line format", noreply: false },
        { _tag: "Invalid", reply: "ERROR", noreply: false }
      ], bad)
    }
    const cas = commands("cas k 4294967296 0 1 5\r\nx\r\n")[0]!
    assert(cas._tag === "Store")
    assert.strictEqual(cas.flags, 0)
  })
  it("admin commands are parsed for the session, not answered ERROR (11.12)", () => {
    assert.deepStrictEqual(commands("cache_memlimit 100\r\n"), [{
      _tag: "Admin",
      command: "cache_memlimit",
      args: ["100"],
      noreply: false
    }])
    assert.deepStrictEqual(commands("cache_memlimit 100 noreply\r\n"), [{
      _tag: "Admin",
      command: "cache_memlimit",
      args: ["100"],
      noreply: true
    }])
    assert.deepStrictEqual(commands("slabs reassign 1 2\r\n"), [{
      _tag: "Admin",
      command: "slabs",
      args: ["reassign", "1", "2"],
      noreply: false
    }])
    assert.deepStrictEqual(commands("slabs automove 1\r\n"), [{
      _tag: "Admin",
      command: "slabs",
      args: ["automove", "1"],
      noreply: false
    }])
    assert.deepStrictEqual(commands("lru_crawler metadump all\r\n"), [{
      _tag: "Admin",
      command: "lru_crawler",
      args: ["metadump", "all"],
      noreply: false
    }])
    assert.deepStrictEqual(commands("lru mode flat\r\n"), [{
      _tag: "Admin",
      command: "lru",
      args: ["mode", "flat"],
      noreply: false
    }])
    assert.deepStrictEqual(commands("shutdown\r\n"), [{ _tag: "Admin", command: "shutdown", args: [], noreply: false }])
    assert.deepStrictEqual(commands("shutdown graceful\r\n"), [{
      _tag: "Admin",
      command: "shutdown",
      args: ["graceful"],
      noreply: false
    }])
    // memcached's dispatcher answers these before the command runs
    for (const bad of ["cache_memlimit", "cache_memlimit 1 2 3", "lru"]) {
      assert.deepStrictEqual(commands(bad + "\r\n"), [{ _tag: "Invalid", reply: "ERROR", noreply: false }], bad)
    }
    assert.deepStrictEqual(commands("stats detail dump\r\nstats cachedump 1 2\r\n"), [
      { _tag: "Stats", args: ["detail", "dump"] },
      { _tag: "Stats", args: ["cachedump", "1", "2"] }
    ])
  })
})

describe("the server-direction rules match memcached 1.6", () => {
  let mc: MemcachedProcess
  beforeAll(async () => {
    mc = await startMemcached()
  })
  afterAll(() => mc?.stop())

  /** Sends `text`, returns what memcached answered and whether it closed, within `ms`. */
  const talk = (text: string, ms = 300): Promise<{ reply: string; closed: boolean }> =>
    new Promise((resolve) => {
      const s = net.connect(mc.port, "127.0.0.1")
      let reply = ""
      let closed = false
      s.on("data", (d) => (reply += d.toString("latin1")))
      s.on("error", () => {})
      s.on("close", () => {
        closed = true
      })
      s.write(text)
      setTimeout(() => {
        s.destroy()
        resolve({ reply, closed })
      }, ms)
    })

  it("closes on exactly the lines the parser calls HTTP", async () => {
    for (const line of HTTP_CLOSE) {
      assert.deepStrictEqual(await talk(line + "\r\nversion\r\n"), { reply: "", closed: true }, line)
    }
    for (const line of HTTP_ERROR) {
      assert.deepStrictEqual(await talk(line + "\r\n"), { reply: "ERROR\r\n", closed: false }, line)
    }
  })
  it("stores the flags the parser computes", async () => {
    for (const f of ["4294967297", "+4294967297", "18446744073709551615"]) {
      const expected = commands(`set k ${f} 0 1\r\nx\r\n`)[0]!
      assert(expected._tag === "Store")
      const { reply } = await talk(`set fl:${process.pid} ${f} 0 1\r\nx\r\nget fl:${process.pid}\r\n`)
      assert.strictEqual(reply, `STORED\r\nVALUE fl:${process.pid} ${expected.flags} 1\r\nx\r\nEND\r\n`, f)
    }
    assert.strictEqual(
      (await talk("set k 18446744073709551616 0 1\r\nx\r\n")).reply,
      "CLIENT_ERROR bad command line format\r\nERROR\r\n"
    )
  })
  it("answers ERROR where the parser does for admin lines", async () => {
    for (const bad of ["cache_memlimit", "cache_memlimit 1 2 3", "lru"]) {
      assert.strictEqual((await talk(bad + "\r\n")).reply, "ERROR\r\n", bad)
    }
  })
})
