/**
 * One client process of the cross-process herd test: connects to memcached on 127.0.0.1:<port>, prints
 * `ready`, waits for `go` on stdin, then runs <fibers> concurrent `getOrSet(<key>)` whose compute takes
 * 50 ms and counts itself in memcached (`ma <counter>`, created as 1 on first use). Prints one JSON line:
 * this process's compute count, the distinct values it got, its worst latency and how many calls ended.
 * One source: the Effect 4 package runs its copy (over its own CacheAside) beside this one.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CacheAside from "../../src/CacheAside.js"
import * as MemcachedClient from "../../src/MemcachedClient.js"

const [port, key, counter, fibers] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const client = yield* MemcachedClient.MemcachedClient
  const cache = yield* CacheAside.CacheAside
  yield* client.version()
  process.stdout.write("ready\n")
  yield* Effect.promise(() =>
    new Promise<void>((resolve) => {
      process.stdin.on("data", (d) => {
        if (d.toString().includes("go")) resolve()
      })
    })
  )
  let computes = 0
  const compute = Effect.gen(function*() {
    computes++
    yield* Effect.sleep("50 millis")
    // Created with 1 by the first compute, incremented by any other.
    yield* client.metaArithmetic(counter!, { vivify: 600, initial: 1 })
    return `computed-by-${process.pid}`
  })
  const results = yield* Effect.forEach(
    Array.from({ length: Number(fibers) }),
    () =>
      Effect.gen(function*() {
        const start = Date.now()
        const value = yield* cache.getOrSet(key!, compute, { ttl: 60, lockTtl: 5 })
        return { value: new TextDecoder().decode(value), ms: Date.now() - start }
      }),
    { concurrency: "unbounded" }
  )
  process.stdout.write(
    JSON.stringify({
      computes,
      values: [...new Set(results.map((r) => r.value))],
      maxMs: Math.max(...results.map((r) => r.ms)),
      count: results.length
    }) + "\n"
  )
})

const layer = CacheAside.layer({ name: `child-${process.pid}` }).pipe(
  Layer.provideMerge(MemcachedClient.layer({ servers: [`127.0.0.1:${port}`], protocol: "meta" }))
)

Effect.runPromise(Effect.provide(program, layer)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e) + "\n")
    process.exit(1)
  }
)
