/**
 * Protocol auto-detection: memcached 1.6 answers the `mn` probe (meta); twemproxy (nutcracker), a
 * text-only proxy, closes the connection on it, and the client must keep working in text mode there,
 * with meta-only methods failing as `Unsupported`.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Either, Option } from "effect"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { acquireFakeServer, freePort, startMemcached } from "./support/memcached.js"

const nutcracker = ["/usr/sbin/nutcracker", "/usr/bin/nutcracker", "/usr/local/bin/nutcracker"].find((p) =>
  fs.existsSync(p)
)

const listening = async (port: number, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port })
      s.once("connect", () => (s.destroy(), resolve(true)))
      s.once("error", () => resolve(false))
    })
    if (ok) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

const stop = async (child: ChildProcess) => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once("exit", () => r()))
  process.kill(child.pid, "SIGTERM")
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL")
}

describe("protocol auto-detection", () => {
  it("meta on memcached 1.6, text on nutcracker", async () => {
    await withNutcracker(async (proxy, direct) => {
      const run = <A>(servers: string, f: (c: MemcachedClient.MemcachedClient) => Effect.Effect<A, unknown>) =>
        Effect.runPromise(Effect.scoped(Effect.flatMap(MemcachedClient.make({ servers, protocol: "auto" }), f)))

      // Direct to memcached: meta.
      await run(direct, (c) =>
        Effect.gen(function*() {
          assert.deepStrictEqual([...(yield* c.protocols()).values()], ["meta"])
          yield* c.set("nc:direct", "meta")
          assert.isTrue(Option.getOrThrow(yield* c.metaGet("nc:direct", { ttl: true })).ttl === -1)
        }))

      // Through nutcracker: text, and everything still works.
      await run(proxy, (c) =>
        Effect.gen(function*() {
          // Requests issued before the probe answered go out as text.
          yield* c.set("nc:early", "1")
          assert.deepStrictEqual([...(yield* c.protocols()).values()], ["text"])
          yield* c.set("nc:k", "through the proxy", { flags: 5 })
          const item = Option.getOrThrow(yield* c.get("nc:k"))
          assert.strictEqual(Buffer.from(item.value).toString(), "through the proxy")
          assert.strictEqual(item.flags, 5)
          const many = yield* c.getMany(["nc:k", "nc:missing", "nc:early"])
          assert.deepStrictEqual([...many.keys()].sort(), ["nc:early", "nc:k"])
          assert.strictEqual(yield* c.incr("nc:early", 2), 3n)
          yield* c.delete("nc:k")
          assert.isTrue(Option.isNone(yield* c.get("nc:k")))
          const e = yield* Effect.either(c.metaGet("nc:early"))
          assert.isTrue(Either.isLeft(e))
          const err = (e as Either.Left<{ _tag: string; reason: string }, unknown>).left
          assert.strictEqual(err._tag, "MemcachedInputError")
          assert.strictEqual(err.reason, "Unsupported")
          // The value written through the proxy is in memcached.
        }))
      await run(direct, (c) =>
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* c.getString("nc:early"), Option.some("3"))
        }))
    })
  }, 30_000)

  it.effect("text mode: meta-only methods fail with Unsupported, nothing sent", () =>
    Effect.gen(function*() {
      const { layer } = yield* Effect.promise(() => import("../src/MemcachedTest.js"))
      const result = yield* Effect.gen(function*() {
        const c = yield* MemcachedClient.MemcachedClient
        yield* c.set("t", "v")
        const errs = yield* Effect.all([
          Effect.flip(c.metaGet("t")),
          Effect.flip(c.metaSet("t", "v")),
          Effect.flip(c.metaDelete("t")),
          Effect.flip(c.metaArithmetic("t")),
          Effect.flip(c.metaDebug("t"))
        ])
        return { errs, value: yield* c.getString("t"), protocols: yield* c.protocols() }
      }).pipe(Effect.provide(layer({ protocol: "text" })))
      for (const e of result.errs) {
        assert.strictEqual(e._tag, "MemcachedInputError")
        assert.strictEqual((e as { reason: string }).reason, "Unsupported")
      }
      assert.deepStrictEqual(result.value, Option.some("v"))
      assert.deepStrictEqual([...result.protocols.values()], ["text"])
    }))
})

/** Starts memcached and nutcracker in front of it; `use` gets the proxy's address. Stops both by PID. */
const withNutcracker = async (use: (proxy: string, direct: string) => Promise<void>) => {
  assert.isDefined(nutcracker, "nutcracker is required (apt-get install nutcracker)")
  const mc = await startMemcached()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-memcached-nutcracker-"))
  let child: ChildProcess | undefined
  try {
    const port = await freePort()
    const statsPort = await freePort()
    const conf = path.join(dir, "nutcracker.yml")
    fs.writeFileSync(
      conf,
      [
        "pool:",
        `  listen: 127.0.0.1:${port}`,
        "  hash: fnv1a_64",
        "  distribution: ketama",
        "  timeout: 2000",
        "  servers:",
        `   - 127.0.0.1:${mc.port}:1`,
        ""
      ].join("\n")
    )
    child = spawn(nutcracker!, [
      "-c",
      conf,
      "-p",
      path.join(dir, "nutcracker.pid"),
      "-o",
      path.join(dir, "nutcracker.log"),
      "-s",
      String(statsPort),
      "-a",
      "127.0.0.1"
    ], { stdio: "ignore" })
    assert.isTrue(await listening(port, 5000), "nutcracker did not start")
    await use(`127.0.0.1:${port}`, `127.0.0.1:${mc.port}`)
  } finally {
    if (child !== undefined) await stop(child)
    await mc.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("text-only proxy: commands it does not forward (issue 11.6)", () => {
  for (const options of [{ protocol: "auto" }, { textProxy: true }] as const) {
    it(
      `through nutcracker (${
        JSON.stringify(options)
      }): gat, gats, stats, flushAll, verbosity fail Unsupported, the proxy is never ejected`,
      async () => {
        await withNutcracker(async (proxy) => {
          await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
            // failureLimit 1: a single connection the proxy closed would eject it
            const c = yield* MemcachedClient.make({
              servers: [proxy],
              failureLimit: 1,
              timeout: "2 seconds",
              ...options
            })
            yield* c.set("nc6:k", "v")
            for (const call of [c.gat("nc6:k", 60), c.gats("nc6:k", 60)]) {
              const e = yield* Effect.flip(call)
              assert.strictEqual(`${e._tag}:${"reason" in e ? e.reason : ""}`, "MemcachedInputError:Unsupported")
            }
            const admin = [
              yield* c.stats(),
              yield* c.stats("settings"),
              yield* c.flushAll(),
              yield* c.verbosity(1)
            ] as ReadonlyArray<MemcachedClient.PerServer<unknown>>
            for (const result of admin) {
              const entry = result.get(proxy)!
              assert.isTrue(Either.isLeft(entry))
              const e = (entry as Either.Left<{ _tag: string; reason: string }, unknown>).left
              assert.strictEqual(`${e._tag}:${e.reason}`, "MemcachedInputError:Unsupported")
            }
            // version and touch are forwarded by the proxy
            assert.deepStrictEqual(yield* c.version().pipe(Effect.map((m) => m.get(proxy))), Either.right("1.6.18"))
            yield* c.touch("nc6:k", 60)
            // not ejected, not flushed: the value is still served through the proxy
            assert.deepStrictEqual(yield* c.getString("nc6:k"), Option.some("v"))
            assert.deepStrictEqual([...(yield* c.protocols()).values()], ["text"])
          })))
        })
      },
      30_000
    )
  }

  it("memcached itself (protocol auto → meta) still serves gat and stats", async () => {
    await withNutcracker(async (_proxy, direct) => {
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const c = yield* MemcachedClient.make({ servers: [direct], protocol: "auto" })
        yield* c.set("nc6:d", "v")
        assert.deepStrictEqual(
          (yield* c.gat("nc6:d", 60)).pipe(Option.map((i) => Buffer.from(i.value).toString())),
          Option.some("v")
        )
        assert.isTrue(Either.isRight((yield* c.stats()).get(direct)!))
      })))
    })
  }, 30_000)

  it.scopedLive("textProxy: nothing is sent for an unsupported command", () =>
    Effect.gen(function*() {
      const server = yield* acquireFakeServer()
      const c = yield* MemcachedClient.make({ servers: [server.address], textProxy: true })
      const e = yield* Effect.flip(c.gat("k", 1))
      assert.strictEqual(e._tag === "MemcachedInputError" && e.reason, "Unsupported")
      const stats = yield* c.stats()
      assert.isTrue(Either.isLeft(stats.get(server.address)!))
      yield* Effect.sleep("50 millis")
      assert.strictEqual(server.received.join(""), "")
      assert.strictEqual(server.sockets.length, 0)
    }))
})
