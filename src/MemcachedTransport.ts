/**
 * The socket factory seam: how the client opens a byte stream to a server. TCP (IPv4 and IPv6), unix
 * sockets and TLS come from Node; the in-memory server plugs in here too. A transport is a plain value
 * given to the client as its `transport` option (default {@link net}) — there is no transport service
 * or layer, so one can never be provided beside a client and silently ignored (issue 11.4).
 *
 * @since 0.1.0
 */
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { Duplex } from "node:stream"
import type { ServerSpec } from "./ServerSpec.js"
import type { Transport } from "./transport/node.js"

export { net, type TlsOption, type Transport, tlsTransport, withTls } from "./transport/node.js"

/** The Node error a platform `SocketError` stands for, keeping the underlying `code` (ECONNREFUSED, ECONNRESET, …). */
const toNodeError = (error: unknown): Error => {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  const code = (cause as { code?: unknown } | undefined)?.code
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error)
  const out = new Error(message, { cause: error }) as Error & { code?: string }
  if (typeof code === "string") out.code = code
  return out
}

/**
 * A platform `Socket` seen as the `Duplex` the engine drives. It reports `connecting` until the socket
 * opens (then `"connect"`), pushes every chunk `run` delivers, writes through the socket's writer one
 * write at a time (the next starts when the platform says the previous one completed, so the Duplex's
 * buffer and `drain` carry the backpressure), ends when the socket ends, and fails with the socket's
 * error. Destroying it interrupts the fiber that owns the socket, which closes it.
 */
class PlatformSocketStream extends Duplex {
  connecting = true
  private writeChunk: ((chunk: Uint8Array) => Effect.Effect<void, Socket.SocketError>) | undefined = undefined
  private readonly fiber: Fiber.RuntimeFiber<void, Socket.SocketError>

  constructor(open: Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope>) {
    super({ allowHalfOpen: false })
    const program = Effect.scoped(Effect.flatMap(open, (socket) =>
      Effect.flatMap(socket.writer, (write) => {
        this.writeChunk = write
        return socket.run((chunk) => {
          this.push(chunk)
        }, { onOpen: Effect.sync(() => this.opened()) })
      })))
    this.fiber = Effect.runFork(program)
    this.fiber.addObserver((exit) => this.finished(exit))
  }

  private opened(): void {
    if (!this.connecting) return
    this.connecting = false
    this.emit("connect")
  }

  private finished(exit: Exit.Exit<void, Socket.SocketError>): void {
    if (this.destroyed) return
    if (Exit.isSuccess(exit)) {
      this.push(null)
      return
    }
    if (Exit.isInterrupted(exit)) {
      this.destroy()
      return
    }
    this.destroy(toNodeError(Cause.squash(exit.cause)))
  }

  override _read(): void {
    // `run` has no pause: chunks are pushed as they arrive (the engine consumes each at once).
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback)
  }

  /** One platform write; `callback` runs when the platform reports it done (or failed). */
  private send(chunk: Uint8Array, callback: (error?: Error | null) => void): void {
    const write = this.writeChunk
    if (write === undefined) {
      callback(toNodeError(new Error("write before the platform socket opened")))
      return
    }
    Effect.runCallback(write(chunk), {
      onExit: (exit) => {
        if (Exit.isSuccess(exit)) callback()
        else callback(toNodeError(Cause.squash(exit.cause)))
      }
    })
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    Effect.runFork(Fiber.interrupt(this.fiber))
    callback(error)
  }
}

/**
 * A transport over any `@effect/platform` `Socket` (Node's `NodeSocket.makeNet`, a Bun or Deno socket,
 * a WebSocket bridge…). `open(server)` is run once per connection in its own scope, closed when the
 * connection closes; the engine keeps its pipelining, per-tick write coalescing and deadlines.
 *
 * Failures become the client's typed errors, as with {@link net}: a socket that fails to open (a
 * `SocketError` with reason `Open`, e.g. connection refused) fails the pending requests with
 * `MemcachedConnectionError` reason `Connect`; one that fails or ends later fails them with `Reset`
 * (ECONNRESET/EPIPE) or `Closed`. A connect timeout is the client's `connectTimeout` option.
 * Backpressure: one platform write at a time, the next chunks buffered and coalesced meanwhile.
 *
 * Cost: see {@link nodeSocket} (at parity with {@link net} when measured).
 *
 * @since 0.1.0
 * @category transports
 */
export const fromSocket = (
  open: (server: ServerSpec) => Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope>
): Transport => ({
  connect: (server) => new PlatformSocketStream(open(server))
})

let nodeSocketModule: Promise<typeof import("@effect/platform-node/NodeSocket")> | undefined = undefined

/**
 * {@link fromSocket} over `@effect/platform-node`'s `NodeSocket.makeNet` (TCP with `TCP_NODELAY`, or
 * the spec's unix `path`). `@effect/platform-node` is an optional peer dependency, loaded on the first
 * connection; without it every connection fails with `MemcachedConnectionError` reason `Connect`.
 * Fails as {@link fromSocket} says.
 *
 * Measured against the default {@link net} transport (50k pipelined `get`s of a 100-byte value, one
 * connection, real memcached 1.6 over loopback, 4 alternating runs of each in one process, medians, on
 * a shared 2-core machine): `net` 14.7k ops/s at 101.5 µs client CPU per op, `nodeSocket` 15.0k ops/s
 * at 96.9 µs — parity within noise (writes are coalesced per tick, so the platform writer runs once per
 * flush, not per request). `net` stays the default: it needs no optional peer.
 *
 * @since 0.1.0
 * @category transports
 */
export const nodeSocket = (options?: { readonly openTimeout?: Duration.DurationInput | undefined }): Transport =>
  fromSocket((server) =>
    Effect.flatMap(
      Effect.tryPromise({
        try: () => (nodeSocketModule ??= import("@effect/platform-node/NodeSocket")),
        catch: (cause) => new Socket.SocketGenericError({ reason: "Open", cause })
      }),
      (NodeSocket) =>
        NodeSocket.makeNet({
          ...(server.path !== undefined
            ? { path: server.path }
            : { host: server.host, port: server.port, noDelay: true }),
          openTimeout: options?.openTimeout
        })
    )
  )
