/**
 * Property tests of the codec (fast-check): no input makes a parser throw, valid replies round-trip
 * at every split, and every client command survives encoder → CommandParser → reply encoder →
 * ReplyParser with its meaning intact.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as C from "../../src/protocol/client.js"
import * as M from "../../src/protocol/meta.js"
import * as S from "../../src/protocol/server.js"
import * as L from "../../src/protocol/limits.js"
import { parseU64Value } from "../../src/protocol/limits.js"

const RUNS = { numRuns: 500 }

/** Feeds `buf` to `push` in pieces cut at `cuts` (sorted, deduplicated). */
const feed = <T>(push: (b: Uint8Array) => Array<T>, buf: Buffer, cuts: ReadonlyArray<number>): Array<T> => {
  const out: Array<T> = []
  let last = 0
  for (const c of [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)) {
    out.push(...push(buf.subarray(last, c)))
    last = c
  }
  out.push(...push(buf.subarray(last)))
  return out
}

const cuts = fc.array(fc.nat(), { maxLength: 8 })
// Bytes that look like protocol: fragments of real replies/commands mixed with noise.
const fragment = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.constantFrom(
    "VA ",
    "VALUE ",
    " ",
    "\r\n",
    "\n",
    "\r",
    "END",
    "HD",
    "EN",
    "MN",
    "STAT ",
    "f",
    "c",
    "t-1",
    "k",
    "W",
    "-",
    "1",
    "99999999999999999999999",
    "4294967296",
    "18446744073709551616",
    "get ",
    "set ",
    "ms ",
    "mg ",
    "HTTP/1.1",
    "noreply",
    "cache_memlimit ",
    "0 ",
    "5\r\nhello\r\n"
  ).map((s) => Buffer.from(s, "latin1"))
)
const noisy = fc.array(fragment, { maxLength: 40 }).map((parts) => Buffer.concat(parts))

describe("parsers never throw", () => {
  it("ReplyParser: arbitrary bytes at arbitrary splits", () => {
    fc.assert(
      fc.property(
        noisy,
        cuts,
        fc.record({ maxLineLength: fc.integer({ min: 1, max: 64 }), maxValueSize: fc.integer({ min: 0, max: 64 }) }),
        (buf, at, limits) => {
          const p = C.makeReplyParser(limits)
          feed(p.push, buf, at)
          if (p.error !== undefined) assert.deepStrictEqual(p.push(Buffer.from("END\r\n")), [])
          assert.isAtMost(p.buffered, buf.length)
        }
      ),
      { numRuns: 1000 }
    )
  })
  it("CommandParser: arbitrary bytes at arbitrary splits", () => {
    fc.assert(
      fc.property(
        noisy,
        cuts,
        fc.record({ maxLineLength: fc.integer({ min: 1, max: 4096 }), maxItemSize: fc.integer({ min: 0, max: 256 }) }),
        (buf, at, limits) => {
          const p = S.makeCommandParser(limits)
          const out = feed(p.push, buf, at)
          if (p.closed) {
            assert.strictEqual(out[out.length - 1]!._tag, "Fatal")
            assert.deepStrictEqual(p.push(Buffer.from("version\r\n")), [])
          }
        }
      ),
      { numRuns: 1000 }
    )
  })
  it("decoders of a parsed meta reply never throw and agree with the pre-parsed fields", () => {
    fc.assert(
      fc.property(noisy, (buf) => {
        const p = C.makeReplyParser()
        for (const r of p.push(Buffer.concat([Buffer.from("HD "), buf, Buffer.from("\r\n")]))) {
          if (r._tag !== "Meta") continue
          const f = M.metaFlags(r)
          assert.strictEqual(f.flags ?? 0, r.clientFlags)
          assert.strictEqual(f.cas, r.cas)
        }
      }),
      { numRuns: 1000 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Valid replies round-trip at every split
// ---------------------------------------------------------------------------------------------

const key = fc.stringMatching(/^[\x21-\x7e]{1,40}$/)
const value = fc.uint8Array({ maxLength: 64 })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn })

/** A reply model and its bytes (from the server-direction encoders). */
type Model =
  | {
    readonly tag: "Value"
    readonly key: string
    readonly flags: number
    readonly value: Uint8Array
    readonly cas: bigint | undefined
  }
  | {
    readonly tag: "Meta"
    readonly code: C.MetaCode
    readonly flags: number | undefined
    readonly cas: bigint | undefined
    readonly key: string | undefined
    readonly ttl: number | undefined
    readonly value: Uint8Array | undefined
  }
  | { readonly tag: "Numeric"; readonly value: bigint }
  | { readonly tag: "Fixed"; readonly reply: C.Reply }
  | { readonly tag: "Stat"; readonly name: string; readonly value: string }

const model: fc.Arbitrary<Model> = fc.oneof(
  fc.record({ tag: fc.constant("Value" as const), key, flags: u32, value, cas: fc.option(u64, { nil: undefined }) }),
  fc.record({
    tag: fc.constant("Meta" as const),
    code: fc.constantFrom<C.MetaCode>("HD", "VA", "EN", "NS", "EX", "NF", "MN"),
    flags: fc.option(u32, { nil: undefined }),
    cas: fc.option(u64, { nil: undefined }),
    key: fc.option(key, { nil: undefined }),
    ttl: fc.option(fc.integer({ min: -1, max: 0x7fffffff }), { nil: undefined }),
    value
  }).map((m) => ({ ...m, value: m.code === "VA" ? m.value : undefined })),
  fc.record({ tag: fc.constant("Numeric" as const), value: u64 }),
  fc.record({
    tag: fc.constant("Fixed" as const),
    reply: fc.constantFrom(C.End, C.Stored, C.NotStored, C.Exists, C.NotFound, C.Deleted, C.Touched, C.Ok)
  }),
  fc.record({ tag: fc.constant("Stat" as const), name: key, value: fc.stringMatching(/^[\x21-\x7e ]{0,20}$/) })
)

const FIXED: Record<string, Buffer> = {
  End: S.Replies.END,
  Stored: S.Replies.STORED,
  NotStored: S.Replies.NOT_STORED,
  Exists: S.Replies.EXISTS,
  NotFound: S.Replies.NOT_FOUND,
  Deleted: S.Replies.DELETED,
  Touched: S.Replies.TOUCHED,
  Ok: S.Replies.OK
}

const encodeModel = (m: Model): Buffer => {
  switch (m.tag) {
    case "Value":
      return S.encodeValue(m.key, m.flags, m.value, m.cas)
    case "Meta": {
      const flags: Array<string> = []
      if (m.flags !== undefined) flags.push(`f${m.flags}`)
      if (m.cas !== undefined) flags.push(`c${m.cas}`)
      if (m.ttl !== undefined) flags.push(`t${m.ttl}`)
      if (m.key !== undefined) flags.push(`k${m.key}`)
      return S.encodeMetaReply(m.code, flags, m.value)
    }
    case "Numeric":
      return S.encodeNumeric(m.value)
    case "Fixed":
      return FIXED[m.reply._tag]!
    case "Stat":
      return Buffer.from(`STAT ${m.name} ${m.value}\r\n`, "latin1")
  }
}

const checkReply = (m: Model, r: C.Reply | undefined): void => {
  assert.isDefined(r)
  switch (m.tag) {
    case "Value":
      assert(r!._tag === "Value")
      assert.deepStrictEqual([r.key, r.flags, Buffer.from(r.value), r.cas], [
        m.key,
        m.flags,
        Buffer.from(m.value),
        m.cas
      ])
      return
    case "Meta": {
      assert(r!._tag === "Meta")
      assert.strictEqual(r.code, m.code)
      const f = M.metaFlags(r)
      assert.deepStrictEqual([f.flags, f.cas, f.ttl, f.key], [m.flags, m.cas, m.ttl, m.key])
      assert.deepStrictEqual(M.metaToItem(r).flags, m.flags ?? 0)
      if (m.key !== undefined) assert.isTrue(M.metaKeyIs(r, m.key))
      assert.deepStrictEqual(
        r.value === undefined ? undefined : Buffer.from(r.value),
        m.value === undefined ? undefined : Buffer.from(m.value)
      )
      return
    }
    case "Numeric":
      assert.deepStrictEqual(r, { _tag: "Numeric", value: m.value })
      return
    case "Fixed":
      assert.strictEqual(r, m.reply)
      return
    case "Stat":
      assert.deepStrictEqual(r, { _tag: "Stat", name: m.name, value: m.value })
  }
}

describe("valid replies round-trip", () => {
  it("encoded replies parse back to their model, whole and at arbitrary splits", () => {
    fc.assert(
      fc.property(fc.array(model, { minLength: 1, maxLength: 12 }), cuts, (models, at) => {
        const buf = Buffer.concat(models.map(encodeModel))
        const p = C.makeReplyParser()
        const replies = feed(p.push, buf, at)
        assert.isUndefined(p.error, p.error?.message)
        assert.strictEqual(replies.length, models.length)
        models.forEach((m, i) => checkReply(m, replies[i]))
        assert.strictEqual(p.buffered, 0)
      }),
      RUNS
    )
  })
  it("at every single split point", () => {
    fc.assert(
      fc.property(fc.array(model, { minLength: 1, maxLength: 4 }), (models) => {
        const buf = Buffer.concat(models.map(encodeModel))
        for (let at = 0; at <= buf.length; at++) {
          const p = C.makeReplyParser()
          const replies = [...p.push(buf.subarray(0, at)), ...p.push(buf.subarray(at))]
          assert.isUndefined(p.error)
          models.forEach((m, i) => checkReply(m, replies[i]))
        }
      }),
      { numRuns: 60 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Client encoders → CommandParser → reply encoders → ReplyParser
// ---------------------------------------------------------------------------------------------

const exptime = fc.integer({ min: -1, max: 0x7fffffff })
const noreply = fc.boolean()
const storage = fc.constantFrom<C.StorageCommand>("set", "add", "replace", "append", "prepend", "cas")

/** One client request: its bytes, what the server must parse, and a reply the server could send. */
interface Exchange {
  readonly request: Buffer
  readonly check: (c: S.Command) => void
  /** How many commands the request is (a quiet multi-get is one `mg` per key and an `mn`). */
  readonly count?: number
  readonly reply: Buffer
  readonly checkReply: (r: ReadonlyArray<C.Reply>) => void
}

const expectTag = (tag: string) => (rs: ReadonlyArray<C.Reply>) => assert.deepStrictEqual(rs.map((r) => r._tag), [tag])

const exchange: fc.Arbitrary<Exchange> = fc.oneof(
  fc.record({
    cmd: fc.constantFrom<C.RetrievalCommand>("get", "gets"),
    keys: fc.array(key, { minLength: 1, maxLength: 5 }),
    flags: u32,
    value,
    cas: u64
  }).map(
    ({ cmd, keys, flags, value, cas }): Exchange => ({
      request: Buffer.from(C.encodeGet(cmd, keys), "latin1"),
      check: (c) => assert.deepStrictEqual(c, { _tag: "Get", command: cmd, keys, exptime: 0 }),
      reply: Buffer.concat([
        ...keys.map((k) => S.encodeValue(k, flags, value, cmd === "gets" ? cas : undefined)),
        S.Replies.END
      ]),
      checkReply: (rs) => {
        assert.strictEqual(rs.length, keys.length + 1)
        keys.forEach((k, i) =>
          checkReply({ tag: "Value", key: k, flags, value, cas: cmd === "gets" ? cas : undefined }, rs[i])
        )
        assert.strictEqual(rs[keys.length], C.End)
      }
    })
  ),
  fc.record({
    cmd: fc.constantFrom<"gat" | "gats">("gat", "gats"),
    keys: fc.array(key, { minLength: 1, maxLength: 3 }),
    exptime
  }).map(
    ({ cmd, keys, exptime }): Exchange => ({
      request: Buffer.from(C.encodeGat(cmd, exptime, keys), "latin1"),
      check: (c) => assert.deepStrictEqual(c, { _tag: "Get", command: cmd, keys, exptime }),
      reply: S.Replies.END,
      checkReply: expectTag("End")
    })
  ),
  fc.record({ cmd: storage, key, flags: u32, exptime, value, cas: u64, noreply }).map(
    ({ cmd, key, flags, exptime, value, cas, noreply }): Exchange => ({
      request: C.encodeStorage(cmd, key, flags, exptime, value, cas, noreply),
      check: (c) => {
        assert(c._tag === "Store")
        assert.deepStrictEqual(
          [c.command, c.key, c.flags, c.exptime, c.cas, Buffer.from(c.data), c.noreply, c.tooLarge],
          [cmd, key, flags, exptime, cmd === "cas" ? cas : 0n, Buffer.from(value), noreply, false]
        )
      },
      reply: S.Replies.STORED,
      checkReply: expectTag("Stored")
    })
  ),
  fc.record({ key, exptime, noreply }).map(({ key, exptime, noreply }): Exchange => ({
    request: Buffer.from(C.encodeTouch(key, exptime, noreply), "latin1"),
    check: (c) => assert.deepStrictEqual(c, { _tag: "Touch", key, exptime, noreply }),
    reply: S.Replies.TOUCHED,
    checkReply: expectTag("Touched")
  })),
  fc.record({ key, noreply }).map(({ key, noreply }): Exchange => ({
    request: Buffer.from(C.encodeDelete(key, noreply), "latin1"),
    check: (c) => assert.deepStrictEqual(c, { _tag: "Delete", key, noreply }),
    reply: S.Replies.DELETED,
    checkReply: expectTag("Deleted")
  })),
  fc.record({ cmd: fc.constantFrom<"incr" | "decr">("incr", "decr"), key, delta: u64, result: u64, noreply }).map(
    ({ cmd, key, delta, result, noreply }): Exchange => ({
      request: Buffer.from(C.encodeIncrDecr(cmd, key, delta, noreply), "latin1"),
      check: (c) => assert.deepStrictEqual(c, { _tag: "Arithmetic", command: cmd, key, delta, noreply }),
      reply: S.encodeNumeric(result),
      checkReply: (rs) => assert.deepStrictEqual(rs, [{ _tag: "Numeric", value: result }])
    })
  ),
  fc.record({ delay: fc.integer({ min: 0, max: 0x7fffffff }), noreply }).map(({ delay, noreply }): Exchange => ({
    request: Buffer.from(C.encodeFlushAll(delay, noreply), "latin1"),
    check: (c) => assert.deepStrictEqual(c, { _tag: "FlushAll", delay, noreply }),
    reply: S.Replies.OK,
    checkReply: expectTag("Ok")
  })),
  fc.constant<Exchange>({
    request: Buffer.from(C.encodeVersion()),
    check: (c) => assert.deepStrictEqual(c, { _tag: "Version" }),
    reply: S.encodeVersion("1.6.18"),
    checkReply: (rs) => assert.deepStrictEqual(rs, [{ _tag: "Version", version: "1.6.18" }])
  }),
  fc.record({ level: u32, noreply }).map(({ level, noreply }): Exchange => ({
    request: Buffer.from(C.encodeVerbosity(level, noreply)),
    check: (c) => assert.deepStrictEqual(c, { _tag: "Verbosity", level, noreply }),
    reply: S.Replies.OK,
    checkReply: expectTag("Ok")
  })),
  fc.record({ arg: fc.constantFrom(undefined, "settings", "items", "slabs"), n: fc.integer({ min: 0, max: 1000 }) })
    .map(({ arg, n }): Exchange => ({
      request: Buffer.from(C.encodeStats(arg)),
      check: (c) => assert.deepStrictEqual(c, { _tag: "Stats", args: arg === undefined ? [] : [arg] }),
      reply: S.encodeStats([["curr_items", n]]),
      checkReply: (rs) => assert.deepStrictEqual(rs, [{ _tag: "Stat", name: "curr_items", value: String(n) }, C.End])
    })),
  fc.record({ key, cas: fc.boolean(), touch: fc.option(exptime, { nil: undefined }), flags: u32, casv: u64, value })
    .map(
      ({ key, cas, touch, flags, casv, value }): Exchange => ({
        request: Buffer.from(M.encodeMetaGetItem(key, cas, touch)),
        check: (c) => {
          assert(c._tag === "Meta")
          const want = [...(touch === undefined ? [] : [`T${touch}`]), "v", "f", ...(cas ? ["c"] : []), "k"]
          assert.deepStrictEqual([c.command, c.key, c.flags], ["mg", key, want])
        },
        reply: S.encodeMetaReply("VA", [`f${flags}`, ...(cas ? [`c${casv}`] : []), `k${key}`], value),
        checkReply: (rs) => {
          assert.strictEqual(rs.length, 1)
          checkReply({ tag: "Meta", code: "VA", flags, cas: cas ? casv : undefined, key, ttl: undefined, value }, rs[0])
        }
      })
    ),
  fc.record({ keys: fc.array(key, { minLength: 1, maxLength: 4 }), cas: fc.boolean() }).map((
    { keys, cas }
  ): Exchange => ({
    request: Buffer.from(M.encodeMetaGetMany(keys, { cas })),
    count: keys.length + 1,
    check: (c) => {
      assert(c._tag === "Meta")
      if (c.command === "mn") return
      assert.strictEqual(c.command, "mg")
      assert.includeMembers(keys, [c.key])
      assert.deepStrictEqual(c.flags, ["k", "v", "f", ...(cas ? ["c"] : []), "q"])
    },
    reply: Buffer.concat([...keys.map((k) => S.encodeMetaReply("VA", [`f1`, `k${k}`], Buffer.from(k))), S.Replies.MN]),
    checkReply: (rs) => {
      assert.strictEqual(rs.length, keys.length + 1)
      keys.forEach((k, i) => {
        const r = rs[i]!
        assert(r._tag === "Meta")
        assert.isTrue(M.metaKeyIs(r, k))
      })
    }
  })),
  fc.record({ key, value, flags: u32, ttl: fc.integer({ min: 0, max: 0x7fffffff }), cas: u64 }).map((
    { key, value, flags, ttl, cas }
  ): Exchange => ({
    request: M.encodeMetaSet(key, value, { flags, ttl, returnCas: true, returnKey: true }),
    check: (c) => {
      assert(c._tag === "Meta")
      assert.deepStrictEqual([c.command, c.key, Buffer.from(c.data!)], ["ms", key, Buffer.from(value)])
      assert.includeMembers([...c.flags], ["c", "k"])
    },
    reply: S.encodeMetaReply("HD", [`c${cas}`, `k${key}`]),
    checkReply: (rs) => {
      const r = rs[0]!
      assert(r._tag === "Meta" && r.code === "HD")
      assert.strictEqual(M.metaToItem(r).cas, cas)
    }
  })),
  fc.record({ key, base64: fc.boolean() }).map(({ key, base64 }): Exchange => ({
    request: Buffer.from(M.encodeMetaDelete(key, { base64, quiet: true, returnKey: true })),
    check: (c) => {
      assert(c._tag === "Meta")
      assert.strictEqual(c.command, "md")
      assert.strictEqual(base64 ? M.decodeBase64Key(c.key)?.toString("utf8") : c.key, key)
    },
    reply: S.encodeMetaReply("NF", [`k${M.wireKey(key, base64)}`, ...(base64 ? ["b"] : [])]),
    checkReply: (rs) => {
      const r = rs[0]!
      assert(r._tag === "Meta" && r.code === "NF")
      assert.strictEqual(M.metaFlags(r).key, key)
    }
  })),
  fc.record({ key, delta: u64, result: u64 }).map(({ key, delta, result }): Exchange => ({
    request: Buffer.from(M.encodeMetaArithmetic(key, { delta, value: true })),
    check: (c) => {
      assert(c._tag === "Meta")
      assert.strictEqual(c.command, "ma")
    },
    reply: S.encodeMetaReply("VA", [], Buffer.from(String(result))),
    checkReply: (rs) => {
      const r = rs[0]!
      assert(r._tag === "Meta" && r.value !== undefined)
      assert.strictEqual(M.metaToItem(r).value.length, String(result).length)
      assert.strictEqual(parseU64Value(r.value), result)
    }
  })),
  fc.constant<Exchange>({
    request: Buffer.from(M.encodeMetaNoop()),
    check: (c) => assert.deepStrictEqual(c, { _tag: "Meta", command: "mn", key: "", flags: [], data: undefined }),
    reply: S.Replies.MN,
    checkReply: (rs) => assert.deepStrictEqual(rs.map((r) => r._tag === "Meta" && r.code), ["MN"])
  })
)

describe("client encoders → CommandParser → reply encoders → ReplyParser", () => {
  it("every command keeps its meaning both ways, at arbitrary splits", () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 6 }), cuts, cuts, (xs, at1, at2) => {
        const cp = S.makeCommandParser()
        const commands = feed(cp.push, Buffer.concat(xs.map((x) => x.request)), at1)
        assert.strictEqual(commands.length, xs.reduce((n, x) => n + (x.count ?? 1), 0))
        let j = 0
        for (const x of xs) {
          for (let k = 0; k < (x.count ?? 1); k++) x.check(commands[j++]!)
        }
        const rp = C.makeReplyParser()
        const replies = feed(rp.push, Buffer.concat(xs.map((x) => x.reply)), at2)
        assert.isUndefined(rp.error, rp.error?.message)
        let i = 0
        for (const x of xs) {
          // each exchange's replies are consumed in order; count them by re-parsing its own bytes
          const own = C.makeReplyParser().push(x.reply).length
          x.checkReply(replies.slice(i, i + own))
          i += own
        }
        assert.strictEqual(i, replies.length)
      }),
      RUNS
    )
  })
})

describe("number parsers agree with a reference", () => {
  const ref64 = (s: string): bigint => (/^\d{1,20}$/.test(s) && BigInt(s) <= 0xffffffffffffffffn ? BigInt(s) : -1n)
  const digits = fc.oneof(
    fc.stringMatching(/^[+-]?\d{0,24}$/),
    fc.bigInt({ min: 0n, max: 0x1ffffffffffffffffn }).map(String),
    fc.string({ maxLength: 6 })
  )
  it("parseU64 / parseU32 / parseUint (strict, reply side)", () => {
    fc.assert(
      fc.property(digits, (s) => {
        const b = Buffer.from(s, "latin1")
        assert.strictEqual(L.parseU64(b, 0, b.length), ref64(s), s)
        const r32 = /^\d{1,16}$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : -1
        assert.strictEqual(L.parseU32(b, 0, b.length), r32, s)
      }),
      { numRuns: 2000 }
    )
  })
  it("parseStrtol32 / parseStrtoul / parseStrtoull (memcached's safe_strto*, command side)", () => {
    fc.assert(
      fc.property(digits, (s) => {
        const b = Buffer.from(s, "latin1")
        const m = /^([+-]?)(\d{1,11})$/.exec(s)
        const l = m === null ? undefined : Number(m[1] === "-" ? -Number(m[2]) : Number(m[2]))
        assert.strictEqual(
          L.parseStrtol32(b, 0, b.length),
          l !== undefined && l >= -2147483648 && l <= 2147483647 ? l + 0 : undefined,
          s
        )
        const u = /^\+?\d+$/.exec(s) === null ? undefined : BigInt(s.replace("+", ""))
        assert.strictEqual(
          L.parseStrtoull(b, 0, b.length),
          u !== undefined && u <= 0xffffffffffffffffn ? u : undefined,
          s
        )
        const significant = s.replace(/^\+?0*(?=\d)/, "")
        assert.strictEqual(
          L.parseStrtoul(b, 0, b.length, 0xffffffff),
          u !== undefined && u <= 0xffffffffn && significant.length <= 15 ? Number(u) : undefined,
          s
        )
      }),
      { numRuns: 2000 }
    )
  })
})
