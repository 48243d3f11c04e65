/**
 * Shared definitions for the benchmark: scenario names and counts, the child-process protocol,
 * deterministic values and their checks, measurement helpers, and the generic driver used by every
 * callback/Promise contender (raw, memjs, memcached, memcache-client). The Effect contender has its
 * own fiber-based driver in `contenders/effect-memcached.ts` but reuses everything else here.
 *
 * Every loop in this file runs a fixed number of operations; nothing waits on wall-clock time except
 * the bounded sleeps in the memory scenario.
 */

import { serverCpuUs } from "./raw.js"

// ---------------------------------------------------------------------------------------------
// Scenarios and counts
// ---------------------------------------------------------------------------------------------

export const SCENARIOS = [
  "get_1",
  "get_10",
  "get_100",
  "get_1000",
  "set_100",
  "mget_10",
  "mget_100",
  "mget_1000",
  "mget_10000",
  "setmany_10000",
  "mixed_100",
  "large_set",
  "large_get",
  "indep_get",
  "mem"
] as const
export type ScenarioName = (typeof SCENARIOS)[number]

/**
 * Measured count per scenario: operations for get/set/mixed/large/indep, calls for `mget_N` (N keys
 * each) and `setmany_10000` (10 000 values each), pending requests for `mem`.
 */
export type Counts = Readonly<Record<ScenarioName, number>>

export const FULL: Counts = {
  get_1: 5_000,
  get_10: 20_000,
  get_100: 50_000,
  get_1000: 50_000,
  set_100: 50_000,
  // 200 000 to 500 000 keys per multi-get window (a few hundred ms for the Effect and raw lines): with
  // the 50 000 keys of earlier runs a window was ~40 ms, mostly JIT warm-up and one or two scavenges,
  // and two runs of one build differed by 1.5×. The other projects' clients keep PEER_MGET (their
  // windows last seconds already).
  mget_10: 20_000,
  mget_100: 5_000,
  mget_1000: 500,
  mget_10000: 50,
  setmany_10000: 5,
  mixed_100: 50_000,
  large_set: 200,
  large_get: 200,
  indep_get: 50_000,
  mem: 20_000
}

/** The multi-get counts of the other projects' clients (memjs, memcached, memcache-client) in full runs. */
export const PEER_MGET = { mget_10: 5_000, mget_100: 500, mget_1000: 50, mget_10000: 5 } as const

export const QUICK: Counts = {
  get_1: 500,
  get_10: 2_000,
  get_100: 5_000,
  get_1000: 5_000,
  set_100: 5_000,
  mget_10: 500,
  mget_100: 50,
  mget_1000: 5,
  mget_10000: 2,
  setmany_10000: 1,
  mixed_100: 5_000,
  large_set: 20,
  large_get: 20,
  indep_get: 5_000,
  mem: 5_000
}

/** In-flight requests (caller loops) of the single-key scenarios. */
export const inFlightOf = (s: ScenarioName): number =>
  s === "get_1" ? 1 : s === "get_10" ? 10 : s === "get_1000" ? 1_000 : 100
/** Keys per call of the multi-get scenarios. */
export const mgetSize = (s: ScenarioName): number => Number(s.slice(5))
export const MGET_SCENARIOS = ["mget_10", "mget_100", "mget_1000", "mget_10000"] as const satisfies ReadonlyArray<
  ScenarioName
>
export const GET_SCENARIOS = ["get_1", "get_10", "get_100", "get_1000"] as const satisfies ReadonlyArray<ScenarioName>
/** Every 10th operation of `mixed_100` is a set (of the value the gets expect). */
export const isMixedSet = (i: number): boolean => i % 10 === 9
export const SETMANY_SIZE = 10_000

/**
 * Warm-up operations before each measured window: 10% of the measured count, and at least
 * `min(n, minimum)` (5000 small operations by default, 1000 in `--quick` runs, past the JIT warm-up).
 */
export const warmup = (n: number, minimum = warmMin): number => Math.max(1, Math.ceil(n * 0.1), Math.min(n, minimum))
/** Warm-up calls of a multi-key scenario of `size` keys per call: about `warmMin` keys at least. */
export const warmupCalls = (calls: number, size: number): number => warmup(calls, Math.ceil(warmMin / size))
/** Minimum warm-up operations: 5000, or 1000 in a `--quick` run (set by `readChildInput`). */
let warmMin = 5_000
export const IN_FLIGHT = 100
export const MGET_CALLERS = 4
export const SMALL_SIZE = 100
export const LARGE_SIZE = 512 * 1024
/** Key pools (fixed, small enough that nothing is evicted). */
export const GET_POOL = 1_000
export const SET_POOL = 10_000
export const MGET_POOL = 10_000
export const LARGE_POOL = 8

export const getKey = (i: number): string => `bench:g:${i % GET_POOL}`
export const setKey = (i: number): string => `bench:s:${i % SET_POOL}`
export const mgetKey = (i: number): string => `bench:m:${i % MGET_POOL}`
export const largeGetKey = (i: number): string => `bench:LG:${i % LARGE_POOL}`
export const largeSetKey = (i: number): string => `bench:LS:${i % LARGE_POOL}`
/** The keys of multi-get call `call` of `size` keys: consecutive keys of the pool, all distinct. */
export const mgetKeys = (call: number, size: number): Array<string> => {
  const base = (call * size) % MGET_POOL
  const keys = new Array<string>(size)
  for (let j = 0; j < size; j++) keys[j] = mgetKey(base + j)
  return keys
}

// ---------------------------------------------------------------------------------------------
// Child-process protocol
// ---------------------------------------------------------------------------------------------

/** What the orchestrator passes to a contender process (argv[2], JSON). */
export interface ChildInput {
  readonly contender: string
  /** Variant label (a line of the contender table), e.g. `text`, `meta`, `auto-batch`. */
  readonly variant: string
  /** Variant options, passed through to the contender's client constructor. */
  readonly options: Record<string, unknown>
  /** `host:port` of the server used by the single-key scenarios. */
  readonly single: string
  /** `host:port` of the 4 servers of the multi-get scenario. */
  readonly multi: ReadonlyArray<string>
  /** `host:port` of the black-hole server of the memory scenario. */
  readonly blackhole: string
  readonly counts: Counts
  /** Tag mixed into every value this run writes, so stale values from other runs are WRONG. */
  readonly tag: string
  readonly scenarios: ReadonlyArray<ScenarioName>
  /** effect-memcached contender: absolute path of the `dist/` to measure (default: this tree's). */
  readonly dist?: string | undefined
  /** A `--quick` run: shorter warm-ups. */
  readonly quick?: boolean | undefined
}

export interface ScenarioResult {
  /** operations measured (for `mget`: keys) */
  readonly ops: number
  readonly seconds: number
  /** ops/s, keys/s (mget) or MiB/s (large_*) */
  readonly rate: number
  readonly unit: "ops/s" | "keys/s" | "MiB/s" | "B/req"
  readonly cpuUserUs: number
  readonly cpuSysUs: number
  /** client CPU (user+sys) per operation (mget: per key) */
  readonly cpuUsPerOp: number
  /** memcached CPU (`stats` rusage_user + rusage_system deltas around the window) per operation / key */
  readonly serverUsPerOp?: number | undefined
  misses: number
  errors: number
  wrong: number
  firstError?: string | undefined
  readonly p50Us?: number | undefined
  readonly p99Us?: number | undefined
  /** memory scenario: heapUsed delta per pending request (client only, beyond the caller) */
  readonly bytesPerReq?: number | undefined
  readonly note?: string | undefined
}

export interface ChildOutput {
  readonly contender: string
  readonly variant: string
  readonly settings: string
  readonly results: Partial<Record<ScenarioName, ScenarioResult>>
  readonly error?: string | undefined
}

export const RESULT_PREFIX = "BENCH_RESULT "

export const readChildInput = (): ChildInput => {
  const arg = process.argv[2]
  if (arg === undefined) throw new Error("usage: <contender>.ts '<ChildInput JSON>'")
  const input = JSON.parse(arg) as ChildInput
  if (input.quick === true) warmMin = 1_000
  return input
}

export const emit = (out: ChildOutput): void => {
  process.stdout.write(RESULT_PREFIX + JSON.stringify(out) + "\n")
}

export const hostPort = (s: string): { host: string; port: number } => {
  const i = s.lastIndexOf(":")
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }
}

// ---------------------------------------------------------------------------------------------
// Values: deterministic per (key, tag, size), ASCII (clients that decode to strings still work),
// non-periodic so that shifted or spliced data is caught.
// ---------------------------------------------------------------------------------------------

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const mix = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

export const makeValue = (key: string, tag: string, size: number): Buffer => {
  const buf = Buffer.allocUnsafe(size)
  const head = `${tag}|${key}|`
  const seed = fnv1a(head)
  const h = Math.min(head.length, size)
  buf.write(head.slice(0, h), 0, "latin1")
  for (let i = h; i < size; i++) buf[i] = ALPHABET.charCodeAt(mix(seed + i) % 36)
  return buf
}

/** A value in both forms: clients that take strings (3rd-eden memcached) get the string. */
export interface Value {
  readonly buf: Buffer
  readonly str: string
}

export const makeValuePair = (key: string, tag: string, size: number): Value => {
  const buf = makeValue(key, tag, size)
  return { buf, str: buf.toString("latin1") }
}

/** Positions checked in large values: head, tail and 256 pseudo-random bytes. */
const samplePositions = (size: number): Int32Array => {
  const n = Math.min(size, 256)
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = mix(0x9e3779b9 + i) % size
  return out
}
const LARGE_SAMPLES = samplePositions(LARGE_SIZE)
const HEAD_CHECK = 96

/**
 * True when `got` is the expected value. Small values are compared in full; values above 4 KiB by
 * length, the first 96 and last 32 bytes and 256 sampled positions (a full memcmp would add ~10% of a
 * 512 KiB get to every client alike and blur the ratios).
 */
export const sameValue = (got: Uint8Array | string, expected: Value): boolean => {
  const exp = expected.buf
  if (typeof got === "string") {
    if (exp.length <= 4096) return got === expected.str
    if (got.length !== exp.length) return false
    for (let i = 0; i < HEAD_CHECK; i++) if (got.charCodeAt(i) !== exp[i]) return false
    for (let i = exp.length - 32; i < exp.length; i++) if (got.charCodeAt(i) !== exp[i]) return false
    for (let i = 0; i < LARGE_SAMPLES.length; i++) {
      const p = LARGE_SAMPLES[i]! % exp.length
      if (got.charCodeAt(p) !== exp[p]) return false
    }
    return true
  }
  if (got.length !== exp.length) return false
  if (exp.length <= 4096) return Buffer.compare(got, exp) === 0
  for (let i = 0; i < HEAD_CHECK; i++) if (got[i] !== exp[i]) return false
  for (let i = exp.length - 32; i < exp.length; i++) if (got[i] !== exp[i]) return false
  for (let i = 0; i < LARGE_SAMPLES.length; i++) {
    const p = LARGE_SAMPLES[i]! % exp.length
    if (got[p] !== exp[p]) return false
  }
  return true
}

/** Precomputed expected values of the pools for one tag. */
export class Expected {
  readonly get: Array<Value>
  readonly set: Array<Value>
  readonly mget: Map<string, Value>
  readonly largeGet: Array<Value>
  readonly largeSet: Array<Value>
  constructor(readonly tag: string, which: { small?: boolean; multi?: boolean; large?: boolean } = {}) {
    const small = which.small ?? true
    const multi = which.multi ?? true
    const large = which.large ?? true
    this.get = small ? Array.from({ length: GET_POOL }, (_, i) => makeValuePair(getKey(i), tag, SMALL_SIZE)) : []
    this.set = small ? Array.from({ length: SET_POOL }, (_, i) => makeValuePair(setKey(i), tag, SMALL_SIZE)) : []
    this.mget = new Map()
    if (multi) {
      for (let i = 0; i < MGET_POOL; i++) this.mget.set(mgetKey(i), makeValuePair(mgetKey(i), tag, SMALL_SIZE))
    }
    this.largeGet = large
      ? Array.from({ length: LARGE_POOL }, (_, i) => makeValuePair(largeGetKey(i), tag, LARGE_SIZE))
      : []
    this.largeSet = large
      ? Array.from({ length: LARGE_POOL }, (_, i) => makeValuePair(largeSetKey(i), tag, LARGE_SIZE))
      : []
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

export class Tally {
  misses = 0
  errors = 0
  wrong = 0
  firstError: string | undefined = undefined
  error(e: unknown): void {
    this.errors++
    if (this.firstError === undefined) this.firstError = e instanceof Error ? e.message : String(e)
  }
  /** Checks one get result against the expected value. */
  check(got: Uint8Array | string | undefined | null, expected: Value | undefined): void {
    if (got === undefined || got === null) this.misses++
    else if (expected === undefined || !sameValue(got, expected)) this.wrong++
  }
}

export class Window {
  private readonly t0: bigint
  private readonly c0: NodeJS.CpuUsage
  private constructor(private readonly servers: ReadonlyArray<string>, private readonly s0: number) {
    this.c0 = process.cpuUsage()
    this.t0 = process.hrtime.bigint()
  }
  /** Reads memcached's CPU on `servers`, then starts the window (client time and CPU). */
  static async start(servers: ReadonlyArray<string>): Promise<Window> {
    return new Window(servers, await serverCpuUs(servers))
  }
  /**
   * Ends the window (client time and CPU first, then memcached's CPU) and builds the result.
   * `work` = units for the rate (MiB for large, else ops).
   */
  async end(
    ops: number,
    unit: ScenarioResult["unit"],
    tally: Tally,
    extra: { work?: number; latenciesUs?: Float64Array; note?: string } = {}
  ): Promise<ScenarioResult> {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9
    const cpu = process.cpuUsage(this.c0)
    const s1 = await serverCpuUs(this.servers)
    const work = extra.work ?? ops
    let p50: number | undefined
    let p99: number | undefined
    if (extra.latenciesUs !== undefined && extra.latenciesUs.length > 0) {
      const sorted = extra.latenciesUs.slice().sort()
      p50 = sorted[Math.floor(sorted.length * 0.5)]
      p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]
    }
    return {
      ops,
      seconds,
      rate: work / seconds,
      unit,
      cpuUserUs: cpu.user,
      cpuSysUs: cpu.system,
      cpuUsPerOp: (cpu.user + cpu.system) / ops,
      serverUsPerOp: (s1 - this.s0) / ops,
      misses: tally.misses,
      errors: tally.errors,
      wrong: tally.wrong,
      firstError: tally.firstError,
      p50Us: p50,
      p99Us: p99,
      note: extra.note
    }
  }
}

export const MIB = 1024 * 1024

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Forced full GC (several passes) and the resulting heapUsed. */
export const gcHeap = async (): Promise<number> => {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error("run with node --expose-gc")
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise<void>((r) => setImmediate(r))
  }
  gc()
  return process.memoryUsage().heapUsed
}

export const memResult = (n: number, bytesPerReq: number, note: string): ScenarioResult => ({
  ops: n,
  seconds: 0,
  rate: bytesPerReq,
  unit: "B/req",
  cpuUserUs: 0,
  cpuSysUs: 0,
  cpuUsPerOp: 0,
  misses: 0,
  errors: 0,
  wrong: 0,
  bytesPerReq,
  note
})

// ---------------------------------------------------------------------------------------------
// Generic driver for callback/Promise clients
// ---------------------------------------------------------------------------------------------

export type Got = Uint8Array | string | undefined | null

/** One client instance, as the bench drives it. Every method is one client call. */
export interface Adapter {
  get(key: string): Promise<Got>
  /** Resolves when stored; rejects (or resolves false) when not. */
  set(key: string, value: Value): Promise<boolean | void>
  /** One multi-get call over the client's servers. */
  getMulti(keys: ReadonlyArray<string>): Promise<ReadonlyMap<string, Got> | Record<string, Got>>
  close(): void
}

export interface AdapterFactory {
  /** What the bench used, for the README/report. */
  readonly settings: string
  /** A client for `servers`. `purpose` lets a peer pick settings (e.g. memjs timeouts). */
  make(servers: ReadonlyArray<string>, purpose: "single" | "multi" | "mem"): Promise<Adapter>
}

/** `inFlight` async loops over a shared counter, `n` operations in all. */
export const runLoops = async (inFlight: number, n: number, op: (i: number) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      if (i >= n) return
      await op(i)
    }
  }
  const workers: Array<Promise<void>> = []
  for (let w = 0; w < inFlight; w++) workers.push(worker())
  await Promise.all(workers)
}

const lookup = (m: ReadonlyMap<string, Got> | Record<string, Got>, key: string): Got =>
  m instanceof Map ? m.get(key) : (m as Record<string, Got>)[key]

const checkSet = (t: Tally, r: boolean | void): void => {
  if (r === false) t.error("not stored")
}

/** Runs the requested scenarios against a Promise adapter and emits the result line. */
export const runGeneric = async (contender: string, factory: AdapterFactory): Promise<void> => {
  const input = readChildInput()
  const c = input.counts
  const exp = new Expected(input.tag)
  const results: Partial<Record<ScenarioName, ScenarioResult>> = {}
  const want = new Set(input.scenarios)
  let error: string | undefined
  /** Warm-up, then one measured window of `n` loop iterations (`perOp` units each). */
  const measure = async (
    name: ScenarioName,
    servers: ReadonlyArray<string>,
    inFlight: number,
    n: number,
    warm: number,
    op: (t: Tally) => (i: number) => Promise<void>,
    unit: ScenarioResult["unit"] = "ops/s",
    perOp = 1,
    note?: string
  ): Promise<void> => {
    await runLoops(inFlight, warm, op(new Tally()))
    const t = new Tally()
    const w = await Window.start(servers)
    await runLoops(inFlight, n, op(t))
    const extra: { work?: number; note?: string } = {}
    if (unit === "MiB/s") extra.work = (n * LARGE_SIZE) / MIB
    if (note !== undefined) extra.note = note
    results[name] = await w.end(n * perOp, unit, t, extra)
  }
  try {
    const single = await factory.make([input.single], "single")
    const one = [input.single]
    // Seed the pools this client reads, with its own set (checked by the orchestrator with raw).
    {
      const t = new Tally()
      await runLoops(IN_FLIGHT, GET_POOL, async (i) => {
        try {
          checkSet(t, await single.set(getKey(i), exp.get[i]!))
        } catch (e) {
          t.error(e)
        }
      })
      await runLoops(1, LARGE_POOL, async (i) => {
        try {
          checkSet(t, await single.set(largeGetKey(i), exp.largeGet[i]!))
        } catch (e) {
          t.error(e)
        }
      })
      if (t.errors > 0) throw new Error(`seeding failed: ${t.errors} errors, first: ${t.firstError}`)
    }

    const getOp = (t: Tally) => async (i: number) => {
      try {
        t.check(await single.get(getKey(i)), exp.get[i % GET_POOL])
      } catch (e) {
        t.error(e)
      }
    }
    const setOp = (t: Tally) => async (i: number) => {
      try {
        checkSet(t, await single.set(setKey(i), exp.set[i % SET_POOL]!))
      } catch (e) {
        t.error(e)
      }
    }

    if (want.has("get_1")) {
      await runLoops(1, warmup(c.get_1), getOp(new Tally()))
      const t = new Tally()
      const lat = new Float64Array(c.get_1)
      const w = await Window.start(one)
      for (let i = 0; i < c.get_1; i++) {
        const t0 = performance.now()
        try {
          t.check(await single.get(getKey(i)), exp.get[i % GET_POOL])
        } catch (e) {
          t.error(e)
        }
        lat[i] = (performance.now() - t0) * 1000
      }
      results.get_1 = await w.end(c.get_1, "ops/s", t, { latenciesUs: lat })
    }
    for (const s of ["get_10", "get_100", "get_1000"] as const) {
      if (want.has(s)) await measure(s, one, inFlightOf(s), c[s], warmup(c[s]), getOp)
    }
    if (want.has("set_100")) await measure("set_100", one, IN_FLIGHT, c.set_100, warmup(c.set_100), setOp)
    if (want.has("mixed_100")) {
      const op = (t: Tally) => {
        const g = getOp(t)
        return async (i: number) => {
          if (!isMixedSet(i)) return g(i)
          try {
            checkSet(t, await single.set(getKey(i), exp.get[i % GET_POOL]!))
          } catch (e) {
            t.error(e)
          }
        }
      }
      await measure("mixed_100", one, IN_FLIGHT, c.mixed_100, warmup(c.mixed_100), op)
    }
    if (want.has("setmany_10000")) {
      // The client's own bulk write when it has one (none of the Promise peers does): 10 000 sets
      // issued at once, awaited together.
      const op = (t: Tally) => async (_call: number) => {
        const ps: Array<Promise<void>> = new Array(SETMANY_SIZE)
        for (let i = 0; i < SETMANY_SIZE; i++) {
          ps[i] = single.set(setKey(i), exp.set[i]!).then((r) => checkSet(t, r), (e) => t.error(e))
        }
        await Promise.all(ps)
      }
      await measure("setmany_10000", one, 1, c.setmany_10000, warmup(c.setmany_10000, 1), op, "ops/s", SETMANY_SIZE)
    }
    if (want.has("large_set")) {
      const op = (t: Tally) => async (i: number) => {
        try {
          checkSet(t, await single.set(largeSetKey(i), exp.largeSet[i % LARGE_POOL]!))
        } catch (e) {
          t.error(e)
        }
      }
      await measure("large_set", one, 1, c.large_set, warmup(c.large_set, 0), op, "MiB/s")
    }
    if (want.has("large_get")) {
      const op = (t: Tally) => async (i: number) => {
        try {
          t.check(await single.get(largeGetKey(i)), exp.largeGet[i % LARGE_POOL])
        } catch (e) {
          t.error(e)
        }
      }
      await measure("large_get", one, 1, c.large_get, warmup(c.large_get, 0), op, "MiB/s")
    }
    if (want.has("indep_get")) {
      // For callback/Promise clients, independent callers are exactly the 100 async loops of
      // get_100: nothing in these clients merges requests across callers.
      await measure(
        "indep_get",
        one,
        IN_FLIGHT,
        c.indep_get,
        warmup(c.indep_get),
        getOp,
        "ops/s",
        1,
        "same loops as get_100"
      )
    }
    single.close()

    if (MGET_SCENARIOS.some((s) => want.has(s))) {
      const multi = await factory.make(input.multi, "multi")
      const ts = new Tally()
      await runLoops(IN_FLIGHT, MGET_POOL, async (i) => {
        try {
          checkSet(ts, await multi.set(mgetKey(i), exp.mget.get(mgetKey(i))!))
        } catch (e) {
          ts.error(e)
        }
      })
      if (ts.errors > 0) throw new Error(`mget seeding failed: ${ts.errors} errors, first: ${ts.firstError}`)
      for (const s of MGET_SCENARIOS) {
        if (!want.has(s)) continue
        const size = mgetSize(s)
        const op = (t: Tally) => async (call: number) => {
          const keys = mgetKeys(call, size)
          try {
            const m = await multi.getMulti(keys)
            for (const k of keys) t.check(lookup(m, k), exp.mget.get(k))
          } catch (e) {
            t.error(e)
          }
        }
        await measure(s, input.multi, MGET_CALLERS, c[s], warmupCalls(c[s], size), op, "keys/s", size)
      }
      multi.close()
    }

    if (want.has("mem")) {
      const bh = await factory.make([input.blackhole], "mem")
      const swallow = (p: Promise<unknown>) => {
        p.then(undefined, () => undefined)
      }
      // One request first, so that the connection exists before the baseline.
      swallow(bh.get(getKey(0)))
      await sleep(300)
      const h0 = await gcHeap()
      for (let i = 0; i < c.mem; i++) swallow(bh.get(getKey(i)))
      await sleep(500)
      const h1 = await gcHeap()
      results.mem = memResult(c.mem, (h1 - h0) / c.mem, "Promise + async caller included")
    }
  } catch (e) {
    error = e instanceof Error ? (e.stack ?? e.message) : String(e)
  }
  emit({ contender, variant: input.variant, settings: factory.settings, results, error })
  process.exit(0)
}
