/**
 * The conformance cases, edition-neutral: one body, run through the Effect 3 client (test/support/
 * conformance.ts) and through the Effect 4 client (packages/effect4/test/support/conformance.ts), each
 * against every backend (the in-process test layer, the in-memory server over TCP, a real memcached).
 * Where they disagree, memcached is right.
 *
 * The cases see the client through a {@link Driver}: every method returns a Promise of a plain result
 * (a miss is `undefined`, per-server results are {@link Outcome}s) and rejects with the client's typed
 * error (`{ _tag, reason, message }`). This module imports neither `effect` nor a test runner (it is
 * loaded by vitest 3 and by vitest 5): assertions are `node:assert/strict`.
 */
import assert from "node:assert/strict"

/** A stored item as a case sees it. */
export interface Item {
  readonly value: Uint8Array
  readonly flags: number
  readonly cas: bigint | undefined
}

/** A typed failure of the client, as a case sees it. */
export interface ErrorData {
  readonly _tag: string
  readonly reason: string
  readonly message: string
}

/** One server's outcome of an admin command. */
export type Outcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: ErrorData }

/** The meta item of `metaGet`. */
export interface MetaItem {
  readonly value?: Uint8Array | undefined
  readonly flags?: number | undefined
  readonly cas?: bigint | undefined
  readonly ttl?: number | undefined
  readonly size?: number | undefined
  readonly hit?: boolean | undefined
  readonly lastAccess?: number | undefined
  readonly key?: string | undefined
  readonly win: boolean
  readonly stale: boolean
  readonly alreadyWon: boolean
}

type Ttl = number
interface Call {
  readonly timeout?: number | undefined
}
interface Store extends Call {
  readonly ttl?: Ttl | undefined
  readonly flags?: number | undefined
  readonly noreply?: boolean | undefined
}
interface MetaKey {
  readonly base64?: boolean | undefined
}

/**
 * The client under test, as plain Promises (TTLs and timeouts in seconds and milliseconds).
 */
export interface Driver {
  readonly get: (key: string) => Promise<Item | undefined>
  readonly getString: (key: string) => Promise<string | undefined>
  readonly gets: (key: string) => Promise<Item | undefined>
  readonly gat: (key: string, ttl: Ttl) => Promise<Item | undefined>
  readonly gats: (key: string, ttl: Ttl) => Promise<Item | undefined>
  readonly getMany: (keys: ReadonlyArray<string>, options?: { readonly cas?: boolean }) => Promise<
    ReadonlyMap<string, Item>
  >
  readonly set: (key: string, value: Uint8Array | string, options?: Store) => Promise<void>
  readonly add: (key: string, value: Uint8Array | string, options?: Store) => Promise<void>
  readonly replace: (key: string, value: Uint8Array | string, options?: Store) => Promise<void>
  readonly append: (key: string, value: Uint8Array | string) => Promise<void>
  readonly prepend: (key: string, value: Uint8Array | string) => Promise<void>
  readonly cas: (key: string, value: Uint8Array | string, cas: bigint) => Promise<void>
  readonly delete: (key: string) => Promise<void>
  readonly touch: (key: string, ttl: Ttl) => Promise<void>
  readonly incr: (key: string, delta: number | bigint) => Promise<bigint>
  readonly decr: (key: string, delta: number | bigint) => Promise<bigint>
  readonly flushAll: (delay?: Ttl) => Promise<ReadonlyMap<string, Outcome<void>>>
  readonly version: () => Promise<ReadonlyMap<string, Outcome<string>>>
  readonly stats: (argument?: string) => Promise<ReadonlyMap<string, Outcome<ReadonlyMap<string, string>>>>
  readonly verbosity: (level: number) => Promise<ReadonlyMap<string, Outcome<void>>>
  readonly protocols: () => Promise<ReadonlyMap<string, "meta" | "text">>
  readonly metaGet: (
    key: string,
    options?: MetaKey & {
      readonly value?: boolean
      readonly ttl?: boolean
      readonly hit?: boolean
      readonly lastAccess?: boolean
      readonly size?: boolean
      readonly cas?: boolean
      readonly touch?: Ttl
      readonly vivify?: Ttl
      readonly recache?: Ttl
      readonly noLru?: boolean
    }
  ) => Promise<MetaItem | undefined>
  readonly metaSet: (
    key: string,
    value: Uint8Array | string,
    options?: MetaKey & {
      readonly ttl?: Ttl
      readonly flags?: number
      readonly mode?: "set" | "add" | "replace" | "append" | "prepend"
      readonly cas?: bigint
      readonly invalidate?: boolean
    }
  ) => Promise<{ readonly cas: bigint | undefined }>
  readonly metaDelete: (
    key: string,
    options?: MetaKey & {
      readonly cas?: bigint
      readonly invalidate?: boolean
      readonly ttl?: Ttl
    }
  ) => Promise<void>
  readonly metaArithmetic: (
    key: string,
    options?: MetaKey & {
      readonly delta?: number | bigint
      readonly mode?: "incr" | "decr"
      readonly vivify?: Ttl
      readonly initial?: number | bigint
      readonly ttl?: Ttl
      readonly cas?: bigint
    }
  ) => Promise<{ readonly value: bigint; readonly ttl: number | undefined; readonly cas: bigint | undefined }>
  readonly metaDebug: (key: string, options?: MetaKey) => Promise<ReadonlyMap<string, string> | undefined>
  /** Waits `ms` of real time (client and a real server must agree on the time). */
  readonly sleep: (ms: number) => Promise<void>
}

/** One case: a name and a body over the driver. */
export interface Case {
  readonly name: string
  readonly run: (c: Driver) => Promise<void>
}

let counter = 0
/** A key no other test uses. */
export const uniqueKey = (name: string): string => `conf:${process.pid}:${++counter}:${name}`

const text = (u: Uint8Array) => Buffer.from(u).toString("utf8")

/** The typed error `promise` rejects with; fails the case when it resolves. */
export const failureOf = async (promise: Promise<unknown>): Promise<ErrorData> => {
  try {
    await promise
  } catch (e) {
    const error = e as ErrorData
    assert.equal(typeof error._tag, "string", `expected a typed failure, got ${String(e)}`)
    return error
  }
  assert.fail("expected a failure")
}

const reasonOf = async (promise: Promise<unknown>): Promise<string> => (await failureOf(promise)).reason

/** The value of a per-server outcome; fails the case on that server's error. */
const ok = <A>(outcome: Outcome<A> | undefined): A => {
  assert.ok(outcome !== undefined, "no outcome")
  if (!outcome.ok) assert.fail(`server failed: ${outcome.error._tag}(${outcome.error.reason}) ${outcome.error.message}`)
  return outcome.value
}

const some = <A>(a: A | undefined): A => {
  assert.ok(a !== undefined, "expected a hit")
  return a
}

/** The commands section: every command of the text protocol, through the client, in any protocol mode. */
export const commandCases: ReadonlyArray<Case> = [
  {
    name: "set then get returns the bytes and flags",
    run: async (c) => {
      const k = uniqueKey("set")
      const bytes = Uint8Array.from([0, 1, 2, 13, 10, 255, 69, 78, 68])
      await c.set(k, bytes, { flags: 0xdeadbeef })
      const item = some(await c.get(k))
      assert.deepEqual(Array.from(item.value), Array.from(bytes))
      assert.equal(item.flags, 0xdeadbeef)
      assert.equal(item.cas, undefined)
    }
  },
  {
    name: "a value containing protocol text round-trips",
    run: async (c) => {
      const k = uniqueKey("proto")
      const v = "a\r\nEND\r\nVALUE x 0 1\r\ny\r\nEND\r\n"
      await c.set(k, v)
      assert.equal(await c.getString(k), v)
    }
  },
  {
    name: "an empty value and a UTF-8 key",
    run: async (c) => {
      const k = uniqueKey("ключ-🙂")
      await c.set(k, "")
      assert.equal(await c.getString(k), "")
    }
  },
  {
    name: "a miss is None",
    run: async (c) => {
      assert.equal(await c.get(uniqueKey("missing")), undefined)
    }
  },
  {
    name: "add stores only when absent",
    run: async (c) => {
      const k = uniqueKey("add")
      await c.add(k, "first")
      const e = await failureOf(c.add(k, "second"))
      assert.equal(e._tag, "MemcachedStoreError")
      assert.equal(e.reason, "NotStored")
      assert.equal(await c.getString(k), "first")
    }
  },
  {
    name: "replace stores only when present",
    run: async (c) => {
      const k = uniqueKey("replace")
      assert.equal(await reasonOf(c.replace(k, "x")), "NotStored")
      assert.equal(await c.get(k), undefined)
      await c.set(k, "old", { flags: 7 })
      await c.replace(k, "new", { flags: 9 })
      const item = some(await c.get(k))
      assert.equal(text(item.value), "new")
      assert.equal(item.flags, 9)
    }
  },
  {
    name: "append and prepend keep the flags and need the key",
    run: async (c) => {
      const k = uniqueKey("append")
      assert.equal(await reasonOf(c.append(k, "x")), "NotStored")
      assert.equal(await reasonOf(c.prepend(k, "x")), "NotStored")
      await c.set(k, "middle", { flags: 42 })
      await c.append(k, ">")
      await c.prepend(k, "<")
      const item = some(await c.get(k))
      assert.equal(text(item.value), "<middle>")
      assert.equal(item.flags, 42)
    }
  },
  {
    name: "gets and cas: success, conflict, missing",
    run: async (c) => {
      const k = uniqueKey("cas")
      await c.set(k, "v1")
      const first = some(await c.gets(k))
      assert.notEqual(first.cas, undefined)
      await c.cas(k, "v2", first.cas!)
      const second = some(await c.gets(k))
      assert.notEqual(second.cas, first.cas)
      assert.equal(text(second.value), "v2")
      assert.equal(await reasonOf(c.cas(k, "v3", first.cas!)), "Exists")
      assert.equal(await c.getString(k), "v2")
      assert.equal(await reasonOf(c.cas(uniqueKey("cas-missing"), "v", first.cas!)), "NotFound")
    }
  },
  {
    name: "delete: existing, then missing",
    run: async (c) => {
      const k = uniqueKey("delete")
      await c.set(k, "v")
      await c.delete(k)
      assert.equal(await c.get(k), undefined)
      const e = await failureOf(c.delete(k))
      assert.equal(e._tag, "MemcachedStoreError")
      assert.equal(e.reason, "NotFound")
    }
  },
  {
    name: "touch, gat and gats",
    run: async (c) => {
      const k = uniqueKey("touch")
      assert.equal(await reasonOf(c.touch(k, 10)), "NotFound")
      assert.equal(await c.gat(k, 10), undefined)
      await c.set(k, "v", { flags: 3 })
      await c.touch(k, 100)
      const gat = some(await c.gat(k, 200))
      assert.equal(text(gat.value), "v")
      assert.equal(gat.flags, 3)
      assert.equal(gat.cas, undefined)
      const gats = some(await c.gats(k, 300))
      assert.notEqual(gats.cas, undefined)
    }
  },
  {
    name: "incr and decr: values, floor at 0, wrap at 2^64, missing, non-numeric",
    run: async (c) => {
      const k = uniqueKey("counter")
      assert.equal(await reasonOf(c.incr(k, 1)), "NotFound")
      assert.equal(await reasonOf(c.decr(k, 1)), "NotFound")
      await c.set(k, "99")
      assert.equal(await c.incr(k, 1), 100n)
      assert.equal(await c.getString(k), "100")
      assert.equal(await c.decr(k, 1000), 0n)
      await c.set(k, "18446744073709551615")
      assert.equal(await c.incr(k, 2n), 1n)
      await c.set(k, "9007199254740993")
      assert.equal(await c.incr(k, 10n), 9007199254741003n)
      const nan = uniqueKey("nan")
      await c.set(nan, "abc")
      const e = await failureOf(c.incr(nan, 1))
      assert.equal(e._tag, "MemcachedServerError")
      assert.equal(e.reason, "ClientError")
      // The error did not poison the connection.
      assert.equal(await c.getString(nan), "abc")
      assert.equal((await failureOf(c.incr(k, -1)))._tag, "MemcachedInputError")
    }
  },
  {
    name: "items expire after their TTL",
    run: async (c) => {
      const k = uniqueKey("ttl")
      const keep = uniqueKey("ttl-keep")
      await c.set(k, "v", { ttl: 1 })
      await c.set(keep, "v", { ttl: 31 * 24 * 3600 })
      assert.notEqual(await c.get(k), undefined)
      await c.sleep(2100)
      assert.equal(await c.get(k), undefined)
      // A TTL over 30 days is sent as an absolute time, so the item is still there.
      assert.equal(await c.getString(keep), "v")
    }
  },
  {
    name: "values near 1 MB are stored; over the item size limit is a server error",
    run: async (c) => {
      const k = uniqueKey("big")
      const big = Buffer.alloc(1_000_000)
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
      await c.set(k, big)
      assert.equal(Buffer.compare(Buffer.from(some(await c.get(k)).value), big), 0)
      const e = await failureOf(c.set(uniqueKey("too-big"), Buffer.alloc(1024 * 1024 + 1)))
      assert.equal(e._tag, "MemcachedServerError")
      assert.equal(e.reason, "ServerError")
      // Still in sync after the rejected value.
      assert.equal(Buffer.compare(Buffer.from(some(await c.get(k)).value), big), 0)
    }
  },
  {
    name: "invalid keys are rejected before anything is sent",
    run: async (c) => {
      const victim = uniqueKey("victim")
      await c.set(victim, "safe")
      for (const bad of ["", "a b", "a\r\nflush_all", "tab\tkey", "x".repeat(251), "nul\u0000"]) {
        const e = await failureOf(c.set(bad, "v"))
        assert.equal(e._tag, "MemcachedInputError")
        assert.equal(e.reason, "InvalidKey")
        assert.equal((await failureOf(c.get(bad)))._tag, "MemcachedInputError")
      }
      assert.equal(await c.getString(victim), "safe")
      assert.equal(await reasonOf(c.set(uniqueKey("neg"), "v", { ttl: -1 })), "InvalidTtl")
      assert.equal(await reasonOf(c.set(uniqueKey("flags"), "v", { flags: 2 ** 32 })), "InvalidArgument")
    }
  },
  {
    name: "getMany returns hits, omits misses, one entry for a repeated key",
    run: async (c) => {
      const keys = Array.from({ length: 250 }, (_, i) => uniqueKey(`many${i}`))
      for (let i = 0; i < keys.length; i++) if (i % 3 !== 0) await c.set(keys[i]!, `v${i}`)
      const found = await c.getMany([...keys, keys[1]!, keys[2]!])
      assert.equal(found.size, keys.filter((_, i) => i % 3 !== 0).length)
      keys.forEach((k, i) => {
        const item = found.get(k)
        if (i % 3 === 0) assert.equal(item, undefined)
        else assert.equal(text(item!.value), `v${i}`)
      })
      const withCas = await c.getMany([keys[1]!], { cas: true })
      assert.notEqual(withCas.get(keys[1]!)!.cas, undefined)
    }
  },
  {
    name: "noreply stores are applied and do not shift later replies",
    run: async (c) => {
      const k = uniqueKey("noreply")
      const n = uniqueKey("noreply-add")
      await c.set(k, "v", { noreply: true })
      await c.set(n, "1")
      await c.add(n, "2", { noreply: true }) // rejected by the server: NOT_STORED is read and dropped
      assert.equal(await c.getString(k), "v")
      assert.equal(await c.getString(n), "1")
    }
  },
  {
    name: "version, stats, stats settings, verbosity",
    run: async (c) => {
      const versions = [...(await c.version()).values()].map(ok)
      assert.ok(versions.length >= 1 && versions.every((v) => /^\d+\.\d+\.\d+/.test(v)), versions.join())
      const stats = ok([...(await c.stats()).values()][0])
      for (const name of ["pid", "uptime", "curr_items", "cmd_get", "get_hits", "get_misses", "evictions"]) {
        assert.ok(stats.has(name), `stats has ${name}`)
      }
      const settings = ok([...(await c.stats("settings")).values()][0])
      assert.ok(settings.has("item_size_max"))
      for (const outcome of (await c.verbosity(0)).values()) ok(outcome)
    }
  },
  {
    name: "flush_all with a delay keeps items until then; without, drops them",
    run: async (c) => {
      const k = uniqueKey("flush")
      await c.set(k, "v")
      for (const outcome of (await c.flushAll(100)).values()) ok(outcome)
      assert.equal(await c.getString(k), "v")
      for (const outcome of (await c.flushAll()).values()) ok(outcome)
      assert.equal(await c.get(k), undefined)
      await c.set(k, "after")
      assert.equal(await c.getString(k), "after")
    }
  },
  {
    name: "thousands of concurrent mixed requests each get their own answer",
    run: async (c) => {
      const keys = Array.from({ length: 3000 }, (_, i) => uniqueKey(`mixed${i}`))
      await Promise.all(keys.map((k, i) => c.set(k, `value-${i}`)))
      const results = await Promise.all(
        keys.map((k, i) => i % 2 === 0 ? c.getString(k) : c.set(k, `value-${i}`).then(() => `value-${i}`))
      )
      results.forEach((r, i) => assert.equal(r, `value-${i}`))
    }
  }
]

/**
 * The meta section: meta-only features, run with the client in meta mode (or auto, which must detect
 * meta on every backend).
 */
export const metaCases: ReadonlyArray<Case> = [
  {
    name: "the server is detected as meta",
    run: async (c) => {
      for (const p of (await c.protocols()).values()) assert.equal(p, "meta")
    }
  },
  {
    name: "mg: value, flags, cas, ttl, size, hit, last access (v f c t s h l)",
    run: async (c) => {
      const k = uniqueKey("mg")
      assert.equal(await c.metaGet(k), undefined)
      const { cas } = await c.metaSet(k, "hello", { flags: 7, ttl: 100 })
      assert.notEqual(cas, undefined)
      const first = some(await c.metaGet(k, { cas: true, ttl: true, size: true, hit: true, lastAccess: true }))
      assert.equal(text(first.value!), "hello")
      assert.equal(first.flags, 7)
      assert.equal(first.cas, cas)
      assert.ok(first.ttl! >= 99 && first.ttl! <= 100)
      assert.equal(first.size, 5)
      assert.equal(first.hit, false)
      assert.ok(first.lastAccess! >= 0 && first.lastAccess! <= 2)
      assert.ok(!(first.win || first.stale || first.alreadyWon))
      const second = some(await c.metaGet(k, { hit: true, value: false }))
      assert.equal(second.hit, true)
      assert.equal(second.value, undefined)
    }
  },
  {
    name: "mg u does not count the access; T touches",
    run: async (c) => {
      const k = uniqueKey("mg-u")
      await c.metaSet(k, "v")
      await c.metaGet(k, { noLru: true })
      assert.equal(some(await c.metaGet(k, { hit: true })).hit, false)
      const touched = some(await c.metaGet(k, { touch: 500, ttl: true }))
      assert.ok(touched.ttl! >= 499 && touched.ttl! <= 500)
      await c.touch(k, 0)
      assert.equal(some(await c.metaGet(k, { ttl: true })).ttl, -1)
    }
  },
  {
    name: "vivify on miss: one client wins (W), the next sees Z",
    run: async (c) => {
      const k = uniqueKey("vivify")
      const won = some(await c.metaGet(k, { vivify: 30, ttl: true }))
      assert.ok(won.win)
      assert.equal(won.value!.length, 0)
      assert.ok(won.ttl! >= 29 && won.ttl! <= 30)
      const lost = some(await c.metaGet(k, { vivify: 30 }))
      assert.ok(!lost.win)
      assert.ok(lost.alreadyWon)
      await c.metaSet(k, "fresh")
      const after = some(await c.metaGet(k))
      assert.ok(!(after.win || after.alreadyWon))
    }
  },
  {
    name: "recache threshold (R): win once when the TTL is low",
    run: async (c) => {
      const k = uniqueKey("recache")
      await c.metaSet(k, "v", { ttl: 10 })
      assert.ok(!some(await c.metaGet(k, { recache: 5 })).win)
      assert.ok(some(await c.metaGet(k, { recache: 30 })).win)
      const again = some(await c.metaGet(k, { recache: 30 }))
      assert.ok(!again.win)
      assert.ok(again.alreadyWon)
    }
  },
  {
    name: "invalidate (md I): stale item, one winner, then a stale set with an older CAS (ms I)",
    run: async (c) => {
      const k = uniqueKey("stale")
      const { cas } = await c.metaSet(k, "v1", { ttl: 100 })
      await c.metaDelete(k, { invalidate: true, ttl: 30 })
      const first = some(await c.metaGet(k, { ttl: true, cas: true }))
      assert.ok(first.stale && first.win)
      assert.equal(text(first.value!), "v1")
      assert.ok(first.ttl! <= 30)
      assert.notEqual(first.cas, cas)
      const second = some(await c.metaGet(k))
      assert.ok(second.stale && second.alreadyWon && !second.win)
      // A writer holding the old CAS: with invalidate the value is stored, still stale.
      await c.metaSet(k, "v2", { cas: cas!, invalidate: true })
      const third = some(await c.metaGet(k))
      assert.equal(text(third.value!), "v2")
      assert.ok(third.stale)
      // Without invalidate the old CAS is a conflict; a fresh set clears the stale mark.
      assert.equal(await reasonOf(c.metaSet(k, "v3", { cas: cas! })), "Exists")
      await c.metaSet(k, "v4")
      assert.ok(!some(await c.metaGet(k)).stale)
    }
  },
  {
    name: "ms modes and CAS (M E/A/P/R/S, C, c)",
    run: async (c) => {
      const k = uniqueKey("modes")
      assert.equal(await reasonOf(c.metaSet(k, "x", { mode: "append" })), "NotStored")
      assert.equal(await reasonOf(c.metaSet(k, "x", { mode: "replace" })), "NotStored")
      await c.metaSet(k, "mid", { mode: "add", flags: 3 })
      assert.equal(await reasonOf(c.metaSet(k, "x", { mode: "add" })), "NotStored")
      await c.metaSet(k, ">", { mode: "append" })
      await c.metaSet(k, "<", { mode: "prepend" })
      const item = some(await c.metaGet(k, { cas: true }))
      assert.equal(text(item.value!), "<mid>")
      assert.equal(item.flags, 3)
      const { cas } = await c.metaSet(k, "swapped", { cas: item.cas! })
      assert.equal(await reasonOf(c.metaSet(k, "late", { cas: item.cas! })), "Exists")
      assert.equal(await reasonOf(c.metaSet(uniqueKey("nf"), "x", { cas: 1n })), "NotFound")
      assert.equal(some(await c.metaGet(k, { cas: true })).cas, cas)
      await c.metaSet(k, "set", { mode: "set" })
      assert.equal(text(some(await c.metaGet(k)).value!), "set")
    }
  },
  {
    name: "md: CAS, missing, delete",
    run: async (c) => {
      const k = uniqueKey("md")
      assert.equal(await reasonOf(c.metaDelete(k)), "NotFound")
      const { cas } = await c.metaSet(k, "v")
      assert.equal(await reasonOf(c.metaDelete(k, { cas: cas! + 1000n })), "Exists")
      await c.metaDelete(k, { cas: cas! })
      assert.equal(await c.metaGet(k), undefined)
    }
  },
  {
    name: "ma: incr, decr, vivify with initial, TTL, CAS (N J D T M C t c v)",
    run: async (c) => {
      const k = uniqueKey("ma")
      assert.equal(await reasonOf(c.metaArithmetic(k)), "NotFound")
      const created = await c.metaArithmetic(k, { vivify: 100, initial: 40, ttl: 100 })
      assert.equal(created.value, 40n)
      const up = await c.metaArithmetic(k, { delta: 5 })
      assert.equal(up.value, 45n)
      assert.ok(up.ttl! > 0 && up.ttl! <= 100)
      const down = await c.metaArithmetic(k, { delta: 100n, mode: "decr" })
      assert.equal(down.value, 0n)
      assert.equal(await reasonOf(c.metaArithmetic(k, { cas: down.cas! + 1000n })), "Exists")
      assert.equal((await c.metaArithmetic(k, { cas: down.cas! })).value, 1n)
      await c.set(k, "18446744073709551615")
      assert.equal((await c.metaArithmetic(k, { delta: 2 })).value, 1n)
      await c.set(k, "abc")
      assert.equal((await failureOf(c.metaArithmetic(k)))._tag, "MemcachedServerError")
    }
  },
  {
    name: "base64 keys: spaces and arbitrary bytes (b, k)",
    run: async (c) => {
      const k = uniqueKey("with space\t\r\n and ✓")
      await c.metaSet(k, "b64", { base64: true })
      assert.equal(text(some(await c.metaGet(k, { base64: true })).value!), "b64")
      const ascii = uniqueKey("plain")
      await c.metaSet(ascii, "same item", { base64: true })
      assert.equal(await c.getString(ascii), "same item")
      await c.metaDelete(k, { base64: true })
      assert.equal(await c.metaGet(k, { base64: true }), undefined)
      assert.equal(await reasonOf(c.metaGet("x".repeat(200), { base64: true })), "InvalidKey")
    }
  },
  {
    name: "me: the debug view of an item",
    run: async (c) => {
      const k = uniqueKey("me")
      assert.equal(await c.metaDebug(k), undefined)
      await c.metaSet(k, "abc", { ttl: 100 })
      const fields = some(await c.metaDebug(k))
      assert.equal(fields.get("fetch"), "no")
      for (const f of ["exp", "la", "cas", "cls", "size"]) assert.ok(fields.has(f), f)
    }
  },
  {
    name: "getMany in meta: hits matched by key, misses never shift values",
    run: async (c) => {
      const keys = Array.from({ length: 120 }, (_, i) => uniqueKey(`mm${i}`))
      for (let i = 0; i < keys.length; i++) if (i % 2 !== 0) await c.set(keys[i]!, `v${i}`)
      const found = await c.getMany(keys, { cas: true })
      assert.equal(found.size, 60)
      keys.forEach((k, i) => {
        if (i % 2 === 0) assert.equal(found.get(k), undefined)
        else {
          assert.equal(text(found.get(k)!.value), `v${i}`)
          assert.notEqual(found.get(k)!.cas, undefined)
        }
      })
    }
  }
]

/**
 * How an edition runs its client's effects: `run` resolves with the success value or rejects with the
 * typed error; `optional` reads its `Option` (`undefined` for none); `outcome` reads one server's
 * `Either` / `Result`.
 */
export interface Edition {
  readonly run: (effect: unknown) => Promise<any>
  readonly optional: (option: any) => any
  readonly outcome: (result: any) => Outcome<any>
}

/**
 * The {@link Driver} over an edition's `MemcachedClient` (both editions' clients have the same methods
 * and arguments; only their Effect types differ, which `edition` reads).
 */
export const driverOver = (client: any, edition: Edition): Driver => {
  const { optional, outcome, run } = edition
  const opt = (effect: unknown) => run(effect).then(optional)
  const perServer = (effect: unknown) =>
    run(effect).then((m: ReadonlyMap<string, unknown>) => new Map([...m].map(([k, v]) => [k, outcome(v)] as const)))
  return {
    get: (key) => opt(client.get(key)),
    getString: (key) => opt(client.getString(key)),
    gets: (key) => opt(client.gets(key)),
    gat: (key, ttl) => opt(client.gat(key, ttl)),
    gats: (key, ttl) => opt(client.gats(key, ttl)),
    getMany: (keys, options) => run(client.getMany(keys, options)),
    set: (key, value, options) => run(client.set(key, value, options)),
    add: (key, value, options) => run(client.add(key, value, options)),
    replace: (key, value, options) => run(client.replace(key, value, options)),
    append: (key, value) => run(client.append(key, value)),
    prepend: (key, value) => run(client.prepend(key, value)),
    cas: (key, value, cas) => run(client.cas(key, value, cas)),
    delete: (key) => run(client.delete(key)),
    touch: (key, ttl) => run(client.touch(key, ttl)),
    incr: (key, delta) => run(client.incr(key, delta)),
    decr: (key, delta) => run(client.decr(key, delta)),
    flushAll: (delay) => perServer(client.flushAll(delay)),
    version: () => perServer(client.version()),
    stats: (argument) => perServer(client.stats(argument)),
    verbosity: (level) => perServer(client.verbosity(level)),
    protocols: () => run(client.protocols()),
    metaGet: (key, options) => opt(client.metaGet(key, options)),
    metaSet: (key, value, options) => run(client.metaSet(key, value, options)),
    metaDelete: (key, options) => run(client.metaDelete(key, options)),
    metaArithmetic: (key, options) => run(client.metaArithmetic(key, options)),
    metaDebug: (key, options) => opt(client.metaDebug(key, options)),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  }
}
