/**
 * Differential test of the meta protocol (mixed with the text protocol): a seeded random sequence of
 * thousands of commands over a few dozen keys, replayed against a real memcached and the in-memory
 * server, replies compared byte for byte except CAS uniques (compared by relation: the n-th distinct
 * CAS seen on one server must be the n-th on the other) and clock fields (`t`, `l`, `exp=`, `la=`,
 * compared within 2 seconds).
 *
 * The in-memory server runs in its `"1.6.18"` emulation, so the flags of later releases (`E`, `md x`,
 * `ms … MA N`) are among the hostile lines and must be answered exactly as 1.6.18 answers them.
 */
import { assert, describe, it } from "@effect/vitest"
import * as net from "node:net"
import * as MemoryServer from "../src/server/MemoryServer.js"
import { startMemcached } from "./support/memcached.js"

/** mulberry32 */
const rng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** One request; `{cas}`/`{low}` are replaced per server by the key's last seen CAS (or one below). */
interface Step {
  readonly key: string
  readonly text: string
}

const KEYS = Array.from({ length: 24 }, (_, i) => `k${i}`)
const BIN_KEYS = ["a b", "x\ty", "k1", "k2", "ü"]

export const generate = (seed: number, count: number): Array<Step> => {
  const r = rng(seed)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(r() * xs.length)]!
  const chance = (p: number) => r() < p
  const value = (): string => {
    if (chance(0.3)) return String(Math.floor(r() * 1000))
    const n = Math.floor(r() * 12)
    let s = ""
    for (let i = 0; i < n; i++) s += pick("abcdefghijklmnopqrstuvwxyz0123456789".split(""))
    return s
  }
  const ttl = () => pick([0, 0, 0, 100, 1000, 3000, -1])
  const shuffle = <A>(xs: Array<A>): Array<A> => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1))
      ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
    }
    return xs
  }
  const cas = () => pick(["C{cas}", "C{cas}", "C{low}", "C99999999999"])
  const steps: Array<Step> = []
  for (let n = 0; n < count; n++) {
    const binary = chance(0.1)
    const raw = binary ? pick(BIN_KEYS) : pick(KEYS)
    const key = binary ? Buffer.from(raw, "utf8").toString("base64") : raw
    const b = binary ? ["b"] : []
    const opaque = () => (chance(0.2) ? [`O${Math.floor(r() * 1000)}`] : [])
    const roll = r()
    let text: string
    if (roll < 0.22) {
      // mg
      const flags = shuffle(["v", "f", "c", "t", "s", "h", "l", "k", "q", "u"].filter(() => chance(0.35)))
      // (mg T-1 leaves memcached 1.6.18 reporting an unsigned-wrapped TTL: not compared.)
      if (chance(0.15)) flags.push(`T${pick([0, 100, 1000, 3000])}`)
      if (chance(0.12)) flags.push(`N${pick([100, 1000, 0])}`)
      if (chance(0.12)) flags.push(`R${pick([50, 500, 2000])}`)
      text = `mg ${key} ${shuffle([...flags, ...b, ...opaque()]).join(" ")}`.trimEnd()
    } else if (roll < 0.42) {
      // ms
      const v = value()
      const flags: Array<string> = []
      if (chance(0.4)) flags.push(`F${Math.floor(r() * 70000)}`)
      if (chance(0.5)) flags.push(`T${ttl()}`)
      if (chance(0.2)) flags.push(cas())
      if (chance(0.15)) flags.push("I")
      if (chance(0.3)) flags.push(`M${pick(["E", "A", "P", "R", "S"])}`)
      for (const f of ["c", "k", "q", "s"]) if (chance(0.2)) flags.push(f)
      text = `ms ${key} ${Buffer.byteLength(v)} ${shuffle([...flags, ...b, ...opaque()]).join(" ")}`.trimEnd() +
        `\r\n${v}`
    } else if (roll < 0.5) {
      // md
      const flags: Array<string> = []
      if (chance(0.2)) flags.push(cas())
      if (chance(0.35)) flags.push("I")
      if (chance(0.2)) flags.push(`T${pick([100, 1000])}`)
      for (const f of ["k", "q"]) if (chance(0.25)) flags.push(f)
      text = `md ${key} ${shuffle([...flags, ...b, ...opaque()]).join(" ")}`.trimEnd()
    } else if (roll < 0.6) {
      // ma
      const flags: Array<string> = []
      if (chance(0.3)) flags.push(`N${pick([0, 100, 1000])}`)
      if (chance(0.3)) flags.push(`J${Math.floor(r() * 100)}`)
      if (chance(0.5)) flags.push(`D${Math.floor(r() * 50)}`)
      if (chance(0.15)) flags.push(`T${pick([100, 1000])}`)
      if (chance(0.3)) flags.push(`M${pick(["I", "D", "+", "-"])}`)
      if (chance(0.1)) flags.push(cas())
      for (const f of ["v", "t", "c", "k", "q"]) if (chance(0.3)) flags.push(f)
      text = `ma ${key} ${shuffle([...flags, ...b, ...opaque()]).join(" ")}`.trimEnd()
    } else if (roll < 0.64) {
      text = binary ? `me ${key} b` : `me ${key}`
    } else if (roll < 0.66) {
      // hostile / invalid meta lines
      text = pick([
        `mg ${key} v v`,
        `mg ${key} v z`,
        `md ${key} q q`,
        `ma ${key} Mx`,
        `ms ${key} 2 MX\r\nzz`,
        `mg ${key} Tabc`,
        `mg ${key} O${"o".repeat(33)}`,
        `mg @@@ b v`,
        `ms ${key} 2 T1 T2\r\nhi`,
        `mg ${key} E5 v`,
        `ms ${key} 1 E7\r\ne`,
        `ms ${key} 1 MA N100\r\nn`,
        `md ${key} x`,
        `ma ${key} E9`,
        `ma ${key} Dx`,
        `ma ${key} D-1 v`,
        "mn",
        "mg",
        `ms ${key}`
      ])
    } else {
      // text protocol on the same keys (binary keys are text-reachable only when printable)
      const k = binary ? pick(KEYS) : raw
      const t = r()
      const v = value()
      const flags = Math.floor(r() * 100)
      const noreply = chance(0.1) ? " noreply" : ""
      if (t < 0.3) {
        text = `${
          pick(["set", "add", "replace", "append", "prepend"])
        } ${k} ${flags} ${ttl()} ${v.length}${noreply}\r\n${v}`
      } else if (t < 0.4) text = `cas ${k} ${flags} ${ttl()} ${v.length} {cas}${noreply}\r\n${v}`
      else if (t < 0.65) text = `${pick(["get", "gets"])} ${[k, pick(KEYS), pick(KEYS)].join(" ")}`
      else if (t < 0.72) text = `${pick(["gat", "gats"])} ${pick([100, 1000])} ${k}`
      else if (t < 0.8) text = `touch ${k} ${pick([100, 1000, -1])}${noreply}`
      else if (t < 0.9) text = `delete ${k}${noreply}`
      else text = `${pick(["incr", "decr"])} ${k} ${Math.floor(r() * 100)}${noreply}`
      steps.push({ key: k, text })
      continue
    }
    steps.push({ key: raw, text })
  }
  return steps
}

/**
 * A sequential connection: writes a command plus a sentinel `mg __end__ O<n> k` (a miss echoing a
 * unique opaque), reads until the sentinel's `EN` line, which ends the command's replies.
 */
const connect = (port: number) =>
  new Promise<{ send: (text: string) => Promise<string>; close: () => void }>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    let buf = ""
    let seq = 0
    let sentinel = ""
    let waiter: (() => void) | undefined
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1")
      if (buf.endsWith(sentinel)) waiter?.()
    })
    socket.once("error", reject)
    socket.once("connect", () =>
      resolve({
        send: (text) =>
          new Promise<string>((res) => {
            seq++
            sentinel = `EN O${seq} k__end__\r\n`
            waiter = () => {
              waiter = undefined
              const out = buf.slice(0, -sentinel.length)
              buf = ""
              res(out)
            }
            socket.write(Buffer.from(`${text}\r\nmg __end__ O${seq} k\r\n`, "latin1"))
          }),
        close: () => socket.destroy()
      }))
  })

/** Per-server state: last CAS seen per key, and the rank of every CAS value seen. */
class Transcript {
  readonly lastCas = new Map<string, bigint>()
  readonly ranks = new Map<string, number>()
  rank(cas: string): string {
    let r = this.ranks.get(cas)
    if (r === undefined) {
      r = this.ranks.size
      this.ranks.set(cas, r)
    }
    return `#${r}`
  }
  resolve(step: Step): string {
    const last = this.lastCas.get(step.key)
    return step.text
      .replace("{cas}", String(last ?? 99999999999n))
      .replace("{low}", String(last === undefined ? 99999999999n : last > 1n ? last - 1n : 0n))
  }
  /** Splits a reply into normalized tokens (data blocks verbatim); records the CAS values seen. */
  normalize(step: Step, reply: string): Array<string> {
    const out: Array<string> = []
    let pos = 0
    while (pos < reply.length) {
      const eol = reply.indexOf("\r\n", pos)
      if (eol < 0) {
        out.push(`<partial ${reply.slice(pos)}>`)
        break
      }
      const line = reply.slice(pos, eol)
      pos = eol + 2
      const toks = line.split(" ")
      let data = -1
      if (toks[0] === "VALUE") {
        data = Number(toks[3])
        if (toks[4] !== undefined) {
          this.lastCas.set(toks[1]!, BigInt(toks[4]))
          toks[4] = this.rank(toks[4])
        }
      } else if (/^(VA|HD|EN|NS|EX|NF)$/.test(toks[0]!)) {
        if (toks[0] === "VA") data = Number(toks[1])
        for (let i = 1; i < toks.length; i++) {
          const m = /^c(\d+)$/.exec(toks[i]!)
          if (m !== null) {
            this.lastCas.set(step.key, BigInt(m[1]!))
            toks[i] = "c" + this.rank(m[1]!)
          }
        }
      } else if (toks[0] === "ME") {
        for (let i = 2; i < toks.length; i++) {
          const m = /^cas=(\d+)$/.exec(toks[i]!)
          if (m !== null) {
            this.lastCas.set(step.key, BigInt(m[1]!))
            toks[i] = "cas=" + this.rank(m[1]!)
          }
        }
      }
      out.push(...toks, "\\r\\n")
      if (data >= 0) {
        out.push(`<data ${JSON.stringify(reply.slice(pos, pos + data))}>`)
        pos += data + 2
      }
    }
    return out
  }
}

const CLOCK = /^(t|l|exp=|la=)(-?\d+)$/

/**
 * memcached rewrites a counter in place only when no other thread holds the item (an async LRU bump
 * may): otherwise the result is a fresh, never-fetched item. So after incr/decr/ma, `h` and `fetch=`
 * may differ until the key is stored again.
 */
const HIT = /^(h[01]|fetch=(yes|no))$/

/**
 * The same reason makes memcached's `ma … T<n>` act on the replaced item (do_add_delta hands back the
 * old one): the stored counter keeps its TTL. The in-memory server rewrites in place whenever the
 * number fits, so for such a key memcached may show the TTL from before the `ma` (`preTtl`, in ms of
 * the epoch, 0 = none) where the in-memory server shows the new one.
 */
const closeTo = (p: number, q: number): boolean => (p === -1) === (q === -1) && Math.abs(p - q) <= 2

const fromPre = (name: string, pre: number): number => {
  if (pre === 0) return -1
  const left = Math.ceil((pre - Date.now()) / 1000)
  return name === "exp=" ? -left : left
}

const sameTokens = (
  a: ReadonlyArray<string>,
  b: ReadonlyArray<string>,
  hitMayDiffer: boolean,
  preTtl: number | undefined
): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue
    if (hitMayDiffer && HIT.test(a[i]!) && HIT.test(b[i]!) && a[i]![0] === b[i]![0]) continue
    const x = CLOCK.exec(a[i]!)
    const y = CLOCK.exec(b[i]!)
    if (x === null || y === null || x[1] !== y[1]) return false
    const p = Number(x[2])
    const q = Number(y[2])
    if (closeTo(p, q)) continue
    if (preTtl !== undefined && (x[1] === "exp=" || x[1] === "t") && closeTo(p, fromPre(x[1], preTtl))) continue
    return false
  }
  return true
}

describe("meta protocol: in-memory server vs memcached 1.6 (differential)", () => {
  const seeds = (process.env.META_DIFF_SEEDS ?? "1,2,3").split(",").map(Number)
  for (const seed of seeds) {
    it(`seed ${seed}: 3000 mixed text and meta commands`, async () => {
      const mc = await startMemcached(["-t", "1"])
      const mem = MemoryServer.make({ emulate: "1.6.18" })
      try {
        const { port } = await mem.listen({ port: 0 })
        const real = await connect(mc.port)
        const ours = await connect(port)
        const steps = generate(seed, 3000)
        const tr = new Transcript()
        const to = new Transcript()
        const history: Array<[string, string]> = []
        const counted = new Set<string>()
        const preTtl = new Map<string, number>()
        for (const step of steps) {
          const verb = step.text.slice(0, step.text.indexOf(" ") >>> 0)
          if (verb === "ma" && / T\d/.test(step.text) && !preTtl.has(step.key)) {
            const held = mem.peek(Buffer.from(step.key, "utf8").toString("latin1"))
            if (held !== undefined) preTtl.set(step.key, held.exptime)
          }
          const a = await real.send(tr.resolve(step))
          const b = await ours.send(to.resolve(step))
          history.push([step.key, `${to.resolve(step)} => ${JSON.stringify(b)} (memcached ${JSON.stringify(a)})`])
          const na = tr.normalize(step, a)
          const nb = to.normalize(step, b)
          if (verb === "ma" || verb === "incr" || verb === "decr") counted.add(step.key)
          else if (
            /^(ms|set|add|replace|append|prepend|cas|delete|md|touch|gat|gats)$/.test(verb) ||
            (verb === "mg" && / T\d/.test(step.text))
          ) {
            counted.delete(step.key)
            preTtl.delete(step.key)
          }
          if (!sameTokens(na, nb, counted.has(step.key), preTtl.get(step.key))) {
            assert.fail(
              `step ${history.length}: ${JSON.stringify(tr.resolve(step))}\n memcached: ${
                JSON.stringify(a)
              }\n in-memory: ${JSON.stringify(b)}\nhistory of ${step.key}:\n${
                history.filter((h) => h[0] === step.key).slice(-12).map((h) => h[1]).join("\n")
              }`
            )
          }
        }
        real.close()
        ours.close()
      } finally {
        await mc.stop()
        await mem.close()
      }
    }, 60_000)
  }
})
