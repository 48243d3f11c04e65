/**
 * The storage engine of the in-memory memcached: items, LRU order, memory accounting, expiry, CAS,
 * flush and the counters `stats` reports. Protocol-free: sessions turn commands into calls here.
 *
 * @since 0.2.0
 */
import type { StorageCommand } from "../protocol/client.js"
import { ErrorLines, itemSize, Replies, type StoreCommand } from "../protocol/server.js"
import { U64_MAX } from "../protocol/bytes.js"

/**
 * An entry of the in-memory server's store (the client's read result is `MemcachedClient.Item`). Times
 * are milliseconds of the injected clock. The meta-protocol fields are kept
 * so that `mg`/`ms` state (stale items, win tokens, fetched flags) has a home.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredItem {
  readonly key: string
  value: Buffer
  flags: number
  /** Absolute expiry in ms; 0 = never. */
  exptime: number
  cas: bigint
  /** Last access (store, fetch, touch) in ms. */
  time: number
  /** Bytes accounted against `maxBytes` (memcached's ITEM_ntotal). */
  size: number
  /** Set by a meta invalidation (`md I`, `mg` recache). */
  stale: boolean
  /** A client has been handed the win token for this item. */
  won: boolean
  /** Fetched at least once since stored. */
  fetched: boolean
  /** Stored or created through a base64 key (`b`): meta replies return its key base64 encoded. */
  binaryKey: boolean
  /** Invalidated by `flush_all` and no longer counted in `curr_items`/`bytes`; unlinked when touched. */
  flushed: boolean
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
  rejected_connections: number
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
  auth_cmds: number
  auth_errors: number
  bytes_read: number
  bytes_written: number
  evictions: number
  expired_unfetched: number
  evicted_unfetched: number
  reclaimed: number
}

/**
 * Fresh counters, all zero.
 *
 * @since 0.2.0
 * @category constructors
 */
export const emptyStats = (): Stats => ({
  curr_items: 0,
  total_items: 0,
  bytes: 0,
  curr_connections: 0,
  total_connections: 0,
  rejected_connections: 0,
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
  auth_cmds: 0,
  auth_errors: 0,
  bytes_read: 0,
  bytes_written: 0,
  evictions: 0,
  expired_unfetched: 0,
  evicted_unfetched: 0,
  reclaimed: 0
})

const RELATIVE_LIMIT = 60 * 60 * 24 * 30

/**
 * The bytes memcached accounts for an item (ITEM_ntotal): header, CAS, key + NUL, value + CRLF, and
 * 4 bytes more when the client flags are not 0.
 *
 * @since 0.2.0
 * @category constructors
 */
export const itemTotal = (keyLength: number, valueLength: number, flags: number): number =>
  itemSize(keyLength, valueLength) + (flags !== 0 ? 4 : 0)

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
 * The outcome of a delta applied to a counter: the new value's text, and the item memcached's
 * `do_add_delta` hands back. When the result was written in place that is the stored item; when it
 * did not fit (a longer number) memcached wrote a fresh item and hands back the OLD, unlinked one
 * (with the new CAS copied onto it) — so a meta `T` applied to it afterwards is lost, and `t` reports it.
 *
 * @since 0.2.0
 * @category models
 */
export interface DeltaResult {
  readonly text: string
  readonly returned: StoredItem
}

const TOO_LARGE = Buffer.from(ErrorLines.tooLarge + "\r\n")
const OUT_OF_MEMORY = Buffer.from(ErrorLines.outOfMemory + "\r\n")
const NON_NUMERIC = Buffer.from(ErrorLines.nonNumeric + "\r\n")

/**
 * Shared reply lines of the engine (CRLF included).
 *
 * @since 0.2.0
 * @category constants
 */
export const EngineReplies = { TOO_LARGE, OUT_OF_MEMORY, NON_NUMERIC } as const

/**
 * The storage engine: items, LRU, memory accounting, CAS, flush, counters.
 *
 * @since 0.1.0
 * @category models
 */
export class Engine {
  /** Insertion order of the Map is the LRU order: first = least recently used. */
  readonly items = new Map<string, StoredItem>()
  readonly counters: Stats = emptyStats()
  readonly started: number
  private casCounter = 0n
  private oldestLive = 0
  /** A delayed flush not yet settled (its items still counted): the time it takes effect, or 0. */
  private flushAt = 0
  verbosity = 0

  constructor(
    readonly now: () => number,
    /** The memory limit; `cache_memlimit` changes it. */
    public maxBytes: number,
    readonly maxItemSize: number
  ) {
    this.started = now()
  }

  /** The next CAS unique. */
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

  private isFlushed(item: StoredItem, now: number): boolean {
    if (item.flushed) return true
    const live = this.oldestLive
    return live !== 0 && live <= now && item.time <= live
  }

  private isDead(item: StoredItem, now: number): boolean {
    return (item.exptime !== 0 && item.exptime <= now) || this.isFlushed(item, now)
  }

  /** The live item under `key`; expired or flushed items are unlinked. Counts get_expired/flushed if asked. */
  lookup(key: string, countMiss: boolean): StoredItem | undefined {
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
  peek(key: string): StoredItem | undefined {
    const item = this.items.get(key)
    if (item === undefined || this.isDead(item, this.now())) return undefined
    return item
  }

  /** Moves `item` to the most recently used end and stamps its access time. */
  bump(item: StoredItem): void {
    item.time = this.now()
    this.items.delete(item.key)
    this.items.set(item.key, item)
  }

  /** Removes `item` (if it is still the one linked under its key) and its accounting. */
  unlink(item: StoredItem): void {
    if (this.items.get(item.key) === item) {
      this.items.delete(item.key)
      if (!item.flushed) {
        this.counters.bytes -= item.size
        this.counters.curr_items--
      }
    }
  }

  /** Links a new item under its key, replacing any old one and evicting LRU items to fit. */
  link(key: string, value: Buffer, flags: number, exptime: number): StoredItem | undefined {
    const size = itemTotal(key.length, value.length, flags)
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
      if (this.isDead(victim, now)) {
        if (!victim.flushed) this.counters.reclaimed++
      } else {
        this.counters.evictions++
        if (!victim.fetched) this.counters.evicted_unfetched++
      }
      this.unlink(victim)
    }
    const item: StoredItem = {
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
      binaryKey: false,
      flushed: false
    }
    this.items.set(key, item)
    this.counters.bytes += size
    this.counters.curr_items++
    this.counters.total_items++
    return item
  }

  /** Executes a text storage command; returns the reply line. */
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

  /** set/add/replace/append/prepend/cas semantics; returns the text reply line. */
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

  /**
   * Applies a delta to a live counter (memcached's do_add_delta). Returns undefined when the value is
   * not a number. Counts incr/decr hits.
   */
  applyDelta(item: StoredItem, incr: boolean, delta: bigint): DeltaResult | undefined {
    const value = item.value.length === 0 ? undefined : parseStoredNumber(item.value)
    if (value === undefined) return undefined
    let next: bigint
    if (incr) {
      next = (value + delta) & U64_MAX
      this.counters.incr_hits++
    } else {
      next = delta > value ? 0n : value - delta
      this.counters.decr_hits++
    }
    const text = next.toString()
    if (text.length <= item.value.length) {
      // memcached rewrites a shorter result in place, padded with spaces to the old length.
      const v = Buffer.alloc(item.value.length, 32)
      v.latin1Write(text, 0)
      item.value = v
      item.cas = this.nextCas()
      this.bump(item)
      return { text, returned: item }
    }
    // A fresh item (never fetched, same flags and expiry); the old one gets its CAS and is handed back.
    const fresh = this.link(item.key, Buffer.from(text, "latin1"), item.flags, item.exptime)
    if (fresh !== undefined) item.cas = fresh.cas
    return { text, returned: item }
  }

  /** Text incr/decr; returns the reply. */
  arithmetic(incr: boolean, key: string, delta: bigint): Buffer {
    const item = this.lookup(key, false)
    if (item === undefined) {
      if (incr) this.counters.incr_misses++
      else this.counters.decr_misses++
      return Replies.NOT_FOUND
    }
    const r = this.applyDelta(item, incr, delta)
    return r === undefined ? NON_NUMERIC : Buffer.from(r.text + "\r\n", "latin1")
  }

  /** Sets a new expiry on a live item (touch, gat); the item counts as fetched. */
  touch(key: string, exptime: number): StoredItem | undefined {
    const item = this.lookup(key, false)
    if (item === undefined) return undefined
    item.exptime = this.expiresAt(exptime)
    this.bump(item)
    item.fetched = true
    return item
  }

  /** Text delete; counts hits and misses. */
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

  /**
   * flush_all. Immediately flushed items leave `curr_items` and `bytes` at once (memcached's LRU
   * maintainer reclaims them within a fraction of a second); they stay linked only so that a later
   * fetch counts `get_flushed` as memcached's does. A delayed flush is settled the same way once due.
   */
  flushAll(delay: number): void {
    this.counters.cmd_flush++
    const now = this.now()
    if (delay > 0) {
      // Items last touched at or before the flush time become invalid once it has come.
      this.oldestLive = this.expiresAt(delay) - 1
      this.flushAt = this.oldestLive
      return
    }
    this.oldestLive = now - 1
    this.flushAt = 0
    this.markFlushed(() => true)
  }

  /** Settles a delayed flush whose time has come (called before counters are read). */
  settle(): void {
    if (this.flushAt === 0 || this.flushAt > this.now()) return
    const live = this.flushAt
    this.flushAt = 0
    this.markFlushed((item) => item.time <= live)
  }

  private markFlushed(hit: (item: StoredItem) => boolean): void {
    for (const item of this.items.values()) {
      if (item.flushed) {
        // Flushed by an earlier flush and never touched since: nothing can observe it any more.
        this.items.delete(item.key)
      } else if (hit(item)) {
        item.flushed = true
        this.counters.bytes -= item.size
        this.counters.curr_items--
      }
    }
  }

  /** Removes every item (no counter effect besides curr_items/bytes). */
  clear(): void {
    this.items.clear()
    this.counters.bytes = 0
    this.counters.curr_items = 0
  }

  /** `stats reset`: zeroes the counters that are not gauges. */
  resetStats(): void {
    const keep = this.counters
    const fresh = emptyStats()
    fresh.curr_items = keep.curr_items
    fresh.bytes = keep.bytes
    fresh.curr_connections = keep.curr_connections
    Object.assign(keep, fresh)
  }
}
