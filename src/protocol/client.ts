/**
 * The sans-IO memcached codec, client direction: encoders for every text command, and (re-exported
 * from `replies.ts`) the incremental parser for the replies of both the text and the meta protocol. Nothing here opens a socket, keeps
 * time or tracks which request a reply belongs to; bytes go in, typed replies come out. The server
 * direction (command parser, reply encoder) is `ServerProtocol`.
 *
 * Values are framed by their declared byte count (never by scanning for `END`), the CRLF after a value
 * is checked, and both the line length and the value size are bounded: a violation is terminal for the
 * parser and surfaces as a {@link ProtocolViolation} (the engine maps it to `MemcachedProtocolError`).
 *
 * @since 0.1.0
 */
export {
  ConfigReply,
  Deleted,
  End,
  Exists,
  keyBytesEqual,
  makeReplyParser,
  type MetaCode,
  MetaReply,
  NotFound,
  NotStored,
  Ok,
  type ParserLimits,
  type Reply,
  type ReplyParser,
  type ReplySink,
  Stored,
  Touched,
  ValueReply
} from "./replies.js"

// ---------------------------------------------------------------------------------------------
// Command encoders (text protocol)
// ---------------------------------------------------------------------------------------------

/**
 * The storage commands of the text protocol.
 *
 * @since 0.1.0
 * @category models
 */
export type StorageCommand = "set" | "add" | "replace" | "append" | "prepend" | "cas"

/**
 * The retrieval commands of the text protocol.
 *
 * @since 0.1.0
 * @category models
 */
export type RetrievalCommand = "get" | "gets"

const nr = (noreply: boolean | undefined): string => (noreply === true ? " noreply\r\n" : "\r\n")

/**
 * `get|gets <key>*`. Keys must already be valid.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeGet = (command: RetrievalCommand, keys: ReadonlyArray<string>): string =>
  keys.length === 1 ? `${command} ${keys[0]}\r\n` : `${command} ${keys.join(" ")}\r\n`

/**
 * `gat|gats <exptime> <key>*`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeGat = (command: "gat" | "gats", exptime: number, keys: ReadonlyArray<string>): string =>
  `${command} ${exptime} ${keys.join(" ")}\r\n`

/**
 * The header line of a storage command: `<cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply]`.
 * The data block and a CRLF must follow it.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStorageHeader = (
  command: StorageCommand,
  key: string,
  flags: number,
  exptime: number,
  bytes: number,
  cas?: bigint | undefined,
  noreply?: boolean | undefined
): string =>
  command === "cas"
    ? `cas ${key} ${flags} ${exptime} ${bytes} ${cas ?? 0n}${nr(noreply)}`
    : `${command} ${key} ${flags} ${exptime} ${bytes}${nr(noreply)}`

/**
 * `touch <key> <exptime> [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeTouch = (key: string, exptime: number, noreply?: boolean): string =>
  `touch ${key} ${exptime}${nr(noreply)}`

/**
 * `delete <key> [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeDelete = (key: string, noreply?: boolean): string => `delete ${key}${nr(noreply)}`

/**
 * `incr|decr <key> <delta> [noreply]`; the delta is an unsigned 64-bit integer.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeIncrDecr = (command: "incr" | "decr", key: string, delta: bigint, noreply?: boolean): string =>
  `${command} ${key} ${delta}${nr(noreply)}`

/**
 * `flush_all [delay] [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeFlushAll = (delay?: number, noreply?: boolean): string =>
  delay === undefined || delay === 0 ? `flush_all${nr(noreply)}` : `flush_all ${delay}${nr(noreply)}`

/**
 * `version`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeVersion = (): string => "version\r\n"

/**
 * `stats [<argument>]`, e.g. `stats settings`, `stats items`, `stats slabs`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStats = (argument?: string): string =>
  argument === undefined || argument === "" ? "stats\r\n" : `stats ${argument}\r\n`

/**
 * `verbosity <level> [noreply]`.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeVerbosity = (level: number, noreply?: boolean): string => `verbosity ${level}${nr(noreply)}`

/**
 * `quit`: the server closes the connection without replying.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeQuit = (): string => "quit\r\n"

/**
 * A full storage command as bytes (header, data block, CRLF); the connection writes the parts
 * without concatenating them, this is for tests and tools.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeStorage = (
  command: StorageCommand,
  key: string,
  flags: number,
  exptime: number,
  data: Uint8Array,
  cas?: bigint | undefined,
  noreply?: boolean | undefined
): Buffer =>
  Buffer.concat([
    Buffer.from(encodeStorageHeader(command, key, flags, exptime, data.length, cas, noreply)),
    data,
    Buffer.from("\r\n")
  ])

/**
 * The ASCII authentication command of memcached's `-Y` mode: a `set` whose data block is
 * `<username> <password>` (memcached ignores the key, flags and exptime and answers `STORED` or
 * `CLIENT_ERROR authentication failure`). The exptime is -1 so that a server without `-Y`, which takes
 * it for an ordinary `set`, stores an item that is already expired instead of keeping the credentials.
 * Both parts must already be valid (non-empty, no whitespace or control characters, see
 * {@link authCredentialProblem}). Returns bytes: the credentials never exist as one string. Never
 * throws.
 *
 * @since 0.1.0
 * @category encoders
 */
export const encodeAuth = (username: string, password: string): Buffer => {
  const data = Buffer.from(`${username} ${password}`, "utf8")
  return Buffer.concat([Buffer.from(`set auth 0 -1 ${data.length}\r\n`, "latin1"), data, Buffer.from("\r\n")])
}

/**
 * Why a username or password cannot be sent by {@link encodeAuth} (memcached splits the data block on
 * spaces and its auth file on the first `:`), or undefined when it can. Never quotes the value;
 * never throws.
 *
 * @since 0.1.0
 * @category encoders
 */
export const authCredentialProblem = (part: "username" | "password", value: string): string | undefined => {
  if (value.length === 0) return `${part} is empty`
  // deno-lint-ignore no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return `${part} contains whitespace or control characters`
  if (part === "username" && value.includes(":")) return "username contains ':'"
  if (Buffer.byteLength(value, "utf8") > 250) return `${part} is longer than 250 bytes`
  return undefined
}
