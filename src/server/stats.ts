/**
 * The `stats` family with memcached 1.6.18's field sets: general stats, `settings`, `items`, `slabs`,
 * `sizes`, `conns`, `cachedump`, `detail`, and `lru_crawler metadump`. Slab classes are computed the
 * way memcached lays them out with its defaults (`-n 48 -f 1.25`, 1 MiB pages, 512 KiB largest chunk)
 * and items are assigned to them by their accounted size, so the per-class reports are plausible.
 *
 * @since 0.2.0
 */
import { ReplyWriter } from "../protocol/server.js"
import type { ConnectionInfo, ServerContext } from "./context.js"
import type { StoredItem } from "./engine.js"

/** One `STAT` row. */
type Row = readonly [string, string | number | bigint]

const PAGE = 1024 * 1024
const CHUNK_MAX = 512 * 1024

/**
 * memcached's slab class chunk sizes with `-n 48 -f 1.25` (class 1 = index 0): 96, 120, 152, … 524288.
 *
 * @since 0.2.0
 * @category constants
 */
export const SLAB_CLASSES: ReadonlyArray<number> = (() => {
  const sizes: Array<number> = []
  let size = 96
  while (size <= CHUNK_MAX / 1.25) {
    sizes.push(size)
    size = Math.floor(size * 1.25)
    // CHUNK_ALIGN_BYTES: 8
    if (size % 8 !== 0) size += 8 - (size % 8)
  }
  sizes.push(CHUNK_MAX)
  return sizes
})()

/**
 * The slab class (1-based) an item of `size` accounted bytes is stored in; larger items are chunked
 * into the largest class.
 *
 * @since 0.2.0
 * @category constructors
 */
export const slabClass = (size: number): number => {
  for (let i = 0; i < SLAB_CLASSES.length; i++) if (size <= SLAB_CLASSES[i]!) return i + 1
  return SLAB_CLASSES.length
}

const perSlab = (cls: number): number => Math.floor(PAGE / SLAB_CLASSES[cls - 1]!)

/** Live (not expired, not flushed) items grouped by class, most recently used first. */
const byClass = (ctx: ServerContext): Map<number, Array<StoredItem>> => {
  const e = ctx.engine
  const out = new Map<number, Array<StoredItem>>()
  const items = [...e.items.values()].reverse()
  for (const item of items) {
    if (e.peek(item.key) !== item) continue
    const cls = slabClass(item.size)
    let list = out.get(cls)
    if (list === undefined) out.set(cls, list = [])
    list.push(item)
  }
  return new Map([...out.entries()].sort((a, b) => a[0] - b[0]))
}

const seconds = (ms: number): number => Math.floor(ms / 1000)

const rusage = (micros: number): string => `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`

/**
 * General `stats`: every field memcached 1.6.18 prints, in its order.
 *
 * @since 0.2.0
 * @category encoders
 */
export const generalStats = (ctx: ServerContext): Array<Row> => {
  const e = ctx.engine
  e.settle()
  const c = e.counters
  const now = e.now()
  const cpu = process.cpuUsage()
  const conns = ctx.connections().length
  const listeners = ctx.listeners().length
  return [
    ["pid", process.pid],
    ["uptime", seconds(now - e.started)],
    ["time", seconds(now)],
    ["version", ctx.settings.version],
    ["libevent", "node"],
    ["pointer_size", 64],
    ["rusage_user", rusage(cpu.user)],
    ["rusage_system", rusage(cpu.system)],
    ["max_connections", 1024],
    ["curr_connections", c.curr_connections],
    ["total_connections", c.total_connections],
    ["rejected_connections", c.rejected_connections],
    ["connection_structures", conns + listeners],
    ["response_obj_oom", 0],
    ["response_obj_count", 1],
    ["response_obj_bytes", 16384],
    ["read_buf_count", Math.max(1, conns)],
    ["read_buf_bytes", Math.max(1, conns) * 16384],
    ["read_buf_bytes_free", 0],
    ["read_buf_oom", 0],
    ["reserved_fds", 5],
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
    ["auth_cmds", c.auth_cmds],
    ["auth_errors", c.auth_errors],
    ["bytes_read", c.bytes_read],
    ["bytes_written", c.bytes_written],
    ["limit_maxbytes", e.maxBytes],
    ["accepting_conns", 1],
    ["listen_disabled_num", 0],
    ["time_in_listen_disabled_us", 0],
    ["threads", 1],
    ["conn_yields", 0],
    ["hash_power_level", 16],
    ["hash_bytes", 524288],
    ["hash_is_expanding", 0],
    ...slabReassignRows,
    ["lru_crawler_running", 0],
    ["lru_crawler_starts", 0],
    ["lru_maintainer_juggles", 0],
    ["malloc_fails", 0],
    ["log_worker_dropped", 0],
    ["log_worker_written", 0],
    ["log_watcher_skipped", 0],
    ["log_watcher_sent", 0],
    ["log_watchers", 0],
    ["unexpected_napi_ids", 0],
    ["round_robin_fallback", 0],
    ["bytes", c.bytes],
    ["curr_items", c.curr_items],
    ["total_items", c.total_items],
    ["slab_global_page_pool", 0],
    ["expired_unfetched", c.expired_unfetched],
    ["evicted_unfetched", c.evicted_unfetched],
    ["evicted_active", 0],
    ["evictions", c.evictions],
    ["reclaimed", c.reclaimed],
    ["crawler_reclaimed", 0],
    ["crawler_items_checked", 0],
    ["lrutail_reflocked", 0],
    ["moves_to_cold", 0],
    ["moves_to_warm", 0],
    ["moves_within_lru", 0],
    ["direct_reclaims", 0],
    ["lru_bumps_dropped", 0]
  ]
}

const slabReassignRows: ReadonlyArray<Row> = [
  "slab_reassign_rescues",
  "slab_reassign_chunk_rescues",
  "slab_reassign_evictions_nomem",
  "slab_reassign_inline_reclaim",
  "slab_reassign_busy_items",
  "slab_reassign_busy_deletes",
  "slab_reassign_running",
  "slabs_moved"
].map((name) => [name, 0] as const)

/**
 * `stats settings`: every field memcached 1.6.18 prints, in its order.
 *
 * @since 0.2.0
 * @category encoders
 */
export const settingsStats = (ctx: ServerContext): Array<Row> => {
  const e = ctx.engine
  const s = ctx.settings
  const listeners = ctx.listeners()
  const tcp = listeners.find((l) => l.kind !== "unix")
  const unix = listeners.find((l) => l.kind === "unix")
  const tls = listeners.some((l) => l.kind === "tls")
  const yn = (b: boolean): string => (b ? "yes" : "no")
  return [
    ["maxbytes", e.maxBytes],
    ["maxconns", 1024],
    ["tcpport", tcp?.port ?? 0],
    ["udpport", 0],
    ["inter", tcp?.host ?? "NULL"],
    ["verbosity", e.verbosity],
    ["oldest", 0],
    ["evictions", "on"],
    ["domain_socket", unix?.path ?? "NULL"],
    ["umask", 700],
    ["shutdown_command", yn(s.shutdownEnabled)],
    ["growth_factor", "1.25"],
    ["chunk_size", 48],
    ["num_threads", 1],
    ["num_threads_per_udp", 1],
    ["stat_key_prefix", ":"],
    ["detail_enabled", yn(s.detailEnabled)],
    ["reqs_per_event", 20],
    ["cas_enabled", "yes"],
    ["tcp_backlog", 1024],
    ["binding_protocol", "ascii"],
    ["auth_enabled_sasl", "no"],
    ["auth_enabled_ascii", yn(s.auth !== undefined)],
    ["item_size_max", e.maxItemSize],
    ["maxconns_fast", "yes"],
    ["hashpower_init", 0],
    ["slab_reassign", "yes"],
    ["slab_automove", s.slabAutomove],
    ["slab_automove_ratio", "0.80"],
    ["slab_automove_window", 30],
    ["slab_chunk_max", CHUNK_MAX],
    ["lru_crawler", yn(s.lruCrawler)],
    ["lru_crawler_sleep", 100],
    ["lru_crawler_tocrawl", 0],
    ["tail_repair_time", 0],
    ["flush_enabled", "yes"],
    ["dump_enabled", "yes"],
    ["hash_algorithm", "murmur3"],
    ["lru_maintainer_thread", "yes"],
    ["lru_segmented", yn(s.lruSegmented)],
    ["hot_lru_pct", 20],
    ["warm_lru_pct", 40],
    ["hot_max_factor", "0.20"],
    ["warm_max_factor", "2.00"],
    ["temp_lru", "no"],
    ["temporary_ttl", 61],
    ["idle_timeout", 0],
    ["watcher_logbuf_size", 262144],
    ["worker_logbuf_size", 65536],
    ["read_buf_mem_limit", 0],
    ["track_sizes", "no"],
    ["inline_ascii_response", "no"],
    ["ext_item_size", 512],
    ["ext_item_age", 4294967295],
    ["ext_low_ttl", 0],
    ["ext_recache_rate", 2000],
    ["ext_wbuf_size", 4194304],
    ["ext_compact_under", 0],
    ["ext_drop_under", 0],
    ["ext_max_sleep", 1000000],
    ["ext_max_frag", "0.80"],
    ["slab_automove_freeratio", "0.010"],
    ["ext_drop_unread", "no"],
    ["ssl_enabled", yn(tls)],
    ["ssl_chain_cert", "(null)"],
    ["ssl_key", "(null)"],
    ["ssl_verify_mode", 0],
    ["ssl_keyformat", 1],
    ["ssl_ciphers", "NULL"],
    ["ssl_ca_cert", "NULL"],
    ["ssl_wbuf_size", 16384],
    ["ssl_session_cache", "no"],
    ["ssl_kernel_tls", "no"],
    ["ssl_min_version", "tlsv1.2"],
    ["num_napi_ids", "(null)"],
    ["memory_file", "(null)"]
  ]
}

/**
 * `stats items`: per slab class holding items, memcached's 28 fields. Segments are not modelled:
 * every item counts as cold.
 *
 * @since 0.2.0
 * @category encoders
 */
export const itemsStats = (ctx: ServerContext): Array<Row> => {
  const now = ctx.engine.now()
  const rows: Array<Row> = []
  for (const [cls, items] of byClass(ctx)) {
    const oldest = items[items.length - 1]!
    const requested = items.reduce((n, i) => n + i.size, 0)
    const p = `items:${cls}:`
    rows.push(
      [p + "number", items.length],
      [p + "number_hot", 0],
      [p + "number_warm", 0],
      [p + "number_cold", items.length],
      [p + "age_hot", 0],
      [p + "age_warm", 0],
      [p + "age", seconds(now - oldest.time)],
      [p + "mem_requested", requested]
    )
    for (
      const name of [
        "evicted",
        "evicted_nonzero",
        "evicted_time",
        "outofmemory",
        "tailrepairs",
        "reclaimed",
        "expired_unfetched",
        "evicted_unfetched",
        "evicted_active",
        "crawler_reclaimed",
        "crawler_items_checked",
        "lrutail_reflocked",
        "moves_to_cold",
        "moves_to_warm",
        "moves_within_lru",
        "direct_reclaims",
        "hits_to_hot",
        "hits_to_warm",
        "hits_to_cold",
        "hits_to_temp"
      ]
    ) rows.push([p + name, 0])
  }
  return rows
}

/**
 * `stats slabs`: per class with pages, memcached's 15 fields, then `active_slabs` and `total_malloced`.
 *
 * @since 0.2.0
 * @category encoders
 */
export const slabsStats = (ctx: ServerContext): Array<Row> => {
  const rows: Array<Row> = []
  let pagesTotal = 0
  const classes = byClass(ctx)
  for (const [cls, items] of classes) {
    const per = perSlab(cls)
    // Chunked items (larger than the largest chunk) take several chunks.
    const used = items.reduce((n, i) => n + Math.max(1, Math.ceil(i.size / SLAB_CLASSES[cls - 1]!)), 0)
    const pages = Math.max(1, Math.ceil(used / per))
    pagesTotal += pages
    const p = `${cls}:`
    rows.push(
      [p + "chunk_size", SLAB_CLASSES[cls - 1]!],
      [p + "chunks_per_page", per],
      [p + "total_pages", pages],
      [p + "total_chunks", pages * per],
      [p + "used_chunks", used],
      [p + "free_chunks", pages * per - used],
      [p + "free_chunks_end", 0]
    )
    for (
      const name of [
        "get_hits",
        "cmd_set",
        "delete_hits",
        "incr_hits",
        "decr_hits",
        "cas_hits",
        "cas_badval",
        "touch_hits"
      ]
    ) {
      rows.push([p + name, 0])
    }
  }
  rows.push(["active_slabs", classes.size], ["total_malloced", pagesTotal * PAGE])
  return rows
}

/**
 * `stats conns`: the listeners (`conn_listening`), then every client connection.
 *
 * @since 0.2.0
 * @category encoders
 */
export const connsStats = (ctx: ServerContext): Array<Row> => {
  const now = ctx.engine.now()
  const rows: Array<Row> = []
  for (const l of ctx.listeners()) {
    const addr = l.kind === "unix" ? `unix:${l.path}` : `tcp:${l.host}:${l.port}`
    rows.push([`${l.id}:addr`, addr], [`${l.id}:state`, "conn_listening"], [`${l.id}:secs_since_last_cmd`, 0])
  }
  for (const c of ctx.connections()) rows.push(...connRows(c, now))
  return rows
}

const connRows = (c: ConnectionInfo, now: number): Array<Row> => {
  const rows: Array<Row> = [[`${c.id}:addr`, c.addr]]
  if (c.listenAddr !== undefined) rows.push([`${c.id}:listen_addr`, c.listenAddr])
  rows.push([`${c.id}:state`, "conn_parse_cmd"], [`${c.id}:secs_since_last_cmd`, seconds(now - c.lastCommand)])
  return rows
}

/**
 * `stats cachedump <class> <limit>`: `ITEM <key> [<bytes> b; <exptime> s]` lines, most recent first,
 * `limit` 0 = all; the exptime is absolute Unix seconds, 0 for none. Undefined = the arguments are
 * invalid (the caller answers memcached's error line).
 *
 * @since 0.2.0
 * @category encoders
 */
export const cachedump = (ctx: ServerContext, args: ReadonlyArray<string>): Buffer => {
  const w = new ReplyWriter()
  if (args.length !== 3) return w.line("CLIENT_ERROR bad command line").take()
  const cls = /^\d{1,9}$/.test(args[1]!) ? Number(args[1]) : NaN
  const limit = /^\d{1,9}$/.test(args[2]!) ? Number(args[2]) : NaN
  if (Number.isNaN(cls) || Number.isNaN(limit)) return w.line("CLIENT_ERROR bad command line format").take()
  if (cls < 1 || cls > SLAB_CLASSES.length) return w.line("CLIENT_ERROR Illegal slab id").take()
  const items = byClass(ctx).get(cls) ?? []
  const shown = limit === 0 ? items : items.slice(0, limit)
  for (const item of shown) {
    w.line(`ITEM ${item.key} [${item.value.length} b; ${item.exptime === 0 ? 0 : seconds(item.exptime)} s]`)
  }
  return w.line("END").take()
}

/**
 * `stats detail dump`: `PREFIX <prefix> get <n> hit <n> set <n> del <n>` lines and `END`.
 *
 * @since 0.2.0
 * @category encoders
 */
export const detailDump = (ctx: ServerContext): Buffer => {
  const w = new ReplyWriter()
  for (const [prefix, p] of ctx.prefixes) w.line(`PREFIX ${prefix} get ${p.get} hit ${p.hit} set ${p.set} del ${p.del}`)
  return w.line("END").take()
}

/** memcached's uriencode of keys in metadump: unreserved characters stay, the rest is %XX. */
const uriEncode = (key: string): string => {
  let out = ""
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i)
    const keep = (ch >= 48 && ch <= 57) || (ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || ch === 45 ||
      ch === 46 || ch === 95 || ch === 126
    out += keep ? key[i] : "%" + ch.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

/**
 * `lru_crawler metadump all|hash|<class>[,<class>…]`: one `key=… exp=… la=… cas=… fetch=… cls=… size=…`
 * line per item (LF-terminated, as memcached writes them), then `END`.
 *
 * @since 0.2.0
 * @category encoders
 */
export const metadump = (ctx: ServerContext, which: string): Buffer => {
  const w = new ReplyWriter()
  const classes = byClass(ctx)
  let wanted: Set<number> | undefined
  if (which !== "all" && which !== "hash") {
    wanted = new Set(which.split(",").map(Number))
    for (const cls of wanted) {
      if (!Number.isInteger(cls) || cls < 1 || cls > SLAB_CLASSES.length) {
        return w.line("BADCLASS invalid class id").take()
      }
    }
  }
  let text = ""
  for (const [cls, items] of classes) {
    if (wanted !== undefined && !wanted.has(cls)) continue
    for (const i of items) {
      text += `key=${uriEncode(i.key)} exp=${i.exptime === 0 ? -1 : seconds(i.exptime)} la=${
        seconds(i.time)
      } cas=${i.cas} fetch=${i.fetched ? "yes" : "no"} cls=${cls} size=${i.size}\n`
    }
  }
  return w.raw(Buffer.from(text, "latin1")).line("END").take()
}
