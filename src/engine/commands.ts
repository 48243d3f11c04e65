/**
 * The command table and reply finishers: how each command's replies map to its result or error, in
 * the text and the meta protocol, as plain data (no Effect), so every edition maps them to its own
 * types. A finisher returns the value (`undefined` for a miss of an optional read, or for `void`), or
 * an {@link EngineError}: `Store` / `Server` (the request fails, the connection stays) or `Protocol`
 * (the connection closes). Every number taken from a reply is validated here. Internal: not exported
 * from the package index.
 *
 * @since 0.1.0
 */
import type { Reply, StorageCommand } from "../protocol/client.js"
import { parseU64Value } from "../protocol/limits.js"
import { metaItem, metaKeyIs, type MetaSetMode, metaToItem, parseMetaDebug } from "../protocol/meta.js"
import { type Command, type Finish, type KeyedSlot, type Slot, SlotKind } from "./slot.js"
import { EngineError, protocolError, serverError, storeError } from "./types.js"

export { U32_MAX } from "../protocol/limits.js"

/**
 * An item read from a server (`cas` set by `gets`, `gats` and meta reads asking for it).
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineItem {
  readonly value: Uint8Array
  readonly flags: number
  readonly cas: bigint | undefined
}

/**
 * A value to store: bytes, or a string stored as its UTF-8 bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type EngineValue = Uint8Array | string

// ---------------------------------------------------------------------------------------------
// Reply → result
// ---------------------------------------------------------------------------------------------

/** A finisher's failure: `Store`/`Server` (the request fails) or `Protocol` (the connection closes). */
export type Failed = EngineError

export const failure = (slot: Slot, reply: Reply, command: string): Failed => {
  switch (reply._tag) {
    case "NotStored":
    case "Exists":
    case "NotFound":
      return storeError(reply._tag, slot.key, command, slot.server)
    case "ServerError":
    case "ClientError":
      return serverError(reply._tag, reply.message, slot.server)
    case "Error":
      return serverError("UnknownCommand", reply.message || "ERROR", slot.server)
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

export const finishGet: Finish = (slot, reply) => {
  if (reply._tag !== "End") return readFailure(slot, reply, "get")
  return slot.hit
}

/**
 * A multi-key get's slot: its hits go straight into `out`, the map its call returns (shared by the
 * call's batches, so nothing is copied when they complete).
 *
 * @since 0.1.0
 * @category models
 */
export interface GetManySlot extends KeyedSlot {
  readonly out: Map<string, EngineItem>
}

/** A multi-key get: its hits are already in the slot's `out` map (set as each VALUE was matched), which is the result. */
export const finishGetMany: Finish = (slot, reply) =>
  reply._tag === "End" ? (slot as GetManySlot).out : readFailure(slot, reply, "get")

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
export const toBytes = (
  value: EngineValue
): Uint8Array => (typeof value === "string" ? Buffer.from(value, "utf8") : value)

// ---------------------------------------------------------------------------------------------
// Meta replies → results
// ---------------------------------------------------------------------------------------------

export const metaFailure = (slot: Slot, reply: Reply, command: string): Failed => {
  if (reply._tag === "Meta") {
    switch (reply.code) {
      case "NS":
        return storeError("NotStored", slot.key, command, slot.server)
      case "EX":
        return storeError("Exists", slot.key, command, slot.server)
      case "NF":
      case "EN":
        return storeError("NotFound", slot.key, command, slot.server)
    }
  }
  return failure(slot, reply, command)
}

export const malformed = (slot: Slot, what: string): EngineError =>
  protocolError("Malformed", slot.server, `${slot.server}: malformed ${what}`)

export const finishMetaGet: Finish = (slot, reply) => {
  if (reply._tag === "Meta") {
    if (reply.code === "VA") {
      // The `k` flag ties the value to its key: a reply meant for another request is never returned.
      if (!metaKeyIs(reply, slot.key)) {
        // The replies are out of step with the requests: a protocol error closes the connection (every
        // pending request fails typed, the server's health counts it) before a later reply reaches anyone.
        return protocolError("Unexpected", slot.server, `${slot.server}: mg ${slot.key} answered for another key`)
      }
      return metaToItem(reply)
    }
    if (reply.code === "EN") return undefined
  }
  return readFailure(slot, reply, "mg")
}
/** `gets`/`gats`: a hit must carry its CAS unique. */
export const withCas = (finish: Finish): Finish => (slot, reply) => {
  const result = finish(slot, reply)
  if (result !== undefined && !(result instanceof EngineError) && (result as EngineItem).cas === undefined) {
    return malformed(slot, `${slot.command.name} reply without a CAS unique`)
  }
  return result
}
/** A quiet write batch up to its `mn`: the replies that came back (failures only). */
export const finishQuietBatch: Finish = (slot, reply) =>
  reply._tag === "Meta" && reply.code === "MN" ? (slot.acc ?? []) : failure(slot, reply, "mn")

export const finishMetaItem: Finish = (slot, reply) => {
  if (reply._tag === "Meta") {
    if (reply.code === "VA" || reply.code === "HD") {
      return metaItem(reply)
    }
    if (reply.code === "EN") return undefined
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
  if (reply._tag === "MetaDebug") return parseMetaDebug(reply.fields)
  if (reply._tag === "Meta" && reply.code === "EN") return undefined
  return readFailure(slot, reply, "me")
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
 * A command of the table: the engine's {@link Command} plus whether its result is optional (a read
 * whose finisher returns `undefined` for a miss, which an edition maps to its "none"; for the other
 * commands `undefined` is `void`).
 *
 * @since 0.1.0
 * @category models
 */
export interface TableCommand extends Command {
  readonly optional: boolean
}

/**
 * Whether `command`'s `undefined` result is a miss (an optional read) rather than `void`. Never throws.
 *
 * @since 0.1.0
 * @category guards
 */
export const isOptional = (command: Command): boolean => (command as TableCommand).optional === true

/**
 * One row per command: how its replies are framed and mapped in each protocol (the engine's
 * {@link Command}), and whether it may be retried on a transient failure (idempotence is a property of
 * the command, so a new method built on a row gets the right retry behaviour). Auto-batching is the
 * `batch` field: text `get`/`gets`, and the plain meta `mg` reads (merged into a text multi-key
 * `get`/`gets`, finished by `batchFinish` from its `VALUE`s).
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandRow {
  readonly text: TableCommand | undefined
  readonly meta: TableCommand | undefined
  readonly idempotent: boolean
}

const cmd = (
  name: string,
  kind: SlotKind,
  finish: Finish,
  optional = false,
  batch?: "get" | "gets",
  batchFinish?: Finish
): TableCommand => ({ name, kind, finish, optional, batch, batchFinish })
const S = SlotKind.Single
const V = SlotKind.Values

const storeRow = (c: StorageCommand) => ({
  text: cmd(c, S, storeFinishers[c]),
  meta: cmd("ms", S, metaStoreFinishers[c]),
  idempotent: c === "set"
})

/**
 * The command table: one {@link CommandRow} per command the clients send.
 *
 * @since 0.1.0
 * @category constants
 */
export const commands = {
  get: {
    text: cmd("get", V, finishGet, true, "get"),
    meta: cmd("mg", S, finishMetaGet, true, "get", finishGet),
    idempotent: true
  },
  gets: {
    text: cmd("gets", V, withCas(finishGet), true, "gets"),
    meta: cmd("mg", S, withCas(finishMetaGet), true, "gets", withCas(finishGet)),
    idempotent: true
  },
  gat: { text: cmd("gat", V, finishGet, true), meta: cmd("mg", S, finishMetaGet, true), idempotent: true },
  gats: {
    text: cmd("gats", V, withCas(finishGet), true),
    meta: cmd("mg", S, withCas(finishMetaGet), true),
    idempotent: true
  },
  getMany: { text: cmd("get", V, finishGetMany), meta: undefined, idempotent: true },
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
  metaGet: { text: undefined, meta: cmd("mg", S, finishMetaItem, true), idempotent: true },
  metaSet: { text: undefined, meta: cmd("ms", S, finishMetaSet), idempotent: false },
  metaDelete: { text: undefined, meta: cmd("md", S, finishMetaMd), idempotent: false },
  metaArithmetic: { text: undefined, meta: cmd("ma", S, finishMetaArithmetic), idempotent: false },
  metaDebug: { text: undefined, meta: cmd("me", S, finishMetaDebug, true), idempotent: true }
} as const satisfies Record<string, CommandRow>

/**
 * The row's command for a server speaking `meta` or not (text; the meta command when the row has no
 * text form). Never throws.
 *
 * @since 0.1.0
 * @category accessors
 */
export const commandFor = (row: CommandRow, meta: boolean): TableCommand => (meta ? row.meta : row.text) ?? row.meta!
