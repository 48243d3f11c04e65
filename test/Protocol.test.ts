import { assert, describe, it } from "@effect/vitest"
import {
  encodeDelete,
  encodeFlushAll,
  encodeGat,
  encodeGet,
  encodeIncrDecr,
  encodeQuit,
  encodeStats,
  encodeStorage,
  encodeStorageHeader,
  encodeTouch,
  encodeVerbosity,
  encodeVersion,
  makeReplyParser,
  type ParserLimits,
  type Reply,
  type ReplyParser
} from "../src/protocol/client.js"
import { ProtocolViolation } from "../src/protocol/errors.js"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const bytes = (s: string): Buffer => Buffer.from(s, "latin1")

/** A reply as plain data, so results of different splits compare with deepStrictEqual. */
const plain = (r: Reply): unknown => {
  switch (r._tag) {
    case "Value":
      return { _tag: "Value", key: r.key, flags: r.flags, value: Buffer.from(r.value).toString("latin1"), cas: r.cas }
    case "Meta":
      return {
        _tag: "Meta",
        code: r.code,
        flags: r.flags,
        value: r.value === undefined ? undefined : Buffer.from(r.value).toString("latin1")
      }
    default:
      return { ...r }
  }
}

interface Outcome {
  readonly replies: Array<unknown>
  readonly error: string | undefined
}

const outcome = (parser: ReplyParser, replies: Array<Reply>): Outcome => ({
  replies: replies.map(plain),
  error: parser.error === undefined ? undefined : parser.error.reason
})

const parseWhole = (input: Buffer, limits?: ParserLimits): Outcome => {
  const p = makeReplyParser(limits)
  return outcome(p, p.push(input))
}

/** Feeds every byte separately (each a fresh one-byte array). */
const parseBytewise = (input: Buffer, limits?: ParserLimits): Outcome => {
  const p = makeReplyParser(limits)
  const out: Array<Reply> = []
  for (let i = 0; i < input.length; i++) out.push(...p.push(Uint8Array.of(input[i]!)))
  return outcome(p, out)
}

/** Feeds two chunks split at `at`. */
const parseSplit = (input: Buffer, at: number, limits?: ParserLimits): Outcome => {
  const p = makeReplyParser(limits)
  const out = [...p.push(input.subarray(0, at)), ...p.push(input.subarray(at))]
  return outcome(p, out)
}

/** Asserts that every way of chunking `input` yields `expected`. */
const assertAllSplits = (input: Buffer, expected: Outcome, limits?: ParserLimits) => {
  assert.deepStrictEqual(parseWhole(input, limits), expected, "whole")
  assert.deepStrictEqual(parseBytewise(input, limits), expected, "byte at a time")
  for (let at = 0; at <= input.length; at++) {
    assert.deepStrictEqual(parseSplit(input, at, limits), expected, `split at ${at}`)
  }
}

const V = (key: string, flags: number, value: string, cas?: bigint) => ({ _tag: "Value", key, flags, value, cas })
const M = (code: string, flags: string, value?: string) => ({ _tag: "Meta", code, flags, value })
const T = (tag: string) => ({ _tag: tag })

// ---------------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------------

describe("Protocol encoders (golden bytes)", () => {
  it("get / gets with one and many keys", () => {
    assert.strictEqual(encodeGet("get", ["foo"]), "get foo\r\n")
    assert.strictEqual(encodeGet("get", ["a", "b", "c"]), "get a b c\r\n")
    assert.strictEqual(encodeGet("gets", ["foo"]), "gets foo\r\n")
    assert.strictEqual(encodeGet("gets", ["a", "b"]), "gets a b\r\n")
  })

  it("gat / gats", () => {
    assert.strictEqual(encodeGat("gat", 100, ["foo"]), "gat 100 foo\r\n")
    assert.strictEqual(encodeGat("gat", 0, ["a", "b"]), "gat 0 a b\r\n")
    assert.strictEqual(encodeGats("gats"), "gats 3600 foo bar\r\n")
  })

  it("touch, with and without noreply", () => {
    assert.strictEqual(encodeTouch("k", 10), "touch k 10\r\n")
    assert.strictEqual(encodeTouch("k", 10, false), "touch k 10\r\n")
    assert.strictEqual(encodeTouch("k", 10, true), "touch k 10 noreply\r\n")
  })

  it("storage headers: set add replace append prepend", () => {
    for (const c of ["set", "add", "replace", "append", "prepend"] as const) {
      assert.strictEqual(encodeStorageHeader(c, "key", 5, 60, 3), `${c} key 5 60 3\r\n`)
      assert.strictEqual(encodeStorageHeader(c, "key", 5, 60, 3, undefined, false), `${c} key 5 60 3\r\n`)
      assert.strictEqual(encodeStorageHeader(c, "key", 5, 60, 3, undefined, true), `${c} key 5 60 3 noreply\r\n`)
      assert.strictEqual(
        encodeStorageHeader(c, "k", 4294967295, 0, 0),
        `${c} k 4294967295 0 0\r\n`
      )
    }
  })

  it("cas header carries the unique (u64 max too) and noreply", () => {
    assert.strictEqual(encodeStorageHeader("cas", "key", 0, 0, 3, 42n), "cas key 0 0 3 42\r\n")
    assert.strictEqual(encodeStorageHeader("cas", "key", 1, 2, 3, 42n, true), "cas key 1 2 3 42 noreply\r\n")
    assert.strictEqual(
      encodeStorageHeader("cas", "key", 0, 0, 1, 18446744073709551615n),
      "cas key 0 0 1 18446744073709551615\r\n"
    )
  })

  it("full storage commands as bytes (header, data, CRLF)", () => {
    assert.deepStrictEqual(encodeStorage("set", "k", 7, 30, bytes("hello")), bytes("set k 7 30 5\r\nhello\r\n"))
    assert.deepStrictEqual(encodeStorage("set", "k", 0, 0, new Uint8Array(0)), bytes("set k 0 0 0\r\n\r\n"))
    assert.deepStrictEqual(
      encodeStorage("append", "k", 0, 0, bytes("a\r\nb"), undefined, true),
      bytes("append k 0 0 4 noreply\r\na\r\nb\r\n")
    )
    assert.deepStrictEqual(
      encodeStorage("cas", "k", 0, 0, bytes("xy"), 99n, true),
      bytes("cas k 0 0 2 99 noreply\r\nxy\r\n")
    )
    // binary data is copied as is
    const bin = Uint8Array.of(0, 13, 10, 255)
    assert.deepStrictEqual(
      encodeStorage("prepend", "k", 0, 0, bin),
      Buffer.concat([bytes("prepend k 0 0 4\r\n"), Buffer.from(bin), bytes("\r\n")])
    )
    assert.deepStrictEqual(encodeStorage("replace", "k", 1, 1, bytes("v")), bytes("replace k 1 1 1\r\nv\r\n"))
    assert.deepStrictEqual(encodeStorage("add", "k", 1, 1, bytes("v")), bytes("add k 1 1 1\r\nv\r\n"))
  })

  it("delete", () => {
    assert.strictEqual(encodeDelete("k"), "delete k\r\n")
    assert.strictEqual(encodeDelete("k", true), "delete k noreply\r\n")
  })

  it("incr / decr with u64 deltas", () => {
    assert.strictEqual(encodeIncrDecr("incr", "n", 1n), "incr n 1\r\n")
    assert.strictEqual(encodeIncrDecr("decr", "n", 0n), "decr n 0\r\n")
    assert.strictEqual(encodeIncrDecr("incr", "n", 18446744073709551615n), "incr n 18446744073709551615\r\n")
    assert.strictEqual(encodeIncrDecr("incr", "n", 5n, true), "incr n 5 noreply\r\n")
    assert.strictEqual(encodeIncrDecr("decr", "n", 5n, true), "decr n 5 noreply\r\n")
  })

  it("flush_all with and without delay, noreply", () => {
    assert.strictEqual(encodeFlushAll(), "flush_all\r\n")
    assert.strictEqual(encodeFlushAll(0), "flush_all\r\n")
    assert.strictEqual(encodeFlushAll(10), "flush_all 10\r\n")
    assert.strictEqual(encodeFlushAll(undefined, true), "flush_all noreply\r\n")
    assert.strictEqual(encodeFlushAll(10, true), "flush_all 10 noreply\r\n")
  })

  it("version, stats, verbosity, quit", () => {
    assert.strictEqual(encodeVersion(), "version\r\n")
    assert.strictEqual(encodeStats(), "stats\r\n")
    assert.strictEqual(encodeStats(""), "stats\r\n")
    assert.strictEqual(encodeStats("settings"), "stats settings\r\n")
    assert.strictEqual(encodeStats("cachedump 1 0"), "stats cachedump 1 0\r\n")
    assert.strictEqual(encodeVerbosity(1), "verbosity 1\r\n")
    assert.strictEqual(encodeVerbosity(0, true), "verbosity 0 noreply\r\n")
    assert.strictEqual(encodeQuit(), "quit\r\n")
  })
})

function encodeGats(c: "gats") {
  return encodeGat(c, 3600, ["foo", "bar"])
}

// ---------------------------------------------------------------------------------------------
// Reply parser: golden replies
// ---------------------------------------------------------------------------------------------

const golden: ReadonlyArray<readonly [string, string, ReadonlyArray<unknown>]> = [
  ["VALUE without cas", "VALUE foo 5 3\r\nbar\r\nEND\r\n", [V("foo", 5, "bar"), T("End")]],
  ["VALUE with cas", "VALUE foo 0 3 12345\r\nbar\r\nEND\r\n", [V("foo", 0, "bar", 12345n), T("End")]],
  [
    "VALUE with max flags and max cas",
    "VALUE k 4294967295 1 18446744073709551615\r\nx\r\nEND\r\n",
    [V("k", 4294967295, "x", 18446744073709551615n), T("End")]
  ],
  ["VALUE with a UTF-8 key", "VALUE clé 1 2\r\nhi\r\nEND\r\n", [V("clé", 1, "hi"), T("End")]],
  ["zero-length VALUE", "VALUE e 0 0\r\n\r\nEND\r\n", [V("e", 0, ""), T("End")]],
  ["END (miss)", "END\r\n", [T("End")]],
  ["STORED", "STORED\r\n", [T("Stored")]],
  ["NOT_STORED", "NOT_STORED\r\n", [T("NotStored")]],
  ["EXISTS", "EXISTS\r\n", [T("Exists")]],
  ["NOT_FOUND", "NOT_FOUND\r\n", [T("NotFound")]],
  ["DELETED", "DELETED\r\n", [T("Deleted")]],
  ["TOUCHED", "TOUCHED\r\n", [T("Touched")]],
  ["OK", "OK\r\n", [T("Ok")]],
  ["numeric 0", "0\r\n", [{ _tag: "Numeric", value: 0n }]],
  ["numeric 42", "42\r\n", [{ _tag: "Numeric", value: 42n }]],
  ["numeric 2^53+1", "9007199254740993\r\n", [{ _tag: "Numeric", value: 9007199254740993n }]],
  ["numeric u64 max", "18446744073709551615\r\n", [{ _tag: "Numeric", value: 18446744073709551615n }]],
  ["VERSION", "VERSION 1.6.18\r\n", [{ _tag: "Version", version: "1.6.18" }]],
  ["STAT lines", "STAT pid 1234\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.1 0.2\r\nEND\r\n", [
    { _tag: "Stat", name: "pid", value: "1234" },
    { _tag: "Stat", name: "version", value: "1.6.18" },
    { _tag: "Stat", name: "rusage_user", value: "0.1 0.2" },
    T("End")
  ]],
  ["ERROR", "ERROR\r\n", [{ _tag: "Error", message: "" }]],
  ["ERROR with message", "ERROR unknown command\r\n", [{ _tag: "Error", message: "unknown command" }]],
  ["CLIENT_ERROR", "CLIENT_ERROR bad data chunk\r\n", [{ _tag: "ClientError", message: "bad data chunk" }]],
  ["SERVER_ERROR", "SERVER_ERROR out of memory storing object\r\n", [
    { _tag: "ServerError", message: "out of memory storing object" }
  ]],
  ["meta HD bare", "HD\r\n", [M("HD", "")]],
  ["meta HD with flags", "HD c123 t-1 f0\r\n", [M("HD", "c123 t-1 f0")]],
  ["meta VA with flags", "VA 3 f5 c9\r\nabc\r\n", [M("VA", "f5 c9", "abc")]],
  ["meta VA bare", "VA 2\r\nhi\r\n", [M("VA", "", "hi")]],
  ["meta VA zero-length", "VA 0 W\r\n\r\n", [M("VA", "W", "")]],
  ["meta EN", "EN\r\n", [M("EN", "")]],
  ["meta NS", "NS\r\n", [M("NS", "")]],
  ["meta EX with opaque", "EX Oabc\r\n", [M("EX", "Oabc")]],
  ["meta NF with key", "NF kfoo\r\n", [M("NF", "kfoo")]],
  ["meta MN", "MN\r\n", [M("MN", "")]],
  ["meta ME", "ME foo exp=-1 la=3 cas=2 fetch=no cls=1 size=63\r\n", [
    { _tag: "MetaDebug", key: "foo", fields: "exp=-1 la=3 cas=2 fetch=no cls=1 size=63" }
  ]]
]

describe("ReplyParser: every reply kind from golden bytes", () => {
  for (const [name, input, expected] of golden) {
    it(`${name}: whole, byte at a time, split at every offset`, () => {
      assertAllSplits(Buffer.from(input, "utf8"), { replies: [...expected], error: undefined })
    })
  }

  it("all golden replies back to back, split at every offset", () => {
    const input = Buffer.from(golden.map(([, i]) => i).join(""), "utf8")
    const expected = { replies: golden.flatMap(([, , e]) => e), error: undefined }
    assertAllSplits(input, expected)
  })

  it("meta return flags are readable one by one", () => {
    const p = makeReplyParser()
    const [hd, va] = p.push(bytes("HD c123 t-1 f0 W\r\nVA 3 s3 Oop\r\nabc\r\n"))
    assert(hd !== undefined && hd._tag === "Meta")
    assert.strictEqual(hd.flag("c"), "123")
    assert.strictEqual(hd.flag("t"), "-1")
    assert.strictEqual(hd.flag("f"), "0")
    assert.strictEqual(hd.flag("W"), "")
    assert.strictEqual(hd.flag("k"), undefined)
    assert.isTrue(hd.has("W"))
    assert.isFalse(hd.has("Z"))
    assert(va !== undefined && va._tag === "Meta")
    assert.strictEqual(va.flag("s"), "3")
    assert.strictEqual(va.flag("O"), "op")
    assert.strictEqual(Buffer.from(va.value!).toString(), "abc")
  })

  it("ValueReply.keyEquals compares without decoding and for non-ASCII keys", () => {
    const p = makeReplyParser()
    const [a, b] = p.push(Buffer.from("VALUE abc 0 1\r\nx\r\nVALUE ключ 0 1\r\ny\r\n", "utf8"))
    assert(a !== undefined && a._tag === "Value" && b !== undefined && b._tag === "Value")
    assert.isTrue(a.keyEquals("abc"))
    assert.isFalse(a.keyEquals("abd"))
    assert.isFalse(a.keyEquals("ab"))
    assert.isTrue(b.keyEquals("ключ"))
    assert.isFalse(b.keyEquals("клюя"))
    assert.isFalse(a.keyEquals("abcd"))
    assert.isFalse(b.keyEquals("abcdefgh")) // same byte length, ASCII: no decode, no match
  })

  it("ValueReply.keyEquals matches UTF-8 bytes only: a latin1 byte is not the char of that code", () => {
    const p = makeReplyParser()
    const line = Buffer.concat([
      Buffer.from("VALUE "),
      Buffer.from([0xe9]),
      Buffer.from(" 0 1\r\nx\r\nVALUE é😀 0 1\r\ny\r\n", "utf8")
    ])
    const [latin, astral] = p.push(line)
    assert(latin !== undefined && latin._tag === "Value" && astral !== undefined && astral._tag === "Value")
    assert.isFalse(latin.keyEquals("é")) // U+00E9 is C3 A9 in UTF-8, not the byte E9
    assert.isTrue(astral.keyEquals("é😀"))
    assert.isFalse(astral.keyEquals("é😁"))
    assert.isFalse(astral.keyEquals("e😀"))
  })
})

describe("ReplyParser: framing", () => {
  it("2000 replies in one chunk, and the same stream in random chunks", () => {
    const parts: Array<string> = []
    const expected: Array<unknown> = []
    for (let i = 0; i < 2000; i++) {
      const value = `v${i}-`.repeat(i % 7)
      parts.push(`VALUE key:${i} ${i} ${value.length}${i % 2 === 0 ? ` ${i * 1000}` : ""}\r\n${value}\r\nEND\r\n`)
      expected.push(V(`key:${i}`, i, value, i % 2 === 0 ? BigInt(i * 1000) : undefined), T("End"))
      parts.push("STORED\r\n", `${i}\r\n`)
      expected.push(T("Stored"), { _tag: "Numeric", value: BigInt(i) })
    }
    const input = bytes(parts.join(""))
    const whole = parseWhole(input)
    assert.strictEqual(whole.replies.length, 8000)
    assert.deepStrictEqual(whole, { replies: expected, error: undefined })
    // random chunking
    let seed = 12345
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let round = 0; round < 5; round++) {
      const p = makeReplyParser()
      const out: Array<Reply> = []
      let pos = 0
      while (pos < input.length) {
        const n = 1 + Math.floor(rand() * 300)
        out.push(...p.push(input.subarray(pos, pos + n)))
        pos += n
      }
      assert.deepStrictEqual(outcome(p, out), { replies: expected, error: undefined })
      assert.strictEqual(p.buffered, 0)
    }
  })

  it("values containing \\r\\nEND\\r\\n and VALUE lines are framed by length", () => {
    const tricky = "a\r\nEND\r\nVALUE other 0 1\r\nz\r\nSTORED\r\n"
    const input = bytes(`VALUE k 1 ${tricky.length}\r\n${tricky}\r\nEND\r\nSTORED\r\n`)
    assertAllSplits(input, { replies: [V("k", 1, tricky), T("End"), T("Stored")], error: undefined })
  })

  it("a value that is exactly \\r\\n and one that is END", () => {
    const input = bytes("VALUE a 0 2\r\n\r\n\r\nVALUE b 0 3\r\nEND\r\nEND\r\n")
    assertAllSplits(input, { replies: [V("a", 0, "\r\n"), V("b", 0, "END"), T("End")], error: undefined })
  })

  it("binary values with every byte value", () => {
    const data = Buffer.alloc(256)
    for (let i = 0; i < 256; i++) data[i] = i
    const input = Buffer.concat([bytes("VALUE bin 0 256\r\n"), data, bytes("\r\nEND\r\n")])
    assertAllSplits(input, { replies: [V("bin", 0, data.toString("latin1")), T("End")], error: undefined })
  })

  it("a large value over many chunks", () => {
    const size = 1024 * 1024 + 3
    const data = Buffer.alloc(size, 0x61)
    const input = Buffer.concat([bytes(`VALUE big 0 ${size}\r\n`), data, bytes("\r\nEND\r\n")])
    const p = makeReplyParser()
    const out: Array<Reply> = []
    for (let i = 0; i < input.length; i += 4093) {
      out.push(...p.push(input.subarray(i, i + 4093)))
      assert.isAtMost(p.buffered, size + 2)
    }
    assert.strictEqual(out.length, 2)
    assert(out[0]!._tag === "Value")
    assert.strictEqual(out[0]!.value.length, size)
    assert.isTrue(Buffer.from(out[0]!.value).equals(data))
    assert.strictEqual(p.buffered, 0)
  })

  it("a line of exactly maxLineLength is accepted, one byte more is LineTooLong", () => {
    const limits = { maxLineLength: 64 }
    const ok = "CLIENT_ERROR " + "x".repeat(64 - 13)
    assert.strictEqual(ok.length, 64)
    assertAllSplits(bytes(ok + "\r\n"), {
      replies: [{ _tag: "ClientError", message: "x".repeat(51) }],
      error: undefined
    }, limits)
    const bad = ok + "y"
    assert.strictEqual(parseWhole(bytes(bad + "\r\n"), limits).error, "LineTooLong")
    assert.strictEqual(parseBytewise(bytes(bad + "\r\n"), limits).error, "LineTooLong")
  })

  it("a value of exactly maxValueSize is accepted, one more byte is ValueTooLarge", () => {
    const limits = { maxValueSize: 10 }
    assertAllSplits(bytes("VALUE k 0 10\r\n0123456789\r\nEND\r\n"), {
      replies: [V("k", 0, "0123456789"), T("End")],
      error: undefined
    }, limits)
    assert.strictEqual(parseWhole(bytes("VALUE k 0 11\r\n"), limits).error, "ValueTooLarge")
    assert.strictEqual(parseWhole(bytes("VA 11\r\n"), limits).error, "ValueTooLarge")
  })
})

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

const hostile: ReadonlyArray<readonly [string, string, string]> = [
  ["declared length over maxValueSize", "VALUE k 0 999999999999\r\n", "ValueTooLarge"],
  ["declared length beyond 2^53", "VALUE k 0 99999999999999999999\r\n", "Malformed"],
  ["negative length", "VALUE k 0 -1\r\nx\r\n", "Malformed"],
  ["negative flags", "VALUE k -1 1\r\nx\r\n", "Malformed"],
  ["non-numeric flags", "VALUE k abc 1\r\nx\r\n", "Malformed"],
  ["non-numeric length", "VALUE k 0 1x\r\nx\r\n", "Malformed"],
  ["empty length", "VALUE k 0 \r\n", "Malformed"],
  ["too few VALUE fields", "VALUE k 0\r\n", "Malformed"],
  ["VALUE without key", "VALUE\r\n", "Malformed"],
  ["double space in VALUE", "VALUE  k 0 1\r\nx\r\n", "Malformed"],
  ["too many VALUE fields", "VALUE k 0 1 5 6\r\nx\r\n", "Malformed"],
  ["flags > 2^32-1", "VALUE k 4294967296 1\r\nx\r\n", "Malformed"],
  ["CAS > 2^64-1", "VALUE k 0 1 18446744073709551616\r\nx\r\n", "Malformed"],
  ["non-numeric CAS", "VALUE k 0 1 12a\r\nx\r\n", "Malformed"],
  ["numeric reply > 2^64-1", "18446744073709551616\r\n", "Malformed"],
  ["negative numeric reply", "-5\r\n", "Malformed"],
  ["numeric with trailing junk", "12 apples\r\n", "Malformed"],
  ["missing CR", "STORED\n", "Malformed"],
  ["bare LF", "\n", "Malformed"],
  ["empty line", "\r\n", "Malformed"],
  ["data block not followed by CRLF", "VALUE k 0 3\r\nabcXY", "Malformed"],
  ["data block followed by LF only", "VALUE k 0 3\r\nabc\nEND\r\n", "Malformed"],
  ["data longer than declared", "VALUE k 0 2\r\nabc\r\nEND\r\n", "Malformed"],
  ["meta VA data block not followed by CRLF", "VA 1\r\nxyz", "Malformed"],
  ["meta VA without length", "VA\r\n", "Malformed"],
  ["meta VA negative length", "VA -1\r\n", "Malformed"],
  ["garbage line", "HELLO WORLD\r\n", "Malformed"],
  ["lower-case reply", "stored\r\n", "Malformed"],
  ["STORED with trailing text", "STORED yes\r\n", "Malformed"],
  ["STAT without name", "STAT\r\n", "Malformed"],
  ["binary garbage", "\x80\x00\x01\x02\r\n", "Malformed"]
]

describe("ReplyParser: hostile input", () => {
  for (const [name, input, reason] of hostile) {
    it(`${name} → ${reason}, in every split; nothing after the error`, () => {
      const buf = bytes(input)
      const check = (o: Outcome, how: string) => {
        assert.strictEqual(o.error, reason, how)
        assert.deepStrictEqual(o.replies, [], how)
      }
      check(parseWhole(buf), "whole")
      check(parseBytewise(buf), "byte at a time")
      for (let at = 0; at <= buf.length; at++) check(parseSplit(buf, at), `split at ${at}`)
      const p = makeReplyParser()
      p.push(buf)
      assert.isDefined(p.error)
      assert.instanceOf(p.error, ProtocolViolation)
      assert.strictEqual(p.buffered, 0)
      assert.deepStrictEqual(p.push(bytes("STORED\r\nEND\r\n")), [])
      assert.deepStrictEqual(p.push(bytes("VALUE k 0 1\r\nx\r\n")), [])
      assert.strictEqual(p.error!.reason, reason)
      assert.strictEqual(p.buffered, 0)
    })
  }

  it("replies before the violation are returned, none after", () => {
    const p = makeReplyParser()
    const out = p.push(bytes("STORED\r\nDELETED\r\nBOGUS\r\nSTORED\r\n"))
    assert.deepStrictEqual(out.map(plain), [T("Stored"), T("Deleted")])
    assert.strictEqual(p.error?.reason, "Malformed")
    assert.deepStrictEqual(p.push(bytes("STORED\r\n")), [])
  })

  it("a declared huge value is rejected before allocating or buffering it", () => {
    const p = makeReplyParser({ maxValueSize: 1024 })
    assert.deepStrictEqual(p.push(bytes("VALUE k 0 1025\r\n")), [])
    assert.strictEqual(p.error?.reason, "ValueTooLarge")
    assert.strictEqual(p.buffered, 0)
  })

  it("an overlong line without LF is bounded (fed in small chunks)", () => {
    const maxLineLength = 100
    const p = makeReplyParser({ maxLineLength })
    let fed = 0
    while (p.error === undefined && fed < 100_000) {
      assert.deepStrictEqual(p.push(bytes("A".repeat(7))), [])
      fed += 7
      assert.isAtMost(p.buffered, maxLineLength + 2)
    }
    assert.strictEqual(p.error?.reason, "LineTooLong")
    assert.isAtMost(fed, maxLineLength + 10)
    assert.strictEqual(p.buffered, 0)
    assert.deepStrictEqual(p.push(bytes("\r\nSTORED\r\n")), [])
  })

  it("an overlong line without LF is bounded (byte at a time, default limit)", () => {
    const p = makeReplyParser()
    let fed = 0
    while (p.error === undefined && fed < 1_000_000) {
      p.push(Uint8Array.of(0x41))
      fed++
      assert.isAtMost(p.buffered, 8192 + 2)
    }
    assert.strictEqual(p.error?.reason, "LineTooLong")
    assert.isAtMost(fed, 8192 + 2)
  })

  it("an overlong line without LF in one big chunk fails at once", () => {
    const p = makeReplyParser({ maxLineLength: 100 })
    assert.deepStrictEqual(p.push(bytes("STORED\r\n" + "x".repeat(10_000))).map(plain), [T("Stored")])
    assert.strictEqual(p.error?.reason, "LineTooLong")
    assert.strictEqual(p.buffered, 0)
  })

  it("an overlong VALUE line with LF fails", () => {
    const p = makeReplyParser({ maxLineLength: 100 })
    p.push(bytes(`VALUE ${"k".repeat(200)} 0 1\r\nx\r\n`))
    assert.strictEqual(p.error?.reason, "LineTooLong")
  })

  it("a partial value is bounded by the declared size and buffered is reported", () => {
    const p = makeReplyParser({ maxValueSize: 100 })
    assert.deepStrictEqual(p.push(bytes("VALUE k 0 100\r\n" + "x".repeat(50))), [])
    assert.strictEqual(p.buffered, 50)
    assert.isUndefined(p.error)
    const out = p.push(bytes("x".repeat(50) + "\r\nEND\r\n"))
    assert.strictEqual(out.length, 2)
    assert.strictEqual(p.buffered, 0)
  })
})
