/**
 * The protocol layer's one error type. The codec is Effect-free, so it does not raise
 * `MemcachedProtocolError`; a parser that meets bytes it can not frame or numbers it can not accept
 * records a {@link ProtocolViolation} (terminal for that parser) and the engine maps it to
 * `MemcachedProtocolError({ reason, message, server })`, closing the connection.
 *
 * @since 0.2.0
 */

/**
 * Why the reply stream can not be parsed any further:
 * - `Malformed`: a line or number that is not what the protocol allows (bad CRLF, `cXYZ`, `-12`, …);
 * - `LineTooLong`: a reply line beyond the parser's line bound;
 * - `ValueTooLarge`: a declared value length beyond the parser's value bound;
 * - `Unexpected`: a reply that is well-formed but does not fit the request it answers.
 *
 * @since 0.2.0
 * @category models
 */
export type ProtocolViolationReason = "Malformed" | "LineTooLong" | "ValueTooLarge" | "Unexpected"

/**
 * A protocol violation found by a parser. Plain data (not thrown): the parser exposes it as its
 * terminal `error`, and every later `push` returns nothing.
 *
 * @since 0.2.0
 * @category models
 */
export class ProtocolViolation {
  constructor(
    /** What kind of violation this is. */
    readonly reason: ProtocolViolationReason,
    /** A human-readable description, e.g. `mg return flag c is not an unsigned 64-bit integer`. */
    readonly message: string
  ) {}
}
