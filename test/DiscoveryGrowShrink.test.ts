/**
 * Auto-discovery under load (issue 16): three in-memory servers on TCP and a configuration endpoint
 * whose node list goes 1 → 3 → 2 while fibers run sets and gets continuously. Checked: no request
 * fails because of a change; no read ever returns a value that was not written for its key (nor an
 * older one when its key did not move); keys land where the ring of the new list says; the node that
 * stays keeps its connections; the removed node had requests in flight when it was removed, they
 * completed, and then its connections closed.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Discovery from "../src/Discovery.js"
import * as Distribution from "../src/Distribution.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import * as ServerSpec from "../src/ServerSpec.js"
import { until as untilPromise } from "./support/discoveryCases.js"

const until = (check: () => boolean, ms = 15_000): Effect.Effect<void> =>
  Effect.promise(() => untilPromise(check, ms, 2))

const WORKERS = 8
const KEYS_PER_WORKER = 25

describe("Discovery: grow and shrink under load", () => {
  it.live(
    "1 → 3 → 2 nodes while fibers read and write: no failure, no wrong value, keys follow the ring",
    () => {
      // Cleared when the body ends in any way, so the workers stop before the servers close.
      let running = true
      return Effect.gen(function*() {
        const servers = [MemoryServer.make(), MemoryServer.make(), MemoryServer.make()]
        const cfg = MemoryServer.make()
        yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([...servers, cfg].map((s) => s.close()))))
        const ports = yield* Effect.promise(() =>
          Promise.all(servers.map((s) => s.listen({ port: 0 }).then((a) => a.port)))
        )
        const cfgPort = (yield* Effect.promise(() => cfg.listen({ port: 0 }))).port
        const nodes = ports.map((port) => ({ host: "127.0.0.1", ip: "127.0.0.1", port }))
        const specs = ports.map((port) => ServerSpec.make({ host: "127.0.0.1", port }))
        const byName = new Map(specs.map((s, i) => [s.name, servers[i]!]))
        const [A, B, C] = servers as [MemoryServer.MemoryServer, MemoryServer.MemoryServer, MemoryServer.MemoryServer]
        cfg.setCluster({ version: 1, nodes: [nodes[0]!] })

        const discovery = Discovery.elastiCache(`127.0.0.1:${cfgPort}`, { schedule: Schedule.spaced("50 millis") })
        const client = yield* MemcachedClient.make({ discovery, timeout: "10 seconds" })
        assert.deepStrictEqual(client.servers.map((s) => s.name), [specs[0]!.name])
        const ownerName = (key: string) => client.servers[client.serverFor(key)]!.name

        let phase = 0
        const opsPerPhase = [0, 0, 0]
        const failures: Array<string> = []
        const wrong: Array<string> = []
        let pendingOnC = 0
        const worker = (w: number) =>
          Effect.gen(function*() {
            const seq = new Map<string, number>()
            for (let i = 0; running; i++) {
              const key = `gs:${w}:${i % KEYS_PER_WORKER}`
              const n = (seq.get(key) ?? 0) + 1
              const before = ownerName(key)
              const onC = before === specs[2]!.name
              if (onC) pendingOnC++
              const set = yield* Effect.either(client.set(key, `${key}#${n}`))
              const got = yield* Effect.either(client.getString(key))
              if (onC) pendingOnC--
              opsPerPhase[phase]! += 2
              if (set._tag === "Left") {
                failures.push(`set ${key}: ${set.left.message}`)
                continue
              }
              seq.set(key, n)
              if (got._tag === "Left") {
                failures.push(`get ${key}: ${got.left.message}`)
                continue
              }
              if (i % 5 === 4) {
                // getMany groups its keys by server when it runs: every item is its own key's value.
                const all = Array.from({ length: KEYS_PER_WORKER }, (_, j) => `gs:${w}:${j}`)
                const many = yield* Effect.either(client.getMany(all))
                opsPerPhase[phase]! += 1
                if (many._tag === "Left") failures.push(`getMany: ${many.left.message}`)
                else {
                  for (const [k, item] of many.right) {
                    const [vk, vs] = new TextDecoder().decode(item.value).split("#") as [string, string]
                    if (vk !== k || Number(vs) > (seq.get(k) ?? 0)) wrong.push(`getMany ${k}: got ${vk}#${vs}`)
                  }
                }
              }
              const after = ownerName(key)
              const value = got.right
              if (Option.isNone(value)) {
                if (before === after) wrong.push(`${key}: miss right after its set on ${after}`)
                continue
              }
              const [k, s] = value.value.split("#") as [string, string]
              if (k !== key) wrong.push(`${key}: got ${value.value}`)
              else if (before === after && Number(s) !== n) wrong.push(`${key}: got #${s}, wrote #${n} on ${after}`)
              else if (Number(s) > n) wrong.push(`${key}: got #${s} from the future (wrote #${n})`)
            }
          })
        const fibers = yield* Effect.forEach(
          Array.from({ length: WORKERS }, (_, w) => w),
          (w) => Effect.fork(worker(w))
        )
        const placementOk = (list: ReadonlyArray<ServerSpec.ServerSpec>) =>
          Effect.gen(function*() {
            const ring = Distribution.ketama().build(list)
            for (let i = 0; i < 200; i++) {
              const key = `place:${list.length}:${i}`
              const expected = list[ring.serverFor(key)]!.name
              assert.strictEqual(ownerName(key), expected, `${key} is routed as the ring of the new list says`)
              yield* client.set(key, "x")
              for (const [name, server] of byName) {
                assert.strictEqual(
                  server.peek(key) !== undefined,
                  name === expected,
                  `${key} stored on ${expected} only`
                )
              }
            }
          })

        yield* Effect.sleep("300 millis")
        yield* placementOk([specs[0]!])
        const aConnections = A.stats().total_connections
        // Grow: 1 → 3.
        phase = 1
        cfg.setCluster({ version: 2, nodes })
        yield* until(() => client.servers.length === 3)
        assert.deepStrictEqual(client.servers.map((s) => s.name), specs.map((s) => s.name))
        yield* Effect.sleep("400 millis")
        yield* placementOk(specs)
        // Shrink: 3 → 2, with C slow so that requests are in flight on it when it is removed.
        C.faults.delay(150)
        yield* until(() => pendingOnC > 0)
        phase = 2
        cfg.setCluster({ version: 3, nodes: nodes.slice(0, 2) })
        yield* until(() => client.servers.length === 2)
        const inFlightOnRemoved = pendingOnC
        assert.isAbove(inFlightOnRemoved, 0, "requests were in flight on the removed node")
        yield* placementOk(specs.slice(0, 2))
        yield* Effect.sleep("400 millis")
        running = false
        yield* Fiber.joinAll(fibers)

        assert.deepStrictEqual(failures, [], "no request failed because of a change")
        assert.deepStrictEqual(wrong, [], "no wrong value")
        for (const [i, n] of opsPerPhase.entries()) assert.isAbove(n, 100, `load ran in phase ${i}`)
        // The removed node drained: its connections closed once its requests completed.
        yield* until(() => C.stats().curr_connections === 0)
        assert.isAbove(A.stats().curr_connections, 0)
        assert.isAbove(B.stats().curr_connections, 0)
        // The node that stayed kept its connections through both changes.
        assert.strictEqual(A.stats().total_connections, aConnections)
        const st = yield* Discovery.status(discovery)
        assert.strictEqual(st.changes, 2)
        assert.deepStrictEqual(st.version, Option.some(3))
        assert.strictEqual(st.failures, 0)
      }).pipe(Effect.ensuring(Effect.sync(() => void (running = false))), Effect.scoped)
    },
    60_000
  )
})
