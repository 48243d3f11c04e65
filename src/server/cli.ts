/**
 * The standalone in-memory memcached: option parsing and start-up, shared by the package's
 * `effect-memcached-server` bin and `npm run server`.
 *
 * ```
 * effect-memcached-server [--port 11211] [--host 127.0.0.1] [--memory MB] [--max-item-size BYTES]
 *                         [--tls-cert PEM --tls-key PEM [--tls-ca PEM]] [--auth-file PATH]
 *                         [--unix PATH] [--emulate 1.6.18|newest] [--enable-shutdown]
 * ```
 *
 * Listens on loopback unless told otherwise; `--unix` alone listens only on the socket (as memcached
 * `-s` does), with `--port` as well on both; with `--tls-cert`/`--tls-key` the TCP listener speaks
 * TLS (as memcached `-Z`), and with `--tls-ca` it requires client certificates signed by that CA (as
 * `-o ssl_verify_mode=2,ssl_ca_cert=…`); `--auth-file` turns on ASCII authentication with memcached's
 * `-Y` file format (`user:pass` lines). Exits cleanly on SIGINT/SIGTERM and after an enabled `shutdown`.
 *
 * @since 0.2.0
 */
import * as fs from "node:fs"
import { parseAuthFile } from "./auth.js"
import * as MemoryServer from "./MemoryServer.js"

/**
 * The parsed command line.
 *
 * @since 0.2.0
 * @category models
 */
export interface CliOptions {
  readonly port: number | undefined
  readonly host: string
  readonly memory: number
  readonly maxItemSize: number
  readonly tlsCert: string | undefined
  readonly tlsKey: string | undefined
  readonly tlsCa: string | undefined
  readonly authFile: string | undefined
  readonly unix: string | undefined
  readonly emulate: MemoryServer.Emulation
  readonly enableShutdown: boolean
}

/**
 * The usage text.
 *
 * @since 0.2.0
 * @category constants
 */
export const usage = "usage: effect-memcached-server [--port 11211] [--host 127.0.0.1] [--memory MB] " +
  "[--max-item-size BYTES] [--tls-cert PEM --tls-key PEM [--tls-ca PEM]] [--auth-file PATH] [--unix PATH] [--emulate 1.6.18|newest] [--enable-shutdown]"

/**
 * Parses the arguments (without `node` and the script). Returns the options, or an error message
 * (with the usage) for an unknown or malformed option; `"help"` for `--help`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseArgs = (argv: ReadonlyArray<string>): CliOptions | { readonly error: string } | "help" => {
  const o = {
    port: undefined as number | undefined,
    host: "127.0.0.1",
    memory: 64,
    maxItemSize: 1024 * 1024,
    tlsCert: undefined as string | undefined,
    tlsKey: undefined as string | undefined,
    tlsCa: undefined as string | undefined,
    authFile: undefined as string | undefined,
    unix: undefined as string | undefined,
    emulate: "newest" as MemoryServer.Emulation,
    enableShutdown: false
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = argv[i + 1]
    const text = (): string | undefined => (value === undefined || value.startsWith("--") ? undefined : (i++, value))
    const num = (): number | undefined => {
      const n = Number(value)
      return value === undefined || !/^\d+$/.test(value) || !Number.isSafeInteger(n) ? undefined : (i++, n)
    }
    let ok: unknown = true
    switch (arg) {
      case "--port":
      case "-p":
        ok = o.port = num()
        break
      case "--host":
      case "-l":
        ok = text()
        if (ok !== undefined) o.host = ok as string
        break
      case "--memory":
      case "-m":
        ok = num()
        if (ok !== undefined) o.memory = ok as number
        break
      case "--max-item-size":
      case "-I":
        ok = num()
        if (ok !== undefined) o.maxItemSize = ok as number
        break
      case "--tls-cert":
        ok = o.tlsCert = text()
        break
      case "--tls-key":
        ok = o.tlsKey = text()
        break
      case "--tls-ca":
        ok = o.tlsCa = text()
        break
      case "--auth-file":
      case "-Y":
        ok = o.authFile = text()
        break
      case "--unix":
      case "-s":
        ok = o.unix = text()
        break
      case "--emulate":
        ok = value === "1.6.18" || value === "newest" ? (i++, o.emulate = value) : undefined
        break
      case "--enable-shutdown":
      case "-A":
        o.enableShutdown = true
        break
      case "--help":
      case "-h":
        return "help"
      default:
        return { error: `unknown option ${arg}\n${usage}` }
    }
    if (ok === undefined) return { error: `${arg} needs a valid value\n${usage}` }
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    return { error: `--tls-cert and --tls-key go together\n${usage}` }
  }
  if (o.tlsCa !== undefined && o.tlsCert === undefined) return { error: `--tls-ca needs --tls-cert\n${usage}` }
  if (o.port !== undefined && o.port > 65535) return { error: `--port must be at most 65535\n${usage}` }
  return o
}

/**
 * Starts the server with the parsed options; resolves with it and the lines announcing where it
 * listens. Rejects with the listener's error (unreadable PEM or auth file, malformed auth file, port in
 * use, …).
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = async (o: CliOptions): Promise<{ server: MemoryServer.MemoryServer; lines: Array<string> }> => {
  const auth = o.authFile === undefined ? undefined : parseAuthFile(fs.readFileSync(o.authFile, "utf8"))
  if (auth !== undefined && "error" in auth) throw new Error(`${o.authFile}: ${auth.error}`)
  const server = MemoryServer.make({
    auth,
    maxBytes: o.memory * 1024 * 1024,
    maxItemSize: o.maxItemSize,
    emulate: o.emulate,
    enableShutdown: o.enableShutdown
  })
  const lines: Array<string> = []
  const name = `effect-memcached memory server ${MemoryServer.VERSIONS[o.emulate]}`
  try {
    if (o.unix !== undefined) {
      await server.listen({ path: o.unix })
      lines.push(`${name} listening on unix:${o.unix}`)
    }
    if (o.unix === undefined || o.port !== undefined) {
      const tls = o.tlsCert !== undefined && o.tlsKey !== undefined
        ? {
          cert: fs.readFileSync(o.tlsCert),
          key: fs.readFileSync(o.tlsKey),
          ca: o.tlsCa === undefined ? undefined : fs.readFileSync(o.tlsCa)
        }
        : undefined
      const { host, port } = await server.listen({ port: o.port ?? 11211, host: o.host, tls })
      lines.push(`${name} listening on ${tls !== undefined ? "tls" : "tcp"}:${host}:${port}`)
    }
  } catch (e) {
    await server.close()
    throw e
  }
  return { server, lines }
}

/**
 * The program: parses `argv`, starts the server, prints where it listens, stops on SIGINT/SIGTERM
 * or an enabled `shutdown`, and exits (2 on a usage error, 1 when it cannot listen).
 *
 * @since 0.2.0
 * @category constructors
 */
export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const parsed = parseArgs(argv)
  if (parsed === "help") {
    console.log(usage)
    return
  }
  if ("error" in parsed) {
    console.error(parsed.error)
    process.exit(2)
  }
  let started: Awaited<ReturnType<typeof start>>
  try {
    started = await start(parsed)
  } catch (e) {
    console.error(`cannot listen: ${e instanceof Error ? e.message : String(e)}`)
    process.exit(1)
  }
  for (const line of started.lines) console.log(line)
  const { server } = started
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    console.log(`${why}: shutting down`)
    server.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.on("SIGINT", () => stop("SIGINT"))
  process.on("SIGTERM", () => stop("SIGTERM"))
  void server.closed.then(() => stop("shutdown"))
}
