/**
 * `npm run start:effect4`: the Effect 4 edition's round trip. Against MEMCACHED_SERVERS when set (e.g.
 * `127.0.0.1:11211`), otherwise against the embedded in-memory server on an ephemeral loopback port.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Option, Result } from "effect"
import { MemcachedClient, MemcachedTest } from "effect-memcached-effect4"

const program = Effect.gen(function*() {
  const mc = yield* MemcachedClient.MemcachedClient
  const servers = mc.servers.map((s) => s.name).join(", ")
  const versions = yield* mc.version()
  yield* Console.log(
    `connected to ${servers} (memcached ${
      [...versions.values()].map(Result.getOrElse((e) => `unreachable: ${e.message}`)).join(", ")
    })`
  )

  yield* mc.set("quickstart:greeting", "hello from effect-memcached on Effect 4", { ttl: "1 minute" })
  const greeting = yield* mc.getString("quickstart:greeting")
  yield* Console.log(`get quickstart:greeting -> ${Option.getOrElse(greeting, () => "(miss)")}`)

  const missing = yield* mc.get("quickstart:missing")
  yield* Console.log(`get quickstart:missing -> ${Option.isNone(missing) ? "miss (Option.none)" : "hit?!"}`)

  yield* mc.set("quickstart:counter", "41")
  yield* Console.log(`incr quickstart:counter -> ${yield* mc.incr("quickstart:counter", 1)}`)

  const item = Option.getOrThrow(yield* mc.gets("quickstart:greeting"))
  yield* mc.cas("quickstart:greeting", "updated with CAS", item.cas)
  const lost = yield* Effect.result(mc.cas("quickstart:greeting", "stale write", item.cas))
  yield* Console.log(
    `cas with a stale unique -> ${
      Result.isFailure(lost)
        ? `${lost.failure._tag}(${"reason" in lost.failure ? lost.failure.reason : ""})`
        : "stored?!"
    }`
  )

  const many = yield* mc.getMany(["quickstart:greeting", "quickstart:counter", "quickstart:missing"])
  yield* Console.log(`getMany -> ${[...many.keys()].join(", ")} (${many.size} hits of 3)`)

  const invalid = yield* Effect.result(mc.get("not a valid key"))
  yield* Console.log(`get "not a valid key" -> ${Result.isFailure(invalid) ? invalid.failure.message : "?!"}`)
  yield* mc.delete("quickstart:counter")
  yield* Console.log("round trip ok")
})

const ClientLive = process.env.MEMCACHED_SERVERS
  ? MemcachedClient.layerFromEnv
  : MemcachedTest.layerTcp()

// runMain reports a failure (with its typed error) and sets the exit code; SIGINT interrupts cleanly.
program.pipe(Effect.provide(ClientLive), NodeRuntime.runMain)
