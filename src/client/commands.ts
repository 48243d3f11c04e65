/**
 * The client's command table and reply finishers: how each command's replies map to its result or
 * typed error, in the text and the meta protocol. Every number taken from a reply is validated here
 * (a bad one is a `MemcachedProtocolError`, which closes the connection). Internal: not exported from
 * the package index.
 *
 * @since 0.1.0
 */
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type Command, type Finish, type Slot, SlotKind } from "../engine/connection.js"
import type { Item, Value } from "../MemcachedClient.js"
import { type MemcachedError, MemcachedInputError, MemcachedProtocolError, MemcachedServerError, MemcachedStoreError } from "../MemcachedError.js"
import { parseU64, parseUint, toBuffer, U64_MAX } from "../protocol/bytes.js"
import type { MetaReply, Reply, StorageCommand, ValueReply } from "../protocol/client.js"
import { metaItem, type MetaSetMode, parseMetaDebug } from "../protocol/meta.js"

// ---------------------------------------------------------------------------------------------
// Reply → result
// ---------------------------------------------------------------------------------------------

export const exitVoid = Exit.void
export const exitNone = Exit.succeed(Option.none())

export const failure = (slot: Slot, reply: Reply, command: string): Exit.Exit<never, MemcachedError> => {
  switch (reply._tag) {
    case "NotStored":
      return Exit.fail(new MemcachedStoreError({ reason: "NotStored", key: slot.key, command }))
    case "Exists":
      return Exit.fail(new MemcachedStoreError({ reason: "Exists", key: slot.key, command }))
    case "NotFound":
      return Exit.fail(new MemcachedStoreError({ reason: "NotFound", key: slot.key, command }))
    case "ServerError":
      return Exit.fail(new MemcachedServerError({ reason: "ServerError", message: reply.message, server: slot.server }))
    case "ClientError":
      return Exit.fail(new MemcachedServerError({ reason: "ClientError", message: reply.message, server: slot.server }))
    case "Error":
      return Exit.fail(
        new MemcachedServerError({ reason: "UnknownCommand", message: reply.message || "ERROR", server: slot.server })
      )
    default:
      // A reply of the wrong kind means replies and requests are out of step: the connection closes.
      return Exit.fail(
        new MemcachedProtocolError({
          reason: "Unexpected",
          message: `${slot.server}: unexpected ${reply._tag === "Meta" ? reply.code : reply._tag} reply to ${command}`,
          server: slot.server
        })
      )
  }
}

/**
 * A reply to a read that is not its answer. A store outcome (`NOT_FOUND`, `EXISTS`, `NOT_STORED`, `NS`,
 * `EX`, `NF`) makes no sense there: the replies are out of step, a protocol error closes the connection.
 * Server and client errors stay what they are.
 */
export const readFailure = (slot: Slot, reply: Reply, command: string): Exit.Exit<never, MemcachedError> => {
  switch (reply._tag) {
    case "NotStored":
    case "Exists":
    case "NotFound":
      return Exit.fail(
        new MemcachedProtocolError({ reason: "Unexpected", message: `${slot.server}: unexpected ${reply._tag} reply to ${command}`, server: slot.server })
      )
  }
  return failure(slot, reply, command)
}

export const toItem = (v: ValueReply): Item => ({ value: v.value, flags: v.flags, cas: v.cas })

export const finishGet: Finish = (slot, reply) => {
  if (reply._tag !== "End") return readFailure(slot, reply, "get")
  return slot.acc === undefined ? exitNone : Exit.succeed(Option.some(toItem(slot.acc[0] as ValueReply)))
}

/** A multi-key get: `[key, item, key, item, …]` (the connection already checked each VALUE's key). */
export const finishGetMany: Finish = (slot, reply) => {
  if (reply._tag !== "End") return readFailure(slot, reply, "get")
  const keys = slot.keys!
  const flat: Array<string | Item> = []
  let cursor = 0
  for (const r of slot.acc ?? []) {
    const v = r as ValueReply
    while (cursor < keys.length && !v.keyEquals(keys[cursor]!)) cursor++
    flat.push(keys[cursor]!, toItem(v))
    cursor++
  }
  return Exit.succeed(flat)
}

export const finishStore = (command: StorageCommand): Finish => (slot, reply) =>
  reply._tag === "Stored" ? exitVoid : failure(slot, reply, command)
export const storeFinishers: Record<StorageCommand, Finish> = {
  set: finishStore("set"),
  add: finishStore("add"),
  replace: finishStore("replace"),
  append: finishStore("append"),
  prepend: finishStore("prepend"),
  cas: finishStore("cas")
}
export const finishDelete: Finish = (slot, reply) => (reply._tag === "Deleted" ? exitVoid : failure(slot, reply, "delete"))
export const finishTouch: Finish = (slot, reply) => (reply._tag === "Touched" ? exitVoid : failure(slot, reply, "touch"))
export const finishIncr: Finish = (slot, reply) =>
  reply._tag === "Numeric" ? Exit.succeed(reply.value) : failure(slot, reply, "incr")
export const finishDecr: Finish = (slot, reply) =>
  reply._tag === "Numeric" ? Exit.succeed(reply.value) : failure(slot, reply, "decr")
export const finishOk: Finish = (slot, reply) => (reply._tag === "Ok" ? exitVoid : failure(slot, reply, slot.key))
export const finishVersion: Finish = (slot, reply) =>
  reply._tag === "Version" ? Exit.succeed(reply.version) : failure(slot, reply, "version")
export const finishStats: Finish = (slot, reply) => {
  if (reply._tag !== "End") return failure(slot, reply, "stats")
  const map = new Map<string, string>()
  for (const r of slot.acc ?? []) if (r._tag === "Stat") map.set(r.name, r.value)
  return Exit.succeed(map)
}

export const U32_MAX = 0xffffffff

export const utf8Decoder = new TextDecoder()
export const toBytes = (value: Value): Uint8Array => (typeof value === "string" ? Buffer.from(value, "utf8") : value)

// ---------------------------------------------------------------------------------------------
// Meta replies → results
// ---------------------------------------------------------------------------------------------

export const metaFailure = (slot: Slot, reply: Reply, command: string): Exit.Exit<never, MemcachedError> => {
  if (reply._tag === "Meta") {
    switch (reply.code) {
      case "NS":
        return Exit.fail(new MemcachedStoreError({ reason: "NotStored", key: slot.key, command }))
      case "EX":
        return Exit.fail(new MemcachedStoreError({ reason: "Exists", key: slot.key, command }))
      case "NF":
      case "EN":
        return Exit.fail(new MemcachedStoreError({ reason: "NotFound", key: slot.key, command }))
    }
  }
  return failure(slot, reply, command)
}

/**
 * `f` and `c` of a meta reply, in one scan (the hot path of get in meta mode), validated like the text
 * path: `f` a 32-bit unsigned integer, `c` an unsigned 64-bit one, `t` -1 or a 32-bit unsigned integer.
 * `undefined` when one of them is malformed (the caller fails the request with a protocol error).
 */
export const metaToItem = (r: MetaReply): Item | undefined => {
  const buf = r.line
  const end = r.flagsEnd
  let i = r.flagsStart
  let flags = 0
  let cas: bigint | undefined = undefined
  while (i < end) {
    const c = buf[i]
    let j = i + 1
    while (j < end && buf[j] !== 32) j++
    if (c === 102) { // f
      flags = parseUint(buf, i + 1, j, U32_MAX)
      if (flags < 0) return undefined
    } else if (c === 99) { // c
      cas = parseU64(buf, i + 1, j)
      if (cas < 0n) return undefined
    } else if (c === 116) { // t
      if (!(j === i + 3 && buf[i + 1] === 45 && buf[i + 2] === 49) && parseUint(buf, i + 1, j, U32_MAX) < 0) return undefined
    }
    i = j + 1
  }
  return { value: r.value!, flags, cas }
}

export const malformed = (slot: Slot, what: string): Exit.Exit<never, MemcachedError> =>
  Exit.fail(new MemcachedProtocolError({ reason: "Malformed", message: `${slot.server}: malformed ${what}`, server: slot.server }))

/** True when the reply's `k` token is `key` (compared as bytes, without decoding for ASCII keys). */
export const metaKeyIs = (r: MetaReply, key: string): boolean => {
  const buf = r.line
  const end = r.flagsEnd
  let i = r.flagsStart
  while (i < end) {
    let j = i + 1
    while (j < end && buf[j] !== 32) j++
    if (buf[i] === 107) { // k
      const n = j - i - 1
      if (n === key.length) {
        let same = true
        for (let x = 0; x < n; x++) {
          if (buf[i + 1 + x] !== key.charCodeAt(x)) {
            same = false
            break
          }
        }
        if (same) return true
      }
      return Buffer.from(buf.latin1Slice(i + 1, j), "latin1").toString("utf8") === key
    }
    i = j + 1
  }
  return false
}

export const finishMetaGet: Finish = (slot, reply) => {
  if (reply._tag === "Meta") {
    if (reply.code === "VA") {
      // The `k` flag ties the value to its key: a reply meant for another request is never returned.
      if (!metaKeyIs(reply, slot.key)) {
        // The replies are out of step with the requests: a protocol error closes the connection (every
        // pending request fails typed, the server's health counts it) before a later reply reaches anyone.
        return Exit.fail(
          new MemcachedProtocolError({
            reason: "Unexpected",
            message: `${slot.server}: mg ${slot.key} answered for another key`,
            server: slot.server
          })
        )
      }
      const item = metaToItem(reply)
      return item === undefined ? malformed(slot, `mg reply flags: ${reply.flags}`) : Exit.succeed(Option.some(item))
    }
    if (reply.code === "EN") return exitNone
  }
  return readFailure(slot, reply, "mg")
}
/** `gets`/`gats`: a hit must carry its CAS unique. */
export const withCas = (finish: Finish): Finish => (slot, reply) => {
  const exit = finish(slot, reply)
  if (exit._tag === "Success" && Option.isSome(exit.value as Option.Option<Item>)) {
    if ((exit.value as Option.Some<Item>).value.cas === undefined) return malformed(slot, `${slot.command.name} reply without a CAS unique`)
  }
  return exit
}
/** A quiet write batch up to its `mn`: the replies that came back (failures only). */
export const finishQuietBatch: Finish = (slot, reply) =>
  reply._tag === "Meta" && reply.code === "MN" ? Exit.succeed(slot.acc ?? []) : failure(slot, reply, "mn")

/** A quiet meta batch up to its `mn`: `[key, item, …]`, each hit's `k` checked in request order. */
export const finishMetaGetMany: Finish = (slot, reply) => {
  if (reply._tag !== "Meta" || reply.code !== "MN") return readFailure(slot, reply, "mg")
  const keys = slot.keys!
  const flat: Array<string | Item> = []
  let cursor = 0
  for (const r of slot.acc ?? []) {
    if (r._tag !== "Meta" || r.code !== "VA") {
      if (r._tag === "Meta" && r.code === "EN") continue
      return readFailure(slot, r, "mg")
    }
    while (cursor < keys.length && !metaKeyIs(r, keys[cursor]!)) cursor++
    if (cursor === keys.length) {
      return Exit.fail(
        new MemcachedProtocolError({ reason: "Unexpected", message: `${slot.server}: mg answered for a key that was not asked`, server: slot.server })
      )
    }
    const item = metaToItem(r)
    if (item === undefined) return malformed(slot, `mg reply flags: ${r.flags}`)
    flat.push(keys[cursor]!, item)
    cursor++
  }
  return Exit.succeed(flat)
}
export const finishMetaItem: Finish = (slot, reply) => {
  if (reply._tag === "Meta") {
    if (reply.code === "VA" || reply.code === "HD") {
      if (metaToItem(reply) === undefined || !metaCountsValid(reply)) return malformed(slot, `mg reply flags: ${reply.flags}`)
      return Exit.succeed(Option.some(metaItem(reply)))
    }
    if (reply.code === "EN") return exitNone
  }
  return readFailure(slot, reply, "mg")
}
export const metaHd = (command: string): Finish => (slot, reply) =>
  reply._tag === "Meta" && reply.code === "HD" ? exitVoid : metaFailure(slot, reply, command)
export const metaStoreFinishers: Record<StorageCommand, Finish> = {
  set: metaHd("set"),
  add: metaHd("add"),
  replace: metaHd("replace"),
  append: metaHd("append"),
  prepend: metaHd("prepend"),
  cas: metaHd("cas")
}
export const finishMetaDelete = metaHd("delete")
/** `mg <key> T<ttl>` used as a touch: `HD` when touched, `EN` when missing. */
export const finishMetaTouch = metaHd("touch")
export const finishMetaMd = metaHd("md")
export const finishMetaSet: Finish = (slot, reply) => {
  if (reply._tag !== "Meta" || reply.code !== "HD") return metaFailure(slot, reply, "ms")
  const item = metaToItem(reply)
  return item === undefined ? malformed(slot, `ms reply flags: ${reply.flags}`) : Exit.succeed({ cas: item.cas })
}
/** `s`, `l` and `h` of a meta reply: non-negative integers (`h` 0 or 1). */
export const metaCountsValid = (r: MetaReply): boolean => {
  const buf = r.line
  const end = r.flagsEnd
  let i = r.flagsStart
  while (i < end) {
    const c = buf[i]
    let j = i + 1
    while (j < end && buf[j] !== 32) j++
    if ((c === 115 || c === 108) && parseUint(buf, i + 1, j, Number.MAX_SAFE_INTEGER) < 0) return false
    if (c === 104 && !(j === i + 2 && (buf[i + 1] === 48 || buf[i + 1] === 49))) return false
    i = j + 1
  }
  return true
}
/** The value of an `ma … v` reply: an unsigned 64-bit decimal, -1n when it is not one. */
export const metaNumber = (reply: MetaReply): bigint => {
  const v = reply.value
  if (v === undefined) return -1n
  const buf = toBuffer(v)
  return parseU64(buf, 0, buf.length)
}
export const metaDelta = (command: string): Finish => (slot, reply) => {
  if (reply._tag !== "Meta" || reply.code !== "VA") return metaFailure(slot, reply, command)
  const n = metaNumber(reply)
  return n < 0n ? malformed(slot, `${command} value`) : Exit.succeed(n)
}
export const finishMetaIncr = metaDelta("incr")
export const finishMetaDecr = metaDelta("decr")
export const finishMetaArithmetic: Finish = (slot, reply) => {
  if (reply._tag === "Meta" && reply.code === "VA") {
    const n = metaNumber(reply)
    const checked = metaToItem(reply)
    if (n < 0n || checked === undefined) return malformed(slot, "ma reply")
    const f = metaItem(reply)
    return Exit.succeed({ value: n, ttl: f.ttl, cas: checked.cas })
  }
  return metaFailure(slot, reply, "ma")
}
export const finishMetaDebug: Finish = (slot, reply) => {
  if (reply._tag === "MetaDebug") return Exit.succeed(Option.some(parseMetaDebug(reply.fields)))
  if (reply._tag === "Meta" && reply.code === "EN") return exitNone
  return readFailure(slot, reply, "me")
}
export const casProblem = (key: string, cas: bigint | undefined): MemcachedInputError | undefined =>
  cas !== undefined && (typeof cas !== "bigint" || cas < 0n || cas > U64_MAX)
    ? new MemcachedInputError({ reason: "InvalidArgument", message: `invalid CAS unique ${String(cas)}`, key })
    : undefined
/** An unsigned 64-bit integer, undefined when absent, null when invalid. */
export const u64 = (n: number | bigint | undefined): bigint | undefined | null => {
  if (n === undefined) return undefined
  const b = typeof n === "bigint" ? n : Number.isSafeInteger(n) ? BigInt(n) : -1n
  return b < 0n || b > U64_MAX ? null : b
}
export const storeModes: Record<StorageCommand, MetaSetMode> = { set: "S", add: "E", replace: "R", append: "A", prepend: "P", cas: "S" }

// ---------------------------------------------------------------------------------------------
// The command table
// ---------------------------------------------------------------------------------------------

/**
 * One row per command: how its replies are framed and mapped in each protocol (the engine's
 * {@link Command}), whether it may be retried on a transient failure (idempotence is a property of the
 * command, so a new method built on a row gets the right retry behaviour), and whether a text-only
 * proxy forwards it. Auto-batching is the `batch` field of the text command.
 */
export interface CommandRow {
  readonly text: Command | undefined
  readonly meta: Command | undefined
  readonly idempotent: boolean
}

export const cmd = (name: string, kind: SlotKind, finish: Finish, batch?: "get" | "gets"): Command =>
  batch === undefined ? { name, kind, finish } : { name, kind, finish, batch }
export const S = SlotKind.Single

export const storeRow = (c: StorageCommand): CommandRow & { readonly text: Command; readonly meta: Command } => ({
  text: cmd(c, S, storeFinishers[c]),
  meta: cmd("ms", S, metaStoreFinishers[c]),
  idempotent: c === "set"
})

export const commands = {
  get: { text: cmd("get", SlotKind.Values, finishGet, "get"), meta: cmd("mg", S, finishMetaGet), idempotent: true },
  gets: { text: cmd("gets", SlotKind.Values, withCas(finishGet), "gets"), meta: cmd("mg", S, withCas(finishMetaGet)), idempotent: true },
  gat: { text: cmd("gat", SlotKind.Values, finishGet), meta: cmd("mg", S, finishMetaGet), idempotent: true },
  gats: { text: cmd("gats", SlotKind.Values, withCas(finishGet)), meta: cmd("mg", S, withCas(finishMetaGet)), idempotent: true },
  getMany: { text: cmd("get", SlotKind.Values, finishGetMany), meta: cmd("mg", SlotKind.Barrier, finishMetaGetMany), idempotent: true },
  set: storeRow("set"),
  add: storeRow("add"),
  replace: storeRow("replace"),
  append: storeRow("append"),
  prepend: storeRow("prepend"),
  cas: storeRow("cas"),
  delete: { text: cmd("delete", S, finishDelete), meta: cmd("md", S, finishMetaDelete), idempotent: true },
  touch: { text: cmd("touch", S, finishTouch), meta: cmd("mg", S, finishMetaTouch), idempotent: true },
  incr: { text: cmd("incr", S, finishIncr), meta: cmd("ma", S, finishMetaIncr), idempotent: false },
  decr: { text: cmd("decr", S, finishDecr), meta: cmd("ma", S, finishMetaDecr), idempotent: false },
  quietBatch: { text: undefined, meta: cmd("mn", SlotKind.Barrier, finishQuietBatch), idempotent: false },
  flush_all: { text: cmd("flush_all", S, finishOk), meta: cmd("flush_all", S, finishOk), idempotent: true },
  version: { text: cmd("version", S, finishVersion), meta: cmd("version", S, finishVersion), idempotent: true },
  stats: { text: cmd("stats", SlotKind.Stats, finishStats), meta: cmd("stats", SlotKind.Stats, finishStats), idempotent: true },
  verbosity: { text: cmd("verbosity", S, finishOk), meta: cmd("verbosity", S, finishOk), idempotent: true },
  metaGet: { text: undefined, meta: cmd("mg", S, finishMetaItem), idempotent: true },
  metaSet: { text: undefined, meta: cmd("ms", S, finishMetaSet), idempotent: false },
  metaDelete: { text: undefined, meta: cmd("md", S, finishMetaMd), idempotent: false },
  metaArithmetic: { text: undefined, meta: cmd("ma", S, finishMetaArithmetic), idempotent: false },
  metaDebug: { text: undefined, meta: cmd("me", S, finishMetaDebug), idempotent: true }
} as const satisfies Record<string, CommandRow>

/** The row's command for a server speaking `meta` or not (text). */
export const commandFor = (row: CommandRow, meta: boolean): Command => (meta ? row.meta : row.text) ?? row.meta!

