/**
 * The engine's request facade used the way another edition would: without Effect. A plain client is
 * wired from engine modules only (pools, router, ketama placement, the facade over a Promise-based
 * `Edition`), against real memcached in the text and the meta protocol: results are plain values (a
 * miss is `undefined` on an optional command), failures plain `EngineError` data with their kind,
 * reason and fields, input errors returned synchronously with nothing sent. (Effect here only starts
 * and stops the memcached process.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as net from "node:net"
import * as Bulk from "../src/engine/bulk.js"
import { commands, type EngineItem, isOptional } from "../src/engine/commands.js"
import { ketama } from "../src/engine/distribution.js"
import { makeMetaRequests } from "../src/engine/metaRequests.js"
import { type ServerPool, ServerPool as Pool, type Settings } from "../src/engine/pool.js"
import { type Edition, getMany, makeRequests, type RequestContext } from "../src/engine/requests.js"
import { Router } from "../src/engine/router.js"
import { make as makeSpec, type ServerSpec } from "../src/engine/serverSpec.js"
import { type Command, Slot } from "../src/engine/slot.js"
import { EngineError, type Timers } from "../src/engine/types.js"
import { acquireMemcached } from "./support/memcached.js"

/** A request's outcome in this Promise edition: the value (a miss marked), or the engine's error. */
type Outcome = { readonly ok: true; readonly value: unknown; readonly miss: boolean } | {
  readonly ok: false
  readonly error: EngineError
}
type Resume = (outcome: Outcome) => void

/** A slot that is its own completion, as an edition writes it. */
class PromiseSlot extends Slot {
  constructor(c: Command, h: string, d: Uint8Array | undefined, k: string, t: number, readonly resume: Resume) {
    super(c, h, d, k, t)
    this.done = this
  }
  succeed(value: unknown): void {
    this.resume({ ok: true, value, miss: value === undefined && isOptional(this.command) })
  }
  fail(error: EngineError): void {
    this.resume({ ok: false, error })
  }
}

const edition: Edition<Resume> = {
  slot: (c, h, d, k, t, r) => new PromiseSlot(c, h, d, k, t, r),
  fail: (resume, error) => resume({ ok: false, error })
}

const settings = (protocol: "text" | "meta"): Settings => ({
  connectTimeout: 2000,
  timeout: 5000,
  poolSize: 1,
  maxInFlight: 1024,
  maxQueued: 100_000,
  maxValueSize: 1024 * 1024,
  maxKeysPerGet: 100,
  autoBatch: true,
  failureLimit: 3,
  failureWindow: 10_000,
  retryInterval: 2000,
  maxRetryInterval: 60_000,
  flapWindow: 30_000,
  protocol
})

const timers: Timers = {
  now: () => Date.now(),
  schedule: (ms, f) => {
    const t = setTimeout(f, ms)
    return () => clearTimeout(t)
  }
}

/** A client of plain engine parts over `ports` (no Effect anywhere in it). */
const plainClient = (ports: ReadonlyArray<number>, protocol: "text" | "meta") => {
  const servers = ports.map((port) => makeSpec({ host: "127.0.0.1", port }))
  const s = settings(protocol)
  const connector = { connect: (spec: ServerSpec) => net.connect({ host: spec.host, port: spec.port, noDelay: true }) }
  let router: Router<ServerSpec> | undefined = undefined
  const events = { log: () => {}, healthChanged: () => router?.invalidate(), retryDelay: () => 2000 }
  const pools: Array<ServerPool<ServerSpec>> = servers.map((spec, i) => new Pool(i, spec, connector, s, timers, events))
  router = new Router(servers, pools, ketama(), "none")
  const ctx: RequestContext<ServerSpec> = { servers, pools, router, settings: s, timers }
  return {
    ctx,
    requests: makeRequests(ctx, edition),
    meta: makeMetaRequests(ctx, edition, (seconds: number) => seconds),
    close: () => pools.forEach((p) => p.shutdown())
  }
}

/** Runs one facade call as a Promise: a synchronous rejection is the outcome at once. */
const call = (f: (resume: Resume) => EngineError | undefined): Promise<Outcome> =>
  new Promise((resolve) => {
    const e = f(resolve)
    if (e !== undefined) resolve({ ok: false, error: e })
  })

const errorOf = (o: Outcome): EngineError => {
  assert.isFalse(o.ok, JSON.stringify(o))
  return (o as { error: EngineError }).error
}

const text = (item: unknown) => Buffer.from((item as EngineItem).value).toString()

for (const protocol of ["text", "meta"] as const) {
  describe(`engine request facade without Effect (${protocol})`, () => {
    it.scopedLive("reads, writes, store outcomes, server errors and input errors as plain data", () =>
      Effect.gen(function*() {
        const mc = yield* acquireMemcached()
        yield* Effect.promise(async () => {
          const { close, requests: r } = plainClient([mc.port], protocol)
          try {
            const set = await call((res) => r.store("set", "k1", "v1", 7, 0, undefined, false, 5000, res))
            assert.deepStrictEqual(set, { ok: true, value: undefined, miss: false })
            const hit = await call((res) => r.get("k1", false, 5000, res))
            assert.isTrue(hit.ok && !hit.miss)
            assert.strictEqual(text((hit as { value: unknown }).value), "v1")
            assert.strictEqual(((hit as { value: unknown }).value as EngineItem).flags, 7)
            const gets = await call((res) => r.get("k1", true, 5000, res))
            assert.strictEqual(typeof ((gets as { value: unknown }).value as EngineItem).cas, "bigint")
            assert.deepStrictEqual(await call((res) => r.get("nope", false, 5000, res)), {
              ok: true,
              value: undefined,
              miss: true
            })
            // A store outcome: kind Store, with the key and the command.
            const add = errorOf(await call((res) => r.store("add", "k1", "x", 0, 0, undefined, false, 5000, res)))
            assert.deepStrictEqual([add.kind, add.reason, add.key, add.command], ["Store", "NotStored", "k1", "add"])
            const del = errorOf(await call((res) => r.del("missing", false, 5000, res)))
            assert.deepStrictEqual([del.kind, del.reason, del.key], ["Store", "NotFound", "missing"])
            // A server error: incr on a value that is not a number.
            const incr = errorOf(await call((res) => r.delta("incr", "k1", 1, false, 5000, res)))
            assert.deepStrictEqual([incr.kind, incr.reason], ["Server", "ClientError"])
            await call((res) => r.store("set", "n", "41", 0, 0, undefined, false, 5000, res))
            assert.deepStrictEqual(await call((res) => r.delta("incr", "n", 1, false, 5000, res)), {
              ok: true,
              value: 42n,
              miss: false
            })
            // Input errors come back synchronously, before anything is sent; the request is not submitted.
            let resumed = 0
            const bad = r.get("has space", false, 5000, () => resumed++)
            assert.instanceOf(bad, EngineError)
            assert.deepStrictEqual([bad!.kind, bad!.reason], ["Input", "InvalidKey"])
            const flags = r.store("set", "k", "v", -1, 0, undefined, false, 5000, () => resumed++)
            assert.deepStrictEqual([flags?.kind, flags?.reason], ["Input", "InvalidArgument"])
            const ttl = r.touch("k1", -5, false, 5000, () => resumed++)
            assert.deepStrictEqual([ttl?.kind, ttl?.reason], ["Input", "InvalidTtl"])
            const delta = r.delta("incr", "n", -1, false, 5000, () => resumed++)
            assert.deepStrictEqual([delta?.kind, delta?.reason], ["Input", "InvalidArgument"])
            assert.strictEqual(resumed, 0)
            // The connection is still in step after every failure above.
            assert.strictEqual(
              text((await call((res) => r.get("k1", false, 5000, res)) as { value: unknown }).value),
              "v1"
            )
          } finally {
            close()
          }
        })
      }))

    it.scopedLive("getMany, bulk writes with the edition's own result values, and the meta-only requests", () =>
      Effect.gen(function*() {
        const servers = yield* Effect.all([acquireMemcached(), acquireMemcached()], { concurrency: 2 })
        yield* Effect.promise(async () => {
          const { close, ctx, meta } = plainClient(servers.map((s) => s.port), protocol)
          try {
            const keys = Array.from({ length: 300 }, (_, i) => `bulk:${i}`)
            const as: Bulk.BulkResults<string> = { ok: "ok", fail: (e) => `${e.kind}:${e.reason}` }
            const written = await new Promise<ReadonlyMap<string, string>>((resolve) =>
              Bulk.setMany(ctx, [...keys.map((k) => [k, `v:${k}`] as const), ["bad key", "x"]], 0, 0, 5000, as, resolve)
            )
            assert.strictEqual(written.size, 301)
            assert.strictEqual(written.get("bad key"), "Input:InvalidKey")
            assert.isTrue(keys.every((k) => written.get(k) === "ok"))
            const got = await new Promise<Map<string, EngineItem> | EngineError>((resolve) => {
              const e = getMany(ctx, [...keys, "absent"], false, 5000, resolve)
              if (e !== undefined) resolve(e)
            })
            assert.notInstanceOf(got, EngineError)
            const map = got as Map<string, EngineItem>
            assert.strictEqual(map.size, 300)
            assert.isTrue(keys.every((k) => Buffer.from(map.get(k)!.value).toString() === `v:${k}`))
            const deleted = await new Promise<ReadonlyMap<string, string>>((resolve) =>
              Bulk.deleteMany(ctx, [keys[0]!, "never-set"], 5000, as, resolve)
            )
            assert.deepStrictEqual([deleted.get(keys[0]!), deleted.get("never-set")], ["ok", "Store:NotFound"])

            const metaGet = await call((res) => meta.metaGet(keys[1]!, { ttl: true }, 5000, res))
            if (protocol === "meta") {
              assert.isTrue(metaGet.ok)
              assert.strictEqual(text((metaGet as { value: unknown }).value), `v:${keys[1]}`)
              const ms = await call((res) => meta.metaSet("m", "mv", { ttl: 60 }, 5000, res))
              assert.strictEqual(typeof ((ms as { value: { cas: unknown } }).value.cas), "bigint")
              assert.deepStrictEqual(await call((res) => meta.metaDebug("absent", undefined, 5000, res)), {
                ok: true,
                value: undefined,
                miss: true
              })
            } else {
              const e = errorOf(metaGet)
              assert.deepStrictEqual([e.kind, e.reason], ["Input", "Unsupported"])
            }
            assert.strictEqual(commands.metaGet.meta.optional, true)
          } finally {
            close()
          }
        })
      }))
  })
}
