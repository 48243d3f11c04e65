/**
 * Which servers use TLS, and the TLS connections themselves, effect-free (both editions' transports
 * build on it): the client's `tls` option merged with each spec's own `tls`, SNI rules (never an IP
 * literal), and one TLS session kept per server and offered again on reconnect (session resumption).
 * Never throws; its TLS streams fail with Node's TLS errors, which the handshake step (handshake.ts)
 * turns into reason `Tls`.
 *
 * @since 0.2.0
 */
import * as net from "node:net"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import type { ServerSpec } from "./serverSpec.js"

/**
 * The TLS settings of a client or a server spec: `true` (Node's defaults: the server's certificate is
 * verified against the system's CAs and the server name) or `tls.connect` options (`ca`, `cert` and
 * `key` for a client certificate, `servername`, `minVersion`, …). Verification stays on unless the
 * options set `rejectUnauthorized: false`.
 *
 * @since 0.2.0
 * @category models
 */
export type TlsOption = true | tls.ConnectionOptions

/**
 * Opens connections to servers (the editions' `Transport` shape).
 *
 * @since 0.2.0
 * @category models
 */
export interface Opener<S extends ServerSpec = ServerSpec> {
  readonly connect: (server: S) => Duplex
}

/**
 * The server name sent as SNI and checked against the certificate: the options' `servername`, else
 * the spec's host — never an IP literal (RFC 6066 forbids them in SNI; with an IP host and no
 * `servername` the certificate is checked against the IP).
 */
const serverNameOf = (server: ServerSpec, options: tls.ConnectionOptions): string | undefined => {
  const name = options.servername ?? server.host
  return name !== "" && net.isIP(name) === 0 ? name : undefined
}

/**
 * Opens TLS connections and keeps the last TLS session of each server (by `name`), offered again on
 * the next connection to it so reconnects resume the session (TLS 1.3 tickets; memcached 1.6.18
 * resumes them). `base` opens the underlying stream for transports other than plain TCP. Never throws.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeTls = <S extends ServerSpec>(base: Opener<S> | undefined) => {
  const sessions = new Map<string, Buffer>()
  const connect = (server: S, option: TlsOption): Duplex => {
    const options = option === true ? {} : option
    const key = server.name
    const servername = serverNameOf(server, options)
    const session = options.session ?? sessions.get(key)
    const where = base !== undefined
      ? { socket: base.connect(server) }
      : server.path !== undefined
      ? { path: server.path }
      : { host: server.host, port: server.port }
    const socket = tls.connect({ ...options, ...where, servername, session })
    if (base === undefined && server.path === undefined) socket.setNoDelay(true)
    socket.on("session", (s: Buffer) => sessions.set(key, s))
    socket.once("error", () => sessions.delete(key))
    return socket
  }
  return { connect, sessions }
}

/**
 * The transport a client uses: `plain` for plain servers, TLS for the servers whose spec says `tls`
 * (a `tls://` spec or a `tls` field) or, when their spec does not say `tls: false`, for every server
 * when the client's `tls` option is set. With `custom` (a transport other than plain TCP) the TLS
 * connection runs on the stream it opens. `tlsOf(server)` tells which servers use TLS. Never throws.
 *
 * @since 0.2.0
 * @category constructors
 */
export const withTlsOver = <S extends ServerSpec>(
  plain: Opener<S>,
  custom: Opener<S> | undefined,
  clientTls: boolean | tls.ConnectionOptions | undefined
): { readonly transport: Opener<S>; readonly tlsOf: (server: S) => TlsOption | undefined } => {
  const fallback: TlsOption | undefined = clientTls === true ? true : clientTls === false ? undefined : clientTls
  const tlsOf = (server: S): TlsOption | undefined => {
    const own = server.tls
    if (own === false) return undefined
    if (own === undefined) return fallback
    if (own === true) return fallback ?? true
    return fallback === undefined || fallback === true ? own : { ...fallback, ...own }
  }
  const t = makeTls(custom)
  const base = custom ?? plain
  return {
    tlsOf,
    transport: {
      connect: (server) => {
        const option = tlsOf(server)
        return option === undefined ? base.connect(server) : t.connect(server, option)
      }
    }
  }
}
