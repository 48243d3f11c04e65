/**
 * A black-hole TCP server for the memory scenario: accepts connections on loopback, reads and
 * discards everything, never replies, so every request a client sends stays in flight.
 *
 * As a process: `node --import tsx bench/blackhole.ts [port]` prints `BLACKHOLE_PORT <port>` and runs
 * until killed (the orchestrator stops it by PID), or for at most 2 hours.
 */
import * as net from "node:net"

export const startBlackhole = (port = 0): Promise<{ port: number; server: net.Server; close: () => void }> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((sock) => {
      sockets.add(sock)
      sock.on("data", () => undefined) // read and drop, so the client never sees backpressure
      sock.on("error", () => undefined)
      sock.on("close", () => sockets.delete(sock))
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address() as net.AddressInfo
      resolve({
        port: addr.port,
        server,
        close: () => {
          for (const s of sockets) s.destroy()
          server.close()
        }
      })
    })
  })

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))
if (isMain) {
  const bh = await startBlackhole(Number(process.argv[2] ?? 0))
  process.stdout.write(`BLACKHOLE_PORT ${bh.port}\n`)
  setTimeout(() => process.exit(0), 2 * 3600 * 1000).unref()
  const stop = () => {
    bh.close()
    process.exit(0)
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
  // keep the process alive
  setInterval(() => undefined, 1 << 30)
}
