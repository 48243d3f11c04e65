/**
 * The Effect 3 edition's side of the cross-edition value test, run as its own process (node --import tsx):
 * the root package's TypedStore, ValueCodec, LargeValue and NamespaceGeneration over Effect 3, against
 * memcached on 127.0.0.1:<port>. `write <prefix>` stores the values of `expected(prefix)`; `read <prefix>`
 * reads the same keys and prints them as one JSON line. Plain JavaScript so the Effect 4 package's
 * type-check never compiles the Effect 3 sources; Effect 3 itself comes from the root's node_modules
 * (the very module instance the root sources import).
 */
import * as Effect from "../../../../node_modules/effect/dist/esm/Effect.js"
import * as MemcachedClient from "../../../../src/MemcachedClient.ts"
import * as MemcachedPromise from "../../../../src/MemcachedPromise.ts"
import * as NamespaceGeneration from "../../../../src/NamespaceGeneration.ts"
import * as TypedStore from "../../../../src/TypedStore.ts"
import * as ValueCodec from "../../../../src/ValueCodec.ts"

const [port, mode, prefix] = process.argv.slice(2)

/** A 2.5 MB value (split into chunks), the same bytes in both editions. */
const big = () => Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 7 + 3) % 251))

const client = MemcachedPromise.createClient({ servers: [`127.0.0.1:${port}`] })

const program = Effect.flatMap(MemcachedClient.MemcachedClient, (c) => {
  const json = TypedStore.make(c, ValueCodec.json)
  const text = TypedStore.make(c, ValueCodec.string, { compression: { threshold: 100 } })
  const bytes = TypedStore.make(c, ValueCodec.bytes)
  const ns = NamespaceGeneration.make(c, `${prefix}-ns`)
  if (mode === "write") {
    return Effect.all([
      json.set(`${prefix}:json`, { edition: 3, list: [1, "two", null] }),
      text.set(`${prefix}:text`, "effect 3 ".repeat(200)),
      bytes.set(`${prefix}:big`, big()),
      TypedStore.incr(c, `${prefix}:counter`, 5, { initial: 40n }),
      Effect.flatMap(ns.key("k"), (k) => c.set(k, "in namespace (3)"))
    ], { discard: true })
  }
  return Effect.all({
    json: json.get(`${prefix}:json`),
    text: text.get(`${prefix}:text`),
    big: bytes.get(`${prefix}:big`),
    counter: c.getString(`${prefix}:counter`),
    ns: Effect.flatMap(ns.key("k"), (k) => c.getString(k))
  }).pipe(
    Effect.map((r) => ({
      json: r.json._tag === "Some" ? r.json.value : null,
      text: r.text._tag === "Some" ? r.text.value : null,
      bigEqual: r.big._tag === "Some" && Buffer.from(r.big.value).equals(big()),
      counter: r.counter._tag === "Some" ? r.counter.value.trim() : null,
      ns: r.ns._tag === "Some" ? r.ns.value : null
    }))
  )
})

client.run(program).then(
  async (out) => {
    if (out !== undefined) process.stdout.write(JSON.stringify(out) + "\n")
    await client.close()
    process.exit(0)
  },
  async (e) => {
    process.stderr.write(String(e) + "\n")
    await client.close()
    process.exit(1)
  }
)
