/**
 * The socket factory seam: how the client opens a byte stream to a server. TCP (IPv4 and IPv6), unix
 * sockets and TLS come from Node; the in-memory server plugs in here too. A transport is a plain value
 * given to the client as its `transport` option (default {@link net}) — there is no transport service
 * or layer, so one can never be provided beside a client and silently ignored (issue 11.4).
 *
 * @since 0.1.0
 */
import * as net from "node:net"
import type { Duplex } from "node:stream"
import * as tls from "node:tls"
import type { ServerSpec } from "./ServerSpec.js"

/**
 * Opens connections. `connect` must return at once; a stream that is still connecting reports
 * `connecting === true` and emits `"connect"` (or `"secureConnect"` for TLS) when ready.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  readonly connect: (server: ServerSpec) => Duplex
}

/**
 * Plain TCP (with `TCP_NODELAY`) or a unix socket for specs with a `path`.
 *
 * @since 0.1.0
 * @category transports
 */
export const net_: Transport = {
  connect: (server) =>
    server.path !== undefined
      ? net.connect({ path: server.path })
      : net.connect({ host: server.host, port: server.port, noDelay: true })
}
export { net_ as net }

/**
 * TLS over TCP (memcached ≥ 1.5.13 built with TLS, or a TLS proxy). `options` are Node's
 * `tls.connect` options (CA, client certificate, `rejectUnauthorized`, …); the server name defaults to
 * the spec's host.
 *
 * @since 0.1.0
 * @category transports
 */
export const tlsTransport = (options: tls.ConnectionOptions = {}): Transport => ({
  connect: (server) => {
    const socket = tls.connect({
      host: server.host,
      port: server.port,
      servername: net.isIP(server.host) === 0 ? server.host : undefined,
      ...options
    })
    socket.setNoDelay(true)
    return socket
  }
})
