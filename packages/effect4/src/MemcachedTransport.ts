/**
 * The socket factory seam of the Effect 4 edition: how the client opens a byte stream to a server.
 * A transport is a plain value given to the client as its `transport` option (default {@link net}).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import { Duplex } from "node:stream"
import type { ServerSpec } from "./ServerSpec.js"
import type { Transport } from "./transport/node.js"

export { net, type TlsOption, type Transport, tlsTransport, withTls } from "./transport/node.js"

/** The Node error a `SocketError` stands for, keeping the underlying `code` (ECONNREFUSED, …). */
const toNodeError = (error: unknown): Error => {
  const reason = (error as { reason?: { _tag?: string; cause?: unknown; code?: number } } | undefined)?.reason
  const cause = reason?.cause
  const code = (cause as { code?: unknown } | undefined)?.code
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error)
  const out = new Error(message, { cause: error }) as Error & { code?: string }
  if (typeof code === "string") out.code = code
  else if (reason?._tag === "SocketCloseError") out.code = "ECONNRESET"
  return out
}

/** A normal end of stream: the peer closed cleanly (close code 1000). */
const isCleanClose = (error: unknown): boolean => {
  const reason = (error as { reason?: { _tag?: string; code?: number } } | undefined)?.reason
  return reason?._tag === "SocketCloseError" && reason.code === 1000
}

/**
 * An Effect 4 `Socket` seen as the `Duplex` the engine drives: `connecting` until the reader is open
 * (then `"connect"`), every pulled chunk pushed, writes through the socket's writer one at a time (the
 * next starts when the previous completed, so the Duplex's buffer and `drain` carry the backpressure),
 * a clean close ends it, any other socket error destroys it. Destroying it interrupts the fiber that
 * owns the socket's scope, which closes the socket.
 */
class EffectSocketStream extends Duplex {
  connecting = true
  private writer: Socket.Writer | undefined = undefined
  private readonly fiber: Fiber.Fiber<void, Socket.SocketError>

  constructor(open: Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope>) {
    super({ allowHalfOpen: false })
    const self = this
    const program = Effect.scoped(Effect.gen(function*() {
      const socket = yield* open
      const pull = yield* Socket.readerBytes(socket)
      self.writer = yield* socket.writer
      self.opened()
      while (true) {
        const chunks = yield* pull
        for (const chunk of chunks) self.push(chunk)
      }
    }))
    this.fiber = Effect.runFork(program as Effect.Effect<void, Socket.SocketError>)
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
    if (Exit.hasInterrupts(exit)) {
      this.destroy()
      return
    }
    const error = Cause.squash(exit.cause)
    if (isCleanClose(error)) this.push(null)
    else this.destroy(toNodeError(error))
  }

  override _read(): void {
    // The read loop pulls continuously: the engine consumes each chunk at once.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback)
  }

  /** One socket write; `callback` runs when it completed (or failed). */
  private send(chunk: Uint8Array, callback: (error?: Error | null) => void): void {
    const writer = this.writer
    if (writer === undefined) {
      callback(toNodeError(new Error("write before the socket opened")))
      return
    }
    Effect.runCallback(writer.write(chunk), {
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
 * A transport over any Effect 4 `Socket` (`effect/socket/Socket`: `NodeSocket.makeNet` of
 * `@effect/platform-node`, a Bun socket, a WebSocket bridge…). `open(server)` runs once per connection
 * in its own scope, closed when the connection closes; the engine keeps its pipelining, per-tick write
 * coalescing and deadlines.
 *
 * Failures become the client's typed errors as with {@link net}: a socket that fails to open fails the
 * pending requests with `MemcachedConnectionError("Connect")`; one that fails or ends later with
 * `Reset` or `Closed`. A connect timeout is the client's `connectTimeout` option.
 *
 * @since 0.1.0
 * @category transports
 */
export const fromSocket = (
  open: (server: ServerSpec) => Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope>
): Transport => ({
  connect: (server) => new EffectSocketStream(open(server))
})

let nodeSocketModule: Promise<typeof import("@effect/platform-node/NodeSocket")> | undefined = undefined

/**
 * {@link fromSocket} over `@effect/platform-node`'s `NodeSocket.makeNet` (TCP with `TCP_NODELAY`, or
 * the spec's unix `path`). `@effect/platform-node` 4.x is an optional peer dependency, loaded on the
 * first connection; without it every connection fails with `MemcachedConnectionError("Connect")`.
 * Fails as {@link fromSocket} says.
 *
 * @since 0.1.0
 * @category transports
 */
export const nodeSocket = (options?: { readonly openTimeout?: Duration.Input | undefined }): Transport =>
  fromSocket((server) =>
    Effect.flatMap(
      Effect.tryPromise({
        try: () => (nodeSocketModule ??= import("@effect/platform-node/NodeSocket")),
        catch: (cause) => new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })
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
