/**
 * The driver of every Effect contender (effect-memcached, the Effect floor, memjs + Effect.tryPromise),
 * written once for both editions: packages/effect4/editions.json lists it, so the Effect 4 contenders
 * (effect-memcached-effect4, the Effect 4 floor) run its copy against Effect 4.1 in a child process that
 * resolves `effect` from packages/effect4; ./edition.ts names what the editions spell differently
 * (`Effect.forkDaemon`/`forkDetach`, `Effect.async`/`callback`, `Fiber.RuntimeFiber`/`Fiber`). For every
 * Effect contender:
 * long-lived fibers, each looping with `Effect.whileLoop` over a shared counter (never `Effect.forEach`
 * over the whole operation count, which costs ~3–4 µs per element by itself) — the way an Effect
 * application drives a client. Each contender only says how one call is made (`EffectTarget`); the
 * scenarios, checks and measurement are the same for all of them and mirror `runGeneric`.
 *
 * Scenario-specific notes:
 * - `indep_get`: 100 *unrelated* fibers (a detached fork, no shared parent or batching scope), each
 *   doing single `get`s — the case a per-tick auto-batcher could merge;
 * - `mem`: heapUsed (after forced GC) with N fibers blocked in `get` against the black-hole server,
 *   minus the heapUsed of N idle fibers (blocked in a callback effect that never resumes): the client's
 *   memory per in-flight request beyond the caller's fiber.
 */
import { Cause, Effect, Fiber, type Layer, type Scope } from "effect"
import { callback, type DetachedFiber, forkDetached } from "./edition.js"
import {
  type ChildInput,
  type ChildOutput,
  emit,
  Expected,
  gcHeap,
  GET_POOL,
  getKey,
  IN_FLIGHT,
  inFlightOf,
  isMixedSet,
  LARGE_POOL,
  LARGE_SIZE,
  largeGetKey,
  largeSetKey,
  memResult,
  MGET_CALLERS,
  MGET_POOL,
  MGET_SCENARIOS,
  mgetKey,
  mgetKeys,
  mgetSize,
  MIB,
  readChildInput,
  type ScenarioName,
  type ScenarioResult,
  SET_POOL,
  SETMANY_SIZE,
  setKey,
  Tally,
  type Value,
  warmup,
  warmupCalls,
  Window
} from "./scenarios.js"

type Bytes = Uint8Array | string | undefined

/**
 * One client as the Effect driver calls it. Results are handed back as the client returns them and
 * read by `value`/`lookup`/`failures`, so no contender pays an extra `Effect.map` per call.
 */
export interface EffectTarget {
  readonly get: (key: string) => Effect.Effect<unknown, unknown>
  /** The value of a `get` result (undefined = miss). */
  readonly value: (got: unknown) => Bytes
  readonly set: (key: string, value: Uint8Array) => Effect.Effect<unknown, unknown>
  /** One multi-get call over the client's servers. */
  readonly getMany: (keys: ReadonlyArray<string>) => Effect.Effect<unknown, unknown>
  readonly lookup: (many: unknown, key: string) => Bytes
  /** One bulk write of all `entries`. */
  readonly setMany: (entries: ReadonlyArray<readonly [string, Uint8Array]>) => Effect.Effect<unknown, unknown>
  /** Failed writes in a `setMany` result, with the first failure. */
  readonly failures: (result: unknown) => { readonly count: number; readonly first?: unknown }
}

export interface EffectFactory {
  /** What the bench used, for the report. */
  readonly settings: string
  readonly make: (
    servers: ReadonlyArray<string>,
    purpose: "single" | "multi" | "mem"
  ) => Effect.Effect<EffectTarget, unknown, Scope.Scope>
  /** Provided to the whole program (e.g. an OpenTelemetry tracer for the telemetry lines). */
  readonly layer?: Layer.Layer<never> | undefined
}

const describe = (e: unknown): Error => {
  if (e instanceof Error && e.message !== "") return e
  try {
    return new Error(JSON.stringify(e))
  } catch {
    return new Error(String(e))
  }
}

/** `workers` long-lived fibers looping over a shared counter until `n` operations ran. */
export const loops = (workers: number, n: number, op: (i: number) => Effect.Effect<void>): Effect.Effect<void> =>
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
    const fibers: Array<DetachedFiber<void>> = []
    for (let w = 0; w < workers; w++) fibers.push(yield* forkDetached(worker))
    yield* Fiber.joinAll(fibers)
  })

/**
 * What one driven call does with its outcome (`Effect.matchCauseEffect`'s handlers), as a class
 * instance made with `new`, never an object literal per call. A literal has an allocation site, and
 * V8 pretenures a site when one scavenge finds >= 85% of its recent objects alive, which happens when
 * it lands just after a reply chunk completed 100 calls whose fibers have not run yet. With the
 * driver's `Effect.match(call, { onFailure, onSuccess })` site tenured, every Effect contender, the
 * floor included, spent 2-3x the client CPU per get (~9 instead of ~3.5 us at get@100: each scavenge
 * promoted ~2.4 MB and took ~7 ms) in about half of its processes, and the bench's medians were a
 * coin toss (bench/README.md, "V8 pretenuring"). `Effect.match` itself builds two literals per call
 * in Effect 3 (core-effect's `match` and `matchEffect`), hence `matchCauseEffect`, which builds none.
 * A failure, a defect or an interruption of the call is one error of the tally.
 */
class Outcome {
  constructor(protected readonly t: Tally) {}
  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
    this.t.error(describe(Cause.squash(cause)))
    return Effect.void
  }
  readonly onSuccess = (got: unknown): Effect.Effect<void> => {
    this.got(got)
    return Effect.void
  }
  /** Checks what the call returned (a write's result: nothing to check). */
  protected got(_got: unknown): void {}
}

/** A get's outcome: the value it returned must be `want`. */
class GetOutcome extends Outcome {
  constructor(t: Tally, private readonly value: (got: unknown) => Bytes, private readonly want: Value | undefined) {
    super(t)
  }
  protected override got(got: unknown): void {
    this.t.check(this.value(got), this.want)
  }
}

/** A bulk call's outcome, checked by `check` (one call per many keys: a closure per call is cheap there). */
class BulkOutcome extends Outcome {
  constructor(t: Tally, private readonly check: (got: unknown) => void) {
    super(t)
  }
  protected override got(got: unknown): void {
    this.check(got)
  }
}

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))
const heap = Effect.promise(gcHeap)

const program = (input: ChildInput, factory: EffectFactory) =>
  Effect.gen(function*() {
    const c = input.counts
    const exp = new Expected(input.tag)
    const want = new Set(input.scenarios)
    const results: Partial<Record<ScenarioName, ScenarioResult>> = {}
    const one = [input.single]
    const client = yield* factory.make(one, "single")

    // A write's outcome checks nothing: one `Outcome` per loop serves all of its sets.
    const setOp = (o: Outcome, key: string, value: Uint8Array) => Effect.matchCauseEffect(client.set(key, value), o)
    const getOp = (t: Tally) => (i: number) =>
      Effect.matchCauseEffect(client.get(getKey(i)), new GetOutcome(t, client.value, exp.get[i % GET_POOL]))
    const measure = (
      name: ScenarioName,
      servers: ReadonlyArray<string>,
      workers: number,
      n: number,
      warm: number,
      op: (t: Tally) => (i: number) => Effect.Effect<void>,
      unit: ScenarioResult["unit"] = "ops/s",
      perOp = 1,
      independent = false
    ) =>
      Effect.gen(function*() {
        const run = independent ? independentLoops : loops
        yield* run(workers, warm, op(new Tally()))
        const t = new Tally()
        const w = yield* Effect.promise(() => Window.start(servers))
        yield* run(workers, n, op(t))
        const work = unit === "MiB/s" ? (n * LARGE_SIZE) / MIB : undefined
        results[name] = yield* Effect.promise(() => w.end(n * perOp, unit, t, work === undefined ? {} : { work }))
      })

    // Seed the pools this client reads, with its own set (checked by the orchestrator with raw).
    {
      const t = new Tally()
      const o = new Outcome(t)
      yield* loops(IN_FLIGHT, GET_POOL, (i) => setOp(o, getKey(i), exp.get[i]!.buf))
      yield* loops(1, LARGE_POOL, (i) => setOp(o, largeGetKey(i), exp.largeGet[i]!.buf))
      if (t.errors > 0) {
        return yield* Effect.die(new Error(`seeding failed: ${t.errors} errors, first: ${t.firstError}`))
      }
    }

    if (want.has("get_1")) {
      yield* loops(1, warmup(c.get_1), getOp(new Tally()))
      const t = new Tally()
      const lat = new Float64Array(c.get_1)
      const op = getOp(t)
      let i = 0
      let t0 = 0
      const w = yield* Effect.promise(() => Window.start(one))
      yield* Effect.whileLoop({
        while: () => i < c.get_1,
        body: () => {
          t0 = performance.now()
          return op(i)
        },
        step: () => {
          lat[i] = (performance.now() - t0) * 1000
          i++
        }
      })
      results.get_1 = yield* Effect.promise(() => w.end(c.get_1, "ops/s", t, { latenciesUs: lat }))
    }
    for (const s of ["get_10", "get_100", "get_1000"] as const) {
      if (want.has(s)) yield* measure(s, one, inFlightOf(s), c[s], warmup(c[s]), getOp)
    }
    const setPoolOp = (t: Tally) => {
      const o = new Outcome(t)
      return (i: number) => setOp(o, setKey(i), exp.set[i % SET_POOL]!.buf)
    }
    if (want.has("set_100")) yield* measure("set_100", one, IN_FLIGHT, c.set_100, warmup(c.set_100), setPoolOp)
    if (want.has("mixed_100")) {
      const op = (t: Tally) => {
        const g = getOp(t)
        const o = new Outcome(t)
        return (i: number) => (isMixedSet(i) ? setOp(o, getKey(i), exp.get[i % GET_POOL]!.buf) : g(i))
      }
      yield* measure("mixed_100", one, IN_FLIGHT, c.mixed_100, warmup(c.mixed_100), op)
    }
    if (want.has("setmany_10000")) {
      const entries: Array<readonly [string, Uint8Array]> = []
      for (let i = 0; i < SETMANY_SIZE; i++) entries.push([setKey(i), exp.set[i]!.buf])
      const op = (t: Tally) => (_call: number) =>
        Effect.matchCauseEffect(
          client.setMany(entries),
          new BulkOutcome(t, (r) => {
            const f = client.failures(r)
            for (let k = 0; k < f.count; k++) t.error(describe(f.first))
          })
        )
      yield* measure("setmany_10000", one, 1, c.setmany_10000, warmup(c.setmany_10000, 1), op, "ops/s", SETMANY_SIZE)
    }
    if (want.has("large_set")) {
      const op = (t: Tally) => {
        const o = new Outcome(t)
        return (i: number) => setOp(o, largeSetKey(i), exp.largeSet[i % LARGE_POOL]!.buf)
      }
      yield* measure("large_set", one, 1, c.large_set, warmup(c.large_set, 0), op, "MiB/s")
    }
    if (want.has("large_get")) {
      const op = (t: Tally) => (i: number) =>
        Effect.matchCauseEffect(
          client.get(largeGetKey(i)),
          new GetOutcome(t, client.value, exp.largeGet[i % LARGE_POOL])
        )
      yield* measure("large_get", one, 1, c.large_get, warmup(c.large_get, 0), op, "MiB/s")
    }
    if (want.has("indep_get")) {
      yield* measure("indep_get", one, IN_FLIGHT, c.indep_get, warmup(c.indep_get), getOp, "ops/s", 1, true)
    }

    if (MGET_SCENARIOS.some((s) => want.has(s))) {
      const multi = yield* factory.make(input.multi, "multi")
      const ts = new Tally()
      const seeded = new Outcome(ts)
      yield* loops(IN_FLIGHT, MGET_POOL, (i) =>
        Effect.matchCauseEffect(multi.set(mgetKey(i), exp.mget.get(mgetKey(i))!.buf), seeded))
      if (ts.errors > 0) {
        return yield* Effect.die(new Error(`mget seeding failed: ${ts.errors} errors, first: ${ts.firstError}`))
      }
      for (const s of MGET_SCENARIOS) {
        if (!want.has(s)) {
          continue
        }
        const size = mgetSize(s)
        const op = (t: Tally) => (call: number) => {
          const keys = mgetKeys(call, size)
          return Effect.matchCauseEffect(
            multi.getMany(keys),
            new BulkOutcome(t, (m) => {
              for (const k of keys) {
                t.check(multi.lookup(m, k), exp.mget.get(k))
              }
            })
          )
        }
        yield* measure(s, input.multi, MGET_CALLERS, c[s], warmupCalls(c[s], size), op, "keys/s", size)
      }
    }

    if (want.has("mem")) {
      const bh = yield* factory.make([input.blackhole], "mem")
      const n = c.mem
      // One request first, so that the connection exists before the baselines.
      yield* forkDetached(Effect.ignore(bh.get(getKey(0))))
      yield* sleep(300)
      // Baseline: N idle fibers (blocked in an async that never resumes; arity 1, no canceler, no timer).
      const idle = callback<void>((_resume) => {})
      const h0 = yield* heap
      const idleFibers: Array<DetachedFiber<void>> = []
      for (let i = 0; i < n; i++) {
        idleFibers.push(yield* forkDetached(idle))
      }
      yield* sleep(200)
      const h1 = yield* heap
      yield* Fiber.interruptAll(idleFibers)
      idleFibers.length = 0
      yield* sleep(100)
      const h2 = yield* heap
      const busy: Array<DetachedFiber<unknown, unknown>> = []
      for (let i = 0; i < n; i++) {
        busy.push(yield* forkDetached(bh.get(getKey(i))))
      }
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

/** Runs the requested scenarios with `factory`'s client and emits the result line. */
export const runEffect = async (factory: (input: ChildInput) => Promise<EffectFactory>): Promise<void> => {
  const input = readChildInput()
  let out: ChildOutput
  let settings = "(not built)"
  try {
    const f = await factory(input)
    settings = f.settings
    const run = Effect.scoped(program(input, f))
    const results = await Effect.runPromise(f.layer === undefined ? run : Effect.provide(run, f.layer))
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
