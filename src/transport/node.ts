/**
 * The Node transports, shared by both editions: the `Transport` seam, plain TCP / unix sockets
 * ({@link net}), TLS ({@link tlsTransport}) and the client's per-server TLS choice ({@link withTls}).
 * Re-exported by `MemcachedTransport`, which adds the edition's Effect `Socket` transports. Internal
 * module: import these from `MemcachedTransport`.
 *
 * @since 0.1.0
 */
import * as net from "node:net"
import type { Duplex } from "node:stream"
import type * as tls from "node:tls"
import * as EngineTls from "../engine/tls.js"
import type { ServerSpec } from "../ServerSpec.js"

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
 * Plain TCP (with `TCP_NODELAY`) or a unix socket for specs with a `path`. Never throws; connection
 * failures surface as `MemcachedConnectionError("Connect")` on the requests.
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
 * The TLS settings of a client or a server spec: `true` (Node's defaults: the server's certificate is
 * verified against the system's CAs and the server name) or `tls.connect` options (`ca`, `cert` and
 * `key` for a client certificate, `servername`, `minVersion`, …). Verification stays on unless the
 * options set `rejectUnauthorized: false`.
 *
 * @since 0.1.0
 * @category models
 */
export type TlsOption = EngineTls.TlsOption

/**
 * TLS over TCP (memcached ≥ 1.5.13 built with TLS, `-Z`; ElastiCache in-transit encryption;
 * Memorystore with TLS; a TLS proxy) for every server. `options` are Node's `tls.connect` options;
 * the SNI name is the spec's host (never an IP literal) unless `options.servername` says otherwise;
 * the server's certificate is verified. TLS sessions are resumed across reconnects. Prefer the client's
 * `tls` option, which also covers per-server `tls` specs; a failed handshake or certificate check fails
 * the pending requests with `MemcachedConnectionError` reason `Tls` only with that option (this
 * transport alone reports it as `Connect`).
 *
 * @since 0.1.0
 * @category transports
 */
export const tlsTransport = (options: tls.ConnectionOptions = {}): Transport => {
  const t = EngineTls.makeTls<ServerSpec>(undefined)
  return { connect: (server) => t.connect(server, options) }
}

/**
 * The transport a client uses: `base` (default {@link net}) for plain servers, TLS for the servers
 * whose spec says `tls` (a `tls://` spec or a `tls` field) or, when their spec does not say
 * `tls: false`, for every server when the client's `tls` option is set. Over a custom `base` the TLS
 * connection runs on the stream `base` opens. `tlsOf(server)` tells which servers use TLS. Never
 * throws; its TLS streams fail with Node's TLS errors, which the client's handshake step
 * (engine/handshake.ts) turns into reason `Tls`. The logic is the effect-free engine/tls.ts.
 *
 * @since 0.1.0
 * @category transports
 */
export const withTls = (
  base: Transport | undefined,
  clientTls: boolean | tls.ConnectionOptions | undefined
): { readonly transport: Transport; readonly tlsOf: (server: ServerSpec) => TlsOption | undefined } =>
  EngineTls.withTlsOver<ServerSpec>(net_, base === net_ ? undefined : base, clientTls)
