/**
 * Cache-aside (leases, stale-while-revalidate, single-flight) over two backends: the in-memory server under
 * TestClock (deterministic), and a real memcached 1.6 on the live clock. The same cases run on both; a
 * second `CacheAside` service over the same client stands in for another process (its own flight table,
 * so only the server's lease arbitrates). The last cases run 4 real child processes: this edition's only,
 * and two of each edition (the leases interoperate).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import * as path from "node:path"
import * as CacheAside from "../src/CacheAside.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import type { Counter } from "../src/edition.js"
import * as ValueCodec from "../src/ValueCodec.js"
import { adjustClock, edition, forkChild, isDone } from "./support/edition.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"

type Mode = "test" | "live"

let seq = 0
const fresh = (what: string) => `ca-${process.pid}-${Date.now().toString(36)}-${++seq}-${what}`
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Lets in-process I/O (the in-memory server's replies) run. */
const settle = Effect.promise(() => new Promise<void>((r) => setImmediate(r)))

/** Joins fibers; under TestClock advances the clock 1 ms at a time (letting I/O run) until all are done. */
// Callers are forked sequentially: a fiber forked inside a concurrent forEach is a child of that forEach's
// worker fiber, which Effect 4 interrupts when the worker ends (Effect 3 does not; sequential suits both).
const joinAll = <A, E>(fibers: ReadonlyArray<Fiber.Fiber<A, E>>, mode: Mode, stepMs = 1) =>
  mode === "live"
    ? Effect.forEach(fibers, Fiber.join)
    : Effect.gen(function*() {
      for (let i = 0; i < 20_000 / stepMs; i++) {
        const done = yield* Effect.forEach(fibers, isDone)
        if (done.every((d) => d)) return yield* Effect.forEach(fibers, Fiber.join)
        yield* settle
        yield* settle
        yield* adjustClock(Duration.millis(stepMs))
      }
      return yield* Effect.die(new Error("fibers did not finish within 20 s of test time"))
    })

/** Time passes: TestClock steps (with I/O in between) or a real sleep. */
const pass = (mode: Mode, ms: number) =>
  mode === "live" ? Effect.sleep(Duration.millis(ms)) : Effect.gen(function*() {
    // At most 20 clock steps (each TestClock.adjust costs a few ms of real time).
    const step = Math.max(1, Math.ceil(ms / 20))
    for (let t = 0; t < ms; t += step) {
      yield* settle
      yield* settle
      yield* adjustClock(Duration.millis(Math.min(step, ms - t)))
    }
    yield* settle
  })

const count = (counter: Counter) => Effect.map(Metric.value(counter), (s) => s.count)

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const a = yield* effect
    const end = yield* Effect.clockWith((c) => c.currentTimeMillis)
    return { value: a, ms: end - start }
  })

/** A compute that counts its runs and takes `ms`. */
const computer = (ms: number, result: (n: number) => string = (n) => `value-${n}`) => {
  const state = { runs: 0, interrupted: 0 }
  const compute = Effect.suspend(() => {
    const n = ++state.runs
    return Effect.as(Effect.sleep(Duration.millis(ms)), result(n))
  }).pipe(Effect.onInterrupt(() => Effect.sync(() => void state.interrupted++)))
  return { state, compute }
}

const cases = (mode: Mode, layer: () => Layer.Layer<MemcachedClient.MemcachedClient, unknown>) => {
  const run = <A, E>(
    name: string,
    body: Effect.Effect<A, E, MemcachedClient.MemcachedClient | import("effect/Scope").Scope>
  ) => (mode === "test" ? it.effect : it.live)(name, () => body.pipe(Effect.scoped, Effect.provide(layer())), 60_000)
  // Slack for the live clock on 2 shared cores; TestClock figures are exact up to the 1 ms stepping.
  const slack = mode === "test" ? 10 : 1000

  run(
    "herd: 1,000 concurrent callers of one cold key → one compute, one value, nobody waits past compute",
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({ name: fresh("herd") })
      const key = fresh("herd")
      const { state, compute } = computer(50)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 1000 }),
        () => forkChild(timed(cache.getOrSet(key, compute, { ttl: 60, lockTtl: 5 })))
      )
      const results = yield* joinAll(fibers, mode)
      assert.strictEqual(state.runs, 1)
      assert.isTrue(results.every((r) => text(r.value) === "value-1"))
      const worst = Math.max(...results.map((r) => r.ms))
      assert.isAtLeast(worst, 50)
      assert.isAtMost(worst, 50 + slack)
      assert.strictEqual(yield* count(cache.metrics.coalesced), 999)
      assert.strictEqual(yield* count(cache.metrics.won), 1)
      assert.strictEqual(yield* count(cache.metrics.miss), 1)
      // Stored: the next caller is a hit.
      const again = yield* cache.getOrSet(key, compute)
      assert.strictEqual(text(again), "value-1")
      assert.strictEqual(state.runs, 1)
      assert.strictEqual(yield* count(cache.metrics.hit), 1)
    })
  )

  run(
    "two processes: the loser waits on the lease, gets the winner's value, within the documented bound",
    Effect.gen(function*() {
      const a = yield* CacheAside.make({ name: fresh("a") })
      const b = yield* CacheAside.make({ name: fresh("b") })
      const key = fresh("two")
      const { state, compute } = computer(50)
      const fa = yield* forkChild(timed(a.getOrSet(key, compute, { ttl: 60, lockTtl: 5 })))
      yield* pass(mode, 5)
      const fb = yield* forkChild(timed(b.getOrSet(key, compute, { ttl: 60, lockTtl: 5 })))
      const [ra, rb] = yield* joinAll([fa, fb], mode)
      assert.strictEqual(state.runs, 1)
      assert.strictEqual(text(ra!.value), "value-1")
      assert.strictEqual(text(rb!.value), "value-1")
      assert.isAtLeast(yield* count(b.metrics.waited), 1)
      assert.strictEqual(yield* count(b.metrics.won), 0)
      // The wait is a backoff capped at 250 ms per step: the loser sees the value well before the lease TTL.
      assert.isAtMost(rb!.ms, 50 + 250 + slack)
    })
  )

  run(
    "hot key crossing its recache threshold: one refresh, zero misses, everyone served",
    Effect.gen(function*() {
      const a = yield* CacheAside.make({ name: fresh("a") })
      const b = yield* CacheAside.make({ name: fresh("b") })
      const key = fresh("hot")
      const { state, compute } = computer(50)
      const options = { ttl: 4, recache: 3, lockTtl: 5 } as const
      assert.strictEqual(
        text((yield* joinAll([yield* forkChild(a.getOrSet(key, compute, options))], mode))[0]!),
        "value-1"
      )
      assert.strictEqual(yield* count(a.metrics.miss), 1)
      yield* pass(mode, 2100)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 200 }),
        (_, i) => forkChild(timed((i % 2 === 0 ? a : b).getOrSet(key, compute, options)))
      )
      const results = yield* joinAll(fibers, mode)
      // Everyone got the current value at once; the refresh runs behind them.
      assert.isTrue(results.every((r) => text(r.value) === "value-1"))
      assert.isAtMost(Math.max(...results.map((r) => r.ms)), slack)
      yield* pass(mode, 100)
      assert.strictEqual(state.runs, 2)
      // Zero misses after the cold fill; the one extra win is the refresh.
      assert.strictEqual((yield* count(a.metrics.miss)) + (yield* count(b.metrics.miss)), 1)
      assert.strictEqual((yield* count(a.metrics.won)) + (yield* count(b.metrics.won)), 2)
      assert.strictEqual(text(yield* b.getOrSet(key, compute, options)), "value-2")
      assert.strictEqual(state.runs, 2)
    })
  )

  run(
    "compute failure: every caller gets the typed error, the lease is released, the next caller wins at once",
    Effect.gen(function*() {
      const a = yield* CacheAside.make({ name: fresh("a") })
      const b = yield* CacheAside.make({ name: fresh("b") })
      const key = fresh("fail")
      class DbDown extends Schema.TaggedError<DbDown>()("DbDown", {}) {}
      const failing = Effect.andThen(Effect.sleep("20 millis"), Effect.fail(new DbDown()))
      const fibers = yield* Effect.forEach(
        Array.from({ length: 10 }),
        () => forkChild(Effect.flip(a.getOrSet(key, failing, { lockTtl: 30 })))
      )
      const errors = yield* joinAll(fibers, mode)
      assert.isTrue(errors.every((e) => e._tag === "DbDown"))
      assert.strictEqual(yield* count(a.metrics.computeFailed), 1)
      const { state, compute } = computer(0)
      const next = yield* timed(b.getOrSet(key, compute, { lockTtl: 30 }))
      assert.strictEqual(text(next.value), "value-1")
      assert.strictEqual(yield* count(b.metrics.won), 1)
      assert.strictEqual(yield* count(b.metrics.waited), 0)
      assert.isAtMost(next.ms, slack)
      assert.strictEqual(state.runs, 1)
    })
  )

  run(
    "invalidate: readers get the stale value at once while exactly one recomputes",
    Effect.gen(function*() {
      const a = yield* CacheAside.make({ name: fresh("a") })
      const b = yield* CacheAside.make({ name: fresh("b") })
      const key = fresh("inv")
      const { state, compute } = computer(50, (n) => `v${n}`)
      assert.strictEqual(
        text((yield* joinAll([yield* forkChild(a.getOrSet(key, compute, { ttl: 300 }))], mode))[0]!),
        "v1"
      )
      assert.isTrue(yield* a.invalidate(key, { staleTtl: 30 }))
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }),
        (_, i) => forkChild(timed((i % 2 === 0 ? a : b).getOrSet(key, compute, { ttl: 300 })))
      )
      const results = yield* joinAll(fibers, mode)
      assert.isTrue(results.every((r) => text(r.value) === "v1"))
      assert.isAtMost(Math.max(...results.map((r) => r.ms)), slack)
      assert.isAtLeast((yield* count(a.metrics.staleServed)) + (yield* count(b.metrics.staleServed)), 2)
      yield* pass(mode, 100)
      assert.strictEqual(state.runs, 2)
      assert.strictEqual(text(yield* b.getOrSet(key, compute, { ttl: 300 })), "v2")
      assert.strictEqual(state.runs, 2)
      assert.isFalse(yield* a.invalidate(fresh("absent")))
    })
  )

  run(
    "a failed background refresh re-invalidates the value: readers keep it, the next reader wins the refresh",
    Effect.gen(function*() {
      const a = yield* CacheAside.make({ name: fresh("a") })
      const b = yield* CacheAside.make({ name: fresh("b") })
      const key = fresh("refail")
      const { state, compute } = computer(0, (n) => `v${n}`)
      assert.strictEqual(text(yield* a.getOrSet(key, compute, { ttl: 300 })), "v1")
      yield* a.invalidate(key, { staleTtl: 60 })
      const failing = Effect.andThen(Effect.sleep("20 millis"), Effect.fail("db down" as const))
      const [served] = yield* joinAll([yield* forkChild(a.getOrSet(key, failing, { ttl: 300 }))], mode)
      assert.strictEqual(text(served!), "v1")
      yield* pass(mode, 40)
      assert.strictEqual(yield* count(a.metrics.computeFailed), 1)
      // The token was given back (md I C<cas>): b wins at once, still serving the stale value meanwhile.
      const [again] = yield* joinAll([yield* forkChild(b.getOrSet(key, compute, { ttl: 300 }))], mode)
      assert.strictEqual(text(again!), "v1")
      assert.strictEqual(yield* count(b.metrics.won), 1)
      yield* pass(mode, 20)
      assert.strictEqual(state.runs, 2)
      assert.strictEqual(text(yield* b.getOrSet(key, compute, { ttl: 300 })), "v2")
    })
  )

  run(
    "interrupting one caller leaves the shared compute running; interrupting all releases the lease",
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({ name: fresh("int") })
      const other = yield* CacheAside.make({ name: fresh("other") })
      const key = fresh("int")
      const { state, compute } = computer(50)
      const first = yield* forkChild(cache.getOrSet(key, compute, { ttl: 60, lockTtl: 30 }))
      const second = yield* forkChild(cache.getOrSet(key, compute, { ttl: 60, lockTtl: 30 }))
      yield* pass(mode, 10)
      yield* Fiber.interrupt(first)
      const [value] = yield* joinAll([second], mode)
      assert.strictEqual(text(value!), "value-1")
      assert.strictEqual(state.runs, 1)
      assert.strictEqual(state.interrupted, 0)
      // All callers gone: the compute is interrupted and the stub deleted, so another process wins at once.
      const key2 = fresh("int2")
      const c1 = yield* forkChild(cache.getOrSet(key2, compute, { lockTtl: 30 }))
      const c2 = yield* forkChild(cache.getOrSet(key2, compute, { lockTtl: 30 }))
      for (let i = 0; i < 500 && state.runs < 2; i++) yield* pass(mode, 1)
      assert.strictEqual(state.runs, 2)
      yield* Fiber.interrupt(c1)
      yield* Fiber.interrupt(c2)
      for (let i = 0; i < 500 && state.interrupted < 1; i++) yield* pass(mode, 1)
      yield* pass(mode, 10)
      assert.strictEqual(state.interrupted, 1)
      assert.strictEqual(yield* count(cache.metrics.computeFailed), 1)
      const next = yield* forkChild(timed(other.getOrSet(key2, compute, { lockTtl: 30 })))
      const [r] = yield* joinAll([next], mode)
      assert.strictEqual(text(r!.value), "value-3")
      assert.strictEqual(yield* count(other.metrics.waited), 0)
      assert.isAtMost(r!.ms, 50 + slack)
    })
  )

  run(
    "getOrSetMany: one computeMany for the keys won; keys leased elsewhere are waited for; omitted keys released",
    Effect.gen(function*() {
      const a = yield* CacheAside.make({ name: fresh("a") })
      const b = yield* CacheAside.make({ name: fresh("b") })
      const client = yield* MemcachedClient.MemcachedClient
      const k = Array.from({ length: 6 }, (_, i) => fresh(`many${i}`))
      yield* client.set(k[0]!, "cached-0")
      yield* client.set(k[1]!, "cached-1")
      const slow = computer(50, () => "from-b")
      const held = yield* forkChild(b.getOrSet(k[2]!, slow.compute, { lockTtl: 5 }))
      yield* pass(mode, 5)
      const calls: Array<ReadonlyArray<string>> = []
      const computeMany = (keys: ReadonlyArray<string>) =>
        Effect.sync(() => {
          calls.push(keys)
          // k[5] is left out: it must be released, not left locked.
          return new Map(keys.filter((x) => x !== k[5]).map((x) => [x, `computed-${k.indexOf(x)}`] as const))
        })
      const fiber = yield* forkChild(a.getOrSetMany(k, computeMany, { ttl: 60, lockTtl: 5 }))
      const [result] = yield* joinAll([fiber], mode)
      yield* joinAll([held], mode)
      assert.deepStrictEqual(calls, [[k[3]!, k[4]!, k[5]!]])
      assert.deepStrictEqual(
        [...result!.entries()].map(([key, v]) => [k.indexOf(key), text(v)]).sort(),
        [[0, "cached-0"], [1, "cached-1"], [2, "from-b"], [3, "computed-3"], [4, "computed-4"]]
      )
      assert.strictEqual(slow.state.runs, 1)
      const after = computer(0, () => "later")
      const r5 = yield* timed(b.getOrSet(k[5]!, after.compute))
      assert.strictEqual(text(r5.value), "later")
      assert.strictEqual(yield* count(b.metrics.waited), 0)
    })
  )

  run(
    "typed variant over a Schema codec; a lease held too long ends in LeaseTimeout or a compute, as chosen",
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({ name: fresh("typed") })
      const client = yield* MemcachedClient.MemcachedClient
      const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
      const users = cache.typed(ValueCodec.schema(User))
      const key = fresh("user")
      const u = yield* users.getOrSet(key, Effect.succeed({ id: 1, name: "ada" }), { ttl: 60 })
      assert.deepStrictEqual(u, { id: 1, name: "ada" })
      assert.deepStrictEqual(yield* users.getOrSet(key, Effect.die("not called")), { id: 1, name: "ada" })
      // A dead winner with a long lease: a caller whose lockTtl is 1 s gives up after 1 s + 250 ms.
      const dead = fresh("dead")
      yield* client.metaGet(dead, { vivify: 3600 })
      const f = yield* forkChild(
        timed(Effect.flip(users.getOrSet(dead, Effect.succeed({ id: 2, name: "x" }), { lockTtl: 1 })))
      )
      const [timeout] = yield* joinAll([f], mode, 10)
      assert.strictEqual(timeout!.value._tag, "CacheAsideLeaseTimeout")
      // Documented: the wait ends within lockTtl + wait.max (1 s + 250 ms), plus round trips.
      assert.isAtLeast(timeout!.ms, 1000)
      assert.isAtMost(timeout!.ms, 1250 + 3 * slack)
      assert.isAtLeast(yield* count(cache.metrics.leaseTimeout), 1)
      const g = yield* forkChild(
        users.getOrSet(dead, Effect.succeed({ id: 3, name: "y" }), { lockTtl: 1, onLeaseTimeout: "compute" })
      )
      const [computed] = yield* joinAll([g], mode, 10)
      assert.deepStrictEqual(computed, { id: 3, name: "y" })
      // A cached value that does not decode is a typed MemcachedValueError.
      const bad = fresh("bad")
      yield* client.set(bad, "not json", { flags: 2 })
      const e = yield* Effect.flip(users.getOrSet(bad, Effect.succeed({ id: 4, name: "z" })))
      assert.strictEqual(e._tag, "MemcachedValueError")
    })
  )

  run(
    "XFetch: a large expected compute time makes a read win the early refresh long before expiry",
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({ name: fresh("xf") })
      const key = fresh("xf")
      const { state, compute } = computer(0)
      yield* cache.getOrSet(key, compute, { ttl: 600 })
      const calm = yield* cache.getOrSet(key, compute, { ttl: 600, xfetch: { delta: "1 millis" } })
      assert.strictEqual(text(calm), "value-1")
      yield* pass(mode, 20)
      assert.strictEqual(state.runs, 1)
      const eager = yield* cache.getOrSet(key, compute, { ttl: 600, xfetch: { delta: "1000000 seconds" } })
      assert.strictEqual(text(eager), "value-1")
      yield* pass(mode, 20)
      assert.strictEqual(state.runs, 2)
      assert.strictEqual(text(yield* cache.getOrSet(key, compute, { ttl: 600 })), "value-2")
    })
  )

  run(
    "invalid options fail typed before anything is sent",
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({ name: fresh("bad") })
      const e1 = yield* Effect.flip(cache.getOrSet(fresh("x"), Effect.succeed("v"), { lockTtl: 0 }))
      assert.strictEqual(e1._tag === "MemcachedInputError" && e1.reason, "InvalidTtl")
      const e2 = yield* Effect.flip(cache.getOrSet("bad key", Effect.succeed("v")))
      assert.strictEqual(e2._tag === "MemcachedInputError" && e2.reason, "InvalidKey")
      const e3 = yield* Effect.flip(
        cache.getOrSetMany([fresh("y")], () => Effect.succeed(new Map()), { wait: { factor: 0.5 } })
      )
      assert.strictEqual(e3._tag === "MemcachedInputError" && e3.reason, "InvalidArgument")
    })
  )
}

describe("CacheAside, in-memory server (TestClock)", () => {
  cases("test", () => MemcachedTest.layer({ protocol: "meta" }))

  it.effect("text protocol: typed Unsupported, nothing computed", () =>
    Effect.gen(function*() {
      const cache = yield* CacheAside.make({ name: fresh("text") })
      const { state, compute } = computer(0)
      const e = yield* Effect.flip(cache.getOrSet(fresh("t"), compute))
      assert.strictEqual(e._tag === "MemcachedInputError" && e.reason, "Unsupported")
      assert.strictEqual(state.runs, 0)
    }).pipe(Effect.scoped, Effect.provide(MemcachedTest.layer({ protocol: "text" }))))
})

describe("CacheAside, memcached 1.6 (real process, live clock)", () => {
  let mc: MemcachedProcess | undefined
  beforeAll(async () => {
    mc = await startMemcached()
  }, 30_000)
  afterAll(async () => {
    await mc?.stop()
  })
  cases("live", () => MemcachedClient.layer({ servers: [`127.0.0.1:${mc!.port}`], protocol: "meta" }))

  /**
   * (Process start-up with tsx takes tens of seconds on a loaded machine: these tests get 120 s.)
   * Runs one child process per script (each 250 concurrent getOrSet of one key, compute 50 ms) against
   * the real memcached: compute must run once in total, and everyone gets the one value.
   */
  const processHerd = (label: string, scripts: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const key = fresh("procs")
      const counter = fresh("computes")
      const children = scripts.map((script) =>
        spawn(process.execPath, ["--import", "tsx", script, String(mc!.port), key, counter, "250"], {
          stdio: ["pipe", "pipe", "pipe"]
        })
      )
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")))
      )
      const lines = children.map((child) => {
        let out = ""
        let err = ""
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()))
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout!.on("data", (d: Buffer) => {
            out += d.toString()
            if (out.includes("ready\n")) {
              resolve()
            }
          })
          child.once("exit", (code) => reject(new Error(`child exited ${code}: ${err}`)))
        })
        const done = new Promise<string>((resolve, reject) =>
          child.once(
            "exit",
            (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)))
          )
        )
        return { ready, done }
      })
      yield* Effect.promise(() => Promise.all(lines.map((l) => l.ready)))
      for (const child of children) child.stdin!.write("go\n")
      const outputs = yield* Effect.promise(() => Promise.all(lines.map((l) => l.done)))
      const reports = outputs.map((o) =>
        JSON.parse(o.split("\n").find((l) => l.startsWith("{"))!) as {
          computes: number
          values: Array<string>
          maxMs: number
          count: number
        }
      )
      assert.strictEqual(reports.reduce((n, r) => n + r.computes, 0), 1, outputs.join("|"))
      assert.isTrue(reports.every((r) => r.count === 250 && r.values.length === 1))
      assert.strictEqual(new Set(reports.flatMap((r) => r.values)).size, 1)
      const client = yield* MemcachedClient.MemcachedClient
      assert.strictEqual(Option.map(yield* client.getString(counter), Number).pipe(Option.getOrThrow), 1)
      // Documented bound: compute (50 ms) + lease wait (lockTtl 5 s + 250 ms) + round trips.
      const worst = Math.max(...reports.map((r) => r.maxMs))
      console.log(`${label}: worst latency ${worst} ms`, reports.map((r) => r.computes))
      assert.isAtMost(worst, 50 + 5250 + 1000)
    }).pipe(
      Effect.scoped,
      Effect.provide(MemcachedClient.layer({ servers: [`127.0.0.1:${mc!.port}`], protocol: "meta" }))
    )

  // This edition's child, and the other edition's (the same shared script, compiled against the other Effect).
  const ownChild = path.join(import.meta.dirname, "support", "cacheAsideChild.ts")
  const otherChild = path.join(edition.otherTestDir, "support", "cacheAsideChild.ts")

  it.live(
    "herd across 4 client processes: compute runs once in total, everyone gets the value",
    () => processHerd("4-process herd", [ownChild, ownChild, ownChild, ownChild]),
    120_000
  )

  it.live(
    `herd across both editions (2 ${edition.name} + 2 ${edition.otherName} processes): the leases interoperate, one compute in total`,
    () => processHerd("mixed-edition herd", [ownChild, otherChild, ownChild, otherChild]),
    120_000
  )
})
