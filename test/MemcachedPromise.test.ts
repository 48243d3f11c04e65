/**
 * The Promise facade over the real client: every command, the bulk operations, typed rejections, abort
 * before send and in flight, close — against the in-memory server and a real memcached process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Effect from "effect/Effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import {
  MemcachedConnectionError,
  MemcachedInputError,
  MemcachedServerError,
  MemcachedStoreError
} from "../src/MemcachedError.js"
import * as MemcachedPromise from "../src/MemcachedPromise.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { configErrorShape } from "./support/edition.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"

const text = (u: Uint8Array | undefined) => (u === undefined ? undefined : Buffer.from(u).toString())

type Client = MemcachedPromise.PromiseClient<MemcachedClient.MemcachedClient, unknown>

const suite = (name: string, make: () => Promise<Client>) =>
  describe(`Promise facade over ${name}`, () => {
    let client: Client
    let n = 0
    const key = (label: string) => `promise:${label}:${++n}:${Date.now()}`
    beforeAll(async () => {
      client = await make()
    })
    afterAll(() => client.close())

    it("get / getString / set / gets / cas", async () => {
      const k = key("basic")
      expect(await client.get(k)).toBeUndefined()
      await client.set(k, "v1", { flags: 7 })
      const item = await client.get(k)
      expect(text(item?.value)).toBe("v1")
      expect(item?.flags).toBe(7)
      expect(await client.getString(k)).toBe("v1")
      const withCas = await client.gets(k)
      expect(typeof withCas?.cas).toBe("bigint")
      await client.cas(k, "v2", withCas!.cas!)
      expect(await client.getString(k)).toBe("v2")
      const stale = await client.cas(k, "v3", withCas!.cas!).catch((e: unknown) => e)
      expect(stale).toBeInstanceOf(MemcachedStoreError)
      expect(stale).toBeInstanceOf(Error)
      expect((stale as MemcachedStoreError)._tag).toBe("MemcachedStoreError")
      expect((stale as MemcachedStoreError).reason).toBe("Exists")
    })

    it("add / replace / append / prepend / delete with typed store errors", async () => {
      const k = key("store")
      await expect(client.replace(k, "x")).rejects.toMatchObject({ _tag: "MemcachedStoreError", reason: "NotStored" })
      await client.add(k, "mid")
      await expect(client.add(k, "again")).rejects.toMatchObject({ _tag: "MemcachedStoreError", reason: "NotStored" })
      await client.append(k, ">")
      await client.prepend(k, "<")
      expect(await client.getString(k)).toBe("<mid>")
      await client.replace(k, "new")
      expect(await client.getString(k)).toBe("new")
      await client.delete(k)
      await expect(client.delete(k)).rejects.toMatchObject({ _tag: "MemcachedStoreError", reason: "NotFound" })
      await expect(client.append(k, "x")).rejects.toMatchObject({ reason: "NotStored" })
    })

    it("touch / gat / gats", async () => {
      const k = key("ttl")
      await expect(client.touch(k, 10)).rejects.toMatchObject({ reason: "NotFound" })
      expect(await client.gat(k, 10)).toBeUndefined()
      await client.set(k, "t")
      await client.touch(k, 100)
      expect(text((await client.gat(k, 100))?.value)).toBe("t")
      const g = await client.gats(k, 100)
      expect(text(g?.value)).toBe("t")
      expect(typeof g?.cas).toBe("bigint")
      await expect(client.touch(k, -1)).rejects.toMatchObject({ _tag: "MemcachedInputError", reason: "InvalidTtl" })
    })

    it("incr / decr and their errors", async () => {
      const k = key("counter")
      await expect(client.incr(k, 1)).rejects.toMatchObject({ reason: "NotFound" })
      await client.set(k, "10")
      expect(await client.incr(k, 5)).toBe(15n)
      expect(await client.decr(k, 20)).toBe(0n)
      await client.set(k, "abc")
      const e = await client.incr(k, 1).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(MemcachedServerError)
      expect((e as MemcachedServerError).reason).toBe("ClientError")
    })

    it("getMany / setMany / deleteMany / touchMany (client) map per-key outcomes", async () => {
      const a = key("ma")
      const b = key("mb")
      const written = await client.setMany([[a, "A"], [b, "B"]])
      expect([...written.values()]).toEqual([{ ok: true, value: undefined }, { ok: true, value: undefined }])
      const got = await client.getMany([a, b, key("missing")])
      expect(got.size).toBe(2)
      expect(text(got.get(a)?.value)).toBe("A")
      const touched = await client.touchMany([a, key("gone")], 100)
      expect(touched.get(a)).toEqual({ ok: true, value: undefined })
      const deleted = await client.deleteMany([a, b, key("gone")])
      expect(deleted.get(a)?.ok).toBe(true)
      const gone = [...deleted.values()].find((o) => !o.ok)
      expect(gone?.ok === false && gone.error._tag).toBe("MemcachedStoreError")
    })

    it("bulk.getEach reports every key (hit, miss, invalid key) without rejecting", async () => {
      const a = key("ba")
      await client.bulk.setMany([[a, "1"]])
      const results = await client.bulk.getEach([a, key("none"), "bad key"])
      expect(results.size).toBe(3)
      const hit = results.get(a)
      expect(hit?.ok === true && text(hit.value?.value)).toBe("1")
      expect(results.get("bad key")).toMatchObject({
        ok: false,
        error: { _tag: "MemcachedInputError", reason: "InvalidKey" }
      })
      const miss = [...results.entries()].find(([k]) => k !== a && k !== "bad key")?.[1]
      expect(miss).toEqual({ ok: true, value: undefined })
      const touched = await client.bulk.touchMany([a], 50)
      expect(touched.get(a)?.ok).toBe(true)
      const deleted = await client.bulk.deleteMany([a])
      expect(deleted.get(a)?.ok).toBe(true)
      expect(await client.get(a)).toBeUndefined()
    })

    it("bulk.getStream: keys from an async iterable, outcomes in input order, early break", async () => {
      const keys = Array.from({ length: 250 }, (_, i) => key(`s${i}`))
      await client.setMany(keys.filter((_, i) => i % 2 === 0).map((k) => [k, k] as const))
      async function* source() {
        for (const k of keys) yield k
        yield "bad key"
      }
      const seen: Array<string> = []
      let hits = 0
      for await (const [k, outcome] of client.bulk.getStream(source(), { batchSize: 40 })) {
        seen.push(k)
        if (k === "bad key") {
          expect(outcome).toMatchObject({ ok: false, error: { reason: "InvalidKey" } })
        } else if (outcome.ok && outcome.value !== undefined) {
          hits++
          expect(text(outcome.value.value)).toBe(k)
        }
      }
      expect(seen).toEqual([...keys, "bad key"])
      expect(hits).toBe(125)
      let taken = 0
      for await (const _ of client.bulk.getStream(keys)) {
        if (++taken === 3) break
      }
      expect(taken).toBe(3)
      const failing = async function*() {
        yield keys[0]!
        throw new Error("source broke")
      }
      const consume = async () => {
        for await (const _ of client.bulk.getStream(failing())) { /* drain */ }
      }
      await expect(consume()).rejects.toThrow("source broke")
    })

    it("admin commands: version / stats / verbosity / protocols / flushAll", async () => {
      const versions = await client.version()
      expect(versions.size).toBe(1)
      const version = [...versions.values()][0]
      expect(version?.ok).toBe(true)
      if (version?.ok) expect(version.value).toMatch(/^1\.6/)
      const stats = [...(await client.stats()).values()][0]
      expect(stats?.ok).toBe(true)
      if (stats?.ok) expect(stats.value.get("pid")).toMatch(/^\d+$/)
      await client.verbosity(1)
      const protocols = await client.protocols()
      expect([...protocols.values()][0]).toBe("meta")
      const k = key("flush")
      await client.set(k, "x")
      await client.flushAll()
      expect(await client.get(k)).toBeUndefined()
    })

    it("meta commands: metaSet / metaGet / metaArithmetic / metaDebug / metaDelete", async () => {
      const k = key("meta")
      const set = await client.metaSet(k, "m", { ttl: 100 })
      expect(typeof set.cas).toBe("bigint")
      const item = await client.metaGet(k, { ttl: true, cas: true })
      expect(text(item?.value)).toBe("m")
      expect(item?.cas).toBe(set.cas)
      expect(await client.metaGet(key("absent"))).toBeUndefined()
      const debug = await client.metaDebug(k)
      expect(debug?.get("size")).toBeDefined()
      await client.metaDelete(k)
      expect(await client.metaDebug(k)).toBeUndefined()
      const c = key("metacounter")
      const counter = await client.metaArithmetic(c, { vivify: 60, initial: 5, delta: 2 })
      expect(counter.value).toBe(5n)
      expect((await client.metaArithmetic(c, { delta: 2 })).value).toBe(7n)
      await expect(client.metaDelete(c, { cas: 1n })).rejects.toMatchObject({
        _tag: "MemcachedStoreError",
        reason: "Exists"
      })
    })

    it("invalid input rejects with MemcachedInputError before any byte is sent", async () => {
      const e = await client.get("has space").catch((x: unknown) => x)
      expect(e).toBeInstanceOf(MemcachedInputError)
      expect(e).toBeInstanceOf(Error)
      expect(e).toMatchObject({ _tag: "MemcachedInputError", reason: "InvalidKey" })
      await expect(client.set("k".repeat(251), "v")).rejects.toMatchObject({ reason: "InvalidKey" })
    })

    it("exposes every Effect method of the live service as an async method", async () => {
      const service = await client.run(MemcachedClient.MemcachedClient)
      const effectMethods = Object.entries(service)
        .filter(([name, f]) => typeof f === "function" && name !== "serverFor")
        .map(([name]) => name)
      expect(effectMethods.length).toBeGreaterThan(25)
      for (const name of effectMethods) {
        expect(typeof (client as unknown as Record<string, unknown>)[name], name).toBe("function")
      }
      expect((client as unknown as Record<string, unknown>)["then"]).toBeUndefined()
      expect((await client.servers()).length).toBe(1)
      expect(await client.serverFor("any")).toBe(0)
    })

    it("run: an Effect program over the same client, typed failure as rejection", async () => {
      const k = key("run")
      await client.set(k, "r")
      const value = await client.run(Effect.flatMap(MemcachedClient.MemcachedClient, (c) => c.getString(k)))
      expect(value._tag).toBe("Some")
      await expect(client.run(Effect.flatMap(MemcachedClient.MemcachedClient, (c) => c.delete(key("none")))))
        .rejects.toBeInstanceOf(MemcachedStoreError)
    })

    it("withSignal: an already aborted signal rejects with its reason and sends nothing", async () => {
      const k = key("aborted")
      const controller = new AbortController()
      const reason = new Error("stop")
      controller.abort(reason)
      await expect(client.withSignal(controller.signal).set(k, "never")).rejects.toBe(reason)
      expect(await client.get(k)).toBeUndefined()
      // A live signal does not change the result.
      await client.withSignal(new AbortController().signal).set(k, "yes")
      expect(await client.getString(k)).toBe("yes")
    })

    it("getOrSet: concurrent callers share one compute, later calls hit, a rejection reaches the caller", async () => {
      const k = key("getOrSet")
      let computes = 0
      const compute = async () => {
        computes++
        await new Promise((r) => setTimeout(r, 20))
        return "computed"
      }
      const values = await Promise.all(Array.from({ length: 50 }, () => client.getOrSet(k, compute, { ttl: 60 })))
      expect(computes).toBe(1)
      expect(values.map(text)).toEqual(Array(50).fill("computed"))
      expect(await client.getString(k)).toBe("computed")
      expect(text(await client.getOrSet(k, compute))).toBe("computed")
      expect(computes).toBe(1)
      const failing = key("getOrSet-fail")
      const boom = new Error("database down")
      await expect(client.getOrSet(failing, () => Promise.reject(boom))).rejects.toBe(boom)
      // The lease was released: the next caller wins and computes at once.
      expect(text(await client.getOrSet(failing, async () => "second"))).toBe("second")
      expect(await client.invalidate(k)).toBe(true)
      expect(await client.invalidate(key("absent"))).toBe(false)
    })
  })

suite("the in-memory server", async () => MemcachedPromise.fromLayer(MemcachedTest.layer()))

let mc: MemcachedProcess | undefined
afterAll(async () => {
  await mc?.stop()
})
suite("memcached 1.6 (real process)", async () => {
  mc = await startMemcached()
  return MemcachedPromise.createClient({ servers: [`127.0.0.1:${mc.port}`] })
})

describe("Promise facade: abort in flight and close", () => {
  it("aborting an in-flight request rejects with the reason and leaves the connection in sync", async () => {
    const client = MemcachedPromise.fromLayer(MemcachedTest.layerTcp())
    try {
      const server = await client.run(MemcachedTest.MemoryServer)
      await client.set("inflight", "before")
      server.faults.delay(300)
      const controller = new AbortController()
      const started = Date.now()
      const pending = client.withSignal(controller.signal).getString("inflight")
      setTimeout(() => controller.abort(), 30)
      const e = await pending.catch((x: unknown) => x)
      expect(e).toBeInstanceOf(DOMException)
      expect((e as DOMException).name).toBe("AbortError")
      expect(Date.now() - started).toBeLessThan(250)
      server.faults.reset()
      // Replies on this connection still pair with their requests: the dropped one is not delivered here.
      await client.set("inflight", "after")
      expect(await client.getString("inflight")).toBe("after")
      expect(await client.getString("absent-key")).toBeUndefined()
    } finally {
      await client.close()
    }
  })

  it("an abort during bulk.getStream rejects the iteration with the reason", async () => {
    const client = MemcachedPromise.fromLayer(MemcachedTest.layerTcp())
    try {
      const server = await client.run(MemcachedTest.MemoryServer)
      server.faults.delay(200)
      const controller = new AbortController()
      const reason = new Error("enough")
      setTimeout(() => controller.abort(reason), 30)
      const consume = async () => {
        for await (const _ of client.withSignal(controller.signal).bulk.getStream(["a", "b", "c"])) { /* drain */ }
      }
      await expect(consume()).rejects.toBe(reason)
      const before = new AbortController()
      before.abort(reason)
      const early = async () => {
        for await (const _ of client.withSignal(before.signal).bulk.getStream(["a"])) { /* drain */ }
      }
      await expect(early()).rejects.toBe(reason)
    } finally {
      await client.close()
    }
  })

  it("close disposes the runtime; pending and later calls reject with MemcachedConnectionError(Closed)", async () => {
    const client = MemcachedPromise.fromLayer(MemcachedTest.layerTcp())
    const server = await client.run(MemcachedTest.MemoryServer)
    server.faults.blackHole(true)
    const pending = client.get("k").catch((x: unknown) => x)
    await new Promise((r) => setTimeout(r, 20))
    await client.close()
    expect(client.closed).toBe(true)
    const e = await pending
    expect(e).toBeInstanceOf(MemcachedConnectionError)
    expect(e).toMatchObject({ reason: "Closed" })
    await expect(client.get("k")).rejects.toMatchObject({ _tag: "MemcachedConnectionError", reason: "Closed" })
    await client.close()
  })

  it("invalid options reject every call with the ConfigError", async () => {
    const client = MemcachedPromise.createClient({ servers: ["127.0.0.1:11211"], poolSize: 0 })
    try {
      await expect(client.get("k")).rejects.toMatchObject(configErrorShape)
      await expect(client.set("k", "v")).rejects.toThrow(/poolSize/)
    } finally {
      await client.close()
    }
  })

  it("a request that times out rejects with MemcachedConnectionError(Timeout)", async () => {
    const client = MemcachedPromise.fromLayer(MemcachedTest.layer({ timeout: "50 millis" }))
    try {
      const server = await client.run(MemcachedTest.MemoryServer)
      server.faults.blackHole(true)
      await expect(client.get("k")).rejects.toMatchObject({ _tag: "MemcachedConnectionError", reason: "Timeout" })
    } finally {
      await client.close()
    }
  })
})
