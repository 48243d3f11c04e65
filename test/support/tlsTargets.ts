/**
 * The servers the TLS and authentication tests run against, side by side: a real memcached 1.6
 * (`-Z -o ssl_chain_cert=…,ssl_key=…[,ssl_verify_mode=2,ssl_ca_cert=…]`, `-Y authfile`) and the
 * in-memory server's TLS listener and auth file. `requestBytes()` is what the server has read from
 * clients other than the harness itself (memcached's `bytes_read` minus the harness's own `stats`
 * commands), so a test can check that a failed handshake sent no byte of a request.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as tls from "node:tls"
import { parseAuthFile } from "../../src/server/auth.js"
import * as MemoryServer from "../../src/server/MemoryServer.js"
import { startMemcached } from "./memcached.js"

/** How a test server is started. */
export interface TargetOptions {
  readonly cert?: string | undefined
  readonly key?: string | undefined
  /** Require client certificates signed by this CA (mTLS). */
  readonly ca?: string | undefined
  /** The text of a `-Y` auth file (`user:pass` lines). */
  readonly authFile?: string | undefined
  /** Trust for the harness's own stats connection. */
  readonly harness?: tls.ConnectionOptions | undefined
}

/** A running test server. */
export interface RunningTarget {
  readonly port: number
  /** Bytes read from clients other than the harness. */
  readonly requestBytes: () => Promise<number>
  /** A `stats` field. */
  readonly stat: (name: string) => Promise<string | undefined>
  readonly stop: () => Promise<void>
}

/** A kind of server. */
export interface Target {
  readonly name: string
  readonly start: (options: TargetOptions) => Promise<RunningTarget>
}

/** `stats` over a fresh connection (TLS when `secure` is given, authenticated first with `auth`). */
const rawStats = (
  port: number,
  secure: tls.ConnectionOptions | undefined,
  auth: string | undefined
): Promise<Map<string, string>> =>
  new Promise((resolve, reject) => {
    const socket: net.Socket = secure !== undefined
      ? tls.connect({ host: "127.0.0.1", port, servername: "localhost", ...secure })
      : net.connect({ host: "127.0.0.1", port })
    let text = ""
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`stats timed out: ${JSON.stringify(text)}`))
    }, 5000)
    socket.once(secure !== undefined ? "secureConnect" : "connect", () => {
      socket.write(auth !== undefined ? `set a 0 0 ${Buffer.byteLength(auth)}\r\n${auth}\r\nstats\r\n` : "stats\r\n")
    })
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1")
      if (text.endsWith("END\r\n")) {
        clearTimeout(timer)
        socket.destroy()
        const out = new Map<string, string>()
        for (const line of text.split("\r\n")) {
          const m = /^STAT (\S+) (.*)$/.exec(line)
          if (m !== null) out.set(m[1]!, m[2]!)
        }
        resolve(out)
      }
    })
    socket.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })

const authLine = (authFile: string | undefined): string | undefined => {
  if (authFile === undefined) return undefined
  const first = authFile.split("\n")[0]!
  const colon = first.indexOf(":")
  return `${first.slice(0, colon)} ${first.slice(colon + 1)}`
}

/** Real memcached with TLS (and/or `-Y`). The harness's stats go over TLS (with `harness` trust). */
export const realMemcached = (dir: string): Target => ({
  name: "memcached 1.6",
  start: async (o) => {
    const args: Array<string> = ["-t", "1"]
    if (o.cert !== undefined) {
      args.push("-Z", "-o", `ssl_chain_cert=${o.cert},ssl_key=${o.key}`)
      if (o.ca !== undefined) args.push("-o", `ssl_verify_mode=2,ssl_ca_cert=${o.ca}`)
    }
    if (o.authFile !== undefined) {
      const file = path.join(dir, `auth-${Date.now()}-${Math.random().toString(36).slice(2)}`)
      fs.writeFileSync(file, o.authFile, { mode: 0o644 })
      args.push("-Y", file)
    }
    const mc = await startMemcached(args)
    const auth = authLine(o.authFile)
    // The harness's own bytes: `stats\r\n` (7), plus its authentication `set` when there is an auth file.
    const own = 7 + (auth !== undefined ? `set a 0 0 ${Buffer.byteLength(auth)}\r\n${auth}\r\n`.length : 0)
    let calls = 0
    const stats = async () => {
      calls++
      return rawStats(mc.port, o.cert !== undefined ? o.harness ?? {} : undefined, auth)
    }
    return {
      port: mc.port,
      requestBytes: async () => {
        const s = await stats()
        return Number(s.get("bytes_read")) - own * calls
      },
      stat: async (name) => (await stats()).get(name),
      stop: () => mc.stop()
    }
  }
})

/** The in-memory server: its TLS listener (`tls.ca` for mTLS) and auth file. */
export const memoryServer: Target = {
  name: "in-memory server",
  start: async (o) => {
    const auth = o.authFile === undefined ? undefined : parseAuthFile(o.authFile)
    if (auth !== undefined && "error" in auth) throw new Error(auth.error)
    const server = MemoryServer.make({ auth })
    const tlsOptions = o.cert !== undefined
      ? { cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key!), ca: o.ca && fs.readFileSync(o.ca) }
      : undefined
    const { port } = await server.listen({ port: 0, tls: tlsOptions })
    return {
      port,
      requestBytes: async () => server.stats().bytes_read,
      stat: async (name) => {
        const v = (server.stats() as unknown as Record<string, number | undefined>)[name]
        return v === undefined ? undefined : String(v)
      },
      stop: () => server.close()
    }
  }
}
