/**
 * Properties of the sans-IO pipeline (fast-check), with the in-memory server's session (bytes in,
 * reply bytes out) as the other end: no socket, no timer.
 *
 * - Any split of the reply bytes gives the same completions (auto-batching on or off, a backlog or not).
 * - A corrupted reply stream fails every pending request typed from the first request it reaches on,
 *   and never hands a request another key's value.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { connectionError } from "../src/engine/types.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import { feed, type Op, type Outcome, recorder, slotOf } from "./support/pipeline.js"

const RUNS = { numRuns: 300 }

const KEYS = ["a", "bb", "ccc", "dddd", "eeeee"]
const key = fc.constantFrom(...KEYS)
const value = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom("END\r\n", "VALUE a 0 1\r\n", "\r\n", "STORED\r\n").map((s) => Buffer.from(s))
)
const op: fc.Arbitrary<Op> = fc.oneof(
  key.map((k) => ({ op: "get" as const, key: k })),
  key.map((k) => ({ op: "gets" as const, key: k })),
  fc.uniqueArray(key, { minLength: 1, maxLength: 4 }).map((keys) => ({ op: "getMany" as const, keys })),
  fc.record({ op: fc.constantFrom("set" as const, "add" as const), key, value, flags: fc.nat(7) }),
  key.map((k) => ({ op: "delete" as const, key: k })),
  fc.record({ op: fc.constant("incr" as const), key, delta: fc.bigInt(0n, 5n) })
)
const shape = fc.record({
  ops: fc.array(op, { minLength: 1, maxLength: 30 }),
  autoBatch: fc.constantFrom(0, 2, 100),
  maxInFlight: fc.constantFrom(1, 3, 1000)
})

type Shape = { readonly ops: ReadonlyArray<Op>; readonly autoBatch: number; readonly maxInFlight: number }

/**
 * Runs `ops` through a pipeline against a fresh in-memory server: output → server → reply bytes,
 * fed to the pipeline cut at `cuts` (each round's bytes cut the same way), until nothing is left to
 * write. Returns every request's outcome (pending ones failed by a final `fail`, as the driver does
 * when the stream ends).
 */
const run = (s: Shape, cuts: ReadonlyArray<number>, corrupt?: (reply: Buffer, round: number) => Buffer) => {
  const server = MemoryServer.make().session()
  const r = recorder({ autoBatch: s.autoBatch, maxInFlight: s.maxInFlight, maxQueued: 1000 })
  r.pipeline.open()
  for (const o of s.ops) r.submit(slotOf(o), 0)
  for (let round = 0; round < 1000; round++) {
    const out = r.output()
    if (out.length === 0) break
    const reply = Buffer.concat(server.receive(out).replies)
    feed((b) => r.pipeline.receive(b), corrupt === undefined ? reply : corrupt(reply, round), cuts)
  }
  r.pipeline.fail(connectionError("Closed", "test:11211", "test:11211: stream ended"))
  return r.outcomes as Array<Outcome>
}

describe("Pipeline properties", () => {
  it("any split of the reply bytes gives the same completions", () => {
    fc.assert(
      fc.property(shape, fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (s, cuts) => {
        const whole = run(s, [])
        assert.deepStrictEqual(run(s, cuts), whole)
        // Against a well-behaved server nothing fails on the pipeline's side.
        for (const o of whole) {
          if ("error" in o) assert.oneOf(o.error.kind, ["Store", "Server"], JSON.stringify(o))
        }
      }),
      RUNS
    )
  })

  // Keys and values of different lengths: one corrupted byte cannot turn one into another.
  const STORED = new Map(KEYS.map((k, i) => [k, Buffer.alloc(3 + 7 * i, 97 + i)]))
  const otherValues = (k: string) => [...STORED].filter(([other]) => other !== k).map(([, v]) => v.toString("hex"))
  const reads = fc.array(
    fc.oneof(
      fc.constantFrom(...KEYS, "missing").map((k) => ({ op: "get" as const, key: k })),
      fc.uniqueArray(fc.constantFrom(...KEYS, "missing"), { minLength: 1, maxLength: 4 }).map((keys) => ({
        op: "getMany" as const,
        keys
      }))
    ),
    { minLength: 1, maxLength: 20 }
  )
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("rename" as const), nth: fc.nat() }),
    fc.record({
      kind: fc.constant("insert" as const),
      nth: fc.nat(),
      junk: fc.constantFrom("STORED\r\n", "END\r\n", "VALUE zz 0 1\r\nq\r\n", "BOGUS\r\n", "12\r\n", "HD\r\n")
    })
  )

  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never

  /**
   * Applies `m` to the first round's reply bytes (every request goes out in the first round);
   * `applied` says whether there was a place for it.
   */
  const corrupt = (m: Mutation, applied: { value: boolean }) => (reply: Buffer, round: number): Buffer => {
    if (round > 0) return reply
    applied.value = true
    const text = reply.toString("latin1")
    switch (m.kind) {
      case "byte": {
        const out = Buffer.from(reply)
        if (out.length > 0) out[m.at % out.length] = m.byte
        return out
      }
      case "rename": {
        // A VALUE line naming a key nobody asked for.
        const starts = [...text.matchAll(/VALUE (\S+) /g)]
        if (starts.length === 0) {
          applied.value = false
          return reply
        }
        const hit = starts[m.nth % starts.length]!
        const at = hit.index! + 6
        return Buffer.concat([reply.subarray(0, at), Buffer.from("zz"), reply.subarray(at + hit[1]!.length)])
      }
      case "insert": {
        // Junk at a reply boundary before the last reply's end (every line start that follows END, a
        // value block, or the beginning).
        const ends = [0, ...[...text.matchAll(/END\r\n/g)].map((x) => x.index! + 5)].filter((i) => i < reply.length)
        const at = ends[m.nth % ends.length]!
        return Buffer.concat([reply.subarray(0, at), Buffer.from(m.junk, "latin1"), reply.subarray(at)])
      }
    }
  }

  it("a malformed reply fails every pending request typed, never hands out another key's value", () => {
    fc.assert(
      fc.property(
        reads,
        fc.constantFrom(0, 100),
        mutation,
        fc.array(fc.nat(), { maxLength: 6 }),
        (ops, autoBatch, m, cuts) => {
          const seeded: Array<Op> = [...STORED].map(([k, v]) => ({ op: "set", key: k, value: v, flags: 1 }))
          const all = [...seeded, ...ops]
          const applied = { value: false }
          const outcomes = run({ ops: all, autoBatch, maxInFlight: 1000 }, cuts, corrupt(m, applied))
          let failedAt = -1
          for (let i = 0; i < all.length; i++) {
            const o = outcomes[i]!
            const request = all[i]!
            if ("error" in o) {
              assert.oneOf(o.error.kind, ["Protocol", "Connection"], JSON.stringify(o))
              if (failedAt < 0) failedAt = i
              continue
            }
            // Once a request failed with the stream, nothing after it succeeds.
            assert.strictEqual(failedAt, -1, `request ${i} succeeded after request ${failedAt} failed`)
            const check = (k: string, got: unknown) => {
              if (got === undefined) return
              const v = (got as { value: string }).value
              assert.notInclude(otherValues(k), v, `${k} got another key's value`)
            }
            if (request.op === "get") check(request.key, o.ok)
            if (request.op === "getMany") {
              for (const [k, got] of o.ok as Array<[string, unknown]>) {
                assert.include(request.keys, k)
                check(k, got)
              }
            }
          }
          // A VALUE for a key nobody asked for, or junk that is no valid answer to a read, is always
          // caught: the request it reaches (or a later read, after a shift) fails, and so does every
          // later one. (A stray `END` after an `END` is a valid miss: framing alone cannot tell.)
          if (applied.value && (m.kind === "rename" || (m.kind === "insert" && m.junk !== "END\r\n"))) {
            assert.isAtLeast(failedAt, 0, "the corruption was not caught")
          }
        }
      ),
      RUNS
    )
  })
})
