import { assert, describe, it } from "@effect/vitest"
import {
  type Command,
  encodeClientError,
  encodeLine,
  encodeNumeric,
  encodeServerError,
  encodeStats,
  encodeValue,
  encodeVersion,
  ErrorLines,
  makeCommandParser,
  Replies,
  ReplyWriter
} from "../src/protocol/server.js"

const b = (s: string) => Buffer.from(s, "latin1")

const parse = (input: string | Buffer, limits?: Parameters<typeof makeCommandParser>[0]): Array<Command> =>
  makeCommandParser(limits).push(typeof input === "string" ? b(input) : input)

/** Normalises commands for deep comparison (Buffers → latin1 strings). */
const norm = (cmds: ReadonlyArray<Command>): Array<unknown> =>
  cmds.map((c) => {
    const o: Record<string, unknown> = { ...c }
    for (const k of Object.keys(o)) if (Buffer.isBuffer(o[k])) o[k] = (o[k] as Buffer).toString("latin1")
    return o
  })

const splitEverywhere = (input: string, expected: Array<Command>) => {
  const bytes = b(input)
  const want = norm(expected)
  for (let i = 0; i <= bytes.length; i++) {
    const p = makeCommandParser()
    const got = [...p.push(bytes.subarray(0, i)), ...p.push(bytes.subarray(i))]
    assert.deepStrictEqual(norm(got), want, `split at ${i}`)
  }
  const p = makeCommandParser()
  const got: Array<Command> = []
  for (let i = 0; i < bytes.length; i++) got.push(...p.push(bytes.subarray(i, i + 1)))
  assert.deepStrictEqual(norm(got), want, "byte at a time")
  assert.strictEqual(p.buffered, 0)
}

const store = (
  command: string,
  key: string,
  flags: number,
  exptime: number,
  data: string,
  extra: { cas?: bigint; noreply?: boolean } = {}
): Command => ({
  _tag: "Store",
  command: command as "set",
  key,
  flags,
  exptime,
  cas: extra.cas ?? 0n,
  data: b(data),
  noreply: extra.noreply ?? false,
  tooLarge: false
})

const invalid = (reply: string, noreply = false): Command => ({ _tag: "Invalid", reply, noreply })

const golden: Array<[string, Array<Command>]> = [
  ["get a\r\n", [{ _tag: "Get", command: "get", keys: ["a"], exptime: 0 }]],
  ["get a b  c\r\n", [{ _tag: "Get", command: "get", keys: ["a", "b", "c"], exptime: 0 }]],
  ["gets k1 k2\r\n", [{ _tag: "Get", command: "gets", keys: ["k1", "k2"], exptime: 0 }]],
  ["gat 10 k\r\n", [{ _tag: "Get", command: "gat", keys: ["k"], exptime: 10 }]],
  ["gats -1 k j\r\n", [{ _tag: "Get", command: "gats", keys: ["k", "j"], exptime: -1 }]],
  ["get a\n", [{ _tag: "Get", command: "get", keys: ["a"], exptime: 0 }]],
  ["set k 5 10 3\r\nabc\r\n", [store("set", "k", 5, 10, "abc")]],
  ["set k 4294967295 0 0\r\n\r\n", [store("set", "k", 4294967295, 0, "")]],
  ["add k 0 0 1 noreply\r\nx\r\n", [store("add", "k", 0, 0, "x", { noreply: true })]],
  ["replace k 1 2 1\r\nx\r\n", [store("replace", "k", 1, 2, "x")]],
  ["append k 0 0 2\r\nxy\r\n", [store("append", "k", 0, 0, "xy")]],
  ["prepend k 0 0 2 noreply\r\nxy\r\n", [store("prepend", "k", 0, 0, "xy", { noreply: true })]],
  ["cas k 0 0 1 18446744073709551615\r\nx\r\n", [store("cas", "k", 0, 0, "x", { cas: 18446744073709551615n })]],
  ["cas k 0 0 1 7 noreply\r\nx\r\n", [store("cas", "k", 0, 0, "x", { cas: 7n, noreply: true })]],
  ["set k 0 0 1 whatever\r\nx\r\n", [store("set", "k", 0, 0, "x")]],
  ["delete k\r\n", [{ _tag: "Delete", key: "k", noreply: false }]],
  ["delete k 0\r\n", [{ _tag: "Delete", key: "k", noreply: false }]],
  ["delete k noreply\r\n", [{ _tag: "Delete", key: "k", noreply: true }]],
  ["delete k 0 noreply\r\n", [{ _tag: "Delete", key: "k", noreply: true }]],
  ["incr k 1\r\n", [{ _tag: "Arithmetic", command: "incr", key: "k", delta: 1n, noreply: false }]],
  [
    "decr k 18446744073709551615 noreply\r\n",
    [{ _tag: "Arithmetic", command: "decr", key: "k", delta: 18446744073709551615n, noreply: true }]
  ],
  ["incr k 0000000000000000000001\r\n", [{ _tag: "Arithmetic", command: "incr", key: "k", delta: 1n, noreply: false }]],
  ["touch k 100\r\n", [{ _tag: "Touch", key: "k", exptime: 100, noreply: false }]],
  ["touch k -1 noreply\r\n", [{ _tag: "Touch", key: "k", exptime: -1, noreply: true }]],
  ["flush_all\r\n", [{ _tag: "FlushAll", delay: 0, noreply: false }]],
  ["flush_all 30\r\n", [{ _tag: "FlushAll", delay: 30, noreply: false }]],
  ["flush_all noreply\r\n", [{ _tag: "FlushAll", delay: 0, noreply: true }]],
  ["flush_all 5 noreply\r\n", [{ _tag: "FlushAll", delay: 5, noreply: true }]],
  ["version\r\n", [{ _tag: "Version" }]],
  ["stats\r\n", [{ _tag: "Stats", args: [] }]],
  ["stats settings\r\n", [{ _tag: "Stats", args: ["settings"] }]],
  ["verbosity 1\r\n", [{ _tag: "Verbosity", level: 1, noreply: false }]],
  ["verbosity 0 noreply\r\n", [{ _tag: "Verbosity", level: 0, noreply: true }]],
  ["quit\r\n", [{ _tag: "Quit" }]],
  ["mn\r\n", [{ _tag: "Meta", command: "mn", key: "", flags: [], data: undefined }]],
  ["mg foo v f c Oabc\r\n", [{
    _tag: "Meta",
    command: "mg",
    key: "foo",
    flags: ["v", "f", "c", "Oabc"],
    data: undefined
  }]],
  ["md foo q\r\n", [{ _tag: "Meta", command: "md", key: "foo", flags: ["q"], data: undefined }]],
  ["ma foo D5\r\n", [{ _tag: "Meta", command: "ma", key: "foo", flags: ["D5"], data: undefined }]],
  ["me foo\r\n", [{ _tag: "Meta", command: "me", key: "foo", flags: [], data: undefined }]],
  ["ms foo 3 T10 F5\r\nabc\r\n", [{ _tag: "Meta", command: "ms", key: "foo", flags: ["T10", "F5"], data: b("abc") }]]
]

// Every error line below was checked against memcached 1.6.18.
const errors: Array<[string, Array<Command>]> = [
  ["foo\r\n", [invalid("ERROR")]],
  ["\r\n", [invalid("ERROR")]],
  ["get\r\n", [invalid("ERROR")]],
  ["GET a\r\n", [invalid("ERROR")]],
  ["set a 0 0\r\n", [invalid("ERROR")]],
  ["set a 0 0 1 2 3\r\nb\r\n", [invalid("ERROR"), invalid("ERROR")]],
  ["cas a 0 0 1\r\nb\r\n", [invalid("ERROR"), invalid("ERROR")]],
  ["set a 0 0 -1\r\n", [invalid(ErrorLines.badFormat)]],
  ["set a x 0 1\r\nb\r\n", [invalid(ErrorLines.badFormat), invalid("ERROR")]],
  ["set a -1 0 1\r\nb\r\n", [invalid(ErrorLines.badFormat), invalid("ERROR")]],
  ["set a 0 x 1\r\nb\r\n", [invalid(ErrorLines.badFormat), invalid("ERROR")]],
  ["cas a 0 0 1 x\r\nb\r\n", [invalid(ErrorLines.badFormat), invalid("ERROR")]],
  ["set a 0 0 1\r\nab\r\n", [invalid(ErrorLines.badDataChunk), invalid("ERROR")]],
  ["set a 0 0 1 noreply\r\nbX\r\n", [invalid(ErrorLines.badDataChunk, true), invalid("ERROR")]],
  [`set ${"k".repeat(251)} 0 0 1\r\nb\r\n`, [invalid(ErrorLines.badFormat), invalid("ERROR")]],
  [`get ${"k".repeat(251)}\r\n`, [invalid(ErrorLines.badFormat)]],
  ["incr a x\r\n", [invalid(ErrorLines.invalidDelta)]],
  ["incr a -1\r\n", [invalid(ErrorLines.invalidDelta)]],
  ["incr a 18446744073709551616\r\n", [invalid(ErrorLines.invalidDelta)]],
  ["incr\r\n", [invalid("ERROR")]],
  ["incr a 1 noreply x\r\n", [invalid("ERROR")]],
  ["delete\r\n", [invalid("ERROR")]],
  ["delete a 1\r\n", [invalid(ErrorLines.badDelete)]],
  ["touch a\r\n", [invalid("ERROR")]],
  ["touch a x\r\n", [invalid(ErrorLines.invalidExptime)]],
  ["gat x a\r\n", [invalid(ErrorLines.invalidExptime)]],
  ["flush_all x\r\n", [invalid(ErrorLines.invalidExptime)]],
  ["verbosity\r\n", [invalid("ERROR")]],
  ["verbosity x\r\n", [invalid(ErrorLines.badFormat)]],
  ["verbosity 1 2 3\r\n", [invalid("ERROR")]],
  ["mx a\r\n", [invalid("ERROR")]]
]

describe("ServerProtocol command parser", () => {
  it("parses every command (golden)", () => {
    for (const [input, expected] of golden) assert.deepStrictEqual(norm(parse(input)), norm(expected), input)
  })

  it("answers malformed input with memcached's error lines", () => {
    for (const [input, expected] of errors) {
      assert.deepStrictEqual(norm(parse(input)), norm(expected), JSON.stringify(input.slice(0, 40)))
    }
  })

  it("parses every command split at every offset and byte at a time", () => {
    for (const [input, expected] of [...golden, ...errors.filter(([i]) => i.length < 100)]) {
      splitEverywhere(input, expected)
    }
  })

  it("parses many pipelined commands in one chunk", () => {
    const all = golden.map(([i]) => i).join("")
    const want = golden.flatMap(([, e]) => e)
    assert.deepStrictEqual(norm(parse(all)), norm(want))
    splitEverywhere(all, want)
  })

  it("frames values by length, even when they contain \\r\\nEND\\r\\n", () => {
    const value = "x\r\nEND\r\nset a 0 0 1\r\n"
    splitEverywhere(`set k 1 0 ${value.length}\r\n${value}\r\nget k\r\n`, [
      store("set", "k", 1, 0, value),
      { _tag: "Get", command: "get", keys: ["k"], exptime: 0 }
    ])
  })

  it("is binary safe in keys and values", () => {
    const data = Buffer.from([0, 1, 2, 13, 10, 255, 128])
    const input = Buffer.concat([b("set \xff\xfe 0 0 7\r\n"), data, b("\r\n")])
    const [cmd] = parse(input)
    assert.strictEqual(cmd?._tag, "Store")
    if (cmd?._tag === "Store") {
      assert.strictEqual(cmd.key, "\xff\xfe")
      assert.deepStrictEqual([...cmd.data], [...data])
    }
  })

  it("copies values so they do not pin the input chunk", () => {
    const input = b("set k 0 0 3\r\nabc\r\n")
    const [cmd] = parse(input)
    input.fill(0)
    assert.strictEqual(cmd?._tag === "Store" && cmd.data.toString(), "abc")
  })

  it("swallows a too-large value without buffering it, then answers", () => {
    const p = makeCommandParser({ maxItemSize: 1024 })
    assert.deepStrictEqual(p.push(b("set big 0 0 100000000\r\n")), [])
    const chunk = Buffer.alloc(65536, 120)
    let total = 0
    while (total + chunk.length < 100000000) {
      assert.deepStrictEqual(p.push(chunk), [])
      assert.strictEqual(p.buffered, 0)
      total += chunk.length
    }
    const last = Buffer.concat([Buffer.alloc(100000000 - total, 120), b("\r\nget a\r\n")])
    const out = p.push(last)
    assert.strictEqual(out.length, 2)
    assert.strictEqual(out[0]?._tag === "Store" && out[0].tooLarge, true)
    assert.deepStrictEqual(out[1], { _tag: "Get", command: "get", keys: ["a"], exptime: 0 })
  })

  it("bounds the item size by memcached's accounting", () => {
    const ok = parse(`set a 0 0 1048500\r\n${"x".repeat(1048500)}\r\n`)
    assert.strictEqual(ok[0]?._tag === "Store" && !ok[0].tooLarge, true)
    const big = parse(`set a 0 0 1048576\r\n${"x".repeat(1048576)}\r\n`)
    assert.strictEqual(big[0]?._tag === "Store" && big[0].tooLarge, true)
  })

  it("closes on a non-get line over 2048 bytes without a line end, without a reply", () => {
    const p = makeCommandParser()
    assert.deepStrictEqual(p.push(b("x".repeat(2000))), [])
    assert.deepStrictEqual(p.push(b("x".repeat(100))), [{ _tag: "Fatal", reply: undefined }])
    assert.strictEqual(p.closed, true)
    assert.deepStrictEqual(p.push(b("version\r\n")), [])
    assert.strictEqual(p.buffered, 0)
  })

  it("lets long get lines grow up to the bound, then answers CLIENT_ERROR line too long", () => {
    const p = makeCommandParser({ maxLineLength: 10000 })
    assert.deepStrictEqual(p.push(b("get " + "k ".repeat(4000))), [])
    assert.deepStrictEqual(p.push(b("k ".repeat(2000))), [{ _tag: "Fatal", reply: ErrorLines.lineTooLong }])
    const q = makeCommandParser({ maxLineLength: 10000 })
    assert.deepStrictEqual(q.push(b("get " + "k ".repeat(6000) + "\r\n")), [{
      _tag: "Fatal",
      reply: ErrorLines.lineTooLong
    }])
  })

  it("processes a long line when its end arrived (like memcached)", () => {
    assert.deepStrictEqual(parse("x".repeat(3000) + "\r\n"), [invalid("ERROR")])
  })

  it("does not buffer hostile declared lengths", () => {
    const p = makeCommandParser()
    // Within int32 but over the item limit: swallowed, nothing held.
    assert.deepStrictEqual(p.push(b("set a 0 0 2147483645\r\n")), [])
    assert.strictEqual(p.buffered, 0)
    assert.deepStrictEqual(p.push(Buffer.alloc(1 << 20)), [])
    assert.strictEqual(p.buffered, 0)
    // Out of range: rejected like memcached, the data line is then an unknown command.
    assert.deepStrictEqual(
      norm(parse("set a 0 0 2147483647\r\nb\r\nset a 0 0 99999999999\r\nb\r\n")),
      norm([invalid(ErrorLines.badFormat), invalid("ERROR"), invalid(ErrorLines.badFormat), invalid("ERROR")])
    )
  })

  it("waits for the CRLF after the data (missing CRLF is not a hang: it is a bad data chunk)", () => {
    const p = makeCommandParser()
    assert.deepStrictEqual(p.push(b("set a 0 0 1\r\nb")), [])
    assert.strictEqual(p.buffered, 1)
    assert.deepStrictEqual(norm(p.push(b("XY"))), norm([invalid(ErrorLines.badDataChunk)]))
    assert.deepStrictEqual(p.push(b("version\r\n")), [{ _tag: "Version" }])
  })

  it("survives random garbage without throwing, with bounded buffering", () => {
    let seed = 42
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff)
    const alphabet = b("set get 0 1 -1 99999 noreply \r\n\r\n abc\x00\xff")
    for (let round = 0; round < 200; round++) {
      const p = makeCommandParser({ maxItemSize: 4096 })
      for (let c = 0; c < 50; c++) {
        const chunk = Buffer.alloc(1 + (rnd() % 64))
        for (let i = 0; i < chunk.length; i++) chunk[i] = alphabet[rnd() % alphabet.length]!
        p.push(chunk)
        assert.isAtMost(p.buffered, 4096 + 2048)
      }
    }
  })
})

describe("ServerProtocol reply encoders", () => {
  it("encodes every reply (golden)", () => {
    const s = (buf: Buffer) => buf.toString("latin1")
    assert.strictEqual(s(encodeValue("k", 5, b("abc"))), "VALUE k 5 3\r\nabc\r\n")
    assert.strictEqual(s(encodeValue("k", 0, b(""), 42n)), "VALUE k 0 0 42\r\n\r\n")
    assert.strictEqual(s(encodeValue("k", 1, b("\r\nEND\r\n"))), "VALUE k 1 7\r\n\r\nEND\r\n\r\n")
    assert.strictEqual(s(Replies.END), "END\r\n")
    assert.strictEqual(s(Replies.STORED), "STORED\r\n")
    assert.strictEqual(s(Replies.NOT_STORED), "NOT_STORED\r\n")
    assert.strictEqual(s(Replies.EXISTS), "EXISTS\r\n")
    assert.strictEqual(s(Replies.NOT_FOUND), "NOT_FOUND\r\n")
    assert.strictEqual(s(Replies.DELETED), "DELETED\r\n")
    assert.strictEqual(s(Replies.TOUCHED), "TOUCHED\r\n")
    assert.strictEqual(s(Replies.OK), "OK\r\n")
    assert.strictEqual(s(Replies.ERROR), "ERROR\r\n")
    assert.strictEqual(s(encodeNumeric(18446744073709551615n)), "18446744073709551615\r\n")
    assert.strictEqual(s(encodeVersion("1.6.18")), "VERSION 1.6.18\r\n")
    assert.strictEqual(
      s(encodeStats([["pid", 1], ["version", "x"], ["big", 2n]])),
      "STAT pid 1\r\nSTAT version x\r\nSTAT big 2\r\nEND\r\n"
    )
    assert.strictEqual(s(encodeClientError("bad data chunk")), "CLIENT_ERROR bad data chunk\r\n")
    assert.strictEqual(s(encodeServerError("out of memory")), "SERVER_ERROR out of memory\r\n")
    assert.strictEqual(s(encodeLine("ERROR")), "ERROR\r\n")
  })

  it("ReplyWriter grows and concatenates replies", () => {
    const w = new ReplyWriter(64)
    const big = Buffer.alloc(100000, 97)
    w.value("k", 0, big).raw(Replies.END).line("OK")
    const out = w.take()
    assert.strictEqual(out.length, "VALUE k 0 100000\r\n".length + 100000 + 2 + 5 + 4)
    assert.strictEqual(w.length, 0)
    assert.strictEqual(out.subarray(out.length - 9).toString(), "END\r\nOK\r\n")
  })
})
