/**
 * The engine's request model: how a command's replies are framed and finished, the slot of one
 * request in a connection's FIFO, the auto-batch group, and the sinks a pool hands out (a live
 * connection or a {@link Refusal}). Plain JavaScript, no Effect.
 *
 * @since 0.1.0
 */
import type { Reply } from "../protocol/client.js"
import type { ReplyItem } from "../protocol/item.js"
import type { Completion, EngineError } from "./types.js"

/**
 * How a slot consumes replies.
 *
 * - `Single`: exactly one status line (STORED, DELETED, a number, OK, VERSION, an error, or a meta
 *   reply other than `VA`-with-batch semantics).
 * - `Values`: `VALUE` blocks until `END` (get, gets, gat, gats).
 * - `Stats`: `STAT` lines (or a `CONFIG` block, see `protocol/discovery.ts`) until `END`.
 * - `Barrier`: any replies until the meta no-op `MN` (quiet meta batches).
 *
 * @since 0.1.0
 * @category models
 */
export const SlotKind = { Single: 0, Values: 1, Stats: 2, Barrier: 3 } as const

/**
 * One of the {@link SlotKind} values.
 *
 * @since 0.1.0
 * @category models
 */
export type SlotKind = typeof SlotKind[keyof typeof SlotKind]

/**
 * Maps the replies of a completed slot to the request's result: the value, or an {@link EngineError}:
 * a `Protocol` one when the reply does not fit the request (the connection closes and every pending
 * request fails), any other kind fails the request alone (the connection stays).
 *
 * @since 0.1.0
 * @category models
 */
export type Finish = (slot: Slot, reply: Reply) => unknown

/**
 * What the engine knows of a command: how its replies are framed, how they map to a result, and
 * whether a single-key request of it may join a per-tick auto-batch (as `get` or `gets`). One value
 * per command and protocol, built once (the client's command table); the engine never looks at the
 * bytes of a command.
 *
 * @since 0.1.0
 * @category models
 */
export interface Command {
  /** The command's name, used in errors (`get`, `mg`, `flush_all`). */
  readonly name: string
  readonly kind: SlotKind
  readonly finish: Finish
  /**
   * Set for single-key retrievals that may be merged into one multi-key `get`/`gets` (text `get`/`gets`,
   * and meta `mg` reads whose flags a text retrieval can express).
   */
  readonly batch?: "get" | "gets" | undefined
  /**
   * How a slot merged into an auto-batch is finished: its replies are then text `VALUE`/`END`, whatever
   * the command's own protocol (defaults to `finish`, right for text retrievals).
   */
  readonly batchFinish?: Finish | undefined
}

const EMPTY: ReadonlyArray<never> = []

/**
 * A new empty list with no V8 allocation site: a copy of one shared empty array. For the lists that
 * live as long as a request or a call (collected replies, a batch's keys): an
 * array literal's site can be pretenured by a scavenge that finds a burst of them alive, and every
 * later list would then live in old space and drag its young elements there (see protocol/item.ts).
 * `Array.of` avoids the site too but returns a holey array and is ~20× slower for one element.
 *
 * @since 0.2.0
 * @category constructors
 */
export const newList = <T>(): Array<T> => EMPTY.slice() as Array<T>

/**
 * One request: its command, what to write, and who to complete.
 *
 * @since 0.1.0
 * @category models
 */
export class Slot {
  next: Slot | undefined = undefined
  /** Completed once, then cleared (a request never completes twice). */
  done: Completion | undefined = undefined
  deadline = 0
  /** The server's label, set when the slot is enqueued. */
  server = ""
  /**
   * The item of a single-key retrieval's `VALUE` (its only reply before `END`; no list is allocated for
   * it), made from the reply's fields as it is framed.
   */
  hit: ReplyItem | undefined = undefined
  /** Replies collected so far (multi-key Values, Stats and Barrier slots). */
  acc: Array<Reply> | undefined = undefined
  /** Index of the next requested key a VALUE may match (multi-key gets). */
  cursor = 0
  /** The auto-batch this single-key get was merged into, if any. */
  group: Group | undefined = undefined
  /**
   * The keys of a multi-key request, in request order (replies are matched against them). A slot that
   * sets them is a {@link KeyedSlot}: it takes each matched `VALUE` itself.
   */
  keys: ReadonlyArray<string> | undefined = undefined
  constructor(
    readonly command: Command,
    readonly head: string,
    readonly data: Uint8Array | undefined,
    readonly key: string,
    readonly timeout: number
  ) {}
  get kind(): SlotKind {
    return this.command.kind
  }
  get finish(): Finish {
    return this.command.finish
  }
}

/**
 * A multi-key retrieval's slot: the pipeline hands it each `VALUE` as soon as the reply's key is
 * matched to `keys[index]` (nothing is collected; `END` then finishes the slot).
 *
 * @since 0.2.0
 * @category models
 */
export interface KeyedSlot extends Slot {
  readonly keys: ReadonlyArray<string>
  found(index: number, value: Uint8Array, flags: number, cas: bigint | undefined): void
}

/**
 * Single-key `get`/`gets` slots written in the same tick, sent as one multi-key command. memcached
 * answers hits in request order and omits misses, then one `END` that completes every slot.
 *
 * @since 0.1.0
 * @category models
 */
export class Group {
  readonly slots: Array<Slot> = newList()
  /** Bytes of the keys collected so far (the merged line is encoded when the group closes). */
  keyBytes = 0
  cursor = 0
  constructor(readonly command: "get" | "gets") {}
}

/**
 * Where a request goes: a live {@link Connection}, or a {@link Refusal} when the server cannot take
 * requests (ejected, client closed, transport threw).
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestSink {
  /** Sends a request; its slot is resumed with the reply's result or a typed error. */
  enqueue(slot: Slot): void
  /** Sends a request whose reply is read and dropped. */
  send(slot: Slot): void
}

/**
 * Fails every request at once with one error, without a socket: what an ejected or closed server
 * hands out instead of a connection.
 *
 * @since 0.1.0
 * @category models
 */
export class Refusal implements RequestSink {
  constructor(readonly error: EngineError) {}
  enqueue(slot: Slot): void {
    const done = slot.done
    slot.done = undefined
    done?.fail(this.error)
  }
  send(_slot: Slot): void {}
}
