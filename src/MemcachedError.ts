/**
 * The typed failures of effect-memcached. A cache miss is never an error: reads return
 * `Option.none()`. Everything else a request can end with is one of the classes below, each split by
 * a `reason` literal so callers can branch with `Effect.catchTag` and then on `reason` (the reasons are
 * the engine's, src/engine/types.ts). One source for both editions (packages/effect4/editions.json).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { ConnectionReason, InputReason, ProtocolReason, ServerReason, StoreReason } from "./engine/types.js"

/**
 * The request was rejected before any byte was sent: an invalid key, TTL, value or option, or a
 * feature the server's protocol does not offer. Nothing was sent and the connection is untouched.
 *
 * @since 0.1.0
 * @category errors
 */
export class MemcachedInputError extends Data.TaggedError("MemcachedInputError")<{
  readonly reason: InputReason
  readonly message: string
  readonly key?: string | undefined
}> {}

/**
 * The server answered, but the command did not take effect: `NOT_STORED` (add on an existing key,
 * replace/append/prepend on a missing one), `EXISTS` (a CAS conflict) or `NOT_FOUND` (delete, touch,
 * incr/decr or cas on a missing key). The connection stays healthy.
 *
 * @since 0.1.0
 * @category errors
 */
export class MemcachedStoreError extends Data.TaggedError("MemcachedStoreError")<{
  readonly reason: StoreReason
  readonly key: string
  readonly command: string
}> {
  override get message(): string {
    return `${this.command} ${this.key}: ${this.reason}`
  }
}

/**
 * The request could not be completed over the network: the connection could not be opened
 * (`Connect`, `ConnectTimeout`), the request's deadline passed (`Timeout`), the connection was closed
 * or reset while the request was in flight (`Closed`, `Reset`), the server is ejected from the ring
 * (`Ejected`), too many requests are queued (`Overloaded`), the TLS handshake or the server's
 * certificate check failed (`Tls`), or the server rejected the client's ASCII authentication (`Auth`,
 * memcached `-Y`). `Tls` and `Auth` happen before any byte of a request is sent; the message never
 * contains credentials. The outcome of a write that fails otherwise is unknown.
 *
 * @since 0.1.0
 * @category errors
 */
export class MemcachedConnectionError extends Data.TaggedError("MemcachedConnectionError")<{
  readonly reason: ConnectionReason
  readonly server: string
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * The server reported an error: `SERVER_ERROR <message>` (`ServerError`, e.g. "object too large
 * for cache" or "out of memory"), `CLIENT_ERROR <message>` (`ClientError`, e.g. incr on a
 * non-numeric value) or a bare `ERROR` (`UnknownCommand`). The connection stays usable.
 *
 * @since 0.1.0
 * @category errors
 */
export class MemcachedServerError extends Data.TaggedError("MemcachedServerError")<{
  readonly reason: ServerReason
  readonly message: string
  readonly server: string
}> {}

/**
 * The bytes from the server did not form a valid reply (a malformed line, a line or value over the
 * configured bound, a missing CRLF after a value, or a reply that does not fit the request). The
 * connection is closed and every request in flight on it fails with this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class MemcachedProtocolError extends Data.TaggedError("MemcachedProtocolError")<{
  readonly reason: ProtocolReason
  readonly message: string
  readonly server?: string | undefined
}> {}

/**
 * Any failure of a request that reached the network layer.
 *
 * @since 0.1.0
 * @category errors
 */
export type MemcachedError =
  | MemcachedInputError
  | MemcachedStoreError
  | MemcachedConnectionError
  | MemcachedServerError
  | MemcachedProtocolError

/**
 * What a read (`get`, `gets`, `getMany`, `gat`, `gats`, `metaGet`, `metaDebug`) and `set` can fail
 * with: every error but {@link MemcachedStoreError} — a miss is `Option.none()`, and a store outcome
 * in reply to a read is a {@link MemcachedProtocolError}.
 *
 * @since 0.1.0
 * @category errors
 */
export type MemcachedReadError =
  | MemcachedInputError
  | MemcachedConnectionError
  | MemcachedServerError
  | MemcachedProtocolError
