/**
 * Test harness: real memcached processes on loopback, and a fake TCP server the test controls. Both
 * editions' suites use it (packages/effect4/editions.json): it needs only what Effect 3 and 4 share.
 *
 * `startMemcached` finds a free 127.0.0.1 port, spawns `memcached -u nobody -l 127.0.0.1 -p <port>`
 * (plus `args`), waits until the port accepts connections and returns a handle whose `stop` ends that
 * process by PID (SIGTERM, then SIGKILL). memcached is required by `npm test`: a missing binary fails
 * the tests that need it (under `CI=true` already when this module loads).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

const findBinary = (): string | undefined => {
  const explicit = process.env.MEMCACHED_BIN
  if (explicit !== undefined && explicit !== "") return fs.existsSync(explicit) ? explicit : undefined
  const dirs = (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/bin", "/usr/local/bin", "/usr/sbin"])
  for (const dir of dirs) {
    if (dir === "") continue
    const candidate = path.join(dir, "memcached")
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // keep looking
    }
  }
  return undefined
}

/** The memcached binary, when one is installed. */
export const memcachedBinary: string | undefined = findBinary()

/** True when a memcached binary is installed. Under `CI=true` a missing binary throws on import. */
export const memcachedAvailable: boolean = memcachedBinary !== undefined

if (!memcachedAvailable && process.env.CI === "true") {
  throw new Error("memcached binary not found (CI=true requires it; set MEMCACHED_BIN or install memcached)")
}

// Processes started here and not yet stopped: killed by PID if the test worker exits without stopping
// them (e.g. torn down after a hung test), so no memcached outlives the run.
const live = new Set<number>()
process.once("exit", () => {
  for (const pid of live) killPid(pid, "SIGKILL")
})

/** A running memcached process. */
export interface MemcachedProcess {
  readonly port: number
  readonly pid: number
  /** Stops the process by PID: SIGTERM, then SIGKILL after a grace period. Idempotent. */
  readonly stop: () => Promise<void>
}

/** A free TCP port on 127.0.0.1 (bound then released; the caller retries on a lost race). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** True when something accepts TCP connections on 127.0.0.1:`port` (within 500 ms). */
export const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const done = (ok: boolean) => {
      socket.removeAllListeners()
      socket.on("error", () => {})
      socket.destroy()
      resolve(ok)
    }
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
    socket.setTimeout(500, () => done(false))
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null

const waitExit = (child: ChildProcess, ms: number): Promise<boolean> =>
  exited(child)
    ? Promise.resolve(true)
    : new Promise((resolve) => {
      const timer = setTimeout(() => resolve(exited(child)), ms)
      child.once("exit", () => {
        clearTimeout(timer)
        resolve(true)
      })
    })

const killPid = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

/**
 * Starts memcached on a free loopback port and waits until it accepts connections.
 */
export const startMemcached = async (args: ReadonlyArray<string> = []): Promise<MemcachedProcess> => {
  const binary = memcachedBinary
  if (binary === undefined) throw new Error("memcached binary not found")
  let lastError = ""
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const child = spawn(binary, ["-u", "nobody", "-l", "127.0.0.1", "-p", String(port), "-U", "0", ...args], {
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr?.on("data", (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString()
    })
    child.on("error", (e) => {
      lastError = String(e)
    })
    const pid = child.pid
    if (pid === undefined) {
      await waitExit(child, 1000)
      lastError = lastError || "spawn failed"
      continue
    }
    live.add(pid)
    child.once("exit", () => live.delete(pid))
    let stopped: Promise<void> | undefined
    const stop = (): Promise<void> => {
      if (stopped !== undefined) return stopped
      stopped = (async () => {
        if (exited(child)) return
        killPid(pid, "SIGTERM")
        if (await waitExit(child, 3000)) return
        killPid(pid, "SIGKILL")
        await waitExit(child, 3000)
      })()
      return stopped
    }
    const deadline = Date.now() + 10_000
    let ready = false
    while (Date.now() < deadline && !exited(child)) {
      if (await canConnect(port)) {
        ready = true
        break
      }
      await sleep(20)
    }
    if (ready && !exited(child)) return { port, pid, stop }
    lastError = `memcached exited or did not listen on ${port}: ${stderr.trim()}`
    await stop()
  }
  throw new Error(`could not start memcached: ${lastError}`)
}

/**
 * `startMemcached` as a scoped resource, stopped when the scope closes (for `it.scoped` / `it.layer`).
 */
export const acquireMemcached = (
  args: ReadonlyArray<string> = []
): Effect.Effect<MemcachedProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startMemcached(args)),
    (mc) => Effect.promise(() => mc.stop())
  )

// ---------------------------------------------------------------------------------------------
// A fake memcached the test controls
// ---------------------------------------------------------------------------------------------

/** A fake server on 127.0.0.1: every accepted socket and every byte received is visible to the test. */
export interface FakeServer {
  readonly port: number
  readonly address: string
  /** Accepted sockets, in order. */
  readonly sockets: Array<net.Socket>
  /** Bytes received per socket (same index as `sockets`), as latin1. */
  readonly received: Array<string>
  /** Resolves once `n` sockets were accepted. */
  readonly connections: (n: number) => Promise<net.Socket>
  /** Resolves once socket `index` has received bytes for which `predicate` holds. */
  readonly receivedUntil: (index: number, predicate: (data: string) => boolean) => Promise<string>
  readonly close: () => Promise<void>
}

/**
 * Starts a fake server; `onData(socket, chunk, all)` decides what to answer (nothing by default).
 */
export const startFakeServer = (
  onData?: (socket: net.Socket, chunk: Buffer, received: string, index: number) => void
): Promise<FakeServer> =>
  new Promise((resolve, reject) => {
    const sockets: Array<net.Socket> = []
    const received: Array<string> = []
    const waiters: Array<() => void> = []
    const notify = () => {
      for (const w of waiters.splice(0)) w()
    }
    const server = net.createServer((socket) => {
      const index = sockets.length
      sockets.push(socket)
      received.push("")
      socket.on("error", () => {})
      socket.on("data", (chunk) => {
        received[index] += chunk.toString("latin1")
        onData?.(socket, chunk, received[index]!, index)
        notify()
      })
      notify()
    })
    const waitFor = <A>(check: () => A | undefined): Promise<A> =>
      new Promise((res) => {
        const attempt = () => {
          const a = check()
          if (a !== undefined) res(a)
          else waiters.push(attempt)
        }
        attempt()
      })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const a = server.address()
      const port = typeof a === "object" && a !== null ? a.port : 0
      resolve({
        port,
        address: `127.0.0.1:${port}`,
        sockets,
        received,
        connections: (n) => waitFor(() => sockets[n - 1]),
        receivedUntil: (index, predicate) =>
          waitFor(() => {
            const data = received[index]
            return data !== undefined && predicate(data) ? data : undefined
          }),
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy()
            server.close(() => res())
          })
      })
    })
  })

/** `startFakeServer` as a scoped resource. */
export const acquireFakeServer = (
  onData?: (socket: net.Socket, chunk: Buffer, received: string, index: number) => void
): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeServer(onData)),
    (server) => Effect.promise(() => server.close())
  )
