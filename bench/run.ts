/**
 * Benchmark orchestrator:
 * `npm run bench [-- --quick] [--json FILE] [--md FILE] [--reps N] [--only a,b] [--dist PATH/dist]
 * [--baseline PATH/dist]`.
 *
 * Starts 4 memcached processes on free loopback ports (`-t 1 -m 1024 -I 2m`) and a black-hole
 * server, runs every contender in its own Node process (one at a time: the box has 2 cores), repeats
 * with the contender order rotated, verifies what each contender wrote with the raw client, checks
 * that memcached evicted nothing, stops the servers by PID and prints a Markdown report in which every
 * figure is also given as a ratio to the scenario's reference (`REF`: the best raw form for it) measured in
 * the same repetition (median of the ratios), next to client CPU and memcached's CPU per operation.
 * `--dist` points the effect-memcached lines at another build's `dist/`; `--baseline` adds a line
 * `effect-memcached@baseline` (the defaults line over another build's `dist/`) run in the same
 * repetitions, rotated with the others: a before/after comparison that a machine whose speed drifts
 * between two runs cannot skew (on this VM two runs minutes apart differed up to 2×).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { RawClient } from "./raw.js"
import {
  type ChildInput,
  type ChildOutput,
  type Counts,
  Expected,
  FULL,
  PEER_MGET,
  GET_POOL,
  getKey,
  LARGE_POOL,
  largeSetKey,
  MGET_POOL,
  mgetKey,
  QUICK,
  RESULT_PREFIX,
  sameValue,
  type ScenarioName,
  type ScenarioResult,
  SCENARIOS,
  SET_POOL,
  setKey
} from "./scenarios.js"

const HERE = path.dirname(fileURLToPath(import.meta.url))
const MEMCACHED = "/usr/bin/memcached"

// ---------------------------------------------------------------------------------------------
// Contenders: one line per client / variant. A new effect-memcached variant (meta protocol,
// auto-batching) is one more line here with its client options; `pending` lines are listed in the
// report but not run until the feature lands.
// ---------------------------------------------------------------------------------------------

interface ContenderLine {
  readonly label: string
  readonly file: string
  readonly variant: string
  readonly options: Record<string, unknown>
  readonly effect?: boolean
  /** Why the line is not run yet (feature not landed). */
  readonly pending?: string
  /** The line does more work per call (telemetry): its time limit is doubled. */
  readonly slow?: boolean
  /** The build this line measures (`--baseline`); otherwise `--dist` or this tree's. */
  readonly dist?: string
  /** Another project's client: full runs give it the shorter multi-get counts (`PEER_MGET`). */
  readonly peer?: boolean
  /**
   * An effect-memcached line's floor (the raw client plus one callback per call of its Effect version);
   * default `effect-floor`.
   */
  readonly floor?: string
}

const CONTENDERS: ReadonlyArray<ContenderLine> = [
  // References (always run): the raw client in its two get forms (see REF for which one each ratio uses).
  { label: "raw", file: "raw.ts", variant: "text get lines, multi-key get, text set", options: {} },
  { label: "raw-mg", file: "raw.ts", variant: "mg lines, text set", options: { get: "mg" } },
  // The Effect floor: raw + one Effect.async per call, same fibers as effect-memcached.
  { label: "effect-floor", file: "effect-floor.ts", variant: "raw + Effect.async", options: {} },
  // The client's defaults (protocol auto: meta on memcached 1.6).
  { label: "effect-memcached", file: "effect-memcached.ts", variant: "defaults", options: {}, effect: true },
  {
    label: "effect-memcached/text",
    file: "effect-memcached.ts",
    variant: "protocol text, autoBatch option on",
    options: { protocol: "text", autoBatch: true },
    effect: true
  },
  {
    label: "effect-memcached/text-no-batch",
    file: "effect-memcached.ts",
    variant: "protocol text, autoBatch off",
    options: { protocol: "text", autoBatch: false },
    effect: true
  },
  // The Effect 4 edition (packages/effect4), in a child process resolving Effect 4.1 from that workspace,
  // and its floor (raw + one Effect 4 `Effect.callback` per call).
  {
    label: "effect4-floor",
    file: "../../packages/effect4/bench/contenders/effect-floor.ts",
    variant: "raw + Effect.callback (Effect 4.1)",
    options: {}
  },
  {
    label: "effect-memcached-effect4",
    file: "../../packages/effect4/bench/effect-memcached-effect4.ts",
    variant: "Effect 4.1 edition, defaults",
    options: {},
    effect: true,
    floor: "effect4-floor"
  },
  {
    // The connect-step wrapper (engine/handshake.ts) on the hot path: ASCII authentication over plain
    // TCP (the bench's memcached has no -Y: the authentication set is answered STORED all the same).
    label: "effect-memcached/auth",
    file: "effect-memcached.ts",
    variant: "defaults + auth (handshake stream on every connection)",
    options: { auth: { username: "bench", password: "bench-password" } },
    effect: true
  },
  // Telemetry on (real OpenTelemetry SDK, spans and metrics exported to no-op sinks): the cost of leaving it on.
  {
    label: "effect-memcached/otel",
    file: "effect-memcached.ts",
    variant: "defaults + telemetry: {} (spans + metrics, OTel SDK)",
    options: { telemetry: {} },
    effect: true,
    slow: true
  },
  {
    label: "effect-memcached/otel-metrics",
    file: "effect-memcached.ts",
    variant: "defaults + telemetry: { tracing: false } (metrics only)",
    options: { telemetry: { tracing: false } },
    effect: true
  },
  { label: "memjs", file: "memjs.ts", variant: "binary", options: {}, peer: true },
  {
    label: "memjs+Effect.tryPromise",
    file: "memjs-effect.ts",
    variant: "binary, Promise API in Effect.tryPromise",
    options: {},
    peer: true
  },
  { label: "memcached", file: "memcached.ts", variant: "text", options: {}, peer: true },
  { label: "memcache-client", file: "memcache-client.ts", variant: "text", options: {}, peer: true }
]

/** Lines that always run (the ratios are to them). */
const ALWAYS = new Set(["raw", "raw-mg", "effect-floor"])

/**
 * The reference of each scenario's ratio: the best raw form for it. Single-key gets (and the mixed,
 * independent and large gets) → `raw-mg` (memcached 1.6 serves `mg` lines at a fraction of the server
 * CPU of text `get` lines); multi-gets → `raw` (one multi-key `get` per server, the cheapest form
 * there is); sets → `raw` (text `set`, the same in both raw lines).
 */
const REF: Readonly<Record<ScenarioName, { readonly label: string; readonly s: ScenarioName }>> = {
  get_1: { label: "raw-mg", s: "get_1" },
  get_10: { label: "raw-mg", s: "get_10" },
  get_100: { label: "raw-mg", s: "get_100" },
  get_1000: { label: "raw-mg", s: "get_1000" },
  indep_get: { label: "raw-mg", s: "get_100" },
  mixed_100: { label: "raw-mg", s: "mixed_100" },
  large_get: { label: "raw-mg", s: "large_get" },
  set_100: { label: "raw", s: "set_100" },
  setmany_10000: { label: "raw", s: "setmany_10000" },
  large_set: { label: "raw", s: "large_set" },
  mget_10: { label: "raw", s: "mget_10" },
  mget_100: { label: "raw", s: "mget_100" },
  mget_1000: { label: "raw", s: "mget_1000" },
  mget_10000: { label: "raw", s: "mget_10000" },
  mem: { label: "raw", s: "mem" }
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

interface Args {
  quick: boolean
  reps: number
  json: string | undefined
  md: string | undefined
  only: ReadonlyArray<string> | undefined
  includePending: boolean
  /** effect-memcached lines: measure this build's `dist/` (absolute path) instead of ours. */
  dist: string | undefined
  /** Also run the defaults line over this build's `dist/` (absolute path), as `effect-memcached@baseline`. */
  baseline: string | undefined
}

const parseArgs = (argv: ReadonlyArray<string>): Args => {
  const a: Args = {
    quick: false,
    reps: 3,
    json: undefined,
    md: undefined,
    only: undefined,
    includePending: false,
    dist: undefined,
    baseline: undefined
  }
  let repsSet = false
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]
    if (x === "--quick") a.quick = true
    else if (x === "--json") a.json = argv[++i]
    else if (x === "--md") a.md = argv[++i]
    else if (x === "--reps") {
      a.reps = Math.max(1, Math.min(20, Number(argv[++i]) || 3))
      repsSet = true
    } else if (x === "--only") a.only = (argv[++i] ?? "").split(",")
    else if (x === "--include-pending") a.includePending = true
    else if (x === "--dist" || x === "--baseline") {
      const d = path.resolve(argv[++i] ?? "")
      if (!fs.existsSync(path.join(d, "MemcachedClient.js"))) {
        throw new Error(`${x} ${d}: no MemcachedClient.js there`)
      }
      if (x === "--dist") a.dist = d
      else a.baseline = d
    } else if (x === "--help" || x === "-h") {
      process.stdout.write(
        "npm run bench -- [--quick] [--reps N] [--json FILE] [--md FILE] [--only raw,memjs,...] [--include-pending] [--dist PATH/dist] [--baseline PATH/dist]\n"
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${x}`)
  }
  if (a.quick && !repsSet) a.reps = 1
  return a
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

const started: Array<ChildProcess> = []

const stopAll = (): void => {
  for (const p of started) {
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, "SIGTERM")
      } catch {
        // already gone
      }
    }
  }
}
process.on("exit", stopAll)
process.on("SIGINT", () => {
  stopAll()
  process.exit(130)
})

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port })
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
  })

interface Server {
  readonly port: number
  readonly proc: ChildProcess
}

const startMemcached = async (): Promise<Server> => {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const args = ["-p", String(port), "-U", "0", "-l", "127.0.0.1", "-t", "1", "-m", "1024", "-I", "2m", "-c", "4096"]
    if (process.getuid?.() === 0) args.push("-u", "nobody")
    const proc = spawn(MEMCACHED, args, { stdio: ["ignore", "ignore", "pipe"] })
    started.push(proc)
    for (let i = 0; i < 50; i++) {
      if (proc.exitCode !== null) break
      if (await canConnect(port)) {
        // Make sure it is *our* memcached answering (a port can be taken between freePort and bind).
        const pid = await serverStats(port).then((st) => st.pid, () => undefined)
        if (proc.exitCode === null && pid === String(proc.pid)) return { port, proc }
        break
      }
      await sleep(50)
    }
    if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, "SIGTERM")
  }
  throw new Error("could not start memcached")
}

const startBlackhole = async (): Promise<Server> => {
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(HERE, "blackhole.ts")], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  started.push(proc)
  const port = await new Promise<number>((resolve, reject) => {
    let acc = ""
    const timer = setTimeout(() => reject(new Error("black-hole server did not start")), 20_000)
    proc.stdout!.on("data", (d: Buffer) => {
      acc += d.toString()
      const m = /BLACKHOLE_PORT (\d+)/.exec(acc)
      if (m !== null) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
  })
  return { port, proc }
}

const stopServer = async (s: Server): Promise<void> => {
  if (s.proc.pid === undefined || s.proc.exitCode !== null || s.proc.signalCode !== null) return
  const done = new Promise<void>((r) => s.proc.once("exit", () => r()))
  process.kill(s.proc.pid, "SIGTERM")
  await Promise.race([done, sleep(3000)])
}

/** `stats` of one server, on its own short-lived connection. */
const serverStats = (port: number): Promise<Record<string, string>> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port })
    let acc = ""
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error("stats timeout"))
    }, 5000)
    s.on("error", reject)
    s.on("data", (d: Buffer) => {
      acc += d.toString("latin1")
      if (acc.endsWith("END\r\n")) {
        clearTimeout(timer)
        s.destroy()
        const out: Record<string, string> = {}
        for (const line of acc.split("\r\n")) {
          const p = line.split(" ")
          if (p[0] === "STAT" && p[1] !== undefined) out[p[1]] = p.slice(2).join(" ")
        }
        resolve(out)
      }
    })
    s.write("stats\r\n")
  })

interface ChildRun {
  readonly output: ChildOutput | undefined
  readonly failure: string | undefined
  readonly wallSeconds: number
}

/**
 * Extra node/V8 flags for every contender process, from `BENCH_NODE_FLAGS` (space-separated; a
 * diagnostic, e.g. `--no-allocation-site-pretenuring` to see how much of a cell is V8 pretenuring luck;
 * see bench/README.md). Empty by default: the bench measures node as users run it.
 */
const CHILD_FLAGS = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f.length > 0)

const runChild = (line: ContenderLine, input: ChildInput, timeoutMs: number): Promise<ChildRun> =>
  new Promise((resolve) => {
    const t0 = Date.now()
    const proc = spawn(
      process.execPath,
      [
        ...CHILD_FLAGS,
        "--expose-gc",
        "--import",
        "tsx",
        path.join(HERE, "contenders", line.file),
        JSON.stringify(input)
      ],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    started.push(proc)
    let out = ""
    let err = ""
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()))
    proc.stderr!.on("data", (d: Buffer) => (err += d.toString()))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      if (proc.pid !== undefined) process.kill(proc.pid, "SIGKILL")
    }, timeoutMs)
    proc.on("exit", (code, signal) => {
      clearTimeout(timer)
      const wallSeconds = (Date.now() - t0) / 1000
      const lines = out.split("\n").filter((l) => l.startsWith(RESULT_PREFIX))
      const last = lines[lines.length - 1]
      if (last === undefined) {
        const why = timedOut ? `timed out after ${timeoutMs / 1000}s` : `exited ${code ?? signal} without a result`
        resolve({ output: undefined, failure: `${why}: ${err.trim().split("\n").slice(-5).join(" | ")}`, wallSeconds })
        return
      }
      const output = JSON.parse(last.slice(RESULT_PREFIX.length)) as ChildOutput
      resolve({ output, failure: output.error, wallSeconds })
    })
  })

// ---------------------------------------------------------------------------------------------
// Verification of what a contender wrote (with the raw client)
// ---------------------------------------------------------------------------------------------

interface Verify {
  /** bad seeded get-pool values (written by the contender's set) */
  getPool: number
  /** bad set-pool values (set_100, setmany_10000) */
  setPool: number
  /** bad large_set values */
  largeSet: number
  /** mget-pool keys not found with the right value on any server */
  mgetPool: number
}

const verify = async (
  single: string,
  multi: ReadonlyArray<string>,
  tag: string,
  ran: ReadonlySet<ScenarioName>
): Promise<Verify> => {
  const exp = new Expected(tag)
  const v: Verify = { getPool: 0, setPool: 0, largeSet: 0, mgetPool: 0 }
  const one = await RawClient.connect([single])
  try {
    const batch = async (keys: Array<string>, expected: (i: number) => Parameters<typeof sameValue>[1]) => {
      let bad = 0
      for (let off = 0; off < keys.length; off += 100) {
        const ks = keys.slice(off, off + 100)
        const m = await one.getMulti(ks)
        ks.forEach((k, j) => {
          const got = m.get(k)
          if (got === undefined || !sameValue(got, expected(off + j))) bad++
        })
      }
      return bad
    }
    v.getPool = await batch(Array.from({ length: GET_POOL }, (_, i) => getKey(i)), (i) => exp.get[i]!)
    if (ran.has("set_100") || ran.has("setmany_10000")) {
      v.setPool = await batch(Array.from({ length: SET_POOL }, (_, i) => setKey(i)), (i) => exp.set[i]!)
    }
    if (ran.has("large_set")) {
      for (let i = 0; i < LARGE_POOL; i++) {
        const got = await one.get(largeSetKey(i))
        if (got === undefined || Buffer.compare(got, exp.largeSet[i]!.buf) !== 0) v.largeSet++
      }
    }
  } finally {
    one.close()
  }
  if (ran.has("mget_10") || ran.has("mget_100") || ran.has("mget_1000") || ran.has("mget_10000")) {
    const ok = new Set<string>()
    for (const s of multi) {
      const c = await RawClient.connect([s])
      try {
        for (let off = 0; off < MGET_POOL; off += 100) {
          const ks = Array.from({ length: Math.min(100, MGET_POOL - off) }, (_, j) => mgetKey(off + j))
          const m = await c.getMulti(ks)
          for (const k of ks) {
            const got = m.get(k)
            if (got !== undefined && sameValue(got, exp.mget.get(k)!)) ok.add(k)
          }
        }
      } finally {
        c.close()
      }
    }
    v.mgetPool = MGET_POOL - ok.size
  }
  return v
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

interface Record_ {
  readonly rep: number
  readonly label: string
  readonly load: ReadonlyArray<number>
  readonly run: ChildRun
  readonly verify: Verify | undefined
}

const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return NaN
  const s = xs.slice().sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return "—"
  const a = Math.abs(x)
  if (a >= 1e6) return `${(x / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`
  if (a >= 1e4) return `${Math.round(x / 1e3)}k`
  if (a >= 1e3) return `${(x / 1e3).toFixed(1)}k`
  if (a >= 100) return x.toFixed(0)
  return x.toFixed(1)
}
const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "—")

/** The result of scenario `s` of a record, with verification failures folded in. */
const resultOf = (r: Record_, s: ScenarioName): ScenarioResult | undefined => r.run.output?.results[s]

const failureOf = (r: Record_, s: ScenarioName): string | undefined => {
  if (r.run.output === undefined) return `CRASH`
  const res = resultOf(r, s)
  if (res === undefined) return r.run.failure !== undefined ? "ERROR" : undefined
  const v = r.verify
  let wrong = res.wrong
  if (v !== undefined) {
    if (s === "set_100" || s === "setmany_10000") wrong += v.setPool
    if (s === "large_set") wrong += v.largeSet
    if (s.startsWith("mget_")) wrong += v.mgetPool
    if (s.startsWith("get_") || s === "indep_get" || s === "mixed_100") wrong += v.getPool
  }
  if (res.misses + res.errors + wrong > 0) return `FAIL (miss ${res.misses}, err ${res.errors}, wrong ${wrong})`
  return undefined
}

interface Cell {
  readonly rate: number
  readonly ratio: number
  readonly min: number
  readonly max: number
  readonly fail: string | undefined
  readonly reps: number
}

type Metric = "rate" | "cpu" | "server"

const metricOf = (r: ScenarioResult, m: Metric): number =>
  m === "rate" ? r.rate : m === "cpu" ? r.cpuUsPerOp : (r.serverUsPerOp ?? NaN)

/** Median value of `label`'s `s` over repetitions, and median per-repetition ratio to `ref` (default REF[s]). */
const cellOf = (
  records: ReadonlyArray<Record_>,
  label: string,
  s: ScenarioName,
  metric: Metric,
  ref: { readonly label: string; readonly s: ScenarioName } = REF[s]
): Cell => {
  const mine = records.filter((r) => r.label === label)
  const rates: Array<number> = []
  const ratios: Array<number> = []
  let fail: string | undefined
  for (const r of mine) {
    const f = failureOf(r, s)
    if (f !== undefined) fail ??= `${f} (rep ${r.rep})`
    const res = resultOf(r, s)
    if (res === undefined) continue
    const val = metricOf(res, metric)
    rates.push(val)
    const refRec = records.find((x) => x.rep === r.rep && x.label === ref.label)
    const refRes = refRec !== undefined ? resultOf(refRec, ref.s) : undefined
    if (refRes !== undefined) ratios.push(val / metricOf(refRes, metric))
  }
  return {
    rate: median(rates),
    ratio: median(ratios),
    min: Math.min(...rates),
    max: Math.max(...rates),
    fail,
    reps: rates.length
  }
}

const SINGLE_COLUMNS: ReadonlyArray<{ s: ScenarioName; title: string }> = [
  { s: "get_1", title: "get, 1 in flight" },
  { s: "get_10", title: "get, 10 in flight" },
  { s: "get_100", title: "get, 100 in flight" },
  { s: "get_1000", title: "get, 1 000 in flight" },
  { s: "indep_get", title: "get, 100 independent fibers (ref raw-mg get@100)" },
  { s: "set_100", title: "set, 100 in flight" },
  { s: "mixed_100", title: "90/10 get/set, 100 in flight, 1 000 keys" }
]
const BULK_COLUMNS: ReadonlyArray<{ s: ScenarioName; title: string }> = [
  { s: "mget_10", title: "multi-get 10 keys [keys/s]" },
  { s: "mget_100", title: "multi-get 100 keys [keys/s]" },
  { s: "mget_1000", title: "multi-get 1 000 keys [keys/s]" },
  { s: "mget_10000", title: "multi-get 10 000 keys [keys/s]" },
  { s: "setmany_10000", title: "setMany 10 000 values [values/s]" },
  { s: "large_set", title: "set 512 KiB [MiB/s]" },
  { s: "large_get", title: "get 512 KiB [MiB/s]" }
]
const COLUMNS: ReadonlyArray<{ s: ScenarioName; title: string }> = [...SINGLE_COLUMNS, ...BULK_COLUMNS]

interface Target {
  readonly name: string
  readonly s: ScenarioName
  readonly metric: Metric | "mem"
  readonly op: ">=" | "<="
  readonly bound: number
  /** Reference (default REF[s]). */
  readonly ref?: { readonly label: string; readonly s: ScenarioName }
}

/** The targets of issue 18, each against the reference it names. */
const TARGETS: ReadonlyArray<Target> = [
  { name: "get@100 ≥ 1.0× raw-mg", s: "get_100", metric: "rate", op: ">=", bound: 1.0 },
  { name: "get@1000 ≥ 0.9× raw-mg", s: "get_1000", metric: "rate", op: ">=", bound: 0.9 },
  { name: "independent gets ≥ 1.0× raw-mg get@100", s: "indep_get", metric: "rate", op: ">=", bound: 1.0 },
  {
    name: "independent gets: server CPU/key ≤ 1.2× raw multi-get 100",
    s: "indep_get",
    metric: "server",
    op: "<=",
    bound: 1.2,
    ref: { label: "raw", s: "mget_100" }
  },
  {
    name: "set@100 ≥ 0.95× its floor",
    s: "set_100",
    metric: "rate",
    op: ">=",
    bound: 0.95,
    ref: { label: "effect-floor", s: "set_100" }
  },
  {
    name: "set@100 client CPU/op ≤ 1.05× its floor",
    s: "set_100",
    metric: "cpu",
    op: "<=",
    bound: 1.05,
    ref: { label: "effect-floor", s: "set_100" }
  },
  { name: "multi-get 100 ≥ 1.0× raw", s: "mget_100", metric: "rate", op: ">=", bound: 1.0 },
  { name: "multi-get 1 000 ≥ 1.0× raw", s: "mget_1000", metric: "rate", op: ">=", bound: 1.0 },
  { name: "multi-get 10 000 ≥ 1.0× raw", s: "mget_10000", metric: "rate", op: ">=", bound: 1.0 },
  { name: "multi-get 100 client CPU/key ≤ 1.2× raw", s: "mget_100", metric: "cpu", op: "<=", bound: 1.2 },
  { name: "multi-get 10 000 client CPU/key ≤ 1.2× raw", s: "mget_10000", metric: "cpu", op: "<=", bound: 1.2 },
  { name: "memory per in-flight get ≤ 1 KiB beyond the caller's fiber", s: "mem", metric: "mem", op: "<=", bound: 1024 }
]

const machine = (): Record<string, string> => {
  const cpus = os.cpus()
  let mc = "?"
  try {
    mc = execFileSync(MEMCACHED, ["-V"]).toString().trim()
  } catch {
    // not fatal
  }
  const pkg = (name: string): string => {
    try {
      return JSON.parse(fs.readFileSync(path.join(HERE, "..", "node_modules", name, "package.json"), "utf8")).version
    } catch {
      return "?"
    }
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    memcached: mc,
    cpu: `${cpus[0]?.model ?? "?"} x ${cpus.length}`,
    os: `${os.type()} ${os.release()}`,
    effect: pkg("effect"),
    "effect (v4 edition)": (() => {
      try {
        return JSON.parse(
          fs.readFileSync(
            path.join(HERE, "..", "packages", "effect4", "node_modules", "effect", "package.json"),
            "utf8"
          )
        ).version
      } catch {
        return "?"
      }
    })(),
    memjs: pkg("memjs"),
    "memcached (npm)": pkg("memcached"),
    "memcache-client": pkg("memcache-client")
  }
}

const report = (
  args: Args,
  counts: Counts,
  mach: Record<string, string>,
  lines: ReadonlyArray<ContenderLine>,
  skipped: ReadonlyArray<ContenderLine>,
  records: ReadonlyArray<Record_>,
  serverLog: ReadonlyArray<string>,
  evictionsTotal: number
): string => {
  const o: Array<string> = []
  const labels = lines.map((l) => l.label)
  o.push(`# effect-memcached benchmark${args.quick ? " (--quick)" : ""}`)
  o.push("")
  o.push("```")
  for (const [k, v] of Object.entries(mach)) o.push(`${k}: ${v}`)
  o.push(`reps: ${args.reps}  counts: ${JSON.stringify(counts)}`)
  if (!args.quick) o.push(`other projects' clients: ${JSON.stringify(PEER_MGET)}`)
  o.push("```")
  o.push("")
  if (args.dist !== undefined) o.push(`effect-memcached lines measure the build at \`${args.dist}\`.`, "")
  if (args.baseline !== undefined) {
    o.push(`\`effect-memcached@baseline\` measures the build at \`${args.baseline}\` in the same repetitions.`, "")
  }
  o.push(
    "Each cell: median over repetitions of the absolute rate, and (in parentheses) the median of the per-repetition " +
      "ratios to the scenario's reference measured in the same repetition: `raw-mg` (pipelined `mg <key> v` lines) " +
      "for single-key gets, the mixed and the independent gets and the 512 KiB get; `raw` (one multi-key `get` per " +
      "server) for multi-gets; `raw` (pipelined text `set`) for sets and setMany. `effect-floor` = the raw client plus " +
      "one `Effect.async` per call on the same fibers: what any Effect 3 client costs at least. `FAIL` = a miss, an " +
      "error or a WRONG value in that scenario (a fast wrong client is a failed run)."
  )
  o.push("")
  o.push(
    evictionsTotal === 0
      ? "Server check: **0 evictions** on all 4 memcached servers after every repetition."
      : `Server check: **${evictionsTotal} EVICTIONS** — results are not valid.`
  )
  o.push("")
  const rateTable = (title: string, cols: typeof COLUMNS) => {
    o.push(`## ${title}`, "")
    o.push(`| client | ${cols.map((c) => c.title).join(" | ")} |`)
    o.push(`|---|${cols.map(() => "---:").join("|")}|`)
    for (const label of labels) {
      const cells = cols.map((c) => {
        const cell = cellOf(records, label, c.s, "rate")
        if (cell.fail !== undefined) return `**${cell.fail}**${cell.reps > 0 ? ` ${fmt(cell.rate)}` : ""}`
        if (cell.reps === 0) return "—"
        return `${fmt(cell.rate)} (${fmtRatio(cell.ratio)})`
      })
      o.push(`| ${label} | ${cells.join(" | ")} |`)
    }
    for (const l of skipped) o.push(`| ${l.label} | ${cols.map(() => "n/a").join(" | ")} |`)
    o.push("")
  }
  const cpuTable = (title: string, cols: typeof COLUMNS) => {
    o.push(`## ${title}`, "")
    o.push(
      "Each cell: client CPU µs per op (ratio to the reference) / memcached CPU µs per op (ratio), per key for " +
        "multi-gets and per value for setMany. memcached's CPU is the `rusage_user + rusage_system` delta of `stats` " +
        "around the measured window, summed over the servers used.",
      ""
    )
    o.push(`| client | ${cols.map((c) => c.s).join(" | ")} |`)
    o.push(`|---|${cols.map(() => "---:").join("|")}|`)
    for (const label of labels) {
      const cells = cols.map((c) => {
        const cl = cellOf(records, label, c.s, "cpu")
        const sv = cellOf(records, label, c.s, "server")
        if (cl.reps === 0) return "—"
        return `${cl.rate.toFixed(2)} (${fmtRatio(cl.ratio)}) / ${sv.rate.toFixed(2)} (${fmtRatio(sv.ratio)})`
      })
      o.push(`| ${label} | ${cells.join(" | ")} |`)
    }
    o.push("")
  }
  rateTable("Single-key [ops/s]", SINGLE_COLUMNS)
  rateTable("Multi-key and large values", BULK_COLUMNS)
  if (skipped.length > 0) {
    for (const l of skipped) o.push(`- \`${l.label}\` not run: ${l.pending ?? "excluded by --only"}`)
    o.push("")
  }
  cpuTable("CPU per op, single-key: client / memcached", SINGLE_COLUMNS)
  cpuTable("CPU per key, multi-key and large values: client / memcached", BULK_COLUMNS)

  o.push("## get, 1 in flight: latency; memory")
  o.push("")
  o.push("| client | p50 µs | p99 µs | heap B per in-flight get |")
  o.push("|---|---:|---:|---:|")
  for (const label of labels) {
    const mine = records.filter((r) => r.label === label)
    const p50 = median(mine.map((r) => resultOf(r, "get_1")?.p50Us ?? NaN).filter(Number.isFinite))
    const p99 = median(mine.map((r) => resultOf(r, "get_1")?.p99Us ?? NaN).filter(Number.isFinite))
    const mem = median(mine.map((r) => resultOf(r, "mem")?.bytesPerReq ?? NaN).filter(Number.isFinite))
    o.push(`| ${label} | ${fmt(p50)} | ${fmt(p99)} | ${Number.isFinite(mem) ? mem.toFixed(0) : "—"} |`)
  }
  o.push("")
  o.push(
    "Heap per in-flight get: heapUsed delta after forced GC with N gets pending against a black-hole server. " +
      "For Promise clients it includes the pending Promise; for the Effect lines it is measured beyond an idle fiber " +
      "(N fibers doing `get` minus N idle fibers blocked in an `Effect.async` that never resumes)."
  )
  o.push("")

  o.push("## Targets (issue 18; effect-memcached lines, each against the reference it names)")
  o.push("")
  const effectLines = lines.filter((l) => l.effect === true)
  if (effectLines.length === 0) o.push("No effect-memcached line ran.")
  else {
    o.push(
      "`its floor`: the same ratio for the line's Effect floor (`effect-floor`, or `effect4-floor` for the Effect 4 " +
        "edition) in the same repetitions; a target its floor misses too is marked floor-bound: no client of that " +
        "Effect version that completes each call through one callback reaches it on this machine. Targets against " +
        "the floor use the line's own floor.",
      ""
    )
    o.push("| variant | target | measured | its floor | met |")
    o.push("|---|---|---:|---:|:---:|")
    const meets = (t: Target, x: number) => Number.isFinite(x) && (t.op === ">=" ? x >= t.bound : x <= t.bound)
    for (const l of effectLines) {
      const floor = l.floor ?? "effect-floor"
      for (const t0 of TARGETS) {
        const t = t0.ref?.label === "effect-floor" ? { ...t0, ref: { ...t0.ref, label: floor } } : t0
        let measured: number
        let fail: string | undefined
        let floorRatio = NaN
        if (t.metric === "mem") {
          const mine = records.filter((r) => r.label === l.label)
          measured = median(mine.map((r) => resultOf(r, "mem")?.bytesPerReq ?? NaN).filter(Number.isFinite))
        } else {
          const c = cellOf(records, l.label, t.s, t.metric, t.ref)
          measured = c.ratio
          fail = c.fail
          if (t.ref?.label !== floor) floorRatio = cellOf(records, floor, t.s, t.metric, t.ref).ratio
        }
        const ok = meets(t, measured)
        const shown = t.metric === "mem" ? `${fmt(measured)} B` : fmtRatio(measured)
        const bound = Number.isFinite(floorRatio) && !meets(t, floorRatio) ? ", floor-bound" : ""
        const met = fail !== undefined ? `NO (${fail})` : ok ? "**yes**" : `**NO**${bound}`
        const floorShown = Number.isFinite(floorRatio) ? fmtRatio(floorRatio) : "—"
        o.push(`| ${l.label} | ${t.name} | ${shown} | ${floorShown} | ${met} |`)
      }
    }
    for (const l of skipped.filter((x) => x.effect === true)) {
      o.push(`| ${l.label} | (all) | — | — | not run: ${l.pending ?? "excluded"} |`)
    }
  }
  o.push("")

  o.push("## Spread (min – max over repetitions)")
  o.push("")
  o.push(`| client | ${COLUMNS.map((c) => c.s).join(" | ")} |`)
  o.push(`|---|${COLUMNS.map(() => "---:").join("|")}|`)
  for (const label of labels) {
    const cells = COLUMNS.map((c) => {
      const cell = cellOf(records, label, c.s, "rate")
      return cell.reps === 0 ? "—" : `${fmt(cell.min)} – ${fmt(cell.max)}`
    })
    o.push(`| ${label} | ${cells.join(" | ")} |`)
  }
  o.push("")

  o.push("## Settings used per client")
  o.push("")
  for (const label of labels) {
    const r = records.find((x) => x.label === label && x.run.output !== undefined)
    o.push(`- **${label}**: ${r?.run.output?.settings ?? "(no result)"}`)
  }
  o.push("")

  const problems = records.filter((r) => r.run.failure !== undefined)
  if (problems.length > 0) {
    o.push("## Failed processes")
    o.push("")
    for (const r of problems) o.push(`- rep ${r.rep} ${r.label}: ${r.run.failure!.split("\n").slice(0, 4).join(" / ")}`)
    o.push("")
  }
  const errs: Array<string> = []
  for (const r of records) {
    for (const s of SCENARIOS) {
      const res = resultOf(r, s)
      if (res?.firstError !== undefined) errs.push(`- rep ${r.rep} ${r.label} ${s}: ${res.firstError}`)
    }
  }
  if (errs.length > 0) {
    o.push("## First error per scenario")
    o.push("")
    o.push(...errs)
    o.push("")
  }

  o.push("## Machine load at each process start (1/5/15-min loadavg) and server stats")
  o.push("")
  o.push("```")
  o.push(...serverLog)
  o.push("```")
  o.push("")
  return o.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  const args = parseArgs(process.argv.slice(2))
  const counts = args.quick ? QUICK : FULL
  const tStart = Date.now()
  const baseline: ReadonlyArray<ContenderLine> = args.baseline === undefined ? [] : [{
    label: "effect-memcached@baseline",
    file: "effect-memcached.ts",
    variant: `defaults, the build at ${args.baseline}`,
    options: {},
    effect: true,
    dist: args.baseline
  }]
  const all = [...CONTENDERS, ...baseline].filter((l) =>
    args.only === undefined || args.only.includes(l.label) || ALWAYS.has(l.label) || l.dist !== undefined
  )
  const lines = all.filter((l) => l.pending === undefined || args.includePending)
  const skipped = CONTENDERS.filter((l) => !lines.includes(l))
  const mach = machine()
  process.stderr.write(
    `bench: ${args.quick ? "quick" : "full"}, ${args.reps} reps, ${lines.map((l) => l.label).join(", ")}\n`
  )

  const servers: Array<Server> = []
  let blackhole: Server | undefined
  const records: Array<Record_> = []
  const serverLog: Array<string> = []
  let evictionsTotal = 0
  try {
    for (let i = 0; i < 4; i++) servers.push(await startMemcached())
    blackhole = await startBlackhole()
    const addr = (p: number) => `127.0.0.1:${p}`
    const single = addr(servers[0]!.port)
    const multi = servers.map((s) => addr(s.port))
    serverLog.push(
      `memcached ${
        servers.map((s) => `:${s.port} (pid ${s.proc.pid})`).join(", ")
      }: -t 1 -m 1024 -I 2m -U 0 -l 127.0.0.1; ` +
        `black hole :${blackhole.port} (pid ${blackhole.proc.pid})`
    )
    const timeoutMs = args.quick ? 60_000 : 600_000
    for (let rep = 1; rep <= args.reps; rep++) {
      const k = (rep - 1) % lines.length
      const order = [...lines.slice(k), ...lines.slice(0, k)]
      for (const line of order) {
        const tag = `${line.label}:r${rep}`
        const input: ChildInput = {
          contender: line.label,
          variant: line.variant,
          options: line.options,
          single,
          multi,
          blackhole: addr(blackhole.port),
          counts: line.peer === true && !args.quick ? { ...counts, ...PEER_MGET } : counts,
          tag,
          scenarios: SCENARIOS,
          dist: line.dist ?? (line.effect === true ? args.dist : undefined),
          quick: args.quick
        }
        const load = os.loadavg()
        serverLog.push(`rep ${rep} ${line.label} load ${load.map((x) => x.toFixed(2)).join(" ")}`)
        process.stderr.write(`rep ${rep}/${args.reps} ${line.label} ... `)
        const run = await runChild(line, input, line.slow === true ? 2 * timeoutMs : timeoutMs)
        let v: Verify | undefined
        if (run.output !== undefined) {
          const ran = new Set(Object.keys(run.output.results) as Array<ScenarioName>)
          try {
            v = await verify(single, multi, tag, ran)
          } catch (e) {
            run.output.results.set_100 && (run.output.results.set_100.errors += 1)
            serverLog.push(`rep ${rep} ${line.label} verification failed: ${String(e)}`)
          }
        }
        records.push({ rep, label: line.label, load, run, verify: v })
        const short = run.output === undefined
          ? `FAILED: ${run.failure}`
          : SCENARIOS.map((s) => {
            const r = run.output!.results[s]
            return r === undefined ? `${s}=—` : `${s}=${fmt(r.rate)}`
          }).join(" ")
        process.stderr.write(
          `${run.wallSeconds.toFixed(1)}s ${short}${
            run.failure && run.output ? ` ERROR ${run.failure.split("\n")[0]}` : ""
          }\n`
        )
      }
      serverLog.push(`rep ${rep} server stats at end (evictions must be 0):`)
      for (const s of servers) {
        const st = await serverStats(s.port)
        const ev = Number(st.evictions ?? "NaN")
        evictionsTotal += Number.isFinite(ev) ? ev : 1
        serverLog.push(`  :${s.port} bytes=${st.bytes} curr_items=${st.curr_items} evictions=${st.evictions}`)
      }
    }
  } finally {
    for (const s of servers) await stopServer(s)
    if (blackhole !== undefined) await stopServer(blackhole)
  }

  const md = report(args, counts, mach, lines, skipped, records, serverLog, evictionsTotal)
  process.stdout.write(md + "\n")
  process.stderr.write(`bench: done in ${((Date.now() - tStart) / 1000).toFixed(1)}s\n`)
  if (args.md !== undefined) fs.writeFileSync(args.md, md + "\n")
  if (args.json !== undefined) {
    const summary: Record<string, Record<string, unknown>> = {}
    for (const l of lines) {
      const row: Record<string, unknown> = {}
      for (const s of SCENARIOS) {
        if (s === "mem") continue
        const c = cellOf(records, l.label, s, "rate")
        const cpu = cellOf(records, l.label, s, "cpu")
        const sv = cellOf(records, l.label, s, "server")
        row[s] = {
          rate: c.rate,
          ratio: c.ratio,
          reference: REF[s],
          min: c.min,
          max: c.max,
          cpuUsPerOp: cpu.rate,
          cpuRatio: cpu.ratio,
          serverUsPerOp: sv.rate,
          serverRatio: sv.ratio,
          fail: c.fail ?? null
        }
      }
      row.mem = median(
        records.filter((r) => r.label === l.label).map((r) => resultOf(r, "mem")?.bytesPerReq ?? NaN).filter(
          Number.isFinite
        )
      )
      summary[l.label] = row
    }
    fs.writeFileSync(
      args.json,
      JSON.stringify(
        {
          machine: mach,
          quick: args.quick,
          dist: args.dist ?? null,
          baseline: args.baseline ?? null,
          reps: args.reps,
          counts,
          evictions: evictionsTotal,
          summary,
          skipped: skipped.map((l) => ({ label: l.label, reason: l.pending ?? "excluded" })),
          runs: records
        },
        null,
        2
      ) + "\n"
    )
    process.stderr.write(`bench: wrote ${args.json}\n`)
  }
}

await main()
