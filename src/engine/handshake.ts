/**
 * The connect steps that come before a connection carries requests: the socket connects, its TLS
 * handshake (and certificate check) completes, then, with memcached's ASCII authentication (`-Y`),
 * the authentication `set` is sent and `STORED` awaited. A {@link HandshakeStream} reports
 * `connecting === true` until all of that is done and only then emits `"connect"`, so the connection
 * (connection.ts, which holds every request until its socket connects) sends no byte of a request
 * before, and the handshake runs under the connection's connect deadline (`ConnectTimeout`).
 *
 * Failures are {@link HandshakeError}s: `Tls` for a failed TLS handshake or certificate check (and
 * for a TLS alert received later, as a TLS 1.3 server sends when it rejects the client's
 * certificate), `Auth` for a rejected authentication. The connection fails every pending request
 * with them (reasons `Tls` / `Auth`), and the pool counts them toward ejection like any connect
 * failure. The credentials are held only as the encoded command's bytes and never appear in a
 * message.
 *
 * @since 0.1.0
 */
import { Duplex } from "node:stream"
import type { Connector, Endpoint } from "./types.js"
import { HandshakeError } from "./types.js"

/**
 * What happens on a new connection before it carries requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandshakePlan {
  /** The encoded authentication command (`encodeAuth` of protocol/client.ts), or none. */
  readonly auth?: Uint8Array | undefined
}

/** Errors that mean the TCP connection itself could not be opened (reason `Connect`, not `Tls`). */
const TCP_CONNECT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EADDRNOTAVAIL"
])

/** The longest authentication reply line accepted (memcached's is 36 bytes). */
const MAX_REPLY = 1024

const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * What the server answered to the authentication, for the error message: the reply's first word when
 * it is a protocol word (`ERROR`, `CLIENT_ERROR`, …), never the rest of the line.
 */
const describeReply = (line: string): string => {
  if (line === "CLIENT_ERROR authentication failure") return "the server rejected the credentials"
  const word = line.split(" ", 1)[0]!
  return /^[A-Z_]{1,32}$/.test(word)
    ? `the server answered the authentication with ${word} instead of STORED`
    : "the server answered the authentication with an unexpected reply"
}

/**
 * A stream over a server socket that is "connecting" until the socket, its TLS handshake and the
 * authentication are done; afterwards it passes bytes through both ways (with the socket's
 * backpressure). Destroying it destroys the socket. It fails (an `"error"` event, then `"close"`)
 * with a {@link HandshakeError} (`Tls`: handshake, certificate check, a later TLS alert, or a close
 * during the TLS handshake; `Auth`: a reply other than `STORED`, or a close during authentication),
 * or with the socket's own error when the TCP connection fails (refused, unreachable, reset after the
 * handshake). Never throws.
 *
 * @since 0.1.0
 * @category models
 */
export class HandshakeStream extends Duplex {
  connecting = true
  private ready = false
  private readonly tls: boolean
  private tcpUp: boolean
  private tlsUp = false
  private awaitingAuth = false
  private reply: Buffer | undefined = undefined
  private waiting: ((error?: Error | null) => void) | undefined = undefined

  constructor(readonly inner: Duplex, private readonly auth: Uint8Array | undefined) {
    super({ allowHalfOpen: false })
    this.tls = "encrypted" in inner
    this.tcpUp = (inner as { connecting?: boolean }).connecting !== true
    inner.on("data", (chunk: Buffer) => {
      if (this.ready) this.push(chunk)
      else this.handshakeData(chunk)
    })
    inner.on("end", () => {
      if (this.ready) this.push(null)
      else this.fail(new HandshakeError(this.stage(), `the server closed the connection during the ${this.step()}`))
    })
    inner.on("error", (e: Error) => this.fail(this.classify(e)))
    inner.on("close", () => {
      if (this.ready) this.destroy()
      else this.fail(new HandshakeError(this.stage(), `the connection closed during the ${this.step()}`))
    })
    inner.on("drain", () => {
      const callback = this.waiting
      this.waiting = undefined
      callback?.()
    })
    if (this.tls) {
      inner.once("connect", () => (this.tcpUp = true))
      inner.once("secureConnect", () => {
        this.tcpUp = this.tlsUp = true
        this.transportReady()
      })
    } else if (!this.tcpUp) inner.once("connect", () => this.transportReady())
    else queueMicrotask(() => this.transportReady())
  }

  private stage(): "Tls" | "Auth" {
    return this.tls && !this.tlsUp ? "Tls" : "Auth"
  }

  private step(): string {
    return this.stage() === "Tls" ? "TLS handshake" : "authentication"
  }

  /** A socket error as the connection should see it: TLS failures become `Tls`, the rest stay as they are. */
  private classify(e: Error): Error {
    if (e instanceof HandshakeError) return e
    const code = codeOf(e)
    if (this.tls && !this.tlsUp && (this.tcpUp || code === undefined || !TCP_CONNECT_CODES.has(code))) {
      return new HandshakeError("Tls", `TLS handshake failed: ${messageOf(e)}`, { cause: e })
    }
    // A TLS alert after the handshake (TLS 1.3 servers check the client certificate after it).
    if (this.tls && code !== undefined && code.startsWith("ERR_SSL_")) {
      return new HandshakeError("Tls", `TLS failure: ${messageOf(e)}`, { cause: e })
    }
    return e
  }

  private fail(error: Error): void {
    if (this.destroyed) return
    this.destroy(error)
  }

  private transportReady(): void {
    if (this.destroyed || this.ready) return
    const auth = this.auth
    if (auth === undefined) return this.becomeReady(undefined)
    this.awaitingAuth = true
    this.inner.write(auth)
  }

  private handshakeData(chunk: Buffer): void {
    if (!this.awaitingAuth) {
      this.fail(new HandshakeError(this.stage(), "the server sent data before the handshake completed"))
      return
    }
    const buffer = this.reply === undefined ? chunk : Buffer.concat([this.reply, chunk])
    const lf = buffer.indexOf(10)
    if (lf < 0) {
      if (buffer.length > MAX_REPLY) {
        this.fail(new HandshakeError("Auth", "the server's answer to the authentication is not a reply line"))
      } else this.reply = buffer
      return
    }
    this.reply = undefined
    this.awaitingAuth = false
    const line = buffer.latin1Slice(0, lf > 0 && buffer[lf - 1] === 13 ? lf - 1 : lf)
    if (line !== "STORED") {
      this.fail(new HandshakeError("Auth", `authentication failed: ${describeReply(line)}`))
      return
    }
    this.becomeReady(lf + 1 < buffer.length ? buffer.subarray(lf + 1) : undefined)
  }

  private becomeReady(rest: Buffer | undefined): void {
    this.ready = true
    this.connecting = false
    this.emit("connect")
    // Nothing is expected before the first request; the connection reports it as an unexpected reply.
    if (rest !== undefined) this.push(rest)
  }

  override _read(): void {
    // Chunks are pushed as they arrive (the connection consumes each at once).
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.inner.write(chunk)) callback()
    else this.waiting = callback
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let ok = true
    this.inner.cork()
    for (let i = 0; i < chunks.length; i++) ok = this.inner.write(chunks[i]!.chunk)
    this.inner.uncork()
    if (ok) callback()
    else this.waiting = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end()
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.(error)
    this.inner.destroy()
    callback(error)
  }
}

/**
 * A connector whose streams are ready only after the handshake `plan(server)` asks for (and the TLS
 * handshake of a TLS socket the inner connector opens). Servers for which `wrap(server)` is false get
 * the inner connector's stream as it is (no extra layer). Throws only what the inner connector
 * throws; its streams fail as {@link HandshakeStream} says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withHandshake = <S extends Endpoint>(
  connector: Connector<S>,
  plan: HandshakePlan,
  wrap: (server: S) => boolean
): Connector<S> => ({
  connect: (server) => {
    const socket = connector.connect(server)
    return plan.auth !== undefined || wrap(server) ? new HandshakeStream(socket, plan.auth) : socket
  }
})
