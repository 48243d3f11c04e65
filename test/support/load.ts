/**
 * Fault-matrix helpers: a bounded mixed-load generator that counts outcomes (ok, typed errors by
 * tag/reason, wrong values, hung requests, latency), memcached processes that can be killed and
 * restarted on the same port by PID, and a scriptable fake memcached for byte-level faults.
 *
 * Every loop here is bounded in count and in time.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type { MemcachedClient } from "../../src/MemcachedClient.js"
import type { MemcachedError } from "../../src/MemcachedError.js"
import { canConnect, memcachedBinary } from "./memcached.js"

// ---------------------------------------------------------------------------------------------
// Values that encode their key
// ---------------------------------------------------------------------------------------------

/** The value stored under `key`: it names the key, so a value returned for another key is detectable. */
export const valueFor = (key: string, generation: number | string): string => `${key}=${generation}`

/** True when `value` is one of `key`'s values. */
export const isValueOf = (key: string, value: string): boolean => value.startsWith(`${key}=`)

/** `count` distinct keys. */
export const makeKeys = (prefix: string, count: number): Array<string> =>
  Array.from({ length: count }, (_, i) => `${prefix}:${i}`)

/** A deterministic PRNG (mulberry32) so failures reproduce. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Seeds every key with generation 0 (bounded concurrency); returns how many sets failed. */
export const seed = (client: MemcachedClient, keys: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.forEach(keys, (k) => Effect.exit(client.set(k, valueFor(k, 0))), { concurrency: 64 }).pipe(
    Effect.map((exits) => exits.filter(Exit.isFailure).length)
  )

// ---------------------------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------------------------

export interface LoadOptions {
  readonly client: MemcachedClient
  /** The seeded keys. */
  readonly keys: ReadonlyArray<string>
  /** Concurrent workers, each issuing one request at a time. */
  readonly concurrency: number
  /** Cap on the total number of requests. */
  readonly requests: number
  /** Cap on the duration (Clock milliseconds; the TestClock when under test). Default: none. */
  readonly durationMs?: number | undefined
  /** A request not completed within this many Clock milliseconds is counted as hung (and abandoned). */
  readonly boundMs: number
  /** Operation weights. Default get 70, set 20, delete 10. */
  readonly mix?: { readonly get: number; readonly set: number; readonly delete: number } | undefined
  readonly seed?: number | undefined
  /** The home server of a key (computed before any fault), for per-server counts. */
  readonly home?: ((key: string) => number) | undefined
  readonly servers?: number | undefined
  /** Stops issuing new requests when it returns true (checked before each request). */
  readonly stop?: (() => boolean) | undefined
  /** Called after each request with its outcome (for time-sliced assertions). */
  readonly onResult?: ((r: LoadResult) => void) | undefined
  /** Fraction of requests interrupted after 0–3 yields (their replies must be dropped, not misrouted). */
  readonly interruptRate?: number | undefined
  /** Clock milliseconds each worker waits between requests. Default 0. */
  readonly thinkMs?: number | undefined
  /** Run by each worker between requests instead of `thinkMs` (e.g. a {@link Pacer}'s `wait`). */
  readonly pace?: Effect.Effect<void> | undefined
  /** How often the hung-request watchdog looks (Clock ms). Default boundMs / 10. */
  readonly watchdogMs?: number | undefined
}

interface Pending {
  readonly issuedAt: number
  hung: boolean
  fiber: Fiber.RuntimeFiber<unknown> | undefined
}

/**
 * Paces workers without the Clock: `wait` suspends until the next `release()` (a TestClock driver
 * releases once per step, so load spreads over TestClock time without one sleep per request).
 */
export interface Pacer {
  readonly wait: Effect.Effect<void>
  readonly release: () => void
  /** Releases every waiter now and later. */
  readonly close: () => void
}

export const makePacer = (): Pacer => {
  let waiters: Array<() => void> = []
  let closed = false
  return {
    wait: Effect.async<void>((resume) => {
      if (closed) resume(Effect.void)
      else waiters.push(() => resume(Effect.void))
    }),
    close: () => {
      closed = true
      const w = waiters
      waiters = []
      for (const f of w) f()
    },
    release: () => {
      const w = waiters
      waiters = []
      for (const f of w) f()
    }
  }
}

export interface LoadResult {
  readonly key: string
  readonly op: Op
  /** "ok", "wrong", "hung", "interrupted", "defect" or the typed error `Tag:reason`. */
  readonly outcome: string
  /** Clock ms when issued and when completed. */
  readonly issuedAt: number
  readonly at: number
  /** The `server` field of a failure that has one (which connection failed it). */
  readonly server?: string | undefined
}

export type Op = "get" | "set" | "delete"

export interface ServerCounts {
  ok: number
  errors: number
}

export interface LoadReport {
  total: number
  ok: number
  hits: number
  misses: number
  /** Typed failures by `Tag:reason`. */
  errors: Record<string, number>
  /** Successful gets whose value belongs to another key (must be 0). */
  wrong: number
  wrongSamples: Array<string>
  /** Requests not completed within `boundMs` (must be 0). */
  hung: number
  /** Failures that are not a typed MemcachedError (defects, unexpected interruptions; must be 0). */
  defects: number
  /** Requests the load itself interrupted (`interruptRate`). */
  interrupted: number
  defectSamples: Array<string>
  maxLatencyMs: number
  p99Ms: number
  p50Ms: number
  /** Per home server (when `home` is given). */
  perServer: Array<ServerCounts>
}

export const emptyReport = (servers = 0): LoadReport => ({
  total: 0,
  ok: 0,
  hits: 0,
  misses: 0,
  errors: {},
  wrong: 0,
  wrongSamples: [],
  hung: 0,
  defects: 0,
  interrupted: 0,
  defectSamples: [],
  maxLatencyMs: 0,
  p99Ms: 0,
  p50Ms: 0,
  perServer: Array.from({ length: servers }, () => ({ ok: 0, errors: 0 }))
})

/** Sum of the typed errors. */
export const errorCount = (r: LoadReport): number => Object.values(r.errors).reduce((a, b) => a + b, 0)

/** Latency histogram: 0.1 ms buckets up to a bound, exact maximum. */
export class Histogram {
  private readonly buckets: Uint32Array
  count = 0
  max = 0
  constructor(readonly boundMs: number) {
    this.buckets = new Uint32Array(Math.ceil(boundMs * 10) + 2)
  }
  record(ms: number): void {
    this.count++
    if (ms > this.max) this.max = ms
    const i = Math.min(this.buckets.length - 1, Math.max(0, Math.floor(ms * 10)))
    this.buckets[i]!++
  }
  percentile(p: number): number {
    if (this.count === 0) return 0
    const target = Math.ceil(this.count * p)
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!
      if (seen >= target) return (i + 1) / 10
    }
    return this.max
  }
}

const HUNG: unique symbol = Symbol("hung")
const INTERRUPTED: unique symbol = Symbol("interrupted")

const describeFailure = (cause: Cause.Cause<MemcachedError>): string | undefined => {
  const f = Cause.failureOption(cause)
  if (Option.isNone(f)) return undefined
  const e = f.value
  return `${e._tag}:${"reason" in e ? e.reason : ""}`
}

/**
 * Runs mixed load: gets of the seeded keys (a hit must carry the key's own value), sets of new
 * generations, deletes. Every request is raced against `boundMs`; nothing is left running when the
 * effect completes. Never fails.
 */
export const runLoad = (options: LoadOptions): Effect.Effect<LoadReport> =>
  Effect.gen(function*() {
    const { client, keys } = options
    const rand = prng(options.seed ?? 1)
    const mix = options.mix ?? { get: 70, set: 20, delete: 10 }
    const weight = mix.get + mix.set + mix.delete
    const report = emptyReport(options.servers ?? 0)
    const histogram = new Histogram(options.boundMs)
    const clock = yield* Effect.clock
    const startedAt = clock.unsafeCurrentTimeMillis()
    const endAt = options.durationMs === undefined ? Infinity : startedAt + options.durationMs
    let issued = 0
    let generation = 1
    const pending = new Set<Pending>()

    const one = (): Effect.Effect<void> => {
      const key = keys[Math.floor(rand() * keys.length)]!
      const r = rand() * weight
      const op: Op = r < mix.get ? "get" : r < mix.get + mix.set ? "set" : "delete"
      const request: Effect.Effect<Option.Option<string> | void, MemcachedError> = op === "get"
        ? client.getString(key)
        : op === "set"
        ? client.set(key, valueFor(key, generation++))
        : client.delete(key)
      const t0 = clock.unsafeCurrentTimeNanos()
      const issuedAt = clock.unsafeCurrentTimeMillis()
      const interrupt = options.interruptRate !== undefined && rand() < options.interruptRate
      const yields = Math.floor(rand() * 4)
      const guarded: Effect.Effect<Exit.Exit<Option.Option<string> | void, MemcachedError> | typeof INTERRUPTED> =
        interrupt
          ? Effect.gen(function*() {
            const fiber = yield* Effect.fork(request)
            for (let i = 0; i < yields; i++) yield* Effect.yieldNow()
            yield* Fiber.interrupt(fiber)
            const exit = yield* Fiber.await(fiber)
            return Exit.isInterrupted(exit) && Exit.isFailure(exit) && Option.isNone(Cause.failureOption(exit.cause))
              ? INTERRUPTED as typeof INTERRUPTED
              : exit
          })
          : Effect.exit(request)
      const entry: Pending = { issuedAt, hung: false, fiber: undefined }
      return Effect.fork(guarded).pipe(
        Effect.flatMap((fiber) => {
          entry.fiber = fiber
          pending.add(entry)
          return Fiber.await(fiber)
        }),
        Effect.map(
          (exit): Exit.Exit<Option.Option<string> | void, MemcachedError> | typeof INTERRUPTED | typeof HUNG => {
            pending.delete(entry)
            if (entry.hung) return HUNG
            return Exit.isSuccess(exit) ? exit.value : Exit.failCause(exit.cause as Cause.Cause<never>)
          }
        ),
        Effect.map((result) => {
          const ms = Number(clock.unsafeCurrentTimeNanos() - t0) / 1e6
          report.total++
          const home = options.home === undefined ? undefined : report.perServer[options.home(key)]
          let outcome: string
          if (result === INTERRUPTED) {
            report.interrupted++
            outcome = "interrupted"
          } else if (result === HUNG) {
            report.hung++
            outcome = "hung"
          } else {
            histogram.record(ms)
            if (Exit.isSuccess(result)) {
              report.ok++
              outcome = "ok"
              if (home !== undefined) home.ok++
              if (op === "get") {
                const v = result.value as Option.Option<string>
                if (Option.isSome(v)) {
                  report.hits++
                  if (!isValueOf(key, v.value)) {
                    report.wrong++
                    outcome = "wrong"
                    if (report.wrongSamples.length < 10) report.wrongSamples.push(`${key} -> ${v.value.slice(0, 60)}`)
                  }
                } else report.misses++
              }
            } else {
              const tag = describeFailure(result.cause)
              if (tag === undefined) {
                report.defects++
                outcome = "defect"
                if (report.defectSamples.length < 5) report.defectSamples.push(Cause.pretty(result.cause).slice(0, 300))
              } else if (tag === "MemcachedStoreError:NotFound") {
                // delete of a missing key: the server answered
                report.ok++
                report.misses++
                outcome = "ok"
                if (home !== undefined) home.ok++
              } else {
                report.errors[tag] = (report.errors[tag] ?? 0) + 1
                outcome = tag
                if (home !== undefined) home.errors++
              }
            }
          }
          if (options.onResult !== undefined) {
            const failure = result === INTERRUPTED || result === HUNG || Exit.isSuccess(result)
              ? undefined
              : Option.getOrUndefined(Cause.failureOption(result.cause))
            const server = failure !== undefined && "server" in failure ? String(failure.server) : undefined
            options.onResult({ key, op, outcome, issuedAt, at: clock.unsafeCurrentTimeMillis(), server })
          }
        })
      )
    }

    const worker = Effect.gen(function*() {
      // Bounded: at most `requests` iterations in total across workers.
      while (issued < options.requests) {
        if (options.stop?.() === true) break
        if (clock.unsafeCurrentTimeMillis() >= endAt) break
        issued++
        yield* one()
        if (options.pace !== undefined) yield* options.pace
        else if (options.thinkMs !== undefined && options.thinkMs > 0) yield* Effect.sleep(options.thinkMs)
      }
    })
    // One watchdog instead of a timer per request: requests older than `boundMs` are counted as hung
    // and abandoned (interrupted).
    const period = options.watchdogMs ?? Math.max(5, Math.floor(options.boundMs / 10))
    const watchdog = yield* Effect.fork(Effect.gen(function*() {
      for (let i = 0; i < 10_000_000; i++) {
        yield* Effect.sleep(period)
        const now = clock.unsafeCurrentTimeMillis()
        for (const e of pending) {
          if (!e.hung && e.fiber !== undefined && now - e.issuedAt >= options.boundMs) {
            e.hung = true
            yield* Fiber.interruptFork(e.fiber)
          }
        }
      }
    }))
    yield* Effect.forEach(Array.from({ length: options.concurrency }), () => worker, {
      concurrency: "unbounded",
      discard: true
    })
    yield* Fiber.interrupt(watchdog)
    report.maxLatencyMs = histogram.max
    report.p99Ms = histogram.percentile(0.99)
    report.p50Ms = histogram.percentile(0.5)
    return report
  })

/** Adds `b` into `a`. */
export const mergeReports = (a: LoadReport, b: LoadReport): LoadReport => {
  const errors = { ...a.errors }
  for (const [k, v] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + v
  return {
    total: a.total + b.total,
    ok: a.ok + b.ok,
    hits: a.hits + b.hits,
    misses: a.misses + b.misses,
    errors,
    wrong: a.wrong + b.wrong,
    wrongSamples: [...a.wrongSamples, ...b.wrongSamples].slice(0, 10),
    hung: a.hung + b.hung,
    defects: a.defects + b.defects,
    interrupted: a.interrupted + b.interrupted,
    defectSamples: [...a.defectSamples, ...b.defectSamples].slice(0, 5),
    maxLatencyMs: Math.max(a.maxLatencyMs, b.maxLatencyMs),
    p99Ms: Math.max(a.p99Ms, b.p99Ms),
    p50Ms: Math.max(a.p50Ms, b.p50Ms),
    perServer: a.perServer.map((s, i) => ({
      ok: s.ok + (b.perServer[i]?.ok ?? 0),
      errors: s.errors + (b.perServer[i]?.errors ?? 0)
    }))
  }
}

/** A one-line summary for assertion messages. */
export const summary = (r: LoadReport): string =>
  JSON.stringify({
    total: r.total,
    ok: r.ok,
    hits: r.hits,
    misses: r.misses,
    errors: r.errors,
    wrong: r.wrong,
    hung: r.hung,
    defects: r.defects,
    interrupted: r.interrupted,
    maxMs: Math.round(r.maxLatencyMs),
    p99Ms: r.p99Ms,
    perServer: r.perServer,
    wrongSamples: r.wrongSamples,
    defectSamples: r.defectSamples
  })

// ---------------------------------------------------------------------------------------------
// memcached processes on fixed ports (kill -9 by PID, restart on the same port)
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One memcached process we started, on a known port. */
export interface OwnedMemcached {
  readonly port: number
  readonly pid: number
  /** Sends `signal` to this PID only, and waits (bounded) for the exit. */
  readonly kill: (signal?: NodeJS.Signals) => Promise<void>
  readonly exited: () => boolean
}

const exitedChild = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

/**
 * Spawns memcached on `127.0.0.1:<port>` and waits (at most `readyMs`) until it accepts connections.
 * Retries a few times when the port is not yet free (bounded).
 */
export const spawnMemcachedOn = async (
  port: number,
  args: ReadonlyArray<string> = [],
  readyMs = 5000
): Promise<OwnedMemcached> => {
  const binary = memcachedBinary
  if (binary === undefined) throw new Error("memcached binary not found")
  let lastError = ""
  for (let attempt = 0; attempt < 10; attempt++) {
    const child = spawn(
      binary,
      ["-u", "nobody", "-l", "127.0.0.1", "-p", String(port), "-U", "0", "-t", "1", ...args],
      {
        stdio: ["ignore", "ignore", "pipe"]
      }
    )
    let stderr = ""
    child.stderr?.on("data", (d: Buffer) => {
      if (stderr.length < 2048) stderr += d.toString()
    })
    child.on("error", (e) => {
      lastError = String(e)
    })
    const pid = child.pid
    const waitExit = (ms: number): Promise<void> =>
      exitedChild(child)
        ? Promise.resolve()
        : new Promise((resolve) => {
          const timer = setTimeout(resolve, ms)
          child.once("exit", () => {
            clearTimeout(timer)
            resolve()
          })
        })
    const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
      if (pid === undefined || exitedChild(child)) return
      try {
        process.kill(pid, signal)
      } catch {
        // already gone
      }
      await waitExit(3000)
      if (!exitedChild(child)) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          // already gone
        }
        await waitExit(3000)
      }
    }
    if (pid !== undefined) {
      const deadline = Date.now() + readyMs
      while (Date.now() < deadline && !exitedChild(child)) {
        if (await canConnect(port)) return { port, pid, kill, exited: () => exitedChild(child) }
        await sleep(10)
      }
    }
    lastError = `memcached on ${port} did not start: ${stderr.trim() || lastError}`
    await kill("SIGKILL")
    await sleep(50)
  }
  throw new Error(lastError)
}

// ---------------------------------------------------------------------------------------------
// A scriptable fake memcached (byte-level faults)
// ---------------------------------------------------------------------------------------------

/** What the fake does with the next reply it would send. */
export type FakeFault =
  | { readonly _tag: "None" }
  /** Sends these bytes instead of the next reply, then keeps answering normally. */
  | { readonly _tag: "Garbage"; readonly bytes: string }
  /** The next VALUE reply is cut in the middle of its data block and the socket is reset (RST). */
  | { readonly _tag: "ResetMidValue" }

/**
 * A fake memcached speaking enough of the text protocol for the load (get/gets with many keys, set,
 * delete, version) with a fault slot consumed by the next matching reply. One store shared by all
 * connections.
 */
export const fakeMemcachedHandler = (store: Map<string, string>, fault: { current: FakeFault }) => {
  const buffers = new Map<net.Socket, string>()
  return (socket: net.Socket, chunk: Buffer) => {
    let buf = (buffers.get(socket) ?? "") + chunk.toString("latin1")
    let out = ""
    // Bounded: each iteration consumes at least one line.
    for (let guard = 0; guard < 100_000; guard++) {
      const eol = buf.indexOf("\r\n")
      if (eol < 0) break
      const line = buf.slice(0, eol)
      const [cmd, ...args] = line.split(" ")
      let reply = ""
      if (cmd === "get" || cmd === "gets") {
        let cut = false
        for (const k of args) {
          const v = store.get(k)
          if (v === undefined) continue
          if (fault.current._tag === "ResetMidValue") {
            fault.current = { _tag: "None" }
            reply += `VALUE ${k} 0 ${v.length}${cmd === "gets" ? " 1" : ""}\r\n${
              v.slice(0, Math.max(1, v.length >> 1))
            }`
            cut = true
            break
          }
          reply += `VALUE ${k} 0 ${v.length}${cmd === "gets" ? " 1" : ""}\r\n${v}\r\n`
        }
        if (cut) {
          socket.write(out + reply, "latin1", () => socket.resetAndDestroy())
          buffers.delete(socket)
          return
        }
        reply += "END\r\n"
        buf = buf.slice(eol + 2)
      } else if (cmd === "set") {
        const n = Number(args[3])
        if (buf.length < eol + 2 + n + 2) break
        store.set(args[0]!, buf.slice(eol + 2, eol + 2 + n))
        buf = buf.slice(eol + 2 + n + 2)
        reply = "STORED\r\n"
      } else if (cmd === "delete") {
        reply = store.delete(args[0]!) ? "DELETED\r\n" : "NOT_FOUND\r\n"
        buf = buf.slice(eol + 2)
      } else if (cmd === "version") {
        reply = "VERSION fake\r\n"
        buf = buf.slice(eol + 2)
      } else {
        reply = "ERROR\r\n"
        buf = buf.slice(eol + 2)
      }
      if (fault.current._tag === "Garbage") {
        reply = fault.current.bytes
        fault.current = { _tag: "None" }
      }
      out += reply
    }
    buffers.set(socket, buf)
    if (out !== "") socket.write(out, "latin1")
  }
}
