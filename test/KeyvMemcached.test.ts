/**
 * The Keyv store adapter: Keyv's own compliance suite (`@keyv/test-suite`: API, values, namespaces)
 * against a real memcached process and the in-memory server's TCP listener, in both `clear` modes,
 * plus the adapter's own behaviour (TTL rounding, namespace generations, shared clients, errors).
 */
import keyvTestSuite, { keyvApiTests, keyvValueTests } from "@keyv/test-suite"
import Keyv from "keyv"
import * as VitestModule from "vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { KeyvMemcached } from "../src/KeyvMemcached.js"
import * as MemcachedPromise from "../src/MemcachedPromise.js"
import * as MemcachedTest from "../src/MemcachedTest.js"
import { type MemcachedProcess, startMemcached } from "./support/memcached.js"

// @keyv/test-suite is typed against the root package's vitest 3; the Effect 4 package runs vitest 5, whose
// describe/it/expect/beforeEach (all the suite calls) are the same.
const Vitest = VitestModule as unknown as Parameters<typeof keyvTestSuite>[0]

type Client = ReturnType<typeof MemcachedPromise.createClient>

let mc: MemcachedProcess | undefined
const clients: Array<Client> = []
afterAll(async () => {
  for (const c of clients) await c.close()
  await mc?.stop()
})

const backends: ReadonlyArray<readonly [string, () => Promise<Client>]> = [
  ["memcached 1.6 (real process)", async () => {
    mc ??= await startMemcached()
    return MemcachedPromise.createClient({ servers: [`127.0.0.1:${mc.port}`] })
  }],
  ["the in-memory server (TCP listener)", async () => MemcachedPromise.fromLayer(MemcachedTest.layerTcp())]
]

for (const [name, connect] of backends) {
  describe(`KeyvMemcached over ${name}`, () => {
    let client: Client
    beforeAll(async () => {
      client = await connect()
      clients.push(client)
    })

    describe("Keyv compliance suite, clear: \"namespace\" (api + values + namespaces)", () => {
      keyvTestSuite(Vitest, Keyv, () => new KeyvMemcached(client, { clear: "namespace" }))
    })

    describe("Keyv compliance suite, clear: \"flush\" (api + values; a flush clears every namespace)", () => {
      keyvApiTests(Vitest, Keyv, () => new KeyvMemcached(client))
      keyvValueTests(Vitest, Keyv, () => new KeyvMemcached(client))
    })

    describe("adapter behaviour", () => {
      it("stores Keyv's serialized string under Keyv's prefixed key (flush mode)", async () => {
        const store = new KeyvMemcached(client)
        const keyv = new Keyv({ store, namespace: "plain" })
        await keyv.set("k", { a: 1 })
        const raw = await client.getString("plain:k")
        expect(JSON.parse(raw!)).toEqual({ value: { a: 1 } })
      })

      it("flush mode: clear flushes every namespace, as @keyv/memcache does", async () => {
        const a = new Keyv({ store: new KeyvMemcached(client), namespace: "fa" })
        const b = new Keyv({ store: new KeyvMemcached(client), namespace: "fb" })
        await a.set("x", 1)
        await b.set("x", 2)
        await a.clear()
        expect(await b.get("x")).toBeUndefined()
      })

      it("namespace mode: keys live under the generation; clear rotates it; eviction never resurrects", async () => {
        const store = new KeyvMemcached(client, { clear: "namespace" })
        const keyv = new Keyv({ store, namespace: "gen" })
        await keyv.set("k", "v1")
        const generation = await client.getString("gen:~generation")
        expect(generation).toMatch(/^[A-Za-z0-9_-]{8}$/)
        expect(await client.getString(`gen:${generation}:k`)).toBeDefined()
        await keyv.clear()
        const next = await client.getString("gen:~generation")
        expect(next).not.toBe(generation)
        expect(await keyv.get("k")).toBeUndefined()
        await keyv.set("k", "v2")
        // The generation item evicted: a new random generation, the old keys stay unreachable.
        await client.delete("gen:~generation")
        expect(await keyv.get("k")).toBeUndefined()
        await keyv.clear()
        await keyv.clear()
        const a = await client.getString("gen:~generation")
        await keyv.clear()
        expect(await client.getString("gen:~generation")).not.toBe(a)
      })

      it("TTL in milliseconds becomes whole seconds rounded up on the server", async () => {
        const store = new KeyvMemcached(client)
        await store.set("ttl:k", "v", 1500)
        const item = await client.metaGet("ttl:k", { ttl: true })
        expect(item?.ttl).toBeGreaterThanOrEqual(1)
        expect(item?.ttl).toBeLessThanOrEqual(2)
        await store.set("ttl:never", "v", 0)
        expect((await client.metaGet("ttl:never", { ttl: true }))?.ttl).toBe(-1)
      })

      it("setMany groups by TTL and rejects with the failing key's error; getMany/hasMany keep order", async () => {
        const store = new KeyvMemcached(client)
        await expect(store.setMany([
          { key: "sm:a", value: "A", ttl: 10_000 },
          { key: "sm:b", value: "B" },
          { key: "sm bad", value: "C" }
        ])).rejects.toMatchObject({ _tag: "MemcachedInputError", reason: "InvalidKey", key: "sm bad" })
        expect((await client.metaGet("sm:a", { ttl: true }))?.ttl).toBeGreaterThan(5)
        expect((await client.metaGet("sm:b", { ttl: true }))?.ttl).toBe(-1)
        expect(await store.getMany(["sm:b", "sm:none", "sm:a"])).toEqual(["B", undefined, "A"])
        expect(await store.hasMany(["sm:a", "sm:none"])).toEqual([true, false])
        expect(await store.deleteMany(["sm:a", "sm:b"])).toBe(true)
      })

      it("rejects with typed errors: invalid key, non-string value", async () => {
        const store = new KeyvMemcached(client)
        await expect(store.get("has space")).rejects.toMatchObject({
          _tag: "MemcachedInputError",
          reason: "InvalidKey"
        })
        await expect(store.set("k", { not: "serialized" })).rejects.toMatchObject({ reason: "InvalidValue" })
        const keyv = new Keyv({ store, throwOnErrors: true })
        await expect(keyv.set("has space", 1)).rejects.toMatchObject({ reason: "InvalidKey" })
      })
    })
  })
}

describe("KeyvMemcached lifecycle", () => {
  it("an adapter built from options owns its client: disconnect closes it; a shared client stays open", async () => {
    const shared = MemcachedPromise.fromLayer(MemcachedTest.layer())
    const borrowed = new KeyvMemcached(shared)
    await borrowed.set("k", "v")
    await borrowed.disconnect()
    expect(shared.closed).toBe(false)
    expect(await borrowed.get("k")).toBe("v")
    await shared.close()

    const owning = new KeyvMemcached({ servers: ["127.0.0.1:1"], connectTimeout: "200 millis", timeout: "300 millis" })
    await expect(owning.get("k")).rejects.toMatchObject({ _tag: "MemcachedConnectionError" })
    await owning.disconnect()
    expect(owning.client.closed).toBe(true)
  })
})
