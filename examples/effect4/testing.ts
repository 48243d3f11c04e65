/**
 * Swapping in the in-memory server (Effect 4 edition): code that needs `MemcachedClient` runs unchanged
 * against `MemcachedTest.layer()`, and the test controls time with `TestClock`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Option } from "effect"
import * as TestClock from "effect/testing/TestClock"
import { MemcachedClient, MemcachedTest } from "effect-memcached-effect4"

// Application code: a read-through cache of an expensive computation.
const cachedSquare = (n: number) =>
  Effect.gen(function*() {
    const mc = yield* MemcachedClient.MemcachedClient
    const key = `square:${n}`
    const hit = yield* mc.getString(key)
    if (Option.isSome(hit)) return { value: Number(hit.value), cached: true }
    const value = n * n
    yield* mc.set(key, String(value), { ttl: "10 seconds" })
    return { value, cached: false }
  })

const check = (label: string, ok: boolean) =>
  ok ? Console.log(`ok   ${label}`) : Effect.die(new Error(`FAILED ${label}`))

const test = Effect.gen(function*() {
  const server = yield* MemcachedTest.MemoryServer
  const first = yield* cachedSquare(12)
  yield* check("first call computes", first.value === 144 && !first.cached)
  const second = yield* cachedSquare(12)
  yield* check("second call is served from the cache", second.value === 144 && second.cached)
  yield* check("the server holds the item", server.peek("square:12") !== undefined)
  yield* TestClock.adjust("11 seconds")
  const third = yield* cachedSquare(12)
  yield* check("after the TTL the value is computed again", !third.cached)
})

test.pipe(
  Effect.andThen(Console.log("testing example ok")),
  Effect.provide(MemcachedTest.layer()),
  Effect.provide(TestClock.layer()),
  NodeRuntime.runMain
)
