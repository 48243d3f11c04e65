/**
 * Herd benchmark: `npm run bench:herd [-- --seconds 5 --callers 100 --keys 10 --db-ms 50 --ttl 1 --think-ms 5]`.
 *
 * Starts one memcached on a free loopback port (stopped by PID at the end) and runs the same workload twice,
 * once per strategy: `callers` concurrent request loops, each reading one of `keys` hot keys at random
 * (`think-ms`, default 5, between requests); every key has a `ttl`-second TTL, so every key expires every `ttl`
 * seconds and the herd hits the "database" (a 50 ms sleep that counts its calls) again.
 *
 * - naive: `get`; on a miss call the database and `set` (what most cache-aside code does);
 * - getOrSet: `CacheAside.getOrSet` (lease + in-process single-flight; `--recache N` adds early refresh).
 *
 * Prints database calls per second, request p50/p99/max latency and the ratios.
 */
import { spawn } from "node:child_process"
import * as net from "node:net"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as CacheAside from "../src/CacheAside.js"
import * as MemcachedClient from "../src/MemcachedClient.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const SECONDS = arg("seconds", 5)
const CALLERS = arg("callers", 100)
const KEYS = arg("keys", 10)
const DB_MS = arg("db-ms", 50)
const TTL = arg("ttl", 1)
const RECACHE = arg("recache", 0)
const THINK_MS = arg("think-ms", 5)

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      const port = typeof a === "object" && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port })
    c.once("connect", () => (c.destroy(), resolve(true)))
    c.once("error", () => resolve(false))
  })

type Strategy = "naive" | "getOrSet"

interface Result {
  readonly strategy: Strategy
  readonly dbCalls: number
  readonly requests: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

const workload = (strategy: Strategy, prefix: string) =>
  Effect.gen(function*() {
    const client = yield* MemcachedClient.MemcachedClient
    const cache = yield* CacheAside.CacheAside
    let dbCalls = 0
    const db = (key: string) => Effect.as(Effect.sleep(DB_MS), (dbCalls++, `row-of-${key}`))
    const latencies: Array<number> = []
    const deadline = Date.now() + SECONDS * 1000
    const options: CacheAside.RawOptions = { ttl: TTL, lockTtl: 5, recache: RECACHE > 0 ? RECACHE : undefined }
    const request = (key: string): Effect.Effect<unknown, unknown> =>
      strategy === "getOrSet"
        ? cache.getOrSet(key, Effect.suspend(() => db(key)), options)
        : Effect.flatMap(client.get(key), (hit) =>
          hit._tag === "Some"
            ? Effect.succeed<unknown>(hit.value.value)
            : Effect.tap(Effect.suspend(() => db(key)), (v) => client.set(key, v, { ttl: TTL })))
    const loop = Effect.gen(function*() {
      while (Date.now() < deadline) {
        const key = `${prefix}-${Math.floor(Math.random() * KEYS)}`
        const start = performance.now()
        yield* request(key)
        latencies.push(performance.now() - start)
        yield* Effect.sleep(THINK_MS)
      }
    })
    yield* Effect.all(
      Array.from({ length: CALLERS }, () => loop),
      { concurrency: "unbounded", discard: true }
    )
    latencies.sort((a, b) => a - b)
    if (strategy === "getOrSet") {
      const m = cache.metrics
      const counts: Record<string, number> = {}
      for (const [name, counter] of Object.entries(m) as Array<[string, Metric.Metric.Counter<number>]>) {
        counts[name] = (yield* Metric.value(counter)).count
      }
      console.log("getOrSet counters:", JSON.stringify(counts))
    }
    return {
      strategy,
      dbCalls,
      requests: latencies.length,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1]!
    } satisfies Result
  })

const main = async () => {
  const port = await freePort()
  const child = spawn("/usr/bin/memcached", [
    "-u",
    "nobody",
    "-l",
    "127.0.0.1",
    "-p",
    String(port),
    "-U",
    "0",
    "-t",
    "1"
  ], {
    stdio: "ignore"
  })
  try {
    for (let i = 0; i < 100 && !(await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 20))
    const layer = CacheAside.layer({ name: "bench" }).pipe(
      Layer.provideMerge(MemcachedClient.layer({ servers: [`127.0.0.1:${port}`], protocol: "meta" }))
    )
    const results: Array<Result> = []
    for (const strategy of ["naive", "getOrSet"] as const) {
      results.push(await Effect.runPromise(Effect.provide(workload(strategy, `${strategy}-${Date.now()}`), layer)))
    }
    console.log(
      `herd: ${CALLERS} callers (think ${THINK_MS} ms), ${KEYS} keys, TTL ${TTL} s, database ${DB_MS} ms, ${SECONDS} s per strategy${
        RECACHE > 0 ? `, recache ${RECACHE} s` : ""
      }`
    )
    console.log("| strategy | database calls/s | requests/s | p50 ms | p99 ms | max ms |")
    console.log("|---|---:|---:|---:|---:|---:|")
    for (const r of results) {
      console.log(
        `| ${r.strategy} | ${(r.dbCalls / SECONDS).toFixed(1)} | ${(r.requests / SECONDS).toFixed(0)} | ${
          r.p50.toFixed(2)
        } | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} |`
      )
    }
    const [naive, lease] = results as [Result, Result]
    console.log(
      `database calls: naive / getOrSet = ${
        (naive.dbCalls / Math.max(1, lease.dbCalls)).toFixed(1)
      }×; p99: naive / getOrSet = ${(naive.p99 / lease.p99).toFixed(2)}×`
    )
  } finally {
    child.kill("SIGTERM")
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
