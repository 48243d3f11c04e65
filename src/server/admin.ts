/**
 * Admin commands with memcached 1.6.18's answers: `stats <sub>`, `cache_memlimit`, `slabs automove`,
 * `slabs reassign`, `lru_crawler …`, `lru …` and `shutdown`. The engine has no slab allocator or LRU
 * segments, so commands that tune them change only what `stats settings` reports.
 *
 * @since 0.2.0
 */
import { Replies, ReplyWriter } from "../protocol/server.js"
import type { ServerContext } from "./context.js"
import { line } from "./replyLine.js"
import * as Stats from "./stats.js"

const rows = (list: ReadonlyArray<readonly [string, string | number | bigint]>): Buffer => {
  const w = new ReplyWriter(list.length * 40 + 8)
  for (const [k, v] of list) w.stat(k, v)
  return w.raw(Replies.END).take()
}

/**
 * `stats [<sub> …]`.
 *
 * @since 0.2.0
 * @category commands
 */
export const stats = (ctx: ServerContext, args: ReadonlyArray<string>): Buffer => {
  if (args.length === 0) return rows(Stats.generalStats(ctx))
  switch (args[0]) {
    case "settings":
      return rows(Stats.settingsStats(ctx))
    case "reset":
      ctx.engine.resetStats()
      return Replies.RESET
    case "items":
      return rows(Stats.itemsStats(ctx))
    case "slabs":
      return rows(Stats.slabsStats(ctx))
    case "sizes":
      return rows([["sizes_status", "disabled"]])
    case "conns":
      return rows(Stats.connsStats(ctx))
    case "cachedump":
      return Stats.cachedump(ctx, args)
    case "detail":
      return detail(ctx, args[1])
  }
  return Replies.ERROR
}

const detail = (ctx: ServerContext, sub: string | undefined): Buffer => {
  switch (sub) {
    case "on":
    case "off":
      ctx.settings.detailEnabled = sub === "on"
      return Replies.OK
    case "dump":
      return Stats.detailDump(ctx)
  }
  return line("CLIENT_ERROR usage: stats detail on|off|dump")
}

/** safe_strtol: an optional sign and digits, within 32 bits. */
const int = (s: string | undefined): number | undefined => {
  if (s === undefined || !/^[+-]?\d{1,10}$/.test(s)) return undefined
  const n = Number(s)
  return n > 2147483647 || n < -2147483648 ? undefined : n
}

/** safe_strtoul: digits only, within 32 bits. */
const uint = (s: string | undefined): number | undefined => {
  if (s === undefined || !/^\+?\d{1,10}$/.test(s)) return undefined
  const n = Number(s)
  return n > 4294967295 ? undefined : n
}

/**
 * `cache_memlimit <megabytes>`: changes the memory limit (items beyond it are evicted by later stores).
 *
 * @since 0.2.0
 * @category commands
 */
export const cacheMemlimit = (ctx: ServerContext, args: ReadonlyArray<string>): Buffer => {
  const mb = args.length === 1 ? uint(args[0]) : undefined
  if (mb === undefined) return Replies.ERROR
  if (mb < 8) return line("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m")
  ctx.engine.maxBytes = mb * 1024 * 1024
  return Replies.OK
}

/**
 * `slabs automove 0|1|2`, `slabs reassign <src> <dst>`.
 *
 * @since 0.2.0
 * @category commands
 */
export const slabs = (ctx: ServerContext, args: ReadonlyArray<string>): Buffer => {
  if (args[0] === "automove" && args.length === 2) {
    const mode = uint(args[1])
    if (mode === undefined || mode > 2) return Replies.ERROR
    ctx.settings.slabAutomove = mode
    return Replies.OK
  }
  if (args[0] === "reassign" && args.length === 3) {
    const src = int(args[1])
    const dst = int(args[2])
    if (src === undefined || dst === undefined) return line("CLIENT_ERROR bad command line format")
    if (src === dst) return line("SAME src and dst class are identical")
    const max = Stats.SLAB_CLASSES.length
    // src -1 = "any class with a spare page": there never is one here.
    if (src < 0 || src > max || dst < 0 || dst > max) return line("BADCLASS invalid src or dst class id")
    // Every class here fits in fewer than two pages: nothing to move.
    return line("NOSPARE source class has no spare pages")
  }
  return Replies.ERROR
}

/**
 * `lru_crawler crawl|metadump|sleep|tocrawl|enable|disable …`.
 *
 * @since 0.2.0
 * @category commands
 */
export const lruCrawler = (ctx: ServerContext, args: ReadonlyArray<string>): Buffer => {
  const s = ctx.settings
  const classes = (list: string): boolean =>
    list === "all" || list.split(",").every((c) => {
      const n = int(c)
      return n !== undefined && n >= 1 && n <= Stats.SLAB_CLASSES.length
    })
  switch (args.length === 2 ? args[0] : args.length === 1 ? args[0] + "/" : "") {
    case "crawl":
      if (!s.lruCrawler) return line("CLIENT_ERROR lru crawler disabled")
      // Expired items are reclaimed when touched: a crawl has nothing left to do.
      return classes(args[1]!) ? Replies.OK : line("BADCLASS invalid class id")
    case "metadump":
      if (!s.lruCrawler) return line("CLIENT_ERROR lru crawler disabled")
      return Stats.metadump(ctx, args[1]!)
    case "sleep":
    case "tocrawl":
      return uint(args[1]) === undefined ? Replies.ERROR : Replies.OK
    case "enable/":
      if (s.lruCrawler) return line("ERROR failed to start lru crawler thread")
      s.lruCrawler = true
      return Replies.OK
    case "disable/":
      if (!s.lruCrawler) return line("ERROR failed to stop lru crawler thread")
      s.lruCrawler = false
      return Replies.OK
  }
  return Replies.ERROR
}

/**
 * `lru mode flat|segmented`, `lru tune <hot%> <warm%> <hot factor> <warm factor>`, `lru temp_ttl <s>`.
 *
 * @since 0.2.0
 * @category commands
 */
export const lru = (ctx: ServerContext, args: ReadonlyArray<string>): Buffer => {
  if (args[0] === "mode" && args.length === 2 && (args[1] === "flat" || args[1] === "segmented")) {
    ctx.settings.lruSegmented = args[1] === "segmented"
    return Replies.OK
  }
  if (args[0] === "tune" && args.length === 5) {
    const ok = uint(args[1]) !== undefined && uint(args[2]) !== undefined &&
      !Number.isNaN(Number(args[3])) && !Number.isNaN(Number(args[4]))
    return ok ? Replies.OK : Replies.ERROR
  }
  if (args[0] === "temp_ttl" && args.length === 2) return int(args[1]) === undefined ? Replies.ERROR : Replies.OK
  return Replies.ERROR
}

/**
 * `shutdown [graceful]`: `ERROR: shutdown not enabled` unless the server was made with
 * `enableShutdown` (memcached `-A`); then the connection closes without a reply and the server stops
 * (another mode: `CLIENT_ERROR invalid shutdown mode`).
 *
 * @since 0.2.0
 * @category commands
 */
export const shutdown = (
  ctx: ServerContext,
  args: ReadonlyArray<string>
): { readonly reply: Buffer | undefined; readonly close: boolean } => {
  if (!ctx.settings.shutdownEnabled) return { reply: line("ERROR: shutdown not enabled"), close: false }
  if (args.length > 1 || (args.length === 1 && args[0] !== "graceful")) {
    return { reply: line("CLIENT_ERROR invalid shutdown mode"), close: false }
  }
  ctx.shutdown()
  return { reply: undefined, close: true }
}
