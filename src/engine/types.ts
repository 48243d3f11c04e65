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
 * Why a store command did not take effect (the edge maps it to `MemcachedStoreError`).
 *
 * @since 0.1.0
 * @category models
 */
export type StoreReason = "NotStored" | "Exists" | "NotFound"

/**
 * What kind of error the server reported (the edge maps it to `MemcachedServerError`).
 *
 * @since 0.1.0
 * @category models
 */
export type ServerReason = "ServerError" | "ClientError" | "UnknownCommand"

/**
 * Why a request was rejected before any byte was sent (the edge maps it to `MemcachedInputError`).
 *
 * @since 0.1.0
 * @category models
 */
export type InputReason =
  | "InvalidKey"
  | "InvalidTtl"
  | "InvalidValue"
  | "InvalidArgument"
  | "ValueTooLarge"
  | "Unsupported"

/**
 * The kinds of {@link EngineError}, each with its reasons.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineReasons {
  readonly Connection: ConnectionReason
  readonly Protocol: ProtocolReason
  readonly Store: StoreReason
  readonly Server: ServerReason
  readonly Input: InputReason
}

/**
 * One of the kinds of {@link EngineError}.
 *
 * @since 0.1.0
 * @category models
 */
export type EngineErrorKind = keyof EngineReasons

/**
 * Every failure of a request, as plain data that an edition maps to its own typed errors:
 * - `Connection`: the request could not be completed over the network (`server`, `message`, `cause`);
 * - `Protocol`: a reply does not fit its request; a finisher returning one closes the connection and
 *   every pending request fails;
 * - `Store`: the command did not take effect (`key`, `command`; `server` answered it);
 * - `Server`: `SERVER_ERROR` / `CLIENT_ERROR` / `ERROR` (`message`, `server`);
 * - `Input`: rejected before any byte was sent (`message`, `key` when one is to blame; `server` is "").
 *
 * Only `Protocol` closes a connection; the others fail their request alone.
 *
 * @since 0.1.0
 * @category models
 */
export class EngineError {
  constructor(
    readonly kind: EngineErrorKind,
    readonly reason: EngineReasons[EngineErrorKind],
    readonly message: string,
    readonly server: string,
    readonly cause?: unknown,
    readonly key?: string,
    readonly command?: string
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
 * A store outcome (`kind: "Store"`): `command` on `key` did not take effect. The connection stays usable.
 *
 * @since 0.1.0
 * @category constructors
 */
export const storeError = (reason: StoreReason, key: string, command: string, server: string): EngineError =>
  new EngineError("Store", reason, `${command} ${key}: ${reason}`, server, undefined, key, command)

/**
 * An error reported by the server (`kind: "Server"`). The connection stays usable.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serverError = (reason: ServerReason, message: string, server: string): EngineError =>
  new EngineError("Server", reason, message, server)

/**
 * An input error (`kind: "Input"`): the request was rejected before any byte was sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inputError = (reason: InputReason, message: string, key?: string): EngineError =>
  new EngineError("Input", reason, message, "", undefined, key)

/**
 * How a request is completed: exactly one of the two is called, once. `fail` gets an
 * {@link EngineError} (the engine's own, or one a finisher returned).
 *
 * @since 0.1.0
 * @category models
 */
export interface Completion {
  succeed(value: unknown): void
  fail(error: EngineError): void
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
