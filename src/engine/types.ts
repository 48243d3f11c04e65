/**
 * The engine's seams, plain data and interfaces only (no Effect): how a request is completed, how the
 * engine reports its own failures, and the minimal views of a server, a transport and a key placement
 * that the edge's richer types satisfy structurally.
 *
 * @since 0.1.0
 */
import type { Duplex } from "node:stream"

/**
 * Why a connection-level failure happened (the edge maps it to `MemcachedConnectionError`).
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionReason =
  | "Connect"
  | "ConnectTimeout"
  | "Timeout"
  | "Closed"
  | "Reset"
  | "Ejected"
  | "Overloaded"
  | "Tls"
  | "Auth"

/**
 * Why the bytes from a server could not be taken (the edge maps it to `MemcachedProtocolError`).
 *
 * @since 0.1.0
 * @category models
 */
export type ProtocolReason = "Malformed" | "LineTooLong" | "ValueTooLarge" | "Unexpected"

/**
 * A failure the engine produces itself, as plain data: a connection failure or a protocol violation.
 * A finisher returns a `Protocol` one when a reply does not fit its request: the connection then
 * closes and every pending request fails. The edge turns it into its typed error.
 *
 * @since 0.1.0
 * @category models
 */
export class EngineError {
  constructor(
    readonly kind: "Connection" | "Protocol",
    readonly reason: ConnectionReason | ProtocolReason,
    readonly message: string,
    readonly server: string,
    readonly cause?: unknown
  ) {}
}

/**
 * A failure of a connection's handshake (engine/handshake.ts): the TLS handshake or certificate check
 * (`Tls`), or the ASCII authentication (`Auth`). The message never contains credentials.
 *
 * @since 0.1.0
 * @category models
 */
export class HandshakeError extends Error {
  constructor(readonly reason: "Tls" | "Auth", message: string, options?: { readonly cause?: unknown }) {
    super(message, options)
    this.name = "HandshakeError"
  }
}

/**
 * A connection failure (`kind: "Connection"`). A failure caused by a {@link HandshakeError} keeps the
 * handshake's reason (`Tls`, `Auth`) whatever `reason` the caller saw (a socket error while connecting
 * is `Connect` to the connection, which does not know about handshakes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const connectionError = (
  reason: ConnectionReason,
  server: string,
  message: string,
  cause?: unknown
): EngineError =>
  new EngineError("Connection", cause instanceof HandshakeError ? cause.reason : reason, message, server, cause)

/**
 * A protocol violation (`kind: "Protocol"`): it closes the connection it happened on.
 *
 * @since 0.1.0
 * @category constructors
 */
export const protocolError = (reason: ProtocolReason, server: string, message: string): EngineError =>
  new EngineError("Protocol", reason, message, server)

/**
 * What a finisher returns when its request fails with an error of the edge (a store outcome, a server
 * error): the engine hands `error` to the request's completion and the connection stays usable.
 *
 * @since 0.1.0
 * @category models
 */
export class Failure {
  constructor(readonly error: unknown) {}
}

/**
 * How a request is completed: exactly one of the two is called, once. `fail` gets an
 * {@link EngineError} for failures of the engine, or the `error` of a finisher's {@link Failure}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Completion {
  succeed(value: unknown): void
  fail(error: unknown): void
}

/**
 * What the engine knows of a server: its label (errors, logs). The edge's `ServerSpec` satisfies it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly name: string
}

/**
 * Opens a byte stream to a server; must return at once (a stream still connecting reports
 * `connecting === true`). The edge's `Transport` satisfies it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connector<S extends Endpoint> {
  connect(server: S): Duplex
}

/**
 * Key → server index over a fixed server list. The edge's `Distribution` placements satisfy it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Placement {
  readonly serverFor: (key: string) => number
}

/**
 * Builds a {@link Placement} over a server list (again with the live ones after an ejection).
 *
 * @since 0.1.0
 * @category models
 */
export interface PlacementBuilder<S> {
  build(servers: ReadonlyArray<S>): Placement
}

/**
 * Timer and clock used for deadlines and health (the edge passes Effect's `Clock`, so `TestClock`
 * drives them in tests).
 *
 * @since 0.1.0
 * @category models
 */
export interface Timers {
  readonly now: () => number
  /** Calls `f` after `ms`; returns a cancel function. */
  readonly schedule: (ms: number, f: () => void) => () => void
}
