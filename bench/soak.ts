/**
 * Soak: mixed load against 3 real memcached processes while they are killed (-9, by PID), restarted on
 * the same port and paused (SIGSTOP, a slow server) at random, with failover `next` and a retry
 * schedule. Prints totals and exits non-zero when any value was wrong or any request hung.
 *
 *   npm run soak -- [--seconds 60] [--requests N] [--concurrency 64] [--seed 1]
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { makeKeys, type OwnedMemcached, prng, runLoad, seed, spawnMemcachedOn } from "../test/support/load.js"
import { freePort, memcachedBinary } from "../test/support/memcached.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} expects a positive number`)
  return v
}

const seconds = arg("seconds", 60)
const requests = arg("requests", 50_000_000)
const concurrency = arg("concurrency", 64)
const seedValue = arg("seed", 1)

const TIMEOUT = 500
const RETRY_INTERVAL = 500
const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const procs: Array<OwnedMemcached | undefined> = []
const ports: Array<number> = []
const stopped = new Set<number>()

const cleanup = async () => {
  for (const pid of stopped) {
    try {
      process.kill(pid, "SIGCONT")
    } catch {
      // gone
    }
  }
  await Promise.all(procs.map((p) => p?.kill("SIGKILL")))
}

const main = Effect.gen(function*() {
  if (memcachedBinary === undefined) return yield* Effect.die(new Error("memcached binary not found"))
  for (let i = 0; i < 3; i++) {
    for (let attempt = 0; attempt < 5 && procs[i] === undefined; attempt++) {
      const port = yield* Effect.promise(() => freePort())
      const p = yield* Effect.promise(() => spawnMemcachedOn(port, ["-m", "64"], 3000).catch(() => undefined))
      if (p !== undefined) {
        procs[i] = p
        ports[i] = port
      }
    }
    if (procs[i] === undefined) return yield* Effect.die(new Error("could not start memcached"))
  }
  const servers = ports.map((p) => `127.0.0.1:${p}`)
  console.log(`soak: ${seconds}s, cap ${requests} requests, ${concurrency} workers, servers ${servers.join(" ")}`)

  const client = yield* MemcachedClient.make({
    servers,
    timeout: TIMEOUT,
    connectTimeout: TIMEOUT,
    failureLimit: 3,
    failureWindow: 5_000,
    retryInterval: RETRY_INTERVAL,
    maxRetryInterval: 4_000,
    flapWindow: 10_000,
    failover: "next",
    retry: Schedule.exponential("5 millis").pipe(Schedule.intersect(Schedule.recurs(2)))
  })
  const keys = makeKeys("soak", 5_000)
  const seedFailures = yield* seed(client, keys)
  if (seedFailures > 0) console.log(`seed: ${seedFailures} sets failed`)

  // Chaos: every 0.5–2 s, kill -9 a random server and restart it on the same port 0.2–1.5 s later,
  // or pause it (SIGSTOP) past the request timeout. Bounded by the run's duration.
  const rand = prng(seedValue * 7919)
  const chaos = { kills: 0, restarts: 0, pauses: 0, restartFailures: 0 }
  const deadline = Date.now() + seconds * 1000
  const chaosFiber = yield* Effect.fork(Effect.gen(function*() {
    for (let round = 0; round < 100_000 && Date.now() < deadline - 1000; round++) {
      yield* sleep(500 + Math.floor(rand() * 1500))
      const i = Math.floor(rand() * 3)
      const p = procs[i]
      if (p === undefined) continue
      if (rand() < 0.25) {
        chaos.pauses++
        stopped.add(p.pid)
        process.kill(p.pid, "SIGSTOP")
        yield* sleep(TIMEOUT + 200 + Math.floor(rand() * 800)).pipe(
          Effect.ensuring(Effect.sync(() => {
            process.kill(p.pid, "SIGCONT")
            stopped.delete(p.pid)
          }))
        )
        continue
      }
      chaos.kills++
      yield* Effect.promise(() => p.kill("SIGKILL"))
      procs[i] = undefined
      yield* sleep(200 + Math.floor(rand() * 1300))
      // uninterruptible: a restart in progress is always recorded, so cleanup can stop it by PID
      const restarted = yield* Effect.uninterruptible(
        Effect.promise(() => spawnMemcachedOn(ports[i]!, ["-m", "64"], 3000).catch(() => undefined))
      )
      if (restarted === undefined) chaos.restartFailures++
      else {
        chaos.restarts++
        procs[i] = restarted
      }
    }
  }))

  const started = Date.now()
  const report = yield* runLoad({
    client,
    keys,
    concurrency,
    requests,
    durationMs: seconds * 1000,
    // a request may take 3 attempts of TIMEOUT plus backoff; anything past 5 s is hung
    boundMs: 5_000,
    watchdogMs: 100,
    interruptRate: 0.02,
    seed: seedValue
  })
  const elapsed = (Date.now() - started) / 1000
  yield* Fiber.interrupt(chaosFiber)

  const errors = Object.entries(report.errors).sort((a, b) => b[1] - a[1])
  const errorTotal = errors.reduce((n, [, v]) => n + v, 0)
  const lines = [
    `requests      ${report.total} in ${elapsed.toFixed(1)} s (${Math.round(report.total / elapsed)}/s)`,
    `ok            ${report.ok} (hits ${report.hits}, misses ${report.misses})`,
    `interrupted   ${report.interrupted} (by the load, on purpose)`,
    `errors        ${errorTotal}`,
    ...errors.map(([k, v]) => `  ${k.padEnd(44)} ${v}`),
    `wrong values  ${report.wrong}${report.wrongSamples.length > 0 ? `  e.g. ${report.wrongSamples.join("; ")}` : ""}`,
    `hung          ${report.hung}`,
    `defects       ${report.defects}${report.defectSamples.length > 0 ? `  e.g. ${report.defectSamples[0]}` : ""}`,
    `latency       max ${report.maxLatencyMs.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms, p50 ${
      report.p50Ms.toFixed(1)
    } ms`,
    `chaos         ${chaos.kills} kill -9, ${chaos.restarts} restarts on the same port, ${chaos.pauses} SIGSTOP pauses${
      chaos.restartFailures > 0 ? `, ${chaos.restartFailures} failed restarts` : ""
    }`
  ]
  console.log(lines.join("\n"))
  return report.wrong === 0 && report.hung === 0 && report.defects === 0
})

const program = main.pipe(
  Effect.scoped,
  Logger.withMinimumLogLevel(LogLevel.Error),
  Effect.ensuring(Effect.promise(cleanup))
)

process.once("SIGINT", () => {
  void cleanup().then(() => process.exit(130))
})

Effect.runPromise(program).then(
  (ok) => {
    if (!ok) console.log("FAIL: wrong values, hung requests or defects")
    process.exit(ok ? 0 : 1)
  },
  (e) => {
    console.error(e)
    void cleanup().then(() => process.exit(2))
  }
)
