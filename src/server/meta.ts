/**
 * The meta commands with memcached's semantics: `mn`, `me`, `mg`, `ms`, `md`, `ma`. Each takes flags
 * already validated by {@link parseMetaFlags}. Flags are evaluated left to right, return flags come
 * back in request order, then `Z`, `X`, `W`. Stale items, win tokens, vivify, invalidation and base64
 * keys included. In the `"newest"` emulation `E`, `md x` and `ms` `N` with append/prepend behave as in
 * current releases; in `"1.6.18"` the first two are rejected and `ms` ignores `N`.
 *
 * @since 0.2.0
 */
import { EMPTY } from "../protocol/bytes.js"
import { decodeBase64Key } from "../protocol/meta.js"
import { type MetaCommand, Replies, ReplyWriter } from "../protocol/server.js"
import type { ServerContext } from "./context.js"
import { type Engine, EngineReplies, type StoredItem, itemTotal } from "./engine.js"
import { type MetaFlags, OPAQUE_TOO_LONG, parseMetaFlags } from "./metaFlags.js"
import { line } from "./replyLine.js"
import { slabClass } from "./stats.js"

const { NON_NUMERIC, OUT_OF_MEMORY, TOO_LARGE } = EngineReplies

/** One meta request: the decoded key and its flags. */
interface Request {
  readonly e: Engine
  readonly ctx: ServerContext
  readonly key: string
  readonly f: MetaFlags
  readonly w: ReplyWriter
}

/** ` k<key>` as the reply carries it: base64 (with ` b`) when the key came that way. */
const keyToken = (r: Request, binary: boolean): string =>
  binary ? " k" + Buffer.from(r.key, "latin1").toString("base64") + " b" : " k" + r.key

/** A status line with only the `O` and `k` return flags. */
const plain = (r: Request, code: string, binary: boolean): Buffer => {
  let s = code
  for (const t of r.f.tokens) {
    if (t[0] === "O") s += " " + t
    else if (t[0] === "k") s += keyToken(r, binary)
  }
  return line(s)
}

const ttlOf = (e: Engine, item: StoredItem): number =>
  item.exptime === 0 ? -1 : Math.max(-1, Math.ceil((item.exptime - e.now()) / 1000))

/**
 * Executes one meta command; undefined = no reply (quiet mode).
 *
 * @since 0.2.0
 * @category commands
 */
export const meta = (ctx: ServerContext, cmd: MetaCommand, w: ReplyWriter): Buffer | undefined => {
  if (cmd.command === "mn") return Replies.MN
  const f = parseMetaFlags(cmd, ctx.settings.emulate)
  if (typeof f === "string") return line(f)
  let key = cmd.key
  if (f.base64) {
    const decoded = decodeBase64Key(key)
    if (decoded === undefined || decoded.length > 250) return line("CLIENT_ERROR error decoding key")
    key = decoded.latin1Slice(0, decoded.length)
  }
  const r: Request = { e: ctx.engine, ctx, key, f, w }
  switch (cmd.command) {
    case "me":
      return me(r)
    case "mg":
      return mg(r)
    case "ms":
      return ms(r, cmd.data ?? EMPTY)
    case "md":
      return md(r)
    case "ma":
      return ma(r)
  }
}

/** `me`: memcached's debug line (1.6.18 prints `exp` as the negated remaining TTL). */
const me = (r: Request): Buffer => {
  const e = r.e
  const item = e.lookup(r.key, false)
  if (item === undefined) return Replies.EN
  const now = e.now()
  const exp = item.exptime === 0 ? -1 : -Math.ceil((item.exptime - now) / 1000)
  const shown = item.binaryKey ? Buffer.from(item.key, "latin1").toString("base64") : item.key
  const size = itemTotal(item.key.length, item.value.length, item.flags)
  return line(
    `ME ${shown} exp=${exp} la=${Math.floor((now - item.time) / 1000)} cas=${item.cas} fetch=${
      item.fetched ? "yes" : "no"
    } cls=${slabClass(size)} size=${size}`
  )
}

/** `mg`: a hit, or a miss that `N` turns into a created empty item with the win token. */
const mg = (r: Request): Buffer | undefined => {
  const { e, f } = r
  const c = e.counters
  c.cmd_get++
  let item = e.lookup(r.key, true)
  let created = false
  if (item === undefined) {
    c.get_misses++
    if (f.opaqueTooLong) return line(OPAQUE_TOO_LONG)
    if (f.vivify === undefined) return f.quiet ? undefined : plain(r, "EN", f.base64)
    // Created without a TTL: the `N` flag sets it in request order (a `t` before it sees -1).
    item = e.link(r.key, EMPTY, 0, 0)
    if (item === undefined) return OUT_OF_MEMORY
    if (f.newCas !== undefined) item.cas = f.newCas
    created = true
  } else c.get_hits++
  if (f.opaqueTooLong) {
    if (!f.noBump) {
      e.bump(item)
      item.fetched = true
    }
    return line(OPAQUE_TOO_LONG)
  }
  return mgHit(r, item, created)
}

/**
 * The flags `mg` and `ma` treat alike: `T` (new TTL) and `N` (TTL of an item vivified now) set the
 * expiry and return nothing; `t`, `c` and `O` return the TTL left, the CAS and the opaque. Returns the
 * text to append, or undefined for a flag the command handles itself.
 */
const sharedFlag = (r: Request, item: StoredItem, created: boolean, t: string): string | undefined => {
  switch (t[0]) {
    case "T":
      item.exptime = r.e.expiresAt(r.f.ttl!)
      return ""
    case "N":
      if (created) item.exptime = r.e.expiresAt(r.f.vivify!)
      return ""
    case "t":
      return " t" + ttlOf(r.e, item)
    case "c":
      return " c" + item.cas
    case "O":
      return " " + t
  }
  return undefined
}

/** The return flags of an `mg` hit (or a vivified miss), in request order. */
const mgHit = (r: Request, item: StoredItem, created: boolean): Buffer => {
  const { e, f } = r
  const c = e.counters
  const now = e.now()
  let won = created
  let value = false
  let ret = ""
  for (const t of f.tokens) {
    const shared = sharedFlag(r, item, created, t)
    if (shared !== undefined) {
      ret += shared
      if (t[0] === "T") {
        c.cmd_touch++
        c.touch_hits++
      }
      continue
    }
    switch (t[0]) {
      case "v":
        value = true
        break
      case "R":
        if (!item.won && !created && item.exptime !== 0 && item.exptime < now + f.recache! * 1000) won = true
        break
      case "f":
        ret += " f" + item.flags
        break
      case "s":
        ret += " s" + item.value.length
        break
      case "h":
        ret += item.fetched ? " h1" : " h0"
        break
      case "l":
        ret += " l" + Math.max(0, Math.floor((now - item.time) / 1000))
        break
      case "k":
        ret += keyToken(r, item.binaryKey)
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
  if (!f.noBump) {
    e.bump(item)
    item.fetched = true
  }
  if (!value) return line("HD" + ret)
  return r.w.line(`VA ${item.value.length}${ret}`).raw(item.value).raw(CRLF).take()
}

const CRLF = Buffer.from("\r\n")

/** `ms`: modes E/A/P/R/S, compare-and-swap, invalidation (`I`), vivify on append (`N`, newest only). */
const ms = (r: Request, data: Buffer): Buffer | undefined => {
  const { e, f } = r
  const c = e.counters
  if (itemTotal(r.key.length, data.length, 0) > e.maxItemSize) {
    c.store_too_large++
    return TOO_LARGE
  }
  c.cmd_set++
  const outcome = msStore(r, data)
  if (outcome === undefined) return OUT_OF_MEMORY
  const { code, stored } = outcome
  if (code === "HD" && stored === undefined) return OUT_OF_MEMORY
  if (f.quiet && code === "HD") return undefined
  let s: string = code
  for (const t of f.tokens) {
    if (t[0] === "O") s += " " + t
    else if (t[0] === "k") s += keyToken(r, f.base64)
    else if (t[0] === "c") s += " c" + (code === "HD" ? stored!.cas : 0n)
  }
  return line(s)
}

/** The storing part of `ms`: which code, and the item stored (undefined = out of memory on append). */
const msStore = (
  r: Request,
  data: Buffer
): { code: "HD" | "NS" | "EX" | "NF"; stored: StoredItem | undefined } | undefined => {
  const { e, f } = r
  const c = e.counters
  const exptime = e.expiresAt(f.ttl ?? 0)
  const old = e.lookup(r.key, false)
  let stored: StoredItem | undefined
  const store = (value: Buffer, flags: number, exp: number, joined = false): void => {
    stored = e.link(r.key, value, flags, exp)
    if (stored !== undefined) {
      // An appended value is a fresh allocation in memcached: it loses the base64-key mark.
      stored.binaryKey = f.base64 && !joined
      if (f.newCas !== undefined) stored.cas = f.newCas
    }
  }
  const m = f.mode === "" ? "S" : f.mode
  const casMode = f.compareCas !== undefined && (m === "S" || m === "R")
  const appendMode = m === "A" || m === "P"
  if (old === undefined) {
    if (casMode) {
      c.cas_misses++
      return { code: "NF", stored }
    }
    if (m === "S" || m === "E") {
      store(data, f.clientFlags, exptime)
      return { code: "HD", stored }
    }
    // Append/prepend vivify on a miss with N: a newer release's behaviour (1.6.18 ignores N here).
    if (appendMode && f.vivify !== undefined && r.ctx.settings.emulate !== "1.6.18") {
      store(data, f.clientFlags, e.expiresAt(f.vivify))
      return { code: "HD", stored }
    }
    return { code: "NS", stored }
  }
  if (m === "E") {
    e.bump(old)
    return { code: "NS", stored }
  }
  if (casMode) {
    if (old.cas === f.compareCas) {
      c.cas_hits++
      store(data, f.clientFlags, exptime)
      return { code: "HD", stored }
    }
    if (f.invalidate && f.compareCas !== 0n && f.compareCas! < old.cas) {
      // A stale value: keeps the old TTL, the stale mark and whether a token was handed out.
      const wasWon = old.won
      store(data, f.clientFlags, old.exptime)
      if (stored !== undefined) {
        stored.stale = true
        stored.won = wasWon
      }
      return { code: "HD", stored }
    }
    c.cas_badval++
    return { code: "EX", stored }
  }
  if (appendMode) {
    if (f.compareCas !== undefined && f.compareCas !== 0n && f.compareCas !== old.cas) return { code: "EX", stored }
    const joined = m === "A" ? Buffer.concat([old.value, data]) : Buffer.concat([data, old.value])
    if (itemTotal(r.key.length, joined.length, 0) > e.maxItemSize) return undefined
    store(joined, old.flags, old.exptime, true)
    return { code: "HD", stored }
  }
  store(data, f.clientFlags, exptime)
  return { code: "HD", stored }
}

/** `md`: delete, invalidate (`I`, with `T`), or drop the value and keep the item (`x`, newest only). */
const md = (r: Request): Buffer | undefined => {
  const { e, f } = r
  const c = e.counters
  const item = e.lookup(r.key, false)
  const casOf = (): bigint => (f.newCas !== undefined ? f.newCas : e.nextCas())
  let code: string
  if (item === undefined) {
    c.delete_misses++
    code = "NF"
  } else if (f.compareCas !== undefined && item.cas !== f.compareCas) {
    code = "EX"
  } else if (f.invalidate) {
    if (f.ttl !== undefined) item.exptime = e.expiresAt(f.ttl)
    item.stale = true
    item.won = false
    item.cas = casOf()
    code = "HD"
  } else if (f.removeValue) {
    item.value = EMPTY
    item.flags = 0
    item.cas = casOf()
    code = "HD"
  } else {
    c.delete_hits++
    e.unlink(item)
    code = "HD"
  }
  if (f.opaqueTooLong) return line(OPAQUE_TOO_LONG)
  if (f.quiet && code === "HD") return undefined
  return plain(r, code, f.base64)
}

/**
 * `ma`: incr/decr, vivify with `N`/`J`. The `T`/`t`/`c` flags act on the item memcached's
 * do_add_delta hands back: when the new number did not fit the old value it is the replaced (unlinked)
 * item, so `T` then changes nothing that is stored (see {@link Engine.applyDelta}).
 */
const ma = (r: Request): Buffer | undefined => {
  const { e, f } = r
  const c = e.counters
  const incr = f.mode !== "D" && f.mode !== "-"
  let item = e.lookup(r.key, false)
  let created = false
  let number: string
  if (item === undefined) {
    if (incr) c.incr_misses++
    else c.decr_misses++
    if (f.vivify === undefined) return plain(r, "NF", f.base64)
    number = f.initial.toString()
    item = e.link(r.key, Buffer.from(number, "latin1"), 0, 0)
    if (item === undefined) return OUT_OF_MEMORY
    if (f.newCas !== undefined) item.cas = f.newCas
    created = true
  } else {
    // C0 means "no CAS" to incr/decr.
    if (item.value.length !== 0 && f.compareCas !== undefined && f.compareCas !== 0n && item.cas !== f.compareCas) {
      return plain(r, "EX", f.base64)
    }
    const result = e.applyDelta(item, incr, f.delta)
    if (result === undefined) return NON_NUMERIC
    number = result.text
    item = result.returned
    if (f.newCas !== undefined) {
      item.cas = f.newCas
      const stored = e.peek(r.key)
      if (stored !== undefined) stored.cas = f.newCas
    }
  }
  return maReply(r, item, created, number)
}

/** The return flags of `ma`, in request order. */
const maReply = (r: Request, item: StoredItem, created: boolean, number: string): Buffer | undefined => {
  const { f } = r
  let value = false
  let ret = ""
  for (const t of f.tokens) {
    const shared = sharedFlag(r, item, created, t)
    if (shared !== undefined) ret += shared
    else if (t[0] === "v") value = true
    else if (t[0] === "k") ret += keyToken(r, f.base64) // ma echoes the key the way it was asked
  }
  if (f.opaqueTooLong) return line(OPAQUE_TOO_LONG)
  if (f.quiet && !created) return undefined
  if (!value) return line("HD" + ret)
  return r.w.line(`VA ${number.length}${ret}`).line(number).take()
}
