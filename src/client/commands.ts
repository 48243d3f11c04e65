/**
 * The client's command table and reply finishers: how each command's replies map to its result or
 * typed error, in the text and the meta protocol. Every number taken from a reply is validated here
 * (a bad one is a `MemcachedProtocolError`, which closes the connection). Internal: not exported from
 * the package index.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import { type Command, type Finish, type Slot, SlotKind } from "../engine/connection.js"
import { type EngineError, Failure, protocolError } from "../engine/types.js"
import type { Item, Value } from "../MemcachedClient.js"
import {
  type MemcachedError,
  MemcachedInputError,
  MemcachedServerError,
  MemcachedStoreError
} from "../MemcachedError.js"
import type { Reply, StorageCommand, ValueReply } from "../protocol/client.js"
import { parseU64Value, U64_MAX } from "../protocol/limits.js"
import { metaItem, metaKeyIs, type MetaSetMode, metaToItem, parseMetaDebug } from "../protocol/meta.js"
import { edgeError } from "./completion.js"

export { U32_MAX } from "../protocol/limits.js"

// ---------------------------------------------------------------------------------------------
// Reply → result
// ---------------------------------------------------------------------------------------------

/** What a finisher returns for a miss (the one `None`, so the edge can reuse one `Exit` for it). */
export const NONE: Option.Option<never> = Option.none()

/** A finisher's failure: the edge's error in a {@link Failure}, or a protocol error that closes the connection. */
export type Failed = Failure | EngineError

export const failure = (slot: Slot, reply: Reply, command: string): Failed => {
  switch (reply._tag) {
    case "NotStored":
      return new Failure(new MemcachedStoreError({ reason: "NotStored", key: slot.key, command }))
    case "Exists":
      return new Failure(new MemcachedStoreError({ reason: "Exists", key: slot.key, command }))
    case "NotFound":
      return new Failure(new MemcachedStoreError({ reason: "NotFound", key: slot.key, command }))
    case "ServerError":
      return new Failure(
        new MemcachedServerError({ reason: "ServerError", message: reply.message, server: slot.server })
      )
    case "ClientError":
      return new Failure(
        new MemcachedServerError({ reason: "ClientError", message: reply.message, server: slot.server })
      )
    case "Error":
      return new Failure(
        new MemcachedServerError({ reason: "UnknownCommand", message: reply.message || "ERROR", server: slot.server })
      )
    default:
      // A reply of the wrong kind means replies and requests are out of step: the connection closes.
      return protocolError(
        "Unexpected",
        slot.server,
        `${slot.server}: unexpected ${reply._tag === "Meta" ? reply.code : reply._tag} reply to ${command}`
      )
  }
}

/**
 * A reply to a read that is not its answer. A store outcome (`NOT_FOUND`, `EXISTS`, `NOT_STORED`, `NS`,
 * `EX`, `NF`) makes no sense there: the replies are out of step, a protocol error closes the connection.
 * Server and client errors stay what they are.
 */
export const readFailure = (slot: Slot, reply: Reply, command: string): Failed => {
  switch (reply._tag) {
    case "NotStored":
    case "Exists":
    case "NotFound":
      return protocolError("Unexpected", slot.server, `${slot.server}: unexpected ${reply._tag} reply to ${command}`)
  }
  return failure(slot, reply, command)
}

export const toItem = (v: ValueReply): Item => ({ value: v.value, flags: v.flags, cas: v.cas })

export const finishGet: Finish = (slot, reply) => {
  if (reply._tag !== "End") return readFailure(slot, reply, "get")
  return slot.acc === undefined ? NONE : Option.some(toItem(slot.acc[0] as ValueReply))
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
  return flat
}

export const finishStore = (command: StorageCommand): Finish => (slot, reply) =>
  reply._tag === "Stored" ? undefined : failure(slot, reply, command)
export const storeFinishers: Record<StorageCommand, Finish> = {
  set: finishStore("set"),
  add: finishStore("add"),
  replace: finishStore("replace"),
  append: finishStore("append"),
  prepend: finishStore("prepend"),
  cas: finishStore("cas")
}
export const finishDelete: Finish = (
  slot,
  reply
) => (reply._tag === "Deleted" ? undefined : failure(slot, reply, "delete"))
export const finishTouch: Finish = (
  slot,
  reply
) => (reply._tag === "Touched" ? undefined : failure(slot, reply, "touch"))
export const finishIncr: Finish = (slot, reply) => reply._tag === "Numeric" ? reply.value : failure(slot, reply, "incr")
export const finishDecr: Finish = (slot, reply) => reply._tag === "Numeric" ? reply.value : failure(slot, reply, "decr")
export const finishOk: Finish = (slot, reply) => (reply._tag === "Ok" ? undefined : failure(slot, reply, slot.key))
export const finishVersion: Finish = (slot, reply) =>
  reply._tag === "Version" ? reply.version : failure(slot, reply, "version")
export const finishStats: Finish = (slot, reply) => {
  if (reply._tag !== "End") return failure(slot, reply, "stats")
  const map = new Map<string, string>()
  for (const r of slot.acc ?? []) if (r._tag === "Stat") map.set(r.name, r.value)
  return map
}

export const utf8Decoder = new TextDecoder()
export const toBytes = (value: Value): Uint8Array => (typeof value === "string" ? Buffer.from(value, "utf8") : value)

// ---------------------------------------------------------------------------------------------
// Meta replies → results
// ---------------------------------------------------------------------------------------------

export const metaFailure = (slot: Slot, reply: Reply, command: string): Failed => {
  if (reply._tag === "Meta") {
    switch (reply.code) {
      case "NS":
        return new Failure(new MemcachedStoreError({ reason: "NotStored", key: slot.key, command }))
      case "EX":
        return new Failure(new MemcachedStoreError({ reason: "Exists", key: slot.key, command }))
      case "NF":
      case "EN":
        return new Failure(new MemcachedStoreError({ reason: "NotFound", key: slot.key, command }))
    }
  }
  return failure(slot, reply, command)
}

export const malformed = (slot: Slot, what: string): EngineError =>
  protocolError("Malformed", slot.server, `${slot.server}: malformed ${what}`)

/** The error of {@link failure} as the edge's typed error (bulk writes attribute it to a key). */
export const failureError = (slot: Slot, reply: Reply, command: string): MemcachedError =>
  unwrap(failure(slot, reply, command))
/** The error of {@link metaFailure} as the edge's typed error. */
export const metaFailureError = (slot: Slot, reply: Reply, command: string): MemcachedError =>
  unwrap(metaFailure(slot, reply, command))
const unwrap = (
  f: Failed
): MemcachedError => (f instanceof Failure ? f.error as MemcachedError : edgeError(f) as MemcachedError)

export const finishMetaGet: Finish = (slot, reply) => {
  if (reply._tag === "Meta") {
    if (reply.code === "VA") {
      // The `k` flag ties the value to its key: a reply meant for another request is never returned.
      if (!metaKeyIs(reply, slot.key)) {
        // The replies are out of step with the requests: a protocol error closes the connection (every
        // pending request fails typed, the server's health counts it) before a later reply reaches anyone.
        return protocolError("Unexpected", slot.server, `${slot.server}: mg ${slot.key} answered for another key`)
      }
      return Option.some(metaToItem(reply))
    }
    if (reply.code === "EN") return NONE
  }
  return readFailure(slot, reply, "mg")
}
/** `gets`/`gats`: a hit must carry its CAS unique. */
export const withCas = (finish: Finish): Finish => (slot, reply) => {
  const result = finish(slot, reply)
  if (Option.isOption(result) && Option.isSome(result) && (result as Option.Some<Item>).value.cas === undefined) {
    return malformed(slot, `${slot.command.name} reply without a CAS unique`)
  }
  return result
}
/** A quiet write batch up to its `mn`: the replies that came back (failures only). */
export const finishQuietBatch: Finish = (slot, reply) =>
  reply._tag === "Meta" && reply.code === "MN" ? (slot.acc ?? []) : failure(slot, reply, "mn")

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
      return protocolError("Unexpected", slot.server, `${slot.server}: mg answered for a key that was not asked`)
    }
    flat.push(keys[cursor]!, metaToItem(r))
    cursor++
  }
  return flat
}
export const finishMetaItem: Finish = (slot, reply) => {
  if (reply._tag === "Meta") {
    if (reply.code === "VA" || reply.code === "HD") {
      return Option.some(metaItem(reply))
    }
    if (reply.code === "EN") return NONE
  }
  return readFailure(slot, reply, "mg")
}
export const metaHd = (command: string): Finish => (slot, reply) =>
  reply._tag === "Meta" && reply.code === "HD" ? undefined : metaFailure(slot, reply, command)
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
  return { cas: reply.cas }
}
export const metaDelta = (command: string): Finish => (slot, reply) => {
  if (reply._tag !== "Meta" || reply.code !== "VA") return metaFailure(slot, reply, command)
  const n = reply.value === undefined ? -1n : parseU64Value(reply.value)
  return n < 0n ? malformed(slot, `${command} value`) : n
}
export const finishMetaIncr = metaDelta("incr")
export const finishMetaDecr = metaDelta("decr")
export const finishMetaArithmetic: Finish = (slot, reply) => {
  if (reply._tag === "Meta" && reply.code === "VA") {
    const n = reply.value === undefined ? -1n : parseU64Value(reply.value)
    if (n < 0n) return malformed(slot, "ma reply")
    return { value: n, ttl: metaItem(reply).ttl, cas: reply.cas }
  }
  return metaFailure(slot, reply, "ma")
}
export const finishMetaDebug: Finish = (slot, reply) => {
  if (reply._tag === "MetaDebug") return Option.some(parseMetaDebug(reply.fields))
  if (reply._tag === "Meta" && reply.code === "EN") return NONE
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
export const storeModes: Record<StorageCommand, MetaSetMode> = {
  set: "S",
  add: "E",
  replace: "R",
  append: "A",
  prepend: "P",
  cas: "S"
}

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
  gets: {
    text: cmd("gets", SlotKind.Values, withCas(finishGet), "gets"),
    meta: cmd("mg", S, withCas(finishMetaGet)),
    idempotent: true
  },
  gat: { text: cmd("gat", SlotKind.Values, finishGet), meta: cmd("mg", S, finishMetaGet), idempotent: true },
  gats: {
    text: cmd("gats", SlotKind.Values, withCas(finishGet)),
    meta: cmd("mg", S, withCas(finishMetaGet)),
    idempotent: true
  },
  getMany: {
    text: cmd("get", SlotKind.Values, finishGetMany),
    meta: cmd("mg", SlotKind.Barrier, finishMetaGetMany),
    idempotent: true
  },
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
  stats: {
    text: cmd("stats", SlotKind.Stats, finishStats),
    meta: cmd("stats", SlotKind.Stats, finishStats),
    idempotent: true
  },
  verbosity: { text: cmd("verbosity", S, finishOk), meta: cmd("verbosity", S, finishOk), idempotent: true },
  metaGet: { text: undefined, meta: cmd("mg", S, finishMetaItem), idempotent: true },
  metaSet: { text: undefined, meta: cmd("ms", S, finishMetaSet), idempotent: false },
  metaDelete: { text: undefined, meta: cmd("md", S, finishMetaMd), idempotent: false },
  metaArithmetic: { text: undefined, meta: cmd("ma", S, finishMetaArithmetic), idempotent: false },
  metaDebug: { text: undefined, meta: cmd("me", S, finishMetaDebug), idempotent: true }
} as const satisfies Record<string, CommandRow>

/** The row's command for a server speaking `meta` or not (text). */
export const commandFor = (row: CommandRow, meta: boolean): Command => (meta ? row.meta : row.text) ?? row.meta!
