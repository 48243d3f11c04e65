/**
 * Helpers for driving the sans-IO pipeline (src/engine/pipeline.ts) with byte arrays and explicit
 * times: requests built from the real command table, completions recorded in order.
 */
import { commands, type EngineItem } from "../../src/engine/commands.js"
import { Pipeline, type PipelineOptions } from "../../src/engine/pipeline.js"
import { Slot } from "../../src/engine/slot.js"
import { EngineError } from "../../src/engine/types.js"
import { encodeDelete, encodeGet, encodeIncrDecr, encodeStorageHeader } from "../../src/protocol/client.js"
import { ReplyItem } from "../../src/protocol/item.js"

/** What one request completed with (values made comparable: bytes as hex). */
export type Outcome =
  | { readonly ok: unknown }
  | { readonly error: { readonly kind: string; readonly reason: string; readonly message: string } }

/** A request for a test: what to send. */
export type Op =
  | { readonly op: "get"; readonly key: string }
  | { readonly op: "gets"; readonly key: string }
  | { readonly op: "getMany"; readonly keys: ReadonlyArray<string> }
  | { readonly op: "set" | "add"; readonly key: string; readonly value: Uint8Array; readonly flags: number }
  | { readonly op: "delete"; readonly key: string }
  | { readonly op: "incr"; readonly key: string; readonly delta: bigint }

const plain = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex")
  if (Array.isArray(v)) return v.map(plain)
  if (v instanceof Map) return [...v].map(([k, x]) => [k, plain(x)])
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  }
  return v
}

/** Builds the slot of `op` (text protocol), timing out after `timeout` ms. */
export const slotOf = (op: Op, timeout = 10_000): Slot => {
  switch (op.op) {
    case "get":
    case "gets":
      return new Slot(commands[op.op].text, encodeGet(op.op, [op.key]), undefined, op.key, timeout)
    case "getMany": {
      // A multi-key get's hits go into the slot's `out` map as they are matched (engine/commands.ts
      // GetManySlot, engine/slot.ts KeyedSlot), as getMany's batches do.
      const out = new Map<string, EngineItem>()
      const slot = Object.assign(
        new Slot(commands.getMany.text, encodeGet("get", op.keys), undefined, op.keys[0]!, timeout),
        {
          out,
          found: (index: number, value: Uint8Array, flags: number, cas: bigint | undefined) =>
            out.set(op.keys[index]!, new ReplyItem(value, flags, cas))
        }
      )
      slot.keys = op.keys
      return slot
    }
    case "set":
    case "add":
      return new Slot(
        commands[op.op].text,
        encodeStorageHeader(op.op, op.key, op.flags, 0, op.value.length),
        op.value,
        op.key,
        timeout
      )
    case "delete":
      return new Slot(commands.delete.text, encodeDelete(op.key), undefined, op.key, timeout)
    case "incr":
      return new Slot(commands.incr.text, encodeIncrDecr("incr", op.key, op.delta), undefined, op.key, timeout)
  }
}

/**
 * A pipeline and the outcomes of the requests submitted to it, by submission index (`undefined`:
 * not completed yet). A request completed twice throws.
 */
export const recorder = (options: Partial<PipelineOptions> = {}, connectDeadline = Infinity) => {
  const pipeline = new Pipeline({
    server: "test:11211",
    maxInFlight: 1000,
    maxInFlightBytes: 16 * 1024 * 1024,
    maxQueued: 1000,
    autoBatch: 0,
    ...options
  }, connectDeadline)
  const outcomes: Array<Outcome | undefined> = []
  const settle = (i: number, outcome: Outcome) => {
    if (outcomes[i] !== undefined) throw new Error(`request ${i} completed twice`)
    outcomes[i] = outcome
  }
  /** Submits `slot` at `now`; returns its index. */
  const submit = (slot: Slot, now = 0): number => {
    const i = outcomes.length
    outcomes.push(undefined)
    slot.done = {
      succeed: (value) => settle(i, { ok: plain(value) }),
      fail: (e) => {
        if (!(e instanceof EngineError)) throw new Error(`request ${i} failed untyped: ${String(e)}`)
        settle(i, { error: { kind: e.kind, reason: e.reason, message: e.message } })
      }
    }
    pipeline.submit(slot, now)
    return i
  }
  /** Everything the pipeline wants written, as one Buffer ("" when nothing). */
  const output = (): Buffer => {
    const out = pipeline.takeOutput()
    if (out === undefined) return Buffer.alloc(0)
    return Array.isArray(out) ? Buffer.concat(out) : out
  }
  return { pipeline, outcomes, submit, output }
}

/** Feeds `bytes` to `receive` in pieces cut at `cuts` (positions modulo the length, sorted). */
export const feed = (receive: (b: Uint8Array) => unknown, bytes: Uint8Array, cuts: ReadonlyArray<number>): void => {
  let last = 0
  for (const c of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    receive(bytes.subarray(last, c))
    last = c
  }
  receive(bytes.subarray(last))
}
