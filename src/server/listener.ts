/**
 * Socket listeners of the in-memory server: plain TCP, TLS (node:tls) and unix domain sockets. Each
 * accepted socket is handed to the server as a {@link Transport} with its address.
 *
 * @since 0.2.0
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as tls from "node:tls"
import type { ListenerInfo } from "./context.js"
import type { Transport } from "./connection.js"

/**
 * Where and how to listen. `path` makes a unix-socket listener (an existing socket file is replaced);
 * otherwise TCP on `host` (default 127.0.0.1) and `port` (default 0 = ephemeral), over TLS when `tls`
 * carries a PEM certificate chain and key. With `tls.ca`, clients must present a certificate signed by
 * it (memcached `-o ssl_verify_mode=2,ssl_ca_cert=…`); a connection without one is closed.
 *
 * @since 0.2.0
 * @category models
 */
export interface ListenOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
  readonly path?: string | undefined
  readonly tls?: {
    readonly cert: string | Buffer
    readonly key: string | Buffer
    readonly ca?: string | Buffer | undefined
  } | undefined
}

/**
 * The socket events a listener reports for one accepted connection.
 *
 * @since 0.2.0
 * @category models
 */
export interface Accepted {
  readonly transport: Transport
  readonly addr: string
  readonly listenAddr: string
  /** Bytes from the peer. */
  onData(f: (chunk: Buffer) => void): void
  /** The socket ended or failed. */
  onGone(f: () => void): void
}

/**
 * A running listener.
 *
 * @since 0.2.0
 * @category models
 */
export interface Listener {
  readonly info: ListenerInfo
  readonly close: () => Promise<void>
}

const addressOf = (socket: net.Socket, path: string | undefined): string =>
  path !== undefined ? `unix:${path}` : `tcp:${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`

const wrap = (socket: net.Socket, listenAddr: string, path: string | undefined): Accepted => {
  if (path === undefined) socket.setNoDelay(true)
  return {
    transport: {
      write: (data) => void socket.write(data),
      end: () => void socket.end(),
      destroy: () => void socket.destroy()
    },
    addr: addressOf(socket, path),
    listenAddr,
    onData: (f) => void socket.on("data", f),
    onGone: (f) => {
      socket.on("end", () => {
        // The client half-closed: like memcached, close the connection.
        socket.end()
        f()
      })
      socket.on("close", f)
      socket.on("error", f)
    }
  }
}

/**
 * Starts a listener; `accept` receives every connection (`refuse()` true = destroy it at once).
 *
 * @since 0.2.0
 * @category constructors
 */
export const listen = (
  id: number,
  options: ListenOptions,
  refuse: () => boolean,
  accept: (a: Accepted) => void
): Promise<Listener> =>
  new Promise((resolve, reject) => {
    const path = options.path
    const host = options.host ?? "127.0.0.1"
    const onSocket = (listenAddr: () => string) => (socket: net.Socket): void => {
      if (refuse()) {
        socket.destroy()
        return
      }
      accept(wrap(socket, listenAddr(), path))
    }
    let info: ListenerInfo | undefined
    const listenAddr = (): string => (info?.kind === "unix" ? `unix:${info.path}` : `tcp:${info?.host}:${info?.port}`)
    const server: net.Server = options.tls !== undefined
      ? tls.createServer(
        options.tls.ca === undefined
          ? { cert: options.tls.cert, key: options.tls.key }
          : {
            cert: options.tls.cert,
            key: options.tls.key,
            ca: options.tls.ca,
            requestCert: true,
            rejectUnauthorized: true
          },
        onSocket(listenAddr)
      )
      : net.createServer(onSocket(listenAddr))
    // A TLS handshake failure is the client's problem, not the listener's.
    server.on("tlsClientError", (_err: Error, socket: net.Socket) => socket.destroy())
    server.once("error", reject)
    const ready = (): void => {
      server.off("error", reject)
      if (path !== undefined) {
        info = { id, kind: "unix", host: "", port: 0, path }
      } else {
        const addr = server.address() as net.AddressInfo
        info = { id, kind: options.tls !== undefined ? "tls" : "tcp", host, port: addr.port, path: undefined }
      }
      const listening = info
      resolve({
        info: listening,
        close: () => new Promise<void>((done) => server.close(() => done()))
      })
    }
    if (path !== undefined) {
      if (fs.existsSync(path) && fs.statSync(path).isSocket()) fs.unlinkSync(path)
      server.listen(path, ready)
    } else {
      server.listen(options.port ?? 0, host, ready)
    }
  })
