/**
 * Both editions on one real memcached: values written by the Effect 3 package (its TypedStore over
 * ValueCodec json / compressed string / split bytes, its counters and namespaces, run as a separate
 * process: test/support/v3Values.mjs) are read by this package, and the other way round. The layouts
 * (flags, compression, split-value manifests, counter text, namespace generations) are one format.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { execFile } from "node:child_process"
import * as path from "node:path"
import * as MemcachedClient from "../src/MemcachedClient.js"
import * as NamespaceGeneration from "../src/NamespaceGeneration.js"
import * as TypedStore from "../src/TypedStore.js"
import * as ValueCodec from "../src/ValueCodec.js"
import { acquireMemcached } from "./support/memcached.js"

const script = path.join(import.meta.dirname, "support", "v3Values.mjs")

/** Runs the Effect 3 side; resolves with its stdout, rejects with its stderr. */
const v3 = (port: number, mode: "write" | "read", prefix: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", script, String(port), mode, prefix],
        { timeout: 90_000 },
        (error, stdout, stderr) => error === null ? resolve(stdout) : reject(new Error(`${error.message}: ${stderr}`))
      )
    )
  )

const big = () => Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 7 + 3) % 251))

class Port extends Context.Service<Port, { readonly port: number }>()("test/Port") {}

const backend = Layer.unwrap(
  Effect.map(
    acquireMemcached(),
    (mc) =>
      Layer.merge(MemcachedClient.layer({ servers: [`127.0.0.1:${mc.port}`] }), Layer.succeed(Port, { port: mc.port }))
  )
)

describe("Effect 3 and Effect 4 editions on one memcached", () => {
  layer(backend, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("what the Effect 3 edition writes, this edition reads", () =>
      Effect.gen(function*() {
        const { port } = yield* Port
        const client = yield* MemcachedClient.MemcachedClient
        const prefix = `ed3-${Date.now()}`
        yield* v3(port, "write", prefix)
        const json = TypedStore.make(client, ValueCodec.json)
        const text = TypedStore.make(client, ValueCodec.string, { compression: { threshold: 100 } })
        const bytes = TypedStore.make(client, ValueCodec.bytes)
        assert.deepStrictEqual(yield* json.get(`${prefix}:json`), Option.some({ edition: 3, list: [1, "two", null] }))
        assert.deepStrictEqual(yield* text.get(`${prefix}:text`), Option.some("effect 3 ".repeat(200)))
        // it was stored compressed (flags 8)
        const raw = Option.getOrThrow(yield* client.get(`${prefix}:text`))
        assert.strictEqual(raw.flags, ValueCodec.Flags.COMPRESSED)
        const got = Option.getOrThrow(yield* bytes.get(`${prefix}:big`))
        assert.isTrue(Buffer.from(got).equals(big()))
        assert.strictEqual(yield* TypedStore.incr(client, `${prefix}:counter`, 1), 41n)
        const ns = NamespaceGeneration.make(client, `${prefix}-ns`)
        assert.deepStrictEqual(yield* client.getString(yield* ns.key("k")), Option.some("in namespace (3)"))
      }), 120_000)

    it.effect("what this edition writes, the Effect 3 edition reads", () =>
      Effect.gen(function*() {
        const { port } = yield* Port
        const client = yield* MemcachedClient.MemcachedClient
        const prefix = `ed4-${Date.now()}`
        const json = TypedStore.make(client, ValueCodec.json)
        const text = TypedStore.make(client, ValueCodec.string, { compression: { threshold: 100 } })
        const bytes = TypedStore.make(client, ValueCodec.bytes)
        yield* json.set(`${prefix}:json`, { edition: 4, list: [1, "two", null] })
        yield* text.set(`${prefix}:text`, "effect 4 ".repeat(200))
        yield* bytes.set(`${prefix}:big`, big())
        yield* TypedStore.incr(client, `${prefix}:counter`, 2, { initial: 7n })
        const ns = NamespaceGeneration.make(client, `${prefix}-ns`)
        yield* client.set(yield* ns.key("k"), "in namespace (4)")
        const out = JSON.parse(yield* v3(port, "read", prefix))
        assert.deepStrictEqual(out, {
          json: { edition: 4, list: [1, "two", null] },
          text: "effect 4 ".repeat(200),
          bigEqual: true,
          counter: "7",
          ns: "in namespace (4)"
        })
      }), 120_000)
  })
})
