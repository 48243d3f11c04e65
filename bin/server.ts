/**
 * Standalone in-memory memcached: `npm run server -- --port 11311 [--host 127.0.0.1] [--memory MB]
 * [--max-item-size BYTES]`. Listens on loopback unless told otherwise; exits cleanly on SIGINT/SIGTERM.
 *
 * @since 0.1.0
 */
import * as MemoryServer from "../src/server/MemoryServer.js"

const usage = "usage: server [--port 11211] [--host 127.0.0.1] [--memory MB] [--max-item-size BYTES]"

/** Parses the command line; exits with the usage on an unknown or malformed option. */
const parseArgs = (argv: ReadonlyArray<string>): { port: number; host: string; memory: number; maxItemSize: number } => {
  const opts = { port: 11211, host: "127.0.0.1", memory: 64, maxItemSize: 1024 * 1024 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = argv[i + 1]
    const num = (): number => {
      const n = Number(value)
      if (value === undefined || !Number.isInteger(n) || n < 0) {
        console.error(`${arg} needs a non-negative integer\n${usage}`)
        process.exit(2)
      }
      i++
      return n
    }
    switch (arg) {
      case "--port":
      case "-p":
        opts.port = num()
        break
      case "--host":
      case "-l":
        if (value === undefined) {
          console.error(usage)
          process.exit(2)
        }
        opts.host = value
        i++
        break
      case "--memory":
      case "-m":
        opts.memory = num()
        break
      case "--max-item-size":
      case "-I":
        opts.maxItemSize = num()
        break
      case "--help":
      case "-h":
        console.log(usage)
        process.exit(0)
        break
      default:
        console.error(`unknown option ${arg}\n${usage}`)
        process.exit(2)
    }
  }
  return opts
}

const opts = parseArgs(process.argv.slice(2))
const server = MemoryServer.make({ maxBytes: opts.memory * 1024 * 1024, maxItemSize: opts.maxItemSize })
const { host, port } = await server.listen({ port: opts.port, host: opts.host })
console.log(`effect-memcached memory server ${MemoryServer.VERSION} listening on ${host}:${port}`)

let stopping = false
const stop = (signal: string): void => {
  if (stopping) return
  stopping = true
  console.log(`${signal}: shutting down`)
  server.close().then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.on("SIGINT", () => stop("SIGINT"))
process.on("SIGTERM", () => stop("SIGTERM"))
