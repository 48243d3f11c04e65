/**
 * One connection's protocol state: the command parser, the text commands, and dispatch to the meta
 * and admin modules. Bytes in, reply bytes out; no transport.
 *
 * @since 0.2.0
 */
import { type Command, makeCommandParser, type CommandParser, Replies, ReplyWriter } from "../protocol/server.js"
import * as Admin from "./admin.js"
import { AuthGate } from "./auth.js"
import { prefixCounters, type ServerContext } from "./context.js"
import { meta } from "./meta.js"
import { line } from "./replyLine.js"

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

type Executable = Exclude<Command, { _tag: "Quit" | "Fatal" }>

/**
 * The session of one connection over a server's shared state.
 *
 * @since 0.2.0
 * @category models
 */
export class SessionImpl implements Session {
  private readonly parser: CommandParser
  private readonly w = new ReplyWriter()
  /** Engine time of the last command (for `stats conns`). */
  lastCommand: number
  /** The ASCII authentication gate, until the connection authenticates (auth file configured). */
  private gate: AuthGate | undefined

  constructor(private readonly ctx: ServerContext) {
    this.parser = makeCommandParser({ maxItemSize: ctx.engine.maxItemSize })
    this.lastCommand = ctx.engine.now()
    const auth = ctx.settings.auth
    this.gate = auth === undefined ? undefined : new AuthGate(auth, ctx.engine)
  }

  receive(chunk: Uint8Array): { replies: Array<Buffer>; close: boolean } {
    const e = this.ctx.engine
    e.counters.bytes_read += chunk.length
    e.settle()
    const replies: Array<Buffer> = []
    let close = false
    if (this.gate !== undefined) {
      const g = this.gate.receive(chunk)
      if (g.reply !== undefined) replies.push(g.reply)
      if (this.gate.authenticated) this.gate = undefined
      if (g.close || g.rest === undefined) return { replies, close: g.close }
      chunk = g.rest
    }
    const commands = this.parser.push(chunk)
    if (commands.length > 0) this.lastCommand = e.now()
    for (const cmd of commands) {
      if (cmd._tag === "Quit") {
        close = true
        break
      }
      if (cmd._tag === "Fatal") {
        if (cmd.reply !== undefined) replies.push(line(cmd.reply))
        close = true
        break
      }
      const r = this.execute(cmd)
      if (r === CLOSE) {
        close = true
        break
      }
      if (r !== undefined) {
        e.counters.bytes_written += r.length
        replies.push(r)
      }
    }
    return { replies, close }
  }

  /** Executes one command; undefined = no reply (noreply), CLOSE = close the connection. */
  private execute(cmd: Executable): Buffer | undefined | typeof CLOSE {
    const ctx = this.ctx
    const e = ctx.engine
    switch (cmd._tag) {
      case "Get":
        return this.get(cmd)
      case "Store": {
        const p = prefixCounters(ctx, cmd.key)
        if (p !== undefined) p.set++
        const r = e.store(cmd)
        return cmd.noreply ? undefined : r
      }
      case "Arithmetic": {
        const r = e.arithmetic(cmd.command === "incr", cmd.key, cmd.delta)
        return cmd.noreply ? undefined : r
      }
      case "Touch": {
        e.counters.cmd_touch++
        const item = e.touch(cmd.key, cmd.exptime)
        if (item === undefined) e.counters.touch_misses++
        else e.counters.touch_hits++
        return cmd.noreply ? undefined : item === undefined ? Replies.NOT_FOUND : Replies.TOUCHED
      }
      case "Delete": {
        const p = prefixCounters(ctx, cmd.key)
        if (p !== undefined) p.del++
        const ok = e.delete(cmd.key)
        return cmd.noreply ? undefined : ok ? Replies.DELETED : Replies.NOT_FOUND
      }
      case "FlushAll":
        e.flushAll(cmd.delay)
        return cmd.noreply ? undefined : Replies.OK
      case "Version":
        return line(`VERSION ${ctx.settings.version}`)
      case "Verbosity":
        e.verbosity = cmd.level
        return cmd.noreply ? undefined : Replies.OK
      case "Stats":
        return Admin.stats(ctx, cmd.args)
      case "Meta":
        e.counters.cmd_meta++
        return meta(ctx, cmd, this.w)
      case "Invalid":
        return cmd.noreply ? undefined : line(cmd.reply)
      case "Admin": {
        const r = admin(ctx, cmd.command, cmd.args, cmd.noreply)
        return r.close ? CLOSE : r.reply
      }
    }
  }

  /** get/gets/gat/gats over every key; misses are skipped, `END` closes the reply. */
  private get(cmd: Extract<Command, { _tag: "Get" }>): Buffer {
    const ctx = this.ctx
    const e = ctx.engine
    const c = e.counters
    const w = this.w
    const touch = cmd.command === "gat" || cmd.command === "gats"
    const withCas = cmd.command === "gets" || cmd.command === "gats"
    for (const key of cmd.keys) {
      c.cmd_get++
      const item = touch ? e.touch(key, cmd.exptime) : e.lookup(key, true)
      const p = prefixCounters(ctx, key)
      if (p !== undefined) {
        p.get++
        if (item !== undefined) p.hit++
      }
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
}

/** Marker: the command closes the connection. */
const CLOSE = Symbol("close")

/**
 * The admin commands (`cache_memlimit`, `slabs`, `lru_crawler`, `lru`, `shutdown`) by name and
 * arguments; undefined = no reply (noreply), `close` = close the connection after the reply.
 *
 * @since 0.2.0
 * @category commands
 */
export const admin = (
  ctx: ServerContext,
  command: string,
  args: ReadonlyArray<string>,
  noreply: boolean
): { readonly reply: Buffer | undefined; readonly close: boolean } => {
  let reply: Buffer
  switch (command) {
    case "cache_memlimit":
      reply = Admin.cacheMemlimit(ctx, args)
      break
    case "slabs":
      reply = Admin.slabs(ctx, args)
      break
    case "lru_crawler":
      reply = Admin.lruCrawler(ctx, args)
      break
    case "lru":
      reply = Admin.lru(ctx, args)
      break
    case "shutdown":
      return Admin.shutdown(ctx, args)
    default:
      reply = Replies.ERROR
  }
  return { reply: noreply ? undefined : reply, close: false }
}
