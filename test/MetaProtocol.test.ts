import { assert, describe, it } from "@effect/vitest"
import * as Meta from "../src/protocol/meta.js"
import { type MetaReply, makeReplyParser, type Reply } from "../src/protocol/client.js"
import { makeCommandParser } from "../src/protocol/server.js"

const parseAll = (bytes: Buffer, splits: ReadonlyArray<number> = []): Array<Reply> => {
  const p = makeReplyParser()
  const out: Array<Reply> = []
  let last = 0
  for (const s of [...splits, bytes.length]) {
    out.push(...p.push(bytes.subarray(last, s)))
    last = s
  }
  assert.isUndefined(p.error, p.error?.message)
  return out
}
const meta = (r: Reply): MetaReply => {
  assert.strictEqual(r._tag, "Meta")
  return r as MetaReply
}

describe("MetaProtocol encoders (golden bytes)", () => {
  it("mg with every flag", () => {
    assert.strictEqual(Meta.encodeMetaGet("foo"), "mg foo\r\n")
    assert.strictEqual(
      Meta.encodeMetaGet("foo", {
        value: true,
        flags: true,
        cas: true,
        ttl: true,
        size: true,
        hit: true,
        lastAccess: true,
        noLru: true,
        returnKey: true,
        opaque: "op1",
        quiet: true,
        touch: 30,
        vivify: 60,
        recache: 10,
        newCas: 99n
      }),
      "mg foo T30 N60 R10 E99 v f c t s h l u k Oop1 q\r\n"
    )
    assert.strictEqual(Meta.encodeMetaGet("a b", { base64: true, value: true }), "mg YSBi b v\r\n")
  })

  it("ms with every flag and mode", () => {
    assert.strictEqual(Meta.encodeMetaSetHeader("k", 3), "ms k 3\r\n")
    assert.strictEqual(
      Meta.encodeMetaSetHeader("k", 3, {
        flags: 5,
        ttl: 100,
        compareCas: 7n,
        newCas: 8n,
        invalidate: true,
        mode: "A",
        vivify: 30,
        returnCas: true,
        returnSize: true,
        returnKey: true,
        opaque: "x",
        quiet: true
      }),
      "ms k 3 F5 T100 C7 E8 I MA N30 c s k Ox q\r\n"
    )
    for (const mode of ["E", "A", "P", "R"] as const) {
      assert.strictEqual(Meta.encodeMetaSetHeader("k", 0, { mode }), `ms k 0 M${mode}\r\n`)
    }
    assert.strictEqual(Meta.encodeMetaSetHeader("k", 0, { mode: "S" }), "ms k 0\r\n")
    assert.strictEqual(Meta.encodeMetaSet("k", Buffer.from("hi")).toString(), "ms k 2\r\nhi\r\n")
    assert.strictEqual(
      Meta.encodeMetaSetHeader("ключ", 1, { base64: true }),
      `ms ${Buffer.from("ключ").toString("base64")} 1 b\r\n`
    )
  })

  it("md, ma, mn, me", () => {
    assert.strictEqual(Meta.encodeMetaDelete("k"), "md k\r\n")
    assert.strictEqual(
      Meta.encodeMetaDelete("k", {
        compareCas: 3n,
        newCas: 4n,
        invalidate: true,
        ttl: 30,
        removeValue: true,
        returnKey: true,
        opaque: "o",
        quiet: true
      }),
      "md k C3 E4 I T30 x k Oo q\r\n"
    )
    assert.strictEqual(Meta.encodeMetaArithmetic("c"), "ma c\r\n")
    assert.strictEqual(
      Meta.encodeMetaArithmetic("c", {
        mode: "decr",
        delta: 5n,
        vivify: 0,
        initial: 10n,
        ttl: 60,
        compareCas: 1n,
        newCas: 2n,
        value: true,
        returnTtl: true,
        returnCas: true,
        returnKey: true,
        opaque: "9",
        quiet: true
      }),
      "ma c MD D5 N0 J10 T60 C1 E2 v t c k O9 q\r\n"
    )
    assert.strictEqual(Meta.encodeMetaArithmetic("c", { delta: 1n, mode: "incr" }), "ma c\r\n")
    assert.strictEqual(Meta.encodeMetaNoop(), "mn\r\n")
    assert.strictEqual(Meta.encodeMetaDebug("k"), "me k\r\n")
    assert.strictEqual(Meta.encodeMetaDebug("a b", true), "me YSBi b\r\n")
  })

  it("every encoded command is one command to the server parser", () => {
    const cmds = [
      Buffer.from(Meta.encodeMetaGet("k", { value: true, opaque: "1", touch: 5 })),
      Meta.encodeMetaSet("k", Buffer.from("a\r\nb"), { flags: 1, mode: "P" }),
      Buffer.from(Meta.encodeMetaDelete("k", { invalidate: true })),
      Buffer.from(Meta.encodeMetaArithmetic("k", { delta: 3n })),
      Buffer.from(Meta.encodeMetaNoop()),
      Buffer.from(Meta.encodeMetaDebug("k"))
    ]
    const all = Buffer.concat(cmds)
    for (let split = 0; split <= all.length; split++) {
      const p = makeCommandParser()
      const out = [...p.push(all.subarray(0, split)), ...p.push(all.subarray(split))]
      assert.deepStrictEqual(out.map((c) => (c._tag === "Meta" ? c.command : c._tag)), [
        "mg",
        "ms",
        "md",
        "ma",
        "mn",
        "me"
      ])
      const ms = out[1]!
      assert.strictEqual(ms._tag === "Meta" ? ms.data?.toString() : undefined, "a\r\nb")
    }
  })
})

describe("MetaProtocol keys", () => {
  it("base64 round trip, limits, strict decoding", () => {
    assert.strictEqual(Meta.wireKey("foo", true), "Zm9v")
    assert.strictEqual(Meta.wireKey("foo", false), "foo")
    assert.strictEqual(Meta.wireKey(Uint8Array.from([0, 255, 32]), true), "AP8g")
    assert.deepStrictEqual([...Meta.decodeBase64Key("AP8g")!], [0, 255, 32])
    for (const bad of ["", "Zm9", "Zm9v=", "@@@@", "Zm 9v", "Zm9v\n"]) {
      assert.isUndefined(Meta.decodeBase64Key(bad), bad)
    }
    assert.isUndefined(Meta.base64KeyProblem("x".repeat(186)))
    assert.isDefined(Meta.base64KeyProblem("x".repeat(187)))
    assert.isDefined(Meta.base64KeyProblem(""))
    assert.isUndefined(Meta.opaqueProblem("a".repeat(32)))
    assert.isDefined(Meta.opaqueProblem("a".repeat(33)))
    assert.isDefined(Meta.opaqueProblem("a b"))
  })
})

describe("MetaProtocol decoding", () => {
  const golden = Buffer.from(
    "VA 5 f7 c12345678901234567890 t-1 s5 h1 l42 W X Z Oabc kZm9v b\r\nhello\r\n" +
      "HD c1 t30\r\nEN\r\nEN O1 kmiss\r\nNS\r\nEX O2\r\nNF\r\nMN\r\nHD\r\nVA 0 W\r\n\r\n" +
      "ME k exp=-1 la=3 cas=9 fetch=no cls=1 size=63\r\n"
  )
  const check = (replies: Array<Reply>) => {
    assert.strictEqual(replies.length, 12)
    const va = Meta.metaItem(meta(replies[0]!))
    assert.deepStrictEqual(
      { ...va, value: Buffer.from(va.value!).toString() },
      {
        value: "hello",
        flags: 7,
        cas: 12345678901234567890n,
        ttl: -1,
        size: 5,
        hit: true,
        lastAccess: 42,
        win: true,
        stale: true,
        alreadyWon: true,
        opaque: "abc",
        key: "foo"
      }
    )
    const hd = Meta.metaItem(meta(replies[1]!))
    assert.strictEqual(hd.cas, 1n)
    assert.strictEqual(hd.ttl, 30)
    assert.isUndefined(hd.value)
    assert.isFalse(hd.win || hd.stale || hd.alreadyWon)
    assert.deepStrictEqual(
      replies.slice(2, 10).map((r) => meta(r).code),
      ["EN", "EN", "NS", "EX", "NF", "MN", "HD", "VA"]
    )
    const miss = Meta.metaFlags(meta(replies[3]!))
    assert.strictEqual(miss.opaque, "1")
    assert.strictEqual(miss.key, "miss")
    assert.strictEqual(Meta.metaFlags(meta(replies[5]!)).opaque, "2")
    const empty = Meta.metaItem(meta(replies[9]!))
    assert.strictEqual(empty.value!.length, 0)
    assert.isTrue(empty.win)
    const me = replies[10]!
    assert.strictEqual(me._tag, "MetaDebug")
    const fields = Meta.parseMetaDebug((me as { fields: string }).fields)
    assert.deepStrictEqual(Object.fromEntries(fields), {
      exp: "-1",
      la: "3",
      cas: "9",
      fetch: "no",
      cls: "1",
      size: "63"
    })
    assert.strictEqual(meta(replies[11]!).code, "MN")
  }
  const bytes = Buffer.concat([golden, Buffer.from("MN\r\n")])

  it("golden replies", () => check(parseAll(bytes)))
  it("byte at a time", () => check(parseAll(bytes, Array.from({ length: bytes.length }, (_, i) => i))))
  it("split at every offset", () => {
    for (let i = 0; i <= bytes.length; i++) check(parseAll(bytes, [i]))
  })

  it("a UTF-8 key comes back decoded; unknown flags are kept, absent numbers are undefined", () => {
    const k = Buffer.from("ключ").toString("latin1")
    const r = parseAll(Buffer.from(`HD k${k} q? Qx\r\n`, "latin1"))
    const f = Meta.metaFlags(meta(r[0]!))
    assert.strictEqual(f.key, "ключ")
    assert.isUndefined(f.flags)
    assert.isUndefined(f.cas)
    assert.strictEqual(meta(r[0]!).flag("Q"), "x")
  })

  it("malformed numeric return flags fail the parser (issue 11.1-2: they were NaN / undefined before)", () => {
    for (
      const bad of [
        "HD f c t",
        "HD fxyz",
        "VA 3 f0 cXYZ kk\r\nabc",
        "HD f4294967296",
        "HD c18446744073709551616",
        "HD t-2",
        "HD h2",
        "HD s-1",
        "HD l1x",
        "HD k",
        "HD Wx",
        "HD 12"
      ]
    ) {
      const p = makeReplyParser()
      assert.deepStrictEqual(p.push(Buffer.from(bad + "\r\n", "latin1")), [], bad)
      assert.strictEqual(p.error?.reason, "Malformed", bad)
    }
  })

  it("hostile input: a VA with a bad length, a value without CRLF, a huge VA", () => {
    for (const bad of ["VA x\r\n", "VA 2\r\nabcd\r\n", "VA -1\r\n", "VA 99999999999\r\n", "HD\n"]) {
      const p = makeReplyParser({ maxValueSize: 1024 })
      p.push(Buffer.from(bad))
      assert.isDefined(p.error, bad)
    }
  })
})
