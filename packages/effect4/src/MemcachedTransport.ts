/**
 * The socket factory seam of the Effect 4 edition: how the client opens a byte stream to a server.
 * A transport is a plain value given to the client as its `transport` option (default {@link net}).
 *
 * @since 0.1.0
 */
import * as net from "node:net"
import type { Duplex } from "node:stream"
import type { ServerSpec } from "./ServerSpec.js"

/**
 * Opens connections. `connect` must return at once; a stream that is still connecting reports
 * `connecting === true` and emits `"connect"` when ready.
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
