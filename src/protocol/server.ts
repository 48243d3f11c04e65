/**
 * The sans-IO memcached codec, server direction: an incremental parser for the commands of the text
 * protocol (and the meta protocol's `mg`/`ms`/`md`/`ma`/`mn`/`me`) and encoders for the replies.
 * The client direction is `Protocol`.
 *
 * Malformed input is not an exception: it becomes an {@link InvalidCommand} carrying the exact error
 * line memcached 1.6 sends for it, so a server answers it and carries on, as memcached does. Only an
 * unbounded line or an HTTP request line ends the connection ({@link FatalCommand}). Data blocks are framed by their declared
 * length, the CRLF after them is checked, and buffering is bounded by the line limit and the item
 * size limit (larger values are swallowed without being buffered).
 *
 * Keys are decoded as latin1, one char per byte, so any byte sequence round-trips exactly.
 *
 * This module gathers `commands.ts` (the models), `commandParser.ts` (the parser, on the shared
 * framer) and `replyEncoders.ts`.
 *
 * @since 0.1.0
 */
export * from "./commandParser.js"
export * from "./commands.js"
export * from "./replyEncoders.js"
