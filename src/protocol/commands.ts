/**
 * The commands of the server direction (what `makeCommandParser` produces), the error lines memcached
 * answers malformed input with, and the parser's bounds.
 *
 * @since 0.2.0
 */
import type { StorageCommand } from "./client.js"

/**
 * `get|gets|gat|gats [<exptime>] <key>*`. `exptime` is 0 for get/gets.
 *
 * @since 0.1.0
 * @category models
 */
export interface GetCommand {
  readonly _tag: "Get"
  readonly command: "get" | "gets" | "gat" | "gats"
  readonly keys: ReadonlyArray<string>
  readonly exptime: number
}

/**
 * A storage command with its data block. `tooLarge` is set when the declared length exceeded the
 * item size limit: the data was swallowed (and `data` is empty) and the server must answer
 * `SERVER_ERROR object too large for cache`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreCommand {
  readonly _tag: "Store"
  readonly command: StorageCommand
  readonly key: string
  readonly flags: number
  readonly exptime: number
  /** The compare-and-swap unique of `cas`; 0n for the other commands. */
  readonly cas: bigint
  readonly data: Buffer
  readonly noreply: boolean
  readonly tooLarge: boolean
}

/**
 * `touch <key> <exptime> [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TouchCommand {
  readonly _tag: "Touch"
  readonly key: string
  readonly exptime: number
  readonly noreply: boolean
}

/**
 * `delete <key> [0] [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeleteCommand {
  readonly _tag: "Delete"
  readonly key: string
  readonly noreply: boolean
}

/**
 * `incr|decr <key> <delta> [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArithmeticCommand {
  readonly _tag: "Arithmetic"
  readonly command: "incr" | "decr"
  readonly key: string
  readonly delta: bigint
  readonly noreply: boolean
}

/**
 * `flush_all [<delay>] [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FlushAllCommand {
  readonly _tag: "FlushAll"
  readonly delay: number
  readonly noreply: boolean
}

/**
 * `verbosity <level> [noreply]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerbosityCommand {
  readonly _tag: "Verbosity"
  readonly level: number
  readonly noreply: boolean
}

/**
 * `stats [<argument>*]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StatsCommand {
  readonly _tag: "Stats"
  readonly args: ReadonlyArray<string>
}

/**
 * `config <sub-command> [<key>]*` (ElastiCache's `config get cluster`): the tokens after `config`.
 * A server without a cluster configuration answers `ERROR`, as memcached does.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConfigCommand {
  readonly _tag: "Config"
  readonly args: ReadonlyArray<string>
}

/**
 * The meta commands.
 *
 * @since 0.1.0
 * @category models
 */
export type MetaCommandName = "mg" | "ms" | "md" | "ma" | "mn" | "me"

/**
 * A meta command: `<cmd> <key> <flag>*`, `ms <key> <datalen> <flag>*` with its data block, or `mn`
 * (empty key). Flags are kept as raw tokens (`"v"`, `"T30"`, `"Oopaque"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface MetaCommand {
  readonly _tag: "Meta"
  readonly command: MetaCommandName
  readonly key: string
  readonly flags: ReadonlyArray<string>
  /** The data block of `ms`. */
  readonly data: Buffer | undefined
}

/**
 * The admin commands the parser recognises but does not interpret.
 *
 * @since 0.2.0
 * @category models
 */
export type AdminCommandName = "cache_memlimit" | "slabs" | "lru_crawler" | "lru" | "shutdown"

/**
 * An admin command: `cache_memlimit <MB> [noreply]`, `slabs reassign <src> <dst>`, `slabs automove <0|1|2>`,
 * `lru_crawler <…>`, `lru <…>`, `shutdown [graceful]`. `args` are the tokens after the name (latin1)
 * without a trailing `noreply`, which sets `noreply` instead; the session interprets them and answers
 * with memcached's texts. (memcached 1.6.18 ignores `noreply` on `shutdown`: the session decides.)
 * Bare `cache_memlimit`/`lru` and `cache_memlimit` with more than two arguments are answered `ERROR`
 * by the parser, as memcached's dispatcher does.
 *
 * @since 0.2.0
 * @category models
 */
export interface AdminCommand {
  readonly _tag: "Admin"
  readonly command: AdminCommandName
  readonly args: ReadonlyArray<string>
  readonly noreply: boolean
}

/**
 * Input the server must answer with an error line and otherwise ignore. `reply` is the line without
 * CRLF (`ERROR`, `CLIENT_ERROR bad command line format`, …); memcached suppresses it when the
 * command carried `noreply`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidCommand {
  readonly _tag: "Invalid"
  readonly reply: string
  readonly noreply: boolean
}

/**
 * The connection must close: the input can not be framed any more (a line without an end beyond the
 * bound), or it is an HTTP request line (memcached closes those without a reply). The server sends
 * `reply` if present and closes the connection; the parser accepts nothing after it.
 *
 * @since 0.1.0
 * @category models
 */
export interface FatalCommand {
  readonly _tag: "Fatal"
  readonly reply: string | undefined
}

/**
 * Every command the parser produces.
 *
 * @since 0.1.0
 * @category models
 */
export type Command =
  | GetCommand
  | StoreCommand
  | TouchCommand
  | DeleteCommand
  | ArithmeticCommand
  | FlushAllCommand
  | VerbosityCommand
  | StatsCommand
  | ConfigCommand
  | { readonly _tag: "Version" }
  | { readonly _tag: "Quit" }
  | MetaCommand
  | AdminCommand
  | InvalidCommand
  | FatalCommand

/**
 * The error lines memcached sends for malformed input.
 *
 * @since 0.1.0
 * @category constants
 */
export const ErrorLines = {
  unknownCommand: "ERROR",
  badFormat: "CLIENT_ERROR bad command line format",
  badDataChunk: "CLIENT_ERROR bad data chunk",
  badDelete: "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
  invalidExptime: "CLIENT_ERROR invalid exptime argument",
  invalidDelta: "CLIENT_ERROR invalid numeric delta argument",
  nonNumeric: "CLIENT_ERROR cannot increment or decrement non-numeric value",
  lineTooLong: "CLIENT_ERROR line too long",
  tooLarge: "SERVER_ERROR object too large for cache",
  outOfMemory: "SERVER_ERROR out of memory storing object"
} as const

// ---------------------------------------------------------------------------------------------
// Parser bounds and interface
// ---------------------------------------------------------------------------------------------

/**
 * Bounds of the command parser.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandParserLimits {
  /**
   * Longest `get`/`gets` line accepted without its end, in bytes (default 1 MiB): beyond it the
   * connection ends with `CLIENT_ERROR line too long`. Other commands end the connection without a
   * reply past 2048 bytes without a line end, as memcached does.
   */
  readonly maxLineLength?: number | undefined
  /** The item size limit (memcached `-I`, default 1 MiB), see {@link itemSize}. */
  readonly maxItemSize?: number | undefined
}

/**
 * An incremental command parser: feed it bytes in any split, it returns the complete commands and
 * keeps the rest. After a {@link FatalCommand} it returns nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandParser {
  readonly push: (chunk: Uint8Array) => Array<Command>
  /** Bytes held for an incomplete command (the swallowed part of a too-large value is not held). */
  readonly buffered: number
  /** True after a fatal error. */
  readonly closed: boolean
}

/**
 * The bytes memcached accounts for an item (header with CAS, key, NUL, value, CRLF); an item is
 * too large when this exceeds the item size limit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const itemSize = (keyLength: number, valueLength: number): number => 56 + keyLength + 1 + valueLength + 2
