/**
 * An in-memory memcached for tests and local development: an engine with memcached 1.6 semantics
 * for every text command, a per-connection session on top of `ServerProtocol`, an in-process
 * `stream.Duplex` transport, a loopback TCP listener and a fault-injection handle.
 *
 * @since 0.1.0
 */
import * as net from "node:net"
import { Duplex } from "node:stream"
import type { StorageCommand } from "../protocol/client.js"
import {
  type Command,
  ErrorLines,
  itemSize,
  makeCommandParser,
  type CommandParser,
  type MetaCommand,
  Replies,
  ReplyWriter,
  type StoreCommand
} from "../protocol/server.js"
import { EMPTY, U64_MAX } from "../protocol/bytes.js"
import { decodeBase64Key } from "../protocol/meta.js"

/**
 * The version the server reports.
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION = "1.6.18-effect-memory"

/**
 * A stored item. Times are milliseconds of the injected clock. The meta-protocol fields are kept
 * so that `mg`/`ms` state (stale items, win tokens, fetched flags) has a home.
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly key: string
  value: Buffer
  flags: number
  /** Absolute expiry in ms; 0 = never. */
  exptime: number
  cas: bigint
  /** Last access (store, fetch, touch) in ms. */
  time: number
  /** Bytes accounted against `maxBytes`. */
  size: number
  /** Set by a meta invalidation (`md I`, `mg` recache). */
  stale: boolean
  /** A client has been handed the win token for this item. */
  won: boolean
  /** Fetched at least once since stored. */
  fetched: boolean
  /** Stored or created through a base64 key (`b`): meta replies return its key base64 encoded. */
  binaryKey: boolean
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryServerOptions {
  /** The clock, in ms since the epoch (default `Date.now`). */
  readonly now?: (() => number) | undefined
  /** The memory limit (memcached `-m`), default 64 MiB. */
  readonly maxBytes?: number | undefined
  /** The item size limit (memcached `-I`), default 1 MiB. */
  readonly maxItemSize?: number | undefined
}

/**
 * The fault-injection handle. Faults apply to duplex and TCP connections alike, to current and
 * future connections, until `reset()`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  /** Delays every reply by `ms` (0 = off). Replies stay in order. */
  readonly delay: (ms: number) => void
  /** Accept connections and read commands, but neither execute nor answer them. */
  readonly blackHole: (on?: boolean) => void
  /** The reply to the next command (on any connection) is replaced by these raw bytes. Queued. */
  readonly replyWith: (bytes: Uint8Array | string) => void
  /** Destroys every open connection. */
  readonly dropConnections: () => void
  /** New TCP connections are destroyed on accept; `connect()` duplexes fail with ECONNREFUSED. */
  readonly refuseConnections: (on?: boolean) => void
  /** Clears every fault. */
  readonly reset: () => void
}

/**
 * Counters of the server, as `stats` reports them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  curr_items: number
  total_items: number
  bytes: number
  curr_connections: number
  total_connections: number
  cmd_get: number
  cmd_set: number
  cmd_flush: number
  cmd_touch: number
  cmd_meta: number
  get_hits: number
  get_misses: number
  get_expired: number
  get_flushed: number
  delete_misses: number
  delete_hits: number
  incr_misses: number
  incr_hits: number
  decr_misses: number
  decr_hits: number
  cas_misses: number
  cas_hits: number
  cas_badval: number
  touch_hits: number
  touch_misses: number
  store_too_large: number
  store_no_memory: number
  evictions: number
  expired_unfetched: number
  evicted_unfetched: number
  reclaimed: number
}

/**
 * One connection's protocol state: bytes in, reply bytes out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  /**
   * Parses and executes every complete command in `chunk`. Returns the replies (one Buffer per
   * command that answered, in order) and whether the connection must close after sending them.
   */
  readonly receive: (chunk: Uint8Array) => { readonly replies: Array<Buffer>; readonly close: boolean }
}

/**
 * The in-memory memcached.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryServer {
  /** Opens an in-process connection speaking the protocol. */
  readonly connect: () => Duplex
  /** Starts a TCP listener (port 0 = ephemeral) and resolves with the bound address. */
  readonly listen: (options?: { readonly port?: number; readonly host?: string }) => Promise<{
    readonly port: number
    readonly host: string
  }>
  /** Stops the TCP listener (if any) and destroys every connection. */
  readonly close: () => Promise<void>
  /** A bare protocol session, without transport or faults. */
  readonly session: () => Session
  readonly faults: Faults
  /** Number of items held (expired items not yet reclaimed included). */
  readonly size: number
  /** The live item under `key`, without touching stats or LRU order. */
  readonly peek: (key: string) => Item | undefined
  /** A snapshot of the counters. */
  readonly stats: () => Readonly<Stats>
  /** Removes every item (no stats effect). */
  readonly clear: () => void
}

const RELATIVE_LIMIT = 60 * 60 * 24 * 30

const emptyStats = (): Stats => ({
  curr_items: 0,
  total_items: 0,
  bytes: 0,
  curr_connections: 0,
  total_connections: 0,
  cmd_get: 0,
  cmd_set: 0,
  cmd_flush: 0,
  cmd_touch: 0,
  cmd_meta: 0,
  get_hits: 0,
  get_misses: 0,
  get_expired: 0,
  get_flushed: 0,
  delete_misses: 0,
  delete_hits: 0,
  incr_misses: 0,
  incr_hits: 0,
  decr_misses: 0,
  decr_hits: 0,
  cas_misses: 0,
  cas_hits: 0,
  cas_badval: 0,
  touch_hits: 0,
  touch_misses: 0,
  store_too_large: 0,
  store_no_memory: 0,
  evictions: 0,
  expired_unfetched: 0,
  evicted_unfetched: 0,
  reclaimed: 0
})

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)

/**
 * strtoull on a stored value as memcached's incr/decr reads it: leading whitespace, optional sign,
 * digits, and then whitespace or the end. Returns undefined for "non-numeric".
 */
const parseStoredNumber = (v: Buffer): bigint | undefined => {
  const end = v.length
  let i = 0
  while (i < end && isSpace(v[i]!)) i++
  let neg = false
  if (i < end && (v[i] === 43 || v[i] === 45)) {
    neg = v[i] === 45
    i++
  }
  const ds = i
  while (i < end && v[i]! >= 48 && v[i]! <= 57) i++
  if (i === ds) {
    // No digits: strtoull leaves endptr at the start; safe_strtoull then accepts a leading space.
    return end > 0 && isSpace(v[0]!) ? 0n : undefined
  }
  if (i < end && !isSpace(v[i]!)) return undefined
  let n = BigInt(v.latin1Slice(ds, i))
  if (n > U64_MAX) return undefined
  if (neg) {
    // A negated value lands in the upper half, which safe_strtoull rejects when a '-' is present.
    if (n !== 0n) n = (U64_MAX + 1n - n) & U64_MAX
    if (n >= 1n << 63n) return undefined
  }
  return n
}

/**
 * The storage engine: items, LRU, memory accounting, CAS, flush, counters.
 *
 * @since 0.1.0
 * @category models
 */
export class Engine {
  /** Insertion order of the Map is the LRU order: first = least recently used. */
  readonly items = new Map<string, Item>()
  readonly counters: Stats = emptyStats()
  readonly started: number
  private casCounter = 0n
  private oldestLive = 0
  private oldestCas = 0n
  verbosity = 0

  constructor(
    readonly now: () => number,
    readonly maxBytes: number,
    readonly maxItemSize: number
  ) {
    this.started = now()
  }

  nextCas(): bigint {
    return ++this.casCounter
  }

  /** memcached's realtime(): 0 = never, negative = already expired, > 30 days = absolute seconds. */
  expiresAt(exptime: number): number {
    if (exptime === 0) return 0
    if (exptime < 0) return Number.MIN_SAFE_INTEGER
    if (exptime > RELATIVE_LIMIT) return exptime * 1000
    return this.now() + exptime * 1000
  }

  private isFlushed(item: Item, now: number): boolean {
    const live = this.oldestLive
    if (live === 0 || live > now) return false
    return item.time <= live || (this.oldestCas !== 0n && item.cas < this.oldestCas)
  }

  /** The live item under `key`; expired or flushed items are unlinked. Counts get_expired/flushed if asked. */
  lookup(key: string, countMiss: boolean): Item | undefined {
    const item = this.items.get(key)
    if (item === undefined) return undefined
    const now = this.now()
    if (item.exptime !== 0 && item.exptime <= now) {
      if (countMiss) this.counters.get_expired++
      if (!item.fetched) this.counters.expired_unfetched++
      this.unlink(item)
      return undefined
    }
    if (this.isFlushed(item, now)) {
      if (countMiss) this.counters.get_flushed++
      this.unlink(item)
      return undefined
    }
    return item
  }

  /** Like lookup, without side effects on counters or LRU (expired items stay until touched). */
  peek(key: string): Item | undefined {
    const item = this.items.get(key)
    if (item === undefined) return undefined
    const now = this.now()
    if ((item.exptime !== 0 && item.exptime <= now) || this.isFlushed(item, now)) return undefined
    return item
  }

  bump(item: Item): void {
    item.time = this.now()
    this.items.delete(item.key)
    this.items.set(item.key, item)
  }

  unlink(item: Item): void {
    if (this.items.get(item.key) === item) {
      this.items.delete(item.key)
      this.counters.bytes -= item.size
      this.counters.curr_items--
    }
  }

  /** Links a new item under its key, replacing any old one and evicting LRU items to fit. */
  link(key: string, value: Buffer, flags: number, exptime: number): Item | undefined {
    const size = itemSize(key.length, value.length)
    const old = this.items.get(key)
    if (old !== undefined) this.unlink(old)
    if (size > this.maxBytes) {
      this.counters.store_no_memory++
      return undefined
    }
    const now = this.now()
    while (this.counters.bytes + size > this.maxBytes) {
      const first = this.items.values().next()
      if (first.done === true) break
      const victim = first.value
      if ((victim.exptime !== 0 && victim.exptime <= now) || this.isFlushed(victim, now)) {
        this.counters.reclaimed++
      } else {
        this.counters.evictions++
        if (!victim.fetched) this.counters.evicted_unfetched++
      }
      this.unlink(victim)
    }
    const item: Item = {
      key,
      value,
      flags,
      exptime,
      cas: this.nextCas(),
      time: now,
      size,
      stale: false,
      won: false,
      fetched: false,
      binaryKey: false
    }
    this.items.set(key, item)
    this.counters.bytes += size
    this.counters.curr_items++
    this.counters.total_items++
    return item
  }

  /** Executes a storage command; returns the reply line. */
  store(cmd: StoreCommand): Buffer {
    const c = this.counters
    if (cmd.tooLarge) {
      c.store_too_large++
      // memcached drops the old value of a `set` that failed this way, so no stale data survives.
      if (cmd.command === "set") {
        const old = this.items.get(cmd.key)
        if (old !== undefined) this.unlink(old)
      }
      return TOO_LARGE
    }
    c.cmd_set++
    return this.storeValue(cmd.command, cmd.key, cmd.flags, this.expiresAt(cmd.exptime), cmd.data, cmd.cas)
  }

  storeValue(command: StorageCommand, key: string, flags: number, exptime: number, data: Buffer, cas: bigint): Buffer {
    const c = this.counters
    const old = this.lookup(key, false)
    switch (command) {
      case "set":
        break
      case "add":
        if (old !== undefined) {
          this.bump(old)
          return Replies.NOT_STORED
        }
        break
      case "replace":
        if (old === undefined) return Replies.NOT_STORED
        break
      case "append":
      case "prepend": {
        if (old === undefined) return Replies.NOT_STORED
        const joined = command === "append" ? Buffer.concat([old.value, data]) : Buffer.concat([data, old.value])
        if (itemSize(key.length, joined.length) > this.maxItemSize) return OUT_OF_MEMORY
        return this.link(key, joined, old.flags, old.exptime) === undefined ? OUT_OF_MEMORY : Replies.STORED
      }
      case "cas":
        if (old === undefined) {
          c.cas_misses++
          return Replies.NOT_FOUND
        }
        if (old.cas !== cas) {
          c.cas_badval++
          return Replies.EXISTS
        }
        c.cas_hits++
        break
    }
    return this.link(key, data, flags, exptime) === undefined ? OUT_OF_MEMORY : Replies.STORED
  }

  /** incr/decr; returns the reply. */
  arithmetic(incr: boolean, key: string, delta: bigint): Buffer {
    const c = this.counters
    const item = this.lookup(key, false)
    if (item === undefined) {
      if (incr) c.incr_misses++
      else c.decr_misses++
      return Replies.NOT_FOUND
    }
    const value = item.value.length === 0 ? undefined : parseStoredNumber(item.value)
    if (value === undefined) return NON_NUMERIC
    let next: bigint
    if (incr) {
      next = (value + delta) & U64_MAX
      c.incr_hits++
    } else {
      next = delta > value ? 0n : value - delta
      c.decr_hits++
    }
    const text = next.toString()
    if (text.length <= item.value.length) {
      // memcached rewrites a shorter result in place, padded with spaces to the old length.
      const v = Buffer.alloc(item.value.length, 32)
      v.latin1Write(text, 0)
      item.value = v
      item.cas = this.nextCas()
      this.bump(item)
    } else {
      this.link(key, Buffer.from(text, "latin1"), item.flags, item.exptime)
    }
    return Buffer.from(text + "\r\n", "latin1")
  }

  touch(key: string, exptime: number): Item | undefined {
    const item = this.lookup(key, false)
    if (item === undefined) return undefined
    item.exptime = this.expiresAt(exptime)
    this.bump(item)
    item.fetched = true
    return item
  }

  delete(key: string): boolean {
    const item = this.lookup(key, false)
    if (item === undefined) {
      this.counters.delete_misses++
      return false
    }
    this.counters.delete_hits++
    this.unlink(item)
    return true
  }

  flushAll(delay: number): void {
    this.counters.cmd_flush++
    const now = this.now()
    if (delay > 0) {
      // Items last touched at or before the flush time become invalid once it has come.
      this.oldestLive = this.expiresAt(delay) - 1
    } else {
      this.oldestLive = now - 1
      this.oldestCas = this.casCounter + 1n
    }
  }

  clear(): void {
    this.items.clear()
    this.counters.bytes = 0
    this.counters.curr_items = 0
  }

  resetStats(): void {
    const keep = this.counters
    const fresh = emptyStats()
    fresh.curr_items = keep.curr_items
    fresh.bytes = keep.bytes
    fresh.curr_connections = keep.curr_connections
    Object.assign(keep, fresh)
  }

  generalStats(): Array<readonly [string, string | number | bigint]> {
    const c = this.counters
    const now = this.now()
    return [
      ["pid", process.pid],
      ["uptime", Math.floor((now - this.started) / 1000)],
      ["time", Math.floor(now / 1000)],
      ["version", VERSION],
      ["pointer_size", 64],
      ["max_connections", 1024],
      ["curr_connections", c.curr_connections],
      ["total_connections", c.total_connections],
      ["cmd_get", c.cmd_get],
      ["cmd_set", c.cmd_set],
      ["cmd_flush", c.cmd_flush],
      ["cmd_touch", c.cmd_touch],
      ["cmd_meta", c.cmd_meta],
      ["get_hits", c.get_hits],
      ["get_misses", c.get_misses],
      ["get_expired", c.get_expired],
      ["get_flushed", c.get_flushed],
      ["delete_misses", c.delete_misses],
      ["delete_hits", c.delete_hits],
      ["incr_misses", c.incr_misses],
      ["incr_hits", c.incr_hits],
      ["decr_misses", c.decr_misses],
      ["decr_hits", c.decr_hits],
      ["cas_misses", c.cas_misses],
      ["cas_hits", c.cas_hits],
      ["cas_badval", c.cas_badval],
      ["touch_hits", c.touch_hits],
      ["touch_misses", c.touch_misses],
      ["store_too_large", c.store_too_large],
      ["store_no_memory", c.store_no_memory],
      ["limit_maxbytes", this.maxBytes],
      ["threads", 1],
      ["bytes", c.bytes],
      ["curr_items", c.curr_items],
      ["total_items", c.total_items],
      ["expired_unfetched", c.expired_unfetched],
      ["evicted_unfetched", c.evicted_unfetched],
      ["evictions", c.evictions],
      ["reclaimed", c.reclaimed]
    ]
  }

  settingsStats(): Array<readonly [string, string | number | bigint]> {
    return [
      ["maxbytes", this.maxBytes],
      ["maxconns", 1024],
      ["verbosity", this.verbosity],
      ["evictions", "on"],
      ["num_threads", 1],
      ["cas_enabled", "yes"],
      ["item_size_max", this.maxItemSize],
      ["flush_enabled", "yes"]
    ]
  }
}

const TOO_LARGE = Buffer.from(ErrorLines.tooLarge + "\r\n")
const OUT_OF_MEMORY = Buffer.from(ErrorLines.outOfMemory + "\r\n")
const NON_NUMERIC = Buffer.from(ErrorLines.nonNumeric + "\r\n")
const INVALID_FLAG = "CLIENT_ERROR invalid flag"
const DUPLICATE_FLAG = "CLIENT_ERROR duplicate flag"
const INVALID_OR_DUP = "CLIENT_ERROR invalid or duplicate flag"
const OPAQUE_TOO_LONG = "CLIENT_ERROR opaque token too long"
const BAD_TOKEN = "CLIENT_ERROR bad token in command line format"
/** The flags each meta command accepts (memcached 1.6.18, plus `E` and `md x` of later releases). */
const META_FLAGS: Record<Exclude<MetaCommand["command"], "mn">, string> = {
  mg: "bcfhklOqstuvNRTE",
  ms: "bcCFIkOqsTMNE",
  md: "bCIkOqTEx",
  ma: "bCNJDTMqOtcvkE",
  me: "b"
}
/** memcached's default slab classes (-n 48, -f 1.25): the class an item of `size` bytes lands in. */
const slabClass = (size: number): number => {
  let chunk = 96
  let cls = 1
  while (size > chunk && cls < 63) {
    chunk = Math.ceil((chunk * 1.25) / 8) * 8
    cls++
  }
  return cls
}
type MemItem = Item
const invalidReplies = new Map<string, Buffer>()
const errorLine = (text: string): Buffer => {
  let b = invalidReplies.get(text)
  if (b === undefined) {
    b = Buffer.from(text + "\r\n", "latin1")
    invalidReplies.set(text, b)
  }
  return b
}

class SessionImpl implements Session {
  private readonly parser: CommandParser
  private readonly w = new ReplyWriter()
  constructor(private readonly engine: Engine) {
    this.parser = makeCommandParser({ maxItemSize: engine.maxItemSize })
  }

  receive(chunk: Uint8Array): { replies: Array<Buffer>; close: boolean } {
    const replies: Array<Buffer> = []
    let close = false
    for (const cmd of this.parser.push(chunk)) {
      if (cmd._tag === "Quit") {
        close = true
        break
      }
      if (cmd._tag === "Fatal") {
        if (cmd.reply !== undefined) replies.push(errorLine(cmd.reply))
        close = true
        break
      }
      const r = this.execute(cmd)
      if (r !== undefined) replies.push(r)
    }
    return { replies, close }
  }

  /** Executes one command; undefined = no reply (noreply). */
  execute(cmd: Exclude<Command, { _tag: "Quit" | "Fatal" }>): Buffer | undefined {
    const e = this.engine
    const c = e.counters
    switch (cmd._tag) {
      case "Get": {
        const w = this.w
        const touch = cmd.command === "gat" || cmd.command === "gats"
        const withCas = cmd.command === "gets" || cmd.command === "gats"
        for (const key of cmd.keys) {
          c.cmd_get++
          const item = touch ? e.touch(key, cmd.exptime) : e.lookup(key, true)
          if (item === undefined) {
            if (touch) {
              c.cmd_touch++
              c.touch_misses++
            } else c.get_misses++
            continue
          }
          if (touch) {
            c.cmd_touch++
            c.touch_hits++
          } else {
            c.get_hits++
            e.bump(item)
          }
          item.fetched = true
          w.value(key, item.flags, item.value, withCas ? item.cas : undefined)
        }
        w.raw(Replies.END)
        return w.take()
      }
      case "Store": {
        const r = e.store(cmd)
        return cmd.noreply ? undefined : r
      }
      case "Arithmetic": {
        const r = e.arithmetic(cmd.command === "incr", cmd.key, cmd.delta)
        return cmd.noreply ? undefined : r
      }
      case "Touch": {
        c.cmd_touch++
        const item = e.touch(cmd.key, cmd.exptime)
        if (item === undefined) c.touch_misses++
        else c.touch_hits++
        return cmd.noreply ? undefined : item === undefined ? Replies.NOT_FOUND : Replies.TOUCHED
      }
      case "Delete": {
        const ok = e.delete(cmd.key)
        return cmd.noreply ? undefined : ok ? Replies.DELETED : Replies.NOT_FOUND
      }
      case "FlushAll":
        e.flushAll(cmd.delay)
        return cmd.noreply ? undefined : Replies.OK
      case "Version":
        return VERSION_REPLY
      case "Verbosity":
        e.verbosity = cmd.level
        return cmd.noreply ? undefined : Replies.OK
      case "Stats":
        return this.stats(cmd.args)
      case "Meta":
        c.cmd_meta++
        return this.meta(cmd)
      case "Invalid":
        return cmd.noreply ? undefined : errorLine(cmd.reply)
    }
  }

  private stats(args: ReadonlyArray<string>): Buffer {
    const e = this.engine
    const w = this.w
    if (args.length === 0) {
      for (const [k, v] of e.generalStats()) w.stat(k, v)
    } else if (args[0] === "settings") {
      for (const [k, v] of e.settingsStats()) w.stat(k, v)
    } else if (args[0] === "reset") {
      e.resetStats()
      return Replies.RESET
    } else if (args[0] === "items" || args[0] === "slabs" || args[0] === "sizes" || args[0] === "conns") {
      // Nothing slab-shaped to report.
    } else if (args[0] === "detail") {
      return errorLine("CLIENT_ERROR usage: stats detail on|off|dump")
    } else {
      return Replies.ERROR
    }
    w.raw(Replies.END)
    return w.take()
  }

  /**
   * The meta protocol with memcached 1.6.18's semantics: mn; me; mg (b c f h k l O q s t u v N R T,
   * plus E); ms (b c C F I k O q s T M N, plus E); md (b C I k O q T, plus E x); ma (b C N J D T M q
   * O t c v k, plus E). Flags are evaluated left to right, return flags come back in request order,
   * then `Z`, `X`, `W`. Stale items, win tokens, vivify, invalidation and base64 keys included.
   * `E` (and `md x`, `ms N` with append) are accepted as memcached ≥ 1.6.21 does.
   */
  private meta(cmd: MetaCommand): Buffer | undefined {
    const e = this.engine
    const c = e.counters
    if (cmd.command === "mn") return Replies.MN
    const allowed = META_FLAGS[cmd.command]
    const dupError = cmd.command === "md" || cmd.command === "ma" ? INVALID_OR_DUP : DUPLICATE_FLAG
    const badFlag = cmd.command === "md" || cmd.command === "ma" ? INVALID_OR_DUP : INVALID_FLAG
    const seen = new Set<number>()
    let quiet = false
    let base64 = false
    let ttl: number | undefined
    let vivify: number | undefined
    let recache: number | undefined
    let newCas: bigint | undefined
    let compareCas: bigint | undefined
    let clientFlags = 0
    let invalidate = false
    let removeValue = false
    let mode = ""
    let delta = 1n
    let initial = 0n
    let opaqueTooLong = false
    for (const f of cmd.flags) {
      const ch = f.charCodeAt(0)
      if (!allowed.includes(f[0]!)) return errorLine(badFlag)
      if (seen.has(ch)) return errorLine(dupError)
      seen.add(ch)
      const arg = f.slice(1)
      switch (ch) {
        case 113: // q
          quiet = true
          break
        case 98: // b
          base64 = true
          break
        case 79: // O
          // memcached checks the length while writing the reply: only ms fails before acting.
          if (arg.length > 32) {
            if (cmd.command === "ms") return errorLine(OPAQUE_TOO_LONG)
            opaqueTooLong = true
          }
          break
        case 84: // T
        case 78: // N
        case 82: { // R
          const n = /^-?\d+$/.test(arg) ? Number(arg) : NaN
          if (!Number.isInteger(n) || n > 2147483647 || n < -2147483648) return errorLine(BAD_TOKEN)
          if (ch === 84) ttl = n
          else if (ch === 78) vivify = n
          else recache = n
          break
        }
        case 69: // E
        case 67: // C
        case 68: // D
        case 74: { // J
          if (!/^\d+$/.test(arg) || BigInt(arg) > U64_MAX) return errorLine(BAD_TOKEN)
          const v = BigInt(arg)
          if (ch === 69) newCas = v
          else if (ch === 67) compareCas = v
          else if (ch === 68) delta = v
          else initial = v
          break
        }
        case 70: // F
          if (!/^\d+$/.test(arg)) return errorLine(ErrorLines.badFormat)
          clientFlags = Number(BigInt(arg) & 0xffffffffn)
          break
        case 73: // I
          invalidate = true
          break
        case 120: // x
          removeValue = true
          break
        case 77: // M
          if (cmd.command === "ms" ? !/^[EAPRS]$/.test(arg) : !/^[ID+-]$/.test(arg)) {
            return errorLine(`CLIENT_ERROR invalid mode for ${cmd.command} M token`)
          }
          mode = arg
          break
      }
    }
    let key = cmd.key
    if (base64) {
      const decoded = decodeBase64Key(key)
      if (decoded === undefined || decoded.length > 250) return errorLine("CLIENT_ERROR error decoding key")
      key = decoded.latin1Slice(0, decoded.length)
    }
    /** `k`/`O` (and, for hits, the other return flags) in request order. */
    const keyToken = (binary: boolean): string =>
      binary ? " k" + Buffer.from(key, "latin1").toString("base64") + " b" : " k" + key
    const plain = (code: string, binary: boolean): Buffer => {
      let s = code
      for (const f of cmd.flags) {
        const ch = f.charCodeAt(0)
        if (ch === 79) s += " " + f
        else if (ch === 107) s += keyToken(binary)
      }
      return errorLine(s)
    }
    const ttlOf = (item: MemItem): number =>
      item.exptime === 0 ? -1 : Math.max(-1, Math.ceil((item.exptime - e.now()) / 1000))
    const casOf = (): bigint => (newCas !== undefined ? newCas : e.nextCas())

    switch (cmd.command) {
      case "me": {
        const item = e.lookup(key, false)
        if (item === undefined) return Replies.EN
        const now = e.now()
        const size = itemSize(item.key.length, item.value.length) + (item.flags !== 0 ? 4 : 0)
        const exp = item.exptime === 0 ? -1 : -Math.ceil((item.exptime - now) / 1000)
        const shown = item.binaryKey ? Buffer.from(item.key, "latin1").toString("base64") : item.key
        return errorLine(
          `ME ${shown} exp=${exp} la=${Math.floor((now - item.time) / 1000)} cas=${item.cas} fetch=${
            item.fetched ? "yes" : "no"
          } cls=${slabClass(size)} size=${size}`
        )
      }
      case "mg": {
        c.cmd_get++
        let item = e.lookup(key, true)
        let created = false
        if (item === undefined) {
          c.get_misses++
          if (opaqueTooLong) return errorLine(OPAQUE_TOO_LONG)
          if (vivify === undefined) return quiet ? undefined : plain("EN", base64)
          // Created without a TTL: the `N` flag sets it in request order (a `t` before it sees -1).
          item = e.link(key, EMPTY, 0, 0)
          if (item === undefined) return OUT_OF_MEMORY
          if (newCas !== undefined) item.cas = newCas
          created = true
        } else c.get_hits++
        if (opaqueTooLong) {
          if (!seen.has(117)) {
            e.bump(item)
            item.fetched = true
          }
          return errorLine(OPAQUE_TOO_LONG)
        }
        let won = created
        let value = false
        let ret = ""
        const now = e.now()
        for (const f of cmd.flags) {
          switch (f.charCodeAt(0)) {
            case 118: // v
              value = true
              break
            case 84: // T
              item.exptime = e.expiresAt(ttl!)
              c.cmd_touch++
              c.touch_hits++
              break
            case 78: // N
              if (created) item.exptime = e.expiresAt(vivify!)
              break
            case 82: // R
              if (!item.won && !created && item.exptime !== 0 && item.exptime < now + recache! * 1000) won = true
              break
            case 102: // f
              ret += " f" + item.flags
              break
            case 99: // c
              ret += " c" + item.cas
              break
            case 115: // s
              ret += " s" + item.value.length
              break
            case 116: // t
              ret += " t" + ttlOf(item)
              break
            case 104: // h
              ret += item.fetched ? " h1" : " h0"
              break
            case 108: // l
              ret += " l" + Math.max(0, Math.floor((now - item.time) / 1000))
              break
            case 79: // O
              ret += " " + f
              break
            case 107: // k
              ret += keyToken(item.binaryKey)
              break
          }
        }
        if (item.won) ret += " Z"
        if (item.stale) {
          ret += " X"
          if (!item.won) won = true
        }
        if (won) {
          ret += " W"
          item.won = true
        }
        if (!seen.has(117)) { // u
          e.bump(item)
          item.fetched = true
        }
        if (!value) return errorLine("HD" + ret)
        const w = this.w
        w.line(`VA ${item.value.length}${ret}`)
        w.raw(item.value)
        w.raw(CRLF)
        return w.take()
      }
      case "ms": {
        const data = cmd.data ?? EMPTY
        if (itemSize(key.length, data.length) > e.maxItemSize) {
          c.store_too_large++
          return TOO_LARGE
        }
        c.cmd_set++
        const exptime = e.expiresAt(ttl ?? 0)
        const old = e.lookup(key, false)
        let code: "HD" | "NS" | "EX" | "NF"
        let stored: MemItem | undefined
        const store = (value: Buffer, flags: number, exp: number, joined = false): void => {
          stored = e.link(key, value, flags, exp)
          if (stored !== undefined) {
            // An appended value is a fresh allocation in memcached: it loses the base64-key mark.
            stored.binaryKey = base64 && !joined
            if (newCas !== undefined) stored.cas = newCas
          }
        }
        const m = mode === "" ? "S" : mode
        const casMode = compareCas !== undefined && (m === "S" || m === "R")
        if (old === undefined) {
          if (casMode) {
            c.cas_misses++
            code = "NF"
          } else if (m === "S" || m === "E") {
            store(data, clientFlags, exptime)
            code = "HD"
          } else if ((m === "A" || m === "P") && vivify !== undefined) {
            store(data, clientFlags, e.expiresAt(vivify))
            code = "HD"
          } else code = "NS"
        } else if (m === "E") {
          e.bump(old)
          code = "NS"
        } else if (casMode) {
          if (old.cas === compareCas) {
            c.cas_hits++
            store(data, clientFlags, exptime)
            code = "HD"
          } else if (invalidate && compareCas !== 0n && compareCas! < old.cas) {
            // A stale value: keeps the old TTL, the stale mark and whether a token was handed out.
            const wasWon = old.won
            store(data, clientFlags, old.exptime)
            if (stored !== undefined) {
              stored.stale = true
              stored.won = wasWon
            }
            code = "HD"
          } else {
            c.cas_badval++
            code = "EX"
          }
        } else if (m === "A" || m === "P") {
          if (compareCas !== undefined && compareCas !== 0n && compareCas !== old.cas) code = "EX"
          else {
            const joined = m === "A" ? Buffer.concat([old.value, data]) : Buffer.concat([data, old.value])
            if (itemSize(key.length, joined.length) > e.maxItemSize) return OUT_OF_MEMORY
            store(joined, old.flags, old.exptime, true)
            code = "HD"
          }
        } else {
          store(data, clientFlags, exptime)
          code = "HD"
        }
        if (code === "HD" && stored === undefined) return OUT_OF_MEMORY
        if (quiet && code === "HD") return undefined
        let s: string = code
        for (const f of cmd.flags) {
          const ch = f.charCodeAt(0)
          if (ch === 79) s += " " + f
          else if (ch === 107) s += keyToken(base64)
          else if (ch === 99) s += " c" + (code === "HD" ? stored!.cas : 0n)
        }
        return errorLine(s)
      }
      case "md": {
        const item = e.lookup(key, false)
        let code: string
        if (item === undefined) {
          c.delete_misses++
          code = "NF"
        } else if (compareCas !== undefined && item.cas !== compareCas) {
          code = "EX"
        } else if (invalidate) {
          if (ttl !== undefined) item.exptime = e.expiresAt(ttl)
          item.stale = true
          item.won = false
          item.cas = casOf()
          code = "HD"
        } else if (removeValue) {
          item.value = EMPTY
          item.flags = 0
          item.cas = casOf()
          code = "HD"
        } else {
          c.delete_hits++
          e.unlink(item)
          code = "HD"
        }
        if (opaqueTooLong) return errorLine(OPAQUE_TOO_LONG)
        if (quiet && code === "HD") return undefined
        return plain(code, base64)
      }
      case "ma": {
        const incr = mode !== "D" && mode !== "-"
        let item = e.lookup(key, false)
        let created = false
        let number: string
        if (item === undefined) {
          if (incr) c.incr_misses++
          else c.decr_misses++
          if (vivify === undefined) return plain("NF", base64)
          number = initial.toString()
          item = e.link(key, Buffer.from(number, "latin1"), 0, 0)
          if (item === undefined) return OUT_OF_MEMORY
          if (newCas !== undefined) item.cas = newCas
          created = true
        } else {
          if (item.value.length === 0) return NON_NUMERIC
          // C0 means "no CAS" to incr/decr.
          if (compareCas !== undefined && compareCas !== 0n && item.cas !== compareCas) return plain("EX", base64)
          const r = e.arithmetic(incr, key, delta)
          if (r === NON_NUMERIC) return r
          if (r === Replies.NOT_FOUND) return plain("NF", base64)
          number = r.latin1Slice(0, r.length - 2)
          item = e.lookup(key, false)!
          if (newCas !== undefined) item.cas = newCas
        }
        let value = false
        let ret = ""
        for (const f of cmd.flags) {
          switch (f.charCodeAt(0)) {
            case 118: // v
              value = true
              break
            case 84: // T
              item.exptime = e.expiresAt(ttl!)
              break
            case 78: // N
              if (created) item.exptime = e.expiresAt(vivify!)
              break
            case 116: // t
              ret += " t" + ttlOf(item)
              break
            case 99: // c
              ret += " c" + item.cas
              break
            case 79: // O
              ret += " " + f
              break
            case 107: // k (ma echoes the key the way it was asked)
              ret += keyToken(base64)
              break
          }
        }
        if (opaqueTooLong) return errorLine(OPAQUE_TOO_LONG)
        if (quiet && !created) return undefined
        if (!value) return errorLine("HD" + ret)
        const w = this.w
        w.line(`VA ${number.length}${ret}`)
        w.line(number)
        return w.take()
      }
    }
  }
}

const CRLF = Buffer.from("\r\n")
const VERSION_REPLY = Buffer.from(`VERSION ${VERSION}\r\n`)

/** What a transport (duplex or socket) must offer to the connection driver. */
interface Transport {
  write(data: Buffer): void
  end(): void
  destroy(): void
}

interface FaultState {
  delay: number
  blackHole: boolean
  replies: Array<Buffer>
  refuse: boolean
}

/** Drives one connection: session, fault handling and in-order (possibly delayed) delivery. */
class Connection {
  private readonly session: SessionImpl
  private readonly queue: Array<{ data: Buffer | undefined; due: number }> = []
  private timer: NodeJS.Timeout | undefined = undefined
  private closing = false
  closed = false

  constructor(
    engine: Engine,
    private readonly faults: FaultState,
    private readonly transport: Transport,
    private readonly onClose: (c: Connection) => void
  ) {
    this.session = new SessionImpl(engine)
  }

  receive(chunk: Buffer): void {
    if (this.closed || this.closing) return
    if (this.faults.blackHole) return
    const { close, replies } = this.session.receive(chunk)
    const due = Date.now() + this.faults.delay
    let out: Array<Buffer> = replies
    if (this.faults.replies.length > 0 && replies.length > 0) {
      out = replies.slice()
      for (let i = 0; i < out.length && this.faults.replies.length > 0; i++) out[i] = this.faults.replies.shift()!
    }
    if (out.length > 0) {
      this.queue.push({ data: out.length === 1 ? out[0]! : Buffer.concat(out), due })
    }
    if (close) {
      this.closing = true
      this.queue.push({ data: undefined, due })
    }
    this.pump()
  }

  private pump(): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    const wait = Math.max(0, this.queue[0]!.due - Date.now())
    const run = (): void => {
      this.timer = undefined
      const now = Date.now()
      while (this.queue.length > 0 && this.queue[0]!.due <= now) {
        const next = this.queue.shift()!
        if (this.closed) return
        if (next.data === undefined) {
          this.transport.end()
          this.finish()
          return
        }
        this.transport.write(next.data)
      }
      this.pump()
    }
    // Always asynchronous, never inside the write that delivered the command.
    this.timer = wait === 0 ? (setImmediate(run) as unknown as NodeJS.Timeout) : setTimeout(run, wait)
    this.immediate = wait === 0
  }
  private immediate = false

  destroy(): void {
    if (this.closed) return
    this.transport.destroy()
    this.finish()
  }

  finish(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) {
      if (this.immediate) clearImmediate(this.timer as unknown as NodeJS.Immediate)
      else clearTimeout(this.timer)
      this.timer = undefined
    }
    this.queue.length = 0
    this.onClose(this)
  }
}

/**
 * Creates an in-memory memcached.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: MemoryServerOptions): MemoryServer => {
  const engine = new Engine(
    options?.now ?? Date.now,
    options?.maxBytes ?? 64 * 1024 * 1024,
    options?.maxItemSize ?? 1024 * 1024
  )
  const faultState: FaultState = { delay: 0, blackHole: false, replies: [], refuse: false }
  const connections = new Set<Connection>()
  let server: net.Server | undefined = undefined

  const track = (transport: Transport): Connection => {
    const conn = new Connection(engine, faultState, transport, (c) => {
      if (connections.delete(c)) engine.counters.curr_connections--
    })
    connections.add(conn)
    engine.counters.curr_connections++
    engine.counters.total_connections++
    return conn
  }

  const connect = (): Duplex => {
    let conn: Connection | undefined = undefined
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, callback) {
        conn?.receive(chunk)
        callback()
      },
      final(callback) {
        // The client half-closed: like memcached, close the connection.
        setImmediate(() => {
          duplex.push(null)
          conn?.finish()
        })
        callback()
      },
      destroy(err, callback) {
        conn?.finish()
        callback(err)
      }
    })
    if (faultState.refuse) {
      const err = Object.assign(new Error("connect ECONNREFUSED (memory server refuses connections)"), {
        code: "ECONNREFUSED"
      })
      setImmediate(() => duplex.destroy(err))
      return duplex
    }
    conn = track({
      write: (data) => {
        duplex.push(data)
      },
      end: () => {
        duplex.push(null)
        duplex.end()
      },
      destroy: () => {
        duplex.destroy()
      }
    })
    return duplex
  }

  const listen = (opts?: { readonly port?: number; readonly host?: string }) =>
    new Promise<{ port: number; host: string }>((resolve, reject) => {
      if (server !== undefined) {
        reject(new Error("already listening"))
        return
      }
      const host = opts?.host ?? "127.0.0.1"
      const s = net.createServer((socket) => {
        if (faultState.refuse) {
          socket.destroy()
          return
        }
        socket.setNoDelay(true)
        const conn = track({
          write: (data) => {
            socket.write(data)
          },
          end: () => {
            socket.end()
          },
          destroy: () => {
            socket.destroy()
          }
        })
        socket.on("data", (chunk: Buffer) => conn.receive(chunk))
        socket.on("end", () => {
          socket.end()
          conn.finish()
        })
        socket.on("close", () => conn.finish())
        socket.on("error", () => conn.finish())
      })
      s.once("error", reject)
      s.listen(opts?.port ?? 0, host, () => {
        s.off("error", reject)
        server = s
        const addr = s.address() as net.AddressInfo
        resolve({ port: addr.port, host })
      })
    })

  const dropConnections = (): void => {
    for (const c of [...connections]) c.destroy()
  }

  const close = () =>
    new Promise<void>((resolve) => {
      dropConnections()
      const s = server
      server = undefined
      if (s === undefined) resolve()
      else s.close(() => resolve())
    })

  const faults: Faults = {
    delay: (ms) => {
      faultState.delay = Math.max(0, ms)
    },
    blackHole: (on = true) => {
      faultState.blackHole = on
    },
    replyWith: (bytes) => {
      faultState.replies.push(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes))
    },
    dropConnections,
    refuseConnections: (on = true) => {
      faultState.refuse = on
    },
    reset: () => {
      faultState.delay = 0
      faultState.blackHole = false
      faultState.replies.length = 0
      faultState.refuse = false
    }
  }

  return {
    connect,
    listen,
    close,
    session: () => new SessionImpl(engine),
    faults,
    get size() {
      return engine.items.size
    },
    peek: (key) => engine.peek(key),
    stats: () => ({ ...engine.counters }),
    clear: () => engine.clear()
  }
}
