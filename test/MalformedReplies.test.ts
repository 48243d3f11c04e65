/**
 * Issue 11, items 1–3: malformed replies never throw out of the socket's `data` handler, never hang a
 * request, and every number the client takes from a reply is validated; non-finite durations are
 * rejected before any byte is sent. Scripted fake servers over real TCP.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as net from "node:net"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { MemcachedError } from "../src/MemcachedError.js"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { acquireFakeServer } from "./support/memcached.js"

const reasonOf = (exit: Exit.Exit<unknown, MemcachedError>): string => {
  if (Exit.isSuccess(exit)) return `success:${String(exit.value)}`
  const f = Cause.failureOption(exit.cause)
  if (Option.isNone(f)) return `defect/interrupt: ${Cause.pretty(exit.cause)}`
  return `${f.value._tag}:${"reason" in f.value ? f.value.reason : ""}`
}

/** A fake server answering every complete line that starts with `prefix` with `reply`. */
const scripted = (prefix: string, reply: string) => {
  const buffers = new Map<net.Socket, string>()
  return (socket: net.Socket, chunk: Buffer) => {
    let buf = (buffers.get(socket) ?? "") + chunk.toString("latin1")
    let out = ""
    for (;;) {
      const eol = buf.indexOf("\r\n")
      if (eol < 0) break
      const line = buf.slice(0, eol)
      buf = buf.slice(eol + 2)
      out += line.startsWith(prefix) ? reply : line === "mn" ? "MN\r\n" : "ERROR\r\n"
    }
    buffers.set(socket, buf)
    if (out !== "") socket.write(out, "latin1")
  }
}

/** Runs `use` against a meta client over the scripted server; fails the test if it does not end in 2 s. */
const against = <A>(
  prefix: string,
  reply: string,
  use: (c: MemcachedClient.MemcachedClient) => Effect.Effect<A, MemcachedError>
) =>
  Effect.gen(function*() {
    const server = yield* acquireFakeServer(scripted(prefix, reply))
    const c = yield* MemcachedClient.make({ protocol: "meta", servers: [server.address], timeout: "1500 millis" })
    const start = Date.now()
    const exit = yield* Effect.exit(use(c)).pipe(
      Effect.timeoutFail({ duration: "2500 millis", onTimeout: () => "hung past its deadline" as const }),
      Effect.orDie
    )
    return { exit, elapsed: Date.now() - start, server }
  })

describe("malformed meta replies fail typed, before the deadline (issue 11.1–2)", () => {
  const cases: ReadonlyArray<
    readonly [string, string, string, (c: MemcachedClient.MemcachedClient) => Effect.Effect<unknown, MemcachedError>]
  > = [
    ["ma answered with a non-number", "ma ", "VA 5\r\nhello\r\n", (c) => c.incr("k", 1)],
    ["ma answered with a negative number", "ma ", "VA 3\r\n-12\r\n", (c) => c.incr("k", 1)],
    ["ma answered with 23 digits", "ma ", "VA 23\r\n12345678901234567890123\r\n", (c) => c.decr("k", 1)],
    ["ma answered with 2^64", "ma ", "VA 20\r\n18446744073709551616\r\n", (c) => c.incr("k", 1)],
    ["metaArithmetic answered with a non-number", "ma ", "VA 5 t-1 c1\r\nhello\r\n", (c) => c.metaArithmetic("k")],
    ["mg answered with a CAS that is not a number", "mg ", "VA 3 f0 cXYZ kk\r\nabc\r\n", (c) => c.gets("k")],
    ["mg answered with flags that are not a number", "mg ", "VA 3 fxyz kk\r\nabc\r\n", (c) => c.get("k")],
    ["mg answered with flags above 2^32", "mg ", "VA 3 f4294967296 kk\r\nabc\r\n", (c) => c.get("k")],
    ["mg answered with an empty CAS", "mg ", "VA 3 f0 c kk\r\nabc\r\n", (c) => c.gets("k")],
    [
      "metaGet answered with a CAS that is not a number",
      "mg ",
      "VA 3 f0 cXYZ kk\r\nabc\r\n",
      (c) => c.metaGet("k", { cas: true })
    ],
    ["ms answered with a CAS that is not a number", "ms ", "HD cXYZ\r\n", (c) => c.metaSet("k", "v")],
    ["gets answered without a CAS unique", "mg ", "VA 1 f0 kk\r\nv\r\n", (c) => c.gets("k")]
  ]
  for (const [name, prefix, reply, use] of cases) {
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const { elapsed, exit } = yield* against(prefix, reply, use)
        assert.strictEqual(reasonOf(exit), "MemcachedProtocolError:Malformed")
        assert.isBelow(elapsed, 1500, "failed before its deadline")
      }))
  }

  it.scopedLive("every request pending on the connection fails typed and the connection is replaced", () =>
    Effect.gen(function*() {
      let first = true
      const normal = scripted("mg ", "EN\r\n")
      const server = yield* acquireFakeServer((socket, chunk, _all, index) => {
        if (index === 0 && first) {
          first = false
          // answer the first request with garbage and hold the others
          socket.write("VA 3 f0 cXYZ kk\r\nabc\r\n")
          return
        }
        if (index === 0) return
        normal(socket, chunk)
      })
      const c = yield* MemcachedClient.make({
        protocol: "meta",
        servers: [server.address],
        timeout: "1500 millis",
        autoBatch: false
      })
      const start = Date.now()
      const exits = yield* Effect.all(
        [c.gets("k"), c.get("a"), c.get("b"), c.set("c", "v")].map((e) =>
          Effect.exit(e as Effect.Effect<unknown, MemcachedError>)
        ),
        { concurrency: "unbounded" }
      )
      assert.isBelow(Date.now() - start, 1500)
      assert.strictEqual(reasonOf(exits[0]!), "MemcachedProtocolError:Malformed")
      for (const e of exits.slice(1)) {
        assert.match(reasonOf(e), /^(MemcachedProtocolError:Malformed|MemcachedConnectionError:Closed)$/)
      }
      // a new connection serves the next request
      assert.isTrue(Option.isNone(yield* c.get("z")))
      assert.strictEqual(server.sockets.length, 2)
    }))
})

describe("a store outcome in reply to a read is a protocol error, never a MemcachedStoreError (issue 12f)", () => {
  for (const reply of ["NF\r\n", "NS\r\n", "EX\r\n", "NOT_FOUND\r\n"]) {
    it.scopedLive(`mg answered ${JSON.stringify(reply)}`, () =>
      Effect.gen(function*() {
        const { elapsed, exit } = yield* against("mg ", reply, (c) => c.get("k"))
        assert.strictEqual(reasonOf(exit), "MemcachedProtocolError:Unexpected")
        assert.isBelow(elapsed, 1500)
      }))
  }
})

describe("non-finite or non-positive durations are rejected before any byte is sent (issue 11.3)", () => {
  const bad: ReadonlyArray<readonly [string, Duration.DurationInput]> = [
    ["Infinity", Infinity],
    ["Duration.infinity", Duration.infinity],
    ["-Infinity", -Infinity],
    ["NaN", NaN],
    ["0", 0],
    ["negative", -5],
    ["'Infinity millis'", "Infinity millis" as Duration.DurationInput]
  ]
  for (const [name, timeout] of bad) {
    it.scopedLive(`per-call timeout ${name}`, () =>
      Effect.gen(function*() {
        const server = yield* acquireFakeServer()
        const c = yield* MemcachedClient.make({ protocol: "text", servers: [server.address] })
        const calls: ReadonlyArray<Effect.Effect<unknown, MemcachedError>> = [
          c.get("k", { timeout }),
          c.gets("k", { timeout }),
          c.getMany(["a", "b"], { timeout }),
          c.gat("k", 10, { timeout }),
          c.set("k", "v", { timeout }),
          c.set("k", "v", { timeout, noreply: true }),
          c.delete("k", { timeout }),
          c.touch("k", 1, { timeout }),
          c.incr("k", 1, { timeout }),
          c.metaGet("k", { timeout }),
          c.stats(undefined, { timeout }),
          c.version({ timeout }),
          c.flushAll(undefined, { timeout })
        ]
        for (const call of calls) {
          assert.strictEqual(reasonOf(yield* Effect.exit(call)), "MemcachedInputError:InvalidArgument")
        }
        const many = yield* c.setMany([["a", "1"]], { timeout })
        assert.strictEqual(many.get("a")?._tag, "Left")
        yield* Effect.sleep("50 millis")
        assert.strictEqual(server.received.join(""), "", "nothing was sent")
      }))
  }

  it.effect("layer and policy durations: Infinity is a ConfigError", () =>
    Effect.gen(function*() {
      for (
        const options of [
          { timeout: Infinity },
          { connectTimeout: Duration.infinity },
          { failureWindow: Infinity },
          { retryInterval: Duration.infinity },
          { maxRetryInterval: Infinity },
          { flapWindow: Infinity }
        ] as ReadonlyArray<MemcachedClient.MemcachedClientOptions>
      ) {
        const exit = yield* Effect.exit(Effect.scoped(MemcachedClient.make({ servers: ["127.0.0.1:1"], ...options })))
        assert.isTrue(Exit.isFailure(exit), JSON.stringify(options))
      }
    }))
})
