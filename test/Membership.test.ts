/**
 * The engine's membership changes (issue 16), effect-free: pools kept by node identity, new pools made
 * like the others, removed pools drained (their in-flight requests complete, then the connections
 * close), empty lists and duplicates, shutdown of draining pools.
 */
import { assert, describe, it } from "@effect/vitest"
import { encodeVersion, type Reply } from "../src/protocol/client.js"
import { type Command, Slot, SlotKind } from "../src/engine/connection.js"
import { Membership } from "../src/engine/membership.js"
import { type PoolEvents, ServerPool, type Settings } from "../src/engine/pool.js"
import { Router } from "../src/engine/router.js"
import type { Timers } from "../src/engine/types.js"
import * as Distribution from "../src/Distribution.js"
import * as ServerSpec from "../src/ServerSpec.js"
import * as MemoryServer from "../src/server/MemoryServer.js"

const settings: Settings = {
  connectTimeout: 2000,
  timeout: 5000,
  poolSize: 2,
  maxInFlight: 64,
  maxQueued: 1000,
  maxValueSize: 1024 * 1024,
  maxKeysPerGet: 100,
  autoBatch: false,
  failureLimit: 3,
  failureWindow: 10_000,
  retryInterval: 1000,
  maxRetryInterval: 10_000,
  flapWindow: 30_000,
  protocol: "text"
}
const timers: Timers = {
  now: () => Date.now(),
  schedule: (ms, f) => {
    const t = setTimeout(f, ms)
    return () => clearTimeout(t)
  }
}
const events: PoolEvents = { log: () => {}, healthChanged: () => {}, retryDelay: () => 1000 }
const VERSION: Command = { name: "version", kind: SlotKind.Single, finish: (_s: Slot, r: Reply) => r._tag }

const setup = (names: ReadonlyArray<string>) => {
  const servers = new Map(names.map((n) => [`${n}:11211`, MemoryServer.make()]))
  const made: Array<string> = []
  const transport = { connect: (spec: ServerSpec.ServerSpec) => servers.get(spec.name)!.connect() }
  const makePool = (spec: ServerSpec.ServerSpec, i: number) => {
    made.push(spec.name)
    return new ServerPool(i, spec, transport, settings, timers, events)
  }
  const specs = [ServerSpec.make({ host: names[0]! })]
  const pools = specs.map(makePool)
  const router = new Router(specs, pools, Distribution.ketama(), "none")
  const drained: Array<string> = []
  const membership = new Membership(specs, pools, router, makePool, (n) => drained.push(n))
  return { servers, made, specs, pools, router, membership, drained }
}

const request = (pool: ServerPool) =>
  new Promise<unknown>((resolve) => {
    const slot = new Slot(VERSION, encodeVersion(), undefined, "version", 5000)
    slot.done = { succeed: (v) => resolve(v), fail: (e) => resolve(e) }
    pool.connection().enqueue(slot)
  })

const spec = (n: string) => ServerSpec.make({ host: n })

describe("Membership", () => {
  it("keeps pools by host:port, makes new ones, rebuilds the ring over the new list", () => {
    const s = setup(["a", "b", "c"])
    const a = s.pools[0]!
    const change = s.membership.update([spec("b"), spec("a"), spec("c")])
    assert.deepStrictEqual(change, { added: ["b:11211", "c:11211"], removed: [], kept: ["a:11211"] })
    assert.strictEqual(s.pools[1], a, "a keeps its pool object")
    assert.deepStrictEqual(s.specs.map((x) => x.name), ["b:11211", "a:11211", "c:11211"])
    const ring = Distribution.ketama().build(s.specs)
    for (let i = 0; i < 100; i++) assert.strictEqual(s.router.route(`k${i}`), ring.serverFor(`k${i}`))
    assert.deepStrictEqual(s.made, ["a:11211", "b:11211", "c:11211"])
    s.membership.shutdown()
  })

  it("an empty list changes nothing; duplicates count once", () => {
    const s = setup(["a", "b"])
    assert.isUndefined(s.membership.update([]))
    assert.deepStrictEqual(s.specs.map((x) => x.name), ["a:11211"])
    const change = s.membership.update([spec("b"), spec("b"), spec("a")])
    assert.deepStrictEqual(change?.added, ["b:11211"])
    assert.deepStrictEqual(s.specs.map((x) => x.name), ["b:11211", "a:11211"])
    s.membership.shutdown()
  })

  it("a removed pool drains: requests in flight complete normally, then its connections close", async () => {
    const s = setup(["a", "b"])
    s.membership.update([spec("a"), spec("b")])
    const b = s.pools[1]!
    const server = s.servers.get("b:11211")!
    assert.strictEqual(await request(b), "Version")
    server.faults.delay(200)
    const inFlight = [request(b), request(b), request(b)]
    await new Promise((r) => setTimeout(r, 20))
    assert.strictEqual(server.stats().curr_connections, 2, "b has its pool's connections open")
    const change = s.membership.update([spec("a")])
    assert.deepStrictEqual(change?.removed, ["b:11211"])
    assert.isTrue(b.draining)
    assert.isFalse(b.closed, "not closed while requests are in flight")
    assert.isTrue(s.membership.draining.has(b))
    assert.deepStrictEqual(await Promise.all(inFlight), ["Version", "Version", "Version"])
    const deadline = Date.now() + 5000
    while (server.stats().curr_connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    assert.strictEqual(server.stats().curr_connections, 0, "its connections closed after the drain")
    assert.isTrue(b.closed)
    assert.deepStrictEqual(s.drained, ["b:11211"])
    assert.isFalse(s.membership.draining.has(b))
    s.membership.shutdown()
  })

  it("an idle removed pool closes at once; shutdown closes pools still draining", async () => {
    const s = setup(["a", "b", "c"])
    s.membership.update([spec("a"), spec("b"), spec("c")])
    const b = s.pools[1]!
    const c = s.pools[2]!
    assert.strictEqual(await request(c), "Version")
    s.servers.get("b:11211")!.faults.blackHole(true)
    const stuck = request(b)
    await new Promise((r) => setTimeout(r, 20))
    s.membership.update([spec("a")])
    assert.isTrue(c.closed, "idle: closed at once")
    assert.isFalse(b.closed, "busy: draining")
    s.membership.shutdown()
    assert.isTrue(b.closed)
    const result = (await stuck) as { kind: string; reason: string }
    assert.strictEqual(result.kind, "Connection")
    assert.strictEqual(result.reason, "Closed")
    assert.isUndefined(s.membership.update([spec("b")]), "closed: no more changes")
  })
})
