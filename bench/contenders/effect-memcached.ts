/**
 * Contender: effect-memcached (this project), driven the way an Effect application drives it:
 * long-lived fibers each looping with `Effect.whileLoop` over a shared counter (never `Effect.forEach`
 * over the whole operation count, which costs ~3–4 µs per element by itself).
 *
 * The variant (a line of the contender table in `bench/run.ts`) arrives as `input.options` and is
 * spread into the `MemcachedClient.make` options, so a new variant (meta protocol, auto-batching on or
 * off) is one more line in that table.
 *
 * Scenario-specific notes:
 * - `indep_get`: 100 *unrelated* fibers (`Effect.forkDaemon`, no shared parent or batching scope), each
 *   doing single `get`s — the case a per-tick auto-batcher can merge;
 * - `mem`: heapUsed (after forced GC) with N fibers blocked in `get` against the black-hole server,
 *   minus the heapUsed of N idle fibers (blocked in an `Effect.async` that never resumes): the client's
 *   memory per in-flight request beyond the caller's fiber.
 */
import { Effect, Fiber, Option } from "effect"
import type * as MCModule from "../../src/MemcachedClient.js"
import {
  type ChildOutput,
  emit,
  Expected,
  gcHeap,
  GET_POOL,
  getKey,
  IN_FLIGHT,
  LARGE_POOL,
  LARGE_SIZE,
  largeGetKey,
  largeSetKey,
  memResult,
  MGET_CALLERS,
  MGET_KEYS,
  MGET_POOL,
  mgetKey,
  mgetKeys,
  MIB,
  readChildInput,
  type ScenarioName,
  type ScenarioResult,
  SET_POOL,
  setKey,
  Tally,
  warmup,
  Window
} from "../scenarios.js"

// The bench measures the compiled package (`npm run build` first), as users run it: tsx's on-the-fly
// transform adds a keep-names wrapper call to every closure. BENCH_FROM_SRC=1 measures the sources.
const MC: typeof MCModule = process.env.BENCH_FROM_SRC === "1"
  ? await import("../../src/MemcachedClient.js")
  : await import(new URL("../../dist/MemcachedClient.js", import.meta.url).href)

const input = readChildInput()
const c = input.counts
const exp = new Expected(input.tag)
const want = new Set(input.scenarios)

const describe = (e: unknown): Error => {
  if (e instanceof Error && e.message !== "") return e
  try {
    return new Error(JSON.stringify(e))
  } catch {
    return new Error(String(e))
  }
}

/** `workers` long-lived fibers looping over a shared counter until `n` operations ran. */
const loops = (workers: number, n: number, op: (i: number) => Effect.Effect<void>): Effect.Effect<void> =>
  Effect.suspend(() => {
    let next = 0
    const worker = Effect.whileLoop({
      while: () => next < n,
      body: () => op(next++),
      step: () => undefined
    })
    const all: Array<Effect.Effect<void>> = []
    for (let w = 0; w < workers; w++) all.push(worker)
    return Effect.all(all, { concurrency: "unbounded", discard: true })
  })

/** Same, but every worker is an unrelated daemon fiber (like independent request handlers). */
const independentLoops = (workers: number, n: number, op: (i: number) => Effect.Effect<void>): Effect.Effect<void> =>
  Effect.gen(function*() {
    let next = 0
    const worker = Effect.whileLoop({
      while: () => next < n,
      body: () => op(next++),
      step: () => undefined
    })
    const fibers: Array<Fiber.RuntimeFiber<void>> = []
    for (let w = 0; w < workers; w++) fibers.push(yield* Effect.forkDaemon(worker))
    yield* Fiber.joinAll(fibers)
  })

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const heap = Effect.promise(gcHeap)

const makeClient = (servers: ReadonlyArray<string>, extra: Partial<MCModule.MemcachedClientOptions> = {}) =>
  MC.make({ servers, ...(input.options as Partial<MCModule.MemcachedClientOptions>), ...extra })

const settings =
  `MemcachedClient.make({servers${Object.keys(input.options).length > 0 ? `, ${JSON.stringify(input.options).slice(1, -1)}` : ""}}) ` +
  "with defaults otherwise (1 connection/server, text protocol, timeout 5s, maxInFlight 1024); " +
  "driver: long-lived fibers with Effect.whileLoop over a shared counter; native getMany (ketama over 4 servers)"

const program = Effect.gen(function*() {
  const results: Partial<Record<ScenarioName, ScenarioResult>> = {}
  const client = yield* makeClient([input.single])

  const setOp = (t: Tally, key: string, value: Uint8Array) =>
    client.set(key, value).pipe(
      Effect.match({ onFailure: (e) => t.error(describe(e)), onSuccess: () => undefined })
    )
  const getOp = (t: Tally) => (i: number) =>
    client.get(getKey(i)).pipe(
      Effect.match({
        onFailure: (e) => t.error(describe(e)),
        onSuccess: (o) => t.check(Option.isSome(o) ? o.value.value : undefined, exp.get[i % GET_POOL])
      })
    )

  // Seed the pools this client reads, with its own set (checked by the orchestrator with raw).
  {
    const t = new Tally()
    yield* loops(IN_FLIGHT, GET_POOL, (i) => setOp(t, getKey(i), exp.get[i]!.buf))
    yield* loops(1, LARGE_POOL, (i) => setOp(t, largeGetKey(i), exp.largeGet[i]!.buf))
    if (t.errors > 0) return yield* Effect.die(new Error(`seeding failed: ${t.errors} errors, first: ${t.firstError}`))
  }

  if (want.has("seq_get")) {
    yield* loops(1, warmup(c.seq), getOp(new Tally()))
    const t = new Tally()
    const lat = new Float64Array(c.seq)
    const op = getOp(t)
    let i = 0
    let t0 = 0
    const w = new Window()
    yield* Effect.whileLoop({
      while: () => i < c.seq,
      body: () => {
        t0 = performance.now()
        return op(i)
      },
      step: () => {
        lat[i] = (performance.now() - t0) * 1000
        i++
      }
    })
    results.seq_get = w.end(c.seq, "ops/s", t, { latenciesUs: lat })
  }
  if (want.has("conc_get")) {
    yield* loops(IN_FLIGHT, warmup(c.conc), getOp(new Tally()))
    const t = new Tally()
    const w = new Window()
    yield* loops(IN_FLIGHT, c.conc, getOp(t))
    results.conc_get = w.end(c.conc, "ops/s", t)
  }
  if (want.has("conc_set")) {
    const op = (t: Tally) => (i: number) => setOp(t, setKey(i), exp.set[i % SET_POOL]!.buf)
    yield* loops(IN_FLIGHT, warmup(c.set), op(new Tally()))
    const t = new Tally()
    const w = new Window()
    yield* loops(IN_FLIGHT, c.set, op(t))
    results.conc_set = w.end(c.set, "ops/s", t)
  }
  if (want.has("large_set")) {
    const op = (t: Tally) => (i: number) => setOp(t, largeSetKey(i), exp.largeSet[i % LARGE_POOL]!.buf)
    yield* loops(1, warmup(c.large, 0), op(new Tally()))
    const t = new Tally()
    const w = new Window()
    yield* loops(1, c.large, op(t))
    results.large_set = w.end(c.large, "MiB/s", t, { work: (c.large * LARGE_SIZE) / MIB })
  }
  if (want.has("large_get")) {
    const op = (t: Tally) => (i: number) =>
      client.get(largeGetKey(i)).pipe(
        Effect.match({
          onFailure: (e) => t.error(describe(e)),
          onSuccess: (o) => t.check(Option.isSome(o) ? o.value.value : undefined, exp.largeGet[i % LARGE_POOL])
        })
      )
    yield* loops(1, warmup(c.large, 0), op(new Tally()))
    const t = new Tally()
    const w = new Window()
    yield* loops(1, c.large, op(t))
    results.large_get = w.end(c.large, "MiB/s", t, { work: (c.large * LARGE_SIZE) / MIB })
  }
  if (want.has("indep_get")) {
    yield* independentLoops(IN_FLIGHT, warmup(c.indep), getOp(new Tally()))
    const t = new Tally()
    const w = new Window()
    yield* independentLoops(IN_FLIGHT, c.indep, getOp(t))
    results.indep_get = w.end(c.indep, "ops/s", t, { note: "100 unrelated daemon fibers doing single gets" })
  }

  if (want.has("mget")) {
    const multi = yield* makeClient(input.multi)
    const ts2 = new Tally()
    yield* loops(IN_FLIGHT, MGET_POOL, (i) =>
      multi.set(mgetKey(i), exp.mget.get(mgetKey(i))!.buf).pipe(
        Effect.match({ onFailure: (e) => ts2.error(describe(e)), onSuccess: () => undefined })
      ))
    if (ts2.errors > 0) return yield* Effect.die(new Error(`mget seeding failed: ${ts2.errors} errors, first: ${ts2.firstError}`))
    const op = (t: Tally) => (call: number) => {
      const keys = mgetKeys(call)
      return multi.getMany(keys).pipe(
        Effect.match({
          onFailure: (e) => t.error(describe(e)),
          onSuccess: (m) => {
            for (const k of keys) t.check(m.get(k)?.value, exp.mget.get(k))
          }
        })
      )
    }
    yield* loops(MGET_CALLERS, warmup(c.mgetCalls, 200), op(new Tally()))
    const t = new Tally()
    const w = new Window()
    yield* loops(MGET_CALLERS, c.mgetCalls, op(t))
    results.mget = w.end(c.mgetCalls * MGET_KEYS, "keys/s", t)
  }

  if (want.has("mem")) {
    const bh = yield* makeClient([input.blackhole], { timeout: "60 seconds" })
    const n = c.mem
    // One request first, so that the connection exists before the baselines.
    yield* Effect.forkDaemon(Effect.ignore(bh.get(getKey(0))))
    yield* sleep(300)
    // Baseline: N idle fibers (blocked in an async that never resumes; arity 1, no canceler, no timer).
    const idle = Effect.async<void>((_resume) => {})
    const h0 = yield* heap
    const idleFibers: Array<Fiber.RuntimeFiber<void>> = []
    for (let i = 0; i < n; i++) idleFibers.push(yield* Effect.forkDaemon(idle))
    yield* sleep(200)
    const h1 = yield* heap
    yield* Fiber.interruptAll(idleFibers)
    idleFibers.length = 0
    yield* sleep(100)
    const h2 = yield* heap
    const busy: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (let i = 0; i < n; i++) busy.push(yield* Effect.forkDaemon(bh.get(getKey(i))))
    yield* sleep(500)
    const h3 = yield* heap
    const fiberBytes = (h1 - h0) / n
    const withGet = (h3 - h2) / n
    results.mem = memResult(
      n,
      withGet - fiberBytes,
      `fiber+get ${withGet.toFixed(0)} B − idle fiber ${fiberBytes.toFixed(0)} B`
    )
    // The busy fibers stay pending; the process exits right after.
    void busy
  }
  return results
})

const main = async () => {
  let out: ChildOutput
  try {
    const results = await Effect.runPromise(Effect.scoped(program))
    out = { contender: input.contender, variant: input.variant, settings, results }
  } catch (e) {
    out = {
      contender: input.contender,
      variant: input.variant,
      settings,
      results: {},
      error: e instanceof Error ? (e.stack ?? e.message) : String(e)
    }
  }
  emit(out)
  process.exit(0)
}

await main()
