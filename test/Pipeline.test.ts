/**
 * The sans-IO pipeline (src/engine/pipeline.ts) driven with byte arrays and explicit times: no socket,
 * no timer, no clock. What the socket driver (connection.ts) relies on: output coalescing and its
 * `want`, auto-batching, backpressure (the backlog), reply routing, deadlines and failure of every
 * pending request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Want } from "../src/engine/pipeline.js"
import { Slot, SlotKind } from "../src/engine/slot.js"
import { connectionError } from "../src/engine/types.js"
import { type Outcome, recorder, slotOf } from "./support/pipeline.js"

const bytes = (s: string) => Buffer.from(s, "latin1")
const hex = (s: string) => Buffer.from(s, "latin1").toString("hex")
const item = (value: string, flags = 0, cas?: bigint) => ({ ok: { value: hex(value), flags, cas } })
const reasonOf = (o: Outcome | undefined): string =>
  o === undefined ? "pending" : "error" in o ? `${o.error.kind}:${o.error.reason}` : "ok"

describe("Pipeline: output", () => {
  it("buffers requests until taken: one write for the tick (want Soon), commands in order", () => {
    const { output, pipeline, submit } = recorder()
    assert.strictEqual(pipeline.want, Want.None)
    submit(slotOf({ op: "set", key: "a", value: bytes("xy\r\nz"), flags: 3 }))
    assert.strictEqual(pipeline.want, Want.Soon)
    submit(slotOf({ op: "get", key: "a" }))
    submit(slotOf({ op: "delete", key: "b" }))
    assert.strictEqual(output().toString("latin1"), "set a 3 0 5\r\nxy\r\nz\r\nget a\r\ndelete b\r\n")
    assert.strictEqual(pipeline.want, Want.None)
    assert.strictEqual(output().length, 0)
    assert.strictEqual(pipeline.inFlight, 3)
  })

  it("asks for a write now (want Now) once 64 KiB are buffered", () => {
    const { output, pipeline, submit } = recorder()
    let n = 0
    while (pipeline.want !== Want.Now) {
      submit(slotOf({ op: "set", key: `k${n++}`, value: new Uint8Array(1000), flags: 0 }))
      assert.isBelow(n, 100)
    }
    assert.isAtLeast(output().length, 64 * 1024)
    assert.isAbove(n, 60)
  })

  it("a value of 16 KiB or more is handed off as its own chunk, in order", () => {
    const { pipeline, submit } = recorder()
    const big = new Uint8Array(20_000).fill(65)
    submit(slotOf({ op: "get", key: "x" }))
    submit(slotOf({ op: "set", key: "big", value: big, flags: 0 }))
    submit(slotOf({ op: "get", key: "y" }))
    const out = pipeline.takeOutput()
    assert.isTrue(Array.isArray(out))
    const parts = out as Array<Uint8Array>
    assert.isTrue(parts.includes(big))
    assert.strictEqual(
      Buffer.concat(parts).toString("latin1"),
      `get x\r\nset big 0 0 20000\r\n${"A".repeat(20_000)}\r\nget y\r\n`
    )
  })
})

describe("Pipeline: auto-batching", () => {
  it("single-key gets of one take merge into one multi-key get; replies split back by key, misses too", () => {
    const batches: Array<number> = []
    const { outcomes, output, pipeline, submit } = recorder({ autoBatch: 100, onBatch: (n) => batches.push(n) })
    for (const key of ["a", "b", "c"]) submit(slotOf({ op: "get", key }))
    assert.strictEqual(output().toString("latin1"), "get a b c\r\n")
    assert.deepStrictEqual(batches, [3])
    assert.strictEqual(pipeline.receive(bytes("VALUE b 5 2\r\nhi\r\nEN")), 1)
    assert.deepStrictEqual(outcomes, [undefined, undefined, undefined])
    pipeline.receive(bytes("D\r\n"))
    assert.deepStrictEqual(outcomes, [{ ok: undefined }, item("hi", 5), { ok: undefined }])
    assert.strictEqual(pipeline.inFlight, 0)
  })

  it("a full batch is closed, later gets start the next (one write for the tick); another command closes a batch", () => {
    const { output, pipeline, submit } = recorder({ autoBatch: 2 })
    submit(slotOf({ op: "get", key: "a" }))
    assert.strictEqual(pipeline.want, Want.Soon)
    submit(slotOf({ op: "get", key: "b" }))
    assert.strictEqual(pipeline.want, Want.Soon)
    submit(slotOf({ op: "get", key: "c" }))
    submit(slotOf({ op: "gets", key: "d" }))
    submit(slotOf({ op: "delete", key: "e" }))
    submit(slotOf({ op: "get", key: "f" }))
    assert.strictEqual(output().toString("latin1"), "get a b\r\nget c\r\ngets d\r\ndelete e\r\nget f\r\n")
  })

  it("duplicate keys in one batch each get the value; an interrupted caller's reply is dropped", () => {
    const { outcomes, output, pipeline, submit } = recorder({ autoBatch: 100 })
    const first = slotOf({ op: "get", key: "a" })
    submit(first)
    submit(slotOf({ op: "get", key: "a" }))
    submit(slotOf({ op: "get", key: "b" }))
    assert.strictEqual(output().toString("latin1"), "get a a b\r\n")
    first.done = undefined // interrupted: the slot stays, its reply is read and dropped
    pipeline.receive(bytes("VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n"))
    assert.deepStrictEqual(outcomes, [undefined, item("x"), { ok: undefined }])
  })
})

describe("Pipeline: replies", () => {
  it("routes replies in FIFO order at any split; store outcomes fail alone, the pipeline stays", () => {
    const { outcomes, output, pipeline, submit } = recorder()
    submit(slotOf({ op: "add", key: "a", value: bytes("v"), flags: 0 }))
    submit(slotOf({ op: "getMany", keys: ["a", "b", "c"] }))
    submit(slotOf({ op: "incr", key: "n", delta: 5n }))
    submit(slotOf({ op: "gets", key: "c" }))
    output()
    const reply = bytes("NOT_STORED\r\nVALUE a 0 1\r\nv\r\nVALUE c 1 2\r\ncc\r\nEND\r\n18446744073709551615\r\nEND\r\n")
    for (let i = 0; i < reply.length; i++) pipeline.receive(reply.subarray(i, i + 1))
    assert.strictEqual(reasonOf(outcomes[0]), "Store:NotStored")
    assert.deepStrictEqual(outcomes.slice(1), [
      {
        ok: [["a", { value: hex("v"), flags: 0, cas: undefined }], ["c", {
          value: hex("cc"),
          flags: 1,
          cas: undefined
        }]]
      },
      { ok: 18446744073709551615n },
      { ok: undefined }
    ])
    assert.strictEqual(pipeline.state, "connecting")
  })

  it("a multi-get's hits in one chunk: taken as framed; an unrequested or out-of-order key closes the pipeline", () => {
    // One chunk: every VALUE is offered to the pipeline as fields first (ReplySink.value).
    const ok = recorder()
    ok.submit(slotOf({ op: "getMany", keys: ["a", "b", "c"] }))
    ok.submit(slotOf({ op: "get", key: "d" }))
    ok.output()
    assert.strictEqual(
      ok.pipeline.receive(bytes("VALUE a 2 1\r\nA\r\nVALUE c 0 2\r\nCC\r\nEND\r\nVALUE d 0 1\r\nD\r\nEND\r\n")),
      5
    )
    assert.deepStrictEqual(ok.outcomes, [
      {
        ok: [["a", { value: hex("A"), flags: 2, cas: undefined }], ["c", {
          value: hex("CC"),
          flags: 0,
          cas: undefined
        }]]
      },
      { ok: { value: hex("D"), flags: 0, cas: undefined } }
    ])
    for (
      const reply of [
        "VALUE a 0 1\r\nA\r\nVALUE x 0 1\r\nX\r\nEND\r\n",
        "VALUE b 0 1\r\nB\r\nVALUE a 0 1\r\nA\r\nEND\r\n"
      ]
    ) {
      const bad = recorder()
      bad.submit(slotOf({ op: "getMany", keys: ["a", "b"] }))
      bad.submit(slotOf({ op: "get", key: "c" }))
      bad.output()
      bad.pipeline.receive(bytes(reply))
      assert.deepStrictEqual(bad.outcomes.map(reasonOf), ["Protocol:Unexpected", "Protocol:Unexpected"])
      assert.strictEqual(bad.pipeline.state, "closed")
    }
  })

  it("single-key and auto-batched hits in one chunk: taken as framed; a second hit or an unrequested key closes", () => {
    const ok = recorder({ autoBatch: 100 })
    for (const key of ["a", "b", "c"]) ok.submit(slotOf({ op: "get", key }))
    ok.submit(slotOf({ op: "delete", key: "z" }))
    ok.submit(slotOf({ op: "gets", key: "d" }))
    assert.strictEqual(ok.output().toString("latin1"), "get a b c\r\ndelete z\r\ngets d\r\n")
    assert.strictEqual(
      ok.pipeline.receive(
        bytes("VALUE a 1 1\r\nA\r\nVALUE c 3 2\r\nCC\r\nEND\r\nDELETED\r\nVALUE d 4 1 77\r\nD\r\nEND\r\n")
      ),
      6
    )
    assert.deepStrictEqual(ok.outcomes, [
      item("A", 1),
      { ok: undefined },
      item("CC", 3),
      { ok: undefined },
      item("D", 4, 77n)
    ])
    for (
      const [reply, batch] of [
        ["VALUE a 0 1\r\nA\r\nVALUE a 0 1\r\nA\r\nEND\r\n", false], // a second VALUE for one key
        ["VALUE x 0 1\r\nX\r\nEND\r\n", false], // a key that was not asked
        ["VALUE b 0 1\r\nB\r\nVALUE a 0 1\r\nA\r\nEND\r\n", true], // out of request order
        ["VALUE a 0 1\r\nA\r\nVALUE a 0 1\r\nA\r\nEND\r\n", true] // a batch's key answered twice
      ] as const
    ) {
      const bad = recorder({ autoBatch: batch ? 100 : 0 })
      bad.submit(slotOf({ op: "get", key: "a" }))
      bad.submit(slotOf({ op: "get", key: "b" }))
      bad.output()
      bad.pipeline.receive(bytes(reply))
      assert.deepStrictEqual(bad.outcomes.map(reasonOf), ["Protocol:Unexpected", "Protocol:Unexpected"], reply)
      assert.strictEqual(bad.pipeline.state, "closed")
    }
  })

  it("an unexpected reply closes the pipeline: every pending request, written or queued, fails Protocol", () => {
    const { outcomes, output, pipeline, submit } = recorder({ maxInFlight: 2 })
    for (const key of ["a", "b", "c", "d"]) submit(slotOf({ op: "get", key }))
    assert.strictEqual(pipeline.queued, 2)
    output()
    assert.strictEqual(pipeline.receive(bytes("END\r\nVALUE zz 0 1\r\nq\r\nEND\r\n")), 3)
    assert.deepStrictEqual(outcomes.map(reasonOf), [
      "ok",
      "Protocol:Unexpected",
      "Protocol:Unexpected",
      "Protocol:Unexpected"
    ])
    assert.strictEqual(pipeline.state, "closed")
    assert.strictEqual(pipeline.closeError?.reason, "Unexpected")
    assert.strictEqual(output().length, 0)
    // Closed for good: a new request fails at once with the close error, later bytes are ignored.
    assert.isFalse(pipeline.submit(slotOf({ op: "get", key: "e" }), 0))
    assert.strictEqual(pipeline.receive(bytes("END\r\n")), 0)
  })

  it("a malformed frame (bad length, CRLF) fails every pending request with the parser's reason", () => {
    const { outcomes, output, pipeline, submit } = recorder()
    submit(slotOf({ op: "get", key: "a" }))
    submit(slotOf({ op: "get", key: "b" }))
    output()
    pipeline.receive(bytes("VALUE a 0 1\r\nxyz\r\nEND\r\n"))
    assert.deepStrictEqual(outcomes.map(reasonOf), ["Protocol:Malformed", "Protocol:Malformed"])
  })

  it("a reply of the wrong kind, a number out of range, or a finisher that throws closes the pipeline (Protocol)", () => {
    const wrongKind = recorder()
    wrongKind.submit(slotOf({ op: "delete", key: "a" }))
    wrongKind.submit(slotOf({ op: "get", key: "b" }))
    wrongKind.pipeline.receive(bytes("STORED\r\n")) // a STORED to a delete: the replies are out of step
    assert.deepStrictEqual(wrongKind.outcomes.map(reasonOf), ["Protocol:Unexpected", "Protocol:Unexpected"])

    const range = recorder()
    range.submit(slotOf({ op: "incr", key: "n", delta: 1n }))
    range.submit(slotOf({ op: "get", key: "b" }))
    range.pipeline.receive(bytes("18446744073709551616\r\n"))
    assert.deepStrictEqual(range.outcomes.map(reasonOf), ["Protocol:Malformed", "Protocol:Malformed"])

    const throwing = recorder()
    const boom = new Slot(
      {
        name: "boom",
        kind: SlotKind.Single,
        finish: () => {
          throw new Error("boom")
        }
      },
      "version\r\n",
      undefined,
      "",
      1000
    )
    throwing.submit(boom)
    throwing.submit(slotOf({ op: "get", key: "b" }))
    throwing.pipeline.receive(bytes("VERSION 1.6.18\r\nEND\r\n"))
    assert.deepStrictEqual(throwing.outcomes.map(reasonOf), ["Protocol:Malformed", "Protocol:Malformed"])
    assert.include(throwing.pipeline.closeError?.message ?? "", "boom")
  })

  it("a completion may submit (its request is written) or fail the pipeline (the rest fail, nothing more is read)", () => {
    const { outcomes, output, pipeline, submit } = recorder()
    const a = slotOf({ op: "get", key: "a" })
    submit(a)
    submit(slotOf({ op: "get", key: "b" }))
    submit(slotOf({ op: "get", key: "c" }))
    output()
    const done = a.done!
    a.done = {
      succeed: (v) => {
        done.succeed(v)
        submit(slotOf({ op: "get", key: "later" }))
      },
      fail: done.fail
    }
    pipeline.receive(bytes("END\r\n"))
    assert.strictEqual(output().toString("latin1"), "get later\r\n")
    pipeline.fail(connectionError("Closed", "test:11211", "test:11211: closed by a completion"))
    pipeline.receive(bytes("END\r\nEND\r\nEND\r\n"))
    assert.deepStrictEqual(outcomes.map(reasonOf), [
      "ok",
      "Connection:Closed",
      "Connection:Closed",
      "Connection:Closed"
    ])
  })
})

describe("Pipeline: backpressure", () => {
  it("past maxInFlight requests wait in the backlog, written as replies make room (want set)", () => {
    const { outcomes, output, pipeline, submit } = recorder({ maxInFlight: 1, maxQueued: 1 })
    submit(slotOf({ op: "get", key: "a" }))
    submit(slotOf({ op: "get", key: "b" }))
    assert.isFalse(pipeline.submit(slotOf({ op: "get", key: "c" }), 0), "the backlog is full")
    assert.strictEqual(output().toString("latin1"), "get a\r\n")
    assert.strictEqual(pipeline.queued, 1)
    pipeline.receive(bytes("END\r\n"))
    assert.strictEqual(pipeline.want, Want.Soon)
    assert.strictEqual(output().toString("latin1"), "get b\r\n")
    pipeline.receive(bytes("VALUE b 0 1\r\n1\r\nEND\r\n"))
    assert.deepStrictEqual(outcomes, [{ ok: undefined }, item("1")])
    const overloaded = recorder({ maxInFlight: 1, maxQueued: 0 })
    overloaded.submit(slotOf({ op: "get", key: "a" }))
    overloaded.submit(slotOf({ op: "get", key: "b" }))
    assert.strictEqual(reasonOf(overloaded.outcomes[1]), "Connection:Overloaded")
  })

  it("maxInFlightBytes holds a large request back unless nothing is in flight", () => {
    const { output, pipeline, submit } = recorder({ maxInFlightBytes: 100 })
    submit(slotOf({ op: "set", key: "a", value: new Uint8Array(150), flags: 0 }))
    submit(slotOf({ op: "get", key: "b" }))
    assert.strictEqual(pipeline.inFlight, 1)
    assert.strictEqual(pipeline.queued, 1)
    output()
    pipeline.receive(bytes("STORED\r\n"))
    assert.strictEqual(output().toString("latin1"), "get b\r\n")
  })
})

describe("Pipeline: deadlines (expire at explicit times)", () => {
  it("an in-flight request past its deadline closes the pipeline: it fails Timeout, the others Closed", () => {
    const { outcomes, output, pipeline, submit } = recorder()
    pipeline.open()
    submit(slotOf({ op: "get", key: "a" }, 100), 0)
    submit(slotOf({ op: "get", key: "b" }, 1000), 10)
    output()
    assert.strictEqual(pipeline.expire(50), 100)
    assert.deepStrictEqual(outcomes, [undefined, undefined])
    assert.strictEqual(pipeline.expire(100), Infinity)
    assert.deepStrictEqual(outcomes.map(reasonOf), ["Connection:Timeout", "Connection:Closed"])
    assert.strictEqual(pipeline.state, "closed")
    // A late reply can never reach anyone.
    assert.strictEqual(pipeline.receive(bytes("VALUE b 0 1\r\nx\r\nEND\r\n")), 0)
  })

  it("while connecting a late request fails alone; its reply is dropped once open; past the connect deadline all fail", () => {
    const { outcomes, output, pipeline, submit } = recorder({}, 500)
    submit(slotOf({ op: "get", key: "a" }, 100), 0)
    submit(slotOf({ op: "get", key: "b" }, 1000), 0)
    assert.strictEqual(pipeline.expire(100), 500)
    assert.deepStrictEqual(outcomes.map(reasonOf), ["Connection:Timeout", "pending"])
    assert.strictEqual(pipeline.state, "connecting")
    pipeline.open()
    assert.strictEqual(output().toString("latin1"), "get a\r\nget b\r\n")
    pipeline.receive(bytes("VALUE a 0 1\r\nA\r\nEND\r\nVALUE b 0 1\r\nB\r\nEND\r\n"))
    assert.deepStrictEqual(outcomes[1], item("B"))
    assert.strictEqual(pipeline.expire(200), Infinity, "the expired slot's deadline was cleared")

    const never = recorder({}, 500)
    never.submit(slotOf({ op: "get", key: "a" }, 10_000), 0)
    assert.strictEqual(never.pipeline.expire(499), 500)
    never.pipeline.expire(500)
    assert.deepStrictEqual(never.outcomes.map(reasonOf), ["Connection:ConnectTimeout"])
  })

  it("a queued request past its deadline fails alone (nothing of it was written); the others go on", () => {
    const { outcomes, output, pipeline, submit } = recorder({ maxInFlight: 1 })
    pipeline.open()
    submit(slotOf({ op: "get", key: "a" }, 1000), 0)
    submit(slotOf({ op: "get", key: "b" }, 100), 0)
    submit(slotOf({ op: "get", key: "c" }, 1000), 0)
    output()
    assert.strictEqual(pipeline.expire(100), 1000)
    assert.deepStrictEqual(outcomes.map(reasonOf), ["pending", "Connection:Timeout", "pending"])
    assert.strictEqual(pipeline.queued, 1)
    pipeline.receive(bytes("END\r\n"))
    assert.strictEqual(output().toString("latin1"), "get c\r\n")
    pipeline.receive(bytes("END\r\n"))
    assert.deepStrictEqual(outcomes.map(reasonOf), ["ok", "Connection:Timeout", "ok"])
  })

  it("fail(Timeout, now) splits by deadline; fail(error) fails everything with it and drops the output", () => {
    const { outcomes, output, pipeline, submit } = recorder({ maxInFlight: 1 })
    submit(slotOf({ op: "get", key: "a" }), 0)
    submit(slotOf({ op: "get", key: "b" }), 0)
    assert.isTrue(pipeline.fail(connectionError("Reset", "test:11211", "reset")))
    assert.isFalse(pipeline.fail(connectionError("Closed", "test:11211", "again")))
    assert.deepStrictEqual(outcomes.map(reasonOf), ["Connection:Reset", "Connection:Reset"])
    assert.strictEqual(output().length, 0)
    assert.strictEqual(pipeline.inFlight + pipeline.queued, 0)

    const split = recorder()
    split.submit(slotOf({ op: "get", key: "a" }, 100), 0)
    split.submit(slotOf({ op: "get", key: "b" }, 1000), 0)
    split.pipeline.fail(connectionError("Timeout", "test:11211", "timed out"), 100)
    assert.deepStrictEqual(split.outcomes.map(reasonOf), ["Connection:Timeout", "Connection:Closed"])
  })
})
