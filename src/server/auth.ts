/**
 * memcached's ASCII authentication (`-Y <file>`), as 1.6.18 does it: the auth file's `user:pass`
 * lines, and the per-connection gate that accepts only the authentication `set` until it succeeds.
 *
 * Behaviour (checked side by side with memcached 1.6.18 in test/Auth.test.ts): before authenticating,
 * any line that is not a `set` with at least five tokens and a numeric length gets
 * `CLIENT_ERROR unauthenticated` and the connection stays open; a `set` is read with its data block,
 * which must end in CRLF (`CLIENT_ERROR bad command line termination`) and hold at least two
 * space-separated tokens (`CLIENT_ERROR bad authentication token format`); the first two are the user
 * and password: a match answers `STORED` (nothing is stored) and the connection is authenticated for
 * good, a mismatch `CLIENT_ERROR authentication failure` (the connection stays open and may try
 * again). 2048 bytes without a newline close the connection. Replies of the unauthenticated phase
 * that come from one received chunk replace each other — memcached reuses one response object there —
 * so only the last one is sent. `auth_cmds` / `auth_errors` count attempts and failures.
 *
 * @since 0.2.0
 */
import type { Engine } from "./engine.js"
import { line } from "./replyLine.js"

/**
 * One user of the auth file.
 *
 * @since 0.2.0
 * @category models
 */
export interface AuthEntry {
  readonly username: string
  readonly password: string
}

/** memcached reads at most 8 entries (silently ignoring the rest) of at most 255 bytes each. */
const MAX_ENTRIES = 8
const MAX_ENTRY_LEN = 255

/**
 * Parses an auth file as memcached does: one `user:pass` per line (the user up to the first `:`, the
 * password up to the line end, `\r` excluded), at most the first 8 entries. Returns the entries, or a
 * message for a malformed file (a line without `:`, or longer than 255 bytes) — memcached refuses to
 * start then. Never throws.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseAuthFile = (text: string): ReadonlyArray<AuthEntry> | { readonly error: string } => {
  const lines = text.split("\n")
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
  const out: Array<AuthEntry> = []
  for (let i = 0; i < lines.length && out.length < MAX_ENTRIES; i++) {
    const raw = lines[i]!
    if (Buffer.byteLength(raw, "utf8") > MAX_ENTRY_LEN) return { error: `auth file line ${i + 1} is too long` }
    const colon = raw.indexOf(":")
    if (colon < 0) return { error: `auth file line ${i + 1} has no ':'` }
    const rest = raw.slice(colon + 1)
    const cr = rest.indexOf("\r")
    out.push({ username: raw.slice(0, colon), password: cr >= 0 ? rest.slice(0, cr) : rest })
  }
  return out
}

/** memcached's `tokenize_command`: split on spaces, empty tokens skipped. */
const tokens = (s: string): Array<string> => s.split(" ").filter((t) => t !== "")

/** memcached's `safe_strtoul`: digits, then the end or whitespace (`"11\r"` is 11). */
const lengthOf = (token: string): number | undefined => {
  const m = /^(\d+)(\s.*)?$/.exec(token)
  if (m === null) return undefined
  const n = Number(m[1])
  return n <= 0xffffffff ? n : undefined
}

/** Largest data block the gate waits for; a bigger announced length closes the connection. */
const MAX_AUTH_DATA = 1024 * 1024

/**
 * The authentication gate of one connection: `receive` never throws (a malformed input is answered as
 * memcached answers it, or closes the connection).
 *
 * @since 0.2.0
 * @category models
 */
export class AuthGate {
  authenticated = false
  private buffer: Buffer = Buffer.alloc(0)
  /** Bytes of the announced data block (with its CRLF) while one is being read. */
  private pending: number | undefined = undefined

  constructor(private readonly entries: ReadonlyArray<AuthEntry>, private readonly engine: Engine) {}

  /**
   * Takes a received chunk while unauthenticated. Returns the reply to send (the last of this chunk),
   * whether to close, and the bytes that follow a successful authentication in the chunk (to be
   * handled as ordinary commands).
   */
  receive(chunk: Uint8Array): { reply: Buffer | undefined; close: boolean; rest: Buffer | undefined } {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk])
    let reply: string | undefined
    while (!this.authenticated) {
      if (this.pending === undefined) {
        if (this.buffer.length < 2) break
        const lf = this.buffer.indexOf(10)
        if (lf < 0) {
          if (this.buffer.length > 2048) return { reply: undefined, close: true, rest: undefined }
          break
        }
        const t = tokens(this.buffer.latin1Slice(0, lf))
        this.buffer = this.buffer.subarray(lf + 1)
        const size = t.length >= 5 && t[0] === "set" ? lengthOf(t[4]!) : undefined
        if (size === undefined) {
          reply = "CLIENT_ERROR unauthenticated"
          continue
        }
        if (size > MAX_AUTH_DATA) return { reply: undefined, close: true, rest: undefined }
        this.pending = size + 2
      }
      const n = this.pending
      if (this.buffer.length < n) break
      const data = this.buffer.subarray(0, n)
      this.buffer = this.buffer.subarray(n)
      this.pending = undefined
      reply = this.check(data)
    }
    const rest = this.authenticated && this.buffer.length > 0 ? this.buffer : undefined
    if (this.authenticated) this.buffer = Buffer.alloc(0)
    const out = reply === undefined ? undefined : line(reply)
    if (out !== undefined) this.engine.counters.bytes_written += out.length
    return { reply: out, close: false, rest }
  }

  private check(data: Buffer): string {
    if (data[data.length - 2] !== 13 || data[data.length - 1] !== 10) return "CLIENT_ERROR bad command line termination"
    const t = tokens(data.utf8Slice(0, data.length - 2))
    if (t.length < 2) return "CLIENT_ERROR bad authentication token format"
    const counters = this.engine.counters
    counters.auth_cmds++
    const [user, pass] = t as [string, string]
    if (this.entries.some((e) => e.username === user && e.password === pass)) {
      this.authenticated = true
      return "STORED"
    }
    counters.auth_errors++
    return "CLIENT_ERROR authentication failure"
  }
}
