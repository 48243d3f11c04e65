/**
 * Properties of a connection's output buffer (engine/output.ts, fast-check): whatever mix of strings
 * (ASCII, short, long, non-ASCII) and byte blocks (below and above the hand-off size) is written, and
 * wherever the connection takes the output, the bytes taken are exactly the bytes written, in order;
 * blocks at or above the hand-off size are passed on as themselves, never copied.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { FLUSH_AT, OutputBuffer } from "../src/engine/output.js"

type Write =
  | { readonly _tag: "string"; readonly s: string }
  | { readonly _tag: "bytes"; readonly b: Uint8Array }
  | { readonly _tag: "take" }

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ minLength: 100, maxLength: 3000 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.nat({ max: 3 * FLUSH_AT }).map((n) => "k".repeat(n))
)
const block = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.nat({ max: 2 * FLUSH_AT }).map((n) => new Uint8Array(n).fill(n % 251))
)
const write: fc.Arbitrary<Write> = fc.oneof(
  { weight: 4, arbitrary: text.map((s) => ({ _tag: "string" as const, s })) },
  { weight: 3, arbitrary: block.map((b) => ({ _tag: "bytes" as const, b })) },
  { weight: 1, arbitrary: fc.constant({ _tag: "take" as const }) }
)

const taken = (out: Buffer | Array<Uint8Array> | undefined): Array<Uint8Array> =>
  out === undefined ? [] : Array.isArray(out) ? out : [out]

describe("OutputBuffer", () => {
  it("takes exactly the bytes written, in order, wherever it is taken", () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 40 }), (writes) => {
        const buffer = new OutputBuffer()
        const expected: Array<Uint8Array> = []
        const got: Array<Uint8Array> = []
        const handedOff = new Set<Uint8Array>()
        for (const w of writes) {
          switch (w._tag) {
            case "string":
              buffer.writeString(w.s)
              expected.push(Buffer.from(w.s, "utf8"))
              break
            case "bytes":
              buffer.writeBytes(w.b)
              expected.push(w.b)
              if (w.b.length >= 16 * 1024) handedOff.add(w.b)
              break
            case "take":
              got.push(...taken(buffer.take()))
              assert.strictEqual(buffer.length, 0)
          }
        }
        const last = taken(buffer.take())
        got.push(...last)
        assert.isUndefined(buffer.take(), "a second take finds nothing")
        assert.deepStrictEqual(Buffer.concat(got), Buffer.concat(expected))
        // A large block is passed on as itself (the same object), never copied into the buffer.
        for (const b of handedOff) assert.isTrue(got.includes(b), `a ${b.length}-byte block was copied`)
      }),
      { numRuns: 200 }
    )
  })

  it("drops everything on clear", () => {
    const buffer = new OutputBuffer()
    buffer.writeString("get a\r\n")
    buffer.writeBytes(new Uint8Array(20 * 1024))
    buffer.writeString("mn\r\n")
    buffer.clear()
    assert.strictEqual(buffer.length, 0)
    assert.isUndefined(buffer.take())
    buffer.writeString("mn\r\n")
    assert.deepStrictEqual(buffer.take(), Buffer.from("mn\r\n"))
  })
})
