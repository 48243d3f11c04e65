/**
 * Shared definitions for the benchmark: scenario names and counts, the child-process protocol,
 * deterministic values and their checks, measurement helpers, and the generic driver used by every
 * callback/Promise contender (raw, memjs, memcached, memcache-client). The Effect contender has its
 * own fiber-based driver in `contenders/effect-memcached.ts` but reuses everything else here.
 *
 * Every loop in this file runs a fixed number of operations; nothing waits on wall-clock time except
 * the bounded sleeps in the memory scenario.
 */

// ---------------------------------------------------------------------------------------------
// Scenarios and counts
// ---------------------------------------------------------------------------------------------

export const SCENARIOS = [
  "seq_get",
  "conc_get",
  "conc_set",
  "mget",
  "large_set",
  "large_get",
  "indep_get",
  "mem"
] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export interface Counts {
  /** sequential gets, 1 in flight */
  readonly seq: number
  /** gets with `inFlight` in flight */
  readonly conc: number
  /** sets with `inFlight` in flight */
  readonly set: number
  /** multi-get calls of `mgetKeys` keys (4 callers in flight) */
  readonly mgetCalls: number
  /** 512 KiB sets and gets (1 in flight each) */
  readonly large: number
  /** independent single gets from `inFlight` unrelated callers */
  readonly indep: number
  /** requests left pending against the black-hole server */
  readonly mem: number
}

export const FULL: Counts = {
  seq: 20_000,
  conc: 200_000,
  set: 200_000,
  mgetCalls: 4_000,
  large: 600,
  indep: 200_000,
  mem: 20_000
}

export const QUICK: Counts = {
  seq: 2_000,
  conc: 20_000,
  set: 20_000,
  mgetCalls: 400,
  large: 60,
  indep: 20_000,
  mem: 5_000
}

/**
 * Warm-up operations before each measured window: 10% of the measured count, and at least
 * `min(n, minimum)` (5000 for small-value scenarios, so that --quick runs are past the JIT warm-up).
 */
export const warmup = (n: number, minimum = 5_000): number => Math.max(1, Math.ceil(n * 0.1), Math.min(n, minimum))
export const IN_FLIGHT = 100
export const MGET_KEYS = 100
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
/** The keys of multi-get call `call`: 100 consecutive keys of the pool, all distinct. */
export const mgetKeys = (call: number): Array<string> => {
  const base = (call * MGET_KEYS) % MGET_POOL
  const keys = new Array<string>(MGET_KEYS)
  for (let j = 0; j < MGET_KEYS; j++) keys[j] = mgetKey(base + j)
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
  return JSON.parse(arg) as ChildInput
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
    if (multi) for (let i = 0; i < MGET_POOL; i++) this.mget.set(mgetKey(i), makeValuePair(mgetKey(i), tag, SMALL_SIZE))
    this.largeGet = large ? Array.from({ length: LARGE_POOL }, (_, i) => makeValuePair(largeGetKey(i), tag, LARGE_SIZE)) : []
    this.largeSet = large ? Array.from({ length: LARGE_POOL }, (_, i) => makeValuePair(largeSetKey(i), tag, LARGE_SIZE)) : []
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
  constructor() {
    this.c0 = process.cpuUsage()
    this.t0 = process.hrtime.bigint()
  }
  /** Ends the window and builds the result. `work` = units for the rate (MiB for large, else ops). */
  end(
    ops: number,
    unit: ScenarioResult["unit"],
    tally: Tally,
    extra: { work?: number; latenciesUs?: Float64Array; note?: string } = {}
  ): ScenarioResult {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9
    const cpu = process.cpuUsage(this.c0)
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
  try {
    const single = await factory.make([input.single], "single")
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

    if (want.has("seq_get")) {
      await runLoops(1, warmup(c.seq), getOp(new Tally()))
      const t = new Tally()
      const lat = new Float64Array(c.seq)
      const w = new Window()
      for (let i = 0; i < c.seq; i++) {
        const t0 = performance.now()
        try {
          t.check(await single.get(getKey(i)), exp.get[i % GET_POOL])
        } catch (e) {
          t.error(e)
        }
        lat[i] = (performance.now() - t0) * 1000
      }
      results.seq_get = w.end(c.seq, "ops/s", t, { latenciesUs: lat })
    }
    if (want.has("conc_get")) {
      await runLoops(IN_FLIGHT, warmup(c.conc), getOp(new Tally()))
      const t = new Tally()
      const w = new Window()
      await runLoops(IN_FLIGHT, c.conc, getOp(t))
      results.conc_get = w.end(c.conc, "ops/s", t)
    }
    if (want.has("conc_set")) {
      const setOp = (t: Tally) => async (i: number) => {
        try {
          checkSet(t, await single.set(setKey(i), exp.set[i % SET_POOL]!))
        } catch (e) {
          t.error(e)
        }
      }
      await runLoops(IN_FLIGHT, warmup(c.set), setOp(new Tally()))
      const t = new Tally()
      const w = new Window()
      await runLoops(IN_FLIGHT, c.set, setOp(t))
      results.conc_set = w.end(c.set, "ops/s", t)
    }
    if (want.has("large_set")) {
      const op = (t: Tally) => async (i: number) => {
        try {
          checkSet(t, await single.set(largeSetKey(i), exp.largeSet[i % LARGE_POOL]!))
        } catch (e) {
          t.error(e)
        }
      }
      await runLoops(1, warmup(c.large, 0), op(new Tally()))
      const t = new Tally()
      const w = new Window()
      await runLoops(1, c.large, op(t))
      results.large_set = w.end(c.large, "MiB/s", t, { work: (c.large * LARGE_SIZE) / MIB })
    }
    if (want.has("large_get")) {
      const op = (t: Tally) => async (i: number) => {
        try {
          t.check(await single.get(largeGetKey(i)), exp.largeGet[i % LARGE_POOL])
        } catch (e) {
          t.error(e)
        }
      }
      await runLoops(1, warmup(c.large, 0), op(new Tally()))
      const t = new Tally()
      const w = new Window()
      await runLoops(1, c.large, op(t))
      results.large_get = w.end(c.large, "MiB/s", t, { work: (c.large * LARGE_SIZE) / MIB })
    }
    if (want.has("indep_get")) {
      // For callback/Promise clients, independent callers are exactly the 100 async loops of
      // conc_get: nothing in these clients merges requests across callers.
      await runLoops(IN_FLIGHT, warmup(c.indep), getOp(new Tally()))
      const t = new Tally()
      const w = new Window()
      await runLoops(IN_FLIGHT, c.indep, getOp(t))
      results.indep_get = w.end(c.indep, "ops/s", t, { note: "same as conc_get (no cross-caller batching)" })
    }
    single.close()

    if (want.has("mget")) {
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
      const op = (t: Tally) => async (call: number) => {
        const keys = mgetKeys(call)
        try {
          const m = await multi.getMulti(keys)
          for (const k of keys) t.check(lookup(m, k), exp.mget.get(k))
        } catch (e) {
          t.error(e)
        }
      }
      await runLoops(MGET_CALLERS, warmup(c.mgetCalls, 200), op(new Tally()))
      const t = new Tally()
      const w = new Window()
      await runLoops(MGET_CALLERS, c.mgetCalls, op(t))
      results.mget = w.end(c.mgetCalls * MGET_KEYS, "keys/s", t)
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
