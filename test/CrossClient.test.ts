/**
 * Values cross clients: what node `memcached` (3rd-Eden), memjs and memcache-client write, we read with
 * the matching codec, and what we write, they read — over a real memcached.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import Memcached from "memcached"
import { MemcacheClient } from "memcache-client"
import memjs from "memjs"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as TypedStore from "../src/TypedStore.js"
import * as ValueCodec from "../src/ValueCodec.js"
import { acquireMemcached } from "./support/memcached.js"

const User = Schema.Struct({ name: Schema.String, age: Schema.Number })

const setup = Effect.gen(function*() {
  const mc = yield* acquireMemcached()
  const address = `127.0.0.1:${mc.port}`
  const ours = yield* MemcachedClient.make({ servers: [address] })
  return { address, ours }
})

const promise = <A>(f: (cb: (err: unknown, value: A) => void) => void) =>
  Effect.async<A, Error>((resume) => {
    f((err, value) =>
      resume(err ? Effect.fail(err instanceof Error ? err : new Error(String(err))) : Effect.succeed(value))
    )
  })

describe("values across clients", () => {
  it.scoped("node memcached (3rd-Eden): strings and JSON objects both ways", () =>
    Effect.gen(function*() {
      const { address, ours } = yield* setup
      const theirs = new Memcached(address, { retries: 0, timeout: 2000 })
      yield* Effect.addFinalizer(() => Effect.sync(() => theirs.end()))
      yield* promise<boolean>((cb) => theirs.set("x:str", "héllo", 60, cb))
      yield* promise<boolean>((cb) => theirs.set("x:obj", { name: "ada", age: 36 }, 60, cb))
      const str = Option.getOrThrow(yield* ours.get("x:str"))
      assert.strictEqual(yield* ValueCodec.string.decode(str.value, str.flags), "héllo")
      const users = TypedStore.make(ours, User)
      assert.deepStrictEqual(yield* users.get("x:obj"), Option.some({ name: "ada", age: 36 }))

      yield* users.set("x:ours", { name: "grace", age: 85 })
      yield* TypedStore.make(ours, ValueCodec.string).set("x:ours-str", "plain ✓")
      assert.deepStrictEqual(yield* promise<unknown>((cb) => theirs.get("x:ours", cb)), { name: "grace", age: 85 })
      assert.strictEqual(yield* promise<unknown>((cb) => theirs.get("x:ours-str", cb)), "plain ✓")
    }))

  it.scoped("memjs: raw bytes both ways", () =>
    Effect.gen(function*() {
      const { address, ours } = yield* setup
      const theirs = memjs.Client.create(address, { retries: 1, timeout: 2, logger: { log: () => {} } })
      yield* Effect.addFinalizer(() => Effect.sync(() => theirs.close()))
      const bytes = Buffer.from([0, 1, 2, 250, 13, 10])
      yield* Effect.promise(() => theirs.set("m:bytes", bytes, { expires: 60 }))
      const item = Option.getOrThrow(yield* ours.get("m:bytes"))
      assert.deepStrictEqual(Buffer.from(yield* ValueCodec.bytes.decode(item.value, item.flags)), bytes)
      yield* TypedStore.make(ours, ValueCodec.bytes).set("m:ours", Uint8Array.from([9, 8, 7]))
      const back = yield* Effect.promise(() => theirs.get("m:ours"))
      assert.deepStrictEqual(Array.from(back.value!), [9, 8, 7])
    }))

  it.scoped("memcache-client (electrode): strings and JSON both ways", () =>
    Effect.gen(function*() {
      const { address, ours } = yield* setup
      const theirs = new MemcacheClient({ server: address, cmdTimeout: 2000 })
      yield* Effect.addFinalizer(() => Effect.sync(() => theirs.shutdown()))
      yield* Effect.promise(() => theirs.set("e:str", "from electrode"))
      yield* Effect.promise(() => theirs.set("e:obj", { name: "linus", age: 55 }))
      const str = Option.getOrThrow(yield* ours.get("e:str"))
      assert.strictEqual(yield* ValueCodec.string.decode(str.value, str.flags), "from electrode")
      assert.deepStrictEqual(yield* TypedStore.make(ours, User).get("e:obj"), Option.some({ name: "linus", age: 55 }))
      yield* TypedStore.make(ours, User).set("e:ours", { name: "barbara", age: 86 })
      const back = yield* Effect.promise(() => theirs.get<unknown>("e:ours"))
      assert.deepStrictEqual(back.value, { name: "barbara", age: 86 })
    }))
})
