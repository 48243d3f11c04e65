/**
 * Validation of a meta command's flag tokens into {@link MetaFlags}, with the exact error lines of
 * memcached 1.6.18: each command has its own set of flags, its own texts for an unknown or repeated
 * flag (`mg`/`ms`: `invalid flag` / `duplicate flag`; `md`/`ma`: `invalid or duplicate flag` for
 * every problem, a bad number included), and numbers are checked as memcached's strtol/strtoull do.
 *
 * @since 0.2.0
 */
import { ErrorLines, type MetaCommand } from "../protocol/server.js"
import { U64_MAX } from "../protocol/bytes.js"
import type { Emulation } from "./context.js"

/**
 * The validated flags of one meta command. Numbers are parsed; `tokens` keeps the raw flags in
 * request order, for the return flags that echo them.
 *
 * @since 0.2.0
 * @category models
 */
export interface MetaFlags {
  readonly tokens: ReadonlyArray<string>
  readonly quiet: boolean
  readonly base64: boolean
  /** `u`: no LRU bump, not marked fetched. */
  readonly noBump: boolean
  readonly ttl: number | undefined
  readonly vivify: number | undefined
  readonly recache: number | undefined
  /** `E`: the CAS unique to give a new or modified item. */
  readonly newCas: bigint | undefined
  /** `C`: compare-and-swap. */
  readonly compareCas: bigint | undefined
  readonly clientFlags: number
  readonly invalidate: boolean
  readonly removeValue: boolean
  /** `M` mode token (`""` = the command's default). */
  readonly mode: string
  readonly delta: bigint
  readonly initial: bigint
  /** `O` longer than 32 bytes: memcached notices while writing the reply (ms fails before acting). */
  readonly opaqueTooLong: boolean
}

type Parsed = { -readonly [K in keyof MetaFlags]: MetaFlags[K] }

const INVALID_FLAG = "CLIENT_ERROR invalid flag"
const DUPLICATE_FLAG = "CLIENT_ERROR duplicate flag"
const INVALID_OR_DUP = "CLIENT_ERROR invalid or duplicate flag"
const BAD_TOKEN = "CLIENT_ERROR bad token in command line format"

/**
 * The error line for an opaque over 32 bytes.
 *
 * @since 0.2.0
 * @category constants
 */
export const OPAQUE_TOO_LONG = "CLIENT_ERROR opaque token too long"

type Verb = Exclude<MetaCommand["command"], "mn">

/** The flags each meta command accepts, per emulated version. */
const ALLOWED: Readonly<Record<Emulation, Readonly<Record<Verb, string>>>> = {
  "1.6.18": { mg: "bcfhklOqstuvNRT", ms: "bcCFIkOqsTMN", md: "bCIkOqT", ma: "bCNJDTMqOtcvk", me: "b" },
  newest: { mg: "bcfhklOqstuvNRTE", ms: "bcCFIkOqsTMNE", md: "bCIkOqTEx", ma: "bCNJDTMqOtcvkE", me: "b" }
}

const INT = /^-?\d+$/
const DIGITS = /^\d+$/

/**
 * Validates the flags of `cmd`. Returns the error line (without CRLF) memcached answers instead of
 * executing, or the parsed flags.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseMetaFlags = (cmd: MetaCommand, emulate: Emulation): MetaFlags | string => {
  const verb = cmd.command as Verb
  const allowed = ALLOWED[emulate][verb]
  // md and ma report every flag problem with one text.
  const strict = verb === "md" || verb === "ma"
  const badNumber = strict ? INVALID_OR_DUP : BAD_TOKEN
  const f: Parsed = {
    tokens: cmd.flags,
    quiet: false,
    base64: false,
    noBump: false,
    ttl: undefined,
    vivify: undefined,
    recache: undefined,
    newCas: undefined,
    compareCas: undefined,
    clientFlags: 0,
    invalidate: false,
    removeValue: false,
    mode: "",
    delta: 1n,
    initial: 0n,
    opaqueTooLong: false
  }
  const seen = new Set<string>()
  for (const token of cmd.flags) {
    const ch = token[0]!
    if (!allowed.includes(ch)) return strict ? INVALID_OR_DUP : INVALID_FLAG
    if (seen.has(ch)) return strict ? INVALID_OR_DUP : DUPLICATE_FLAG
    seen.add(ch)
    const problem = applyFlag(f, verb, ch, token.slice(1), badNumber)
    if (problem !== undefined) return problem
  }
  if (f.mode !== "" && (verb === "ms" ? !/^[EAPRS]$/.test(f.mode) : !/^[ID+-]$/.test(f.mode))) {
    return `CLIENT_ERROR invalid mode for ${verb} M token`
  }
  return f
}

/** Records one flag; returns an error line when its argument is invalid. */
const applyFlag = (f: Parsed, verb: Verb, ch: string, arg: string, badNumber: string): string | undefined => {
  switch (ch) {
    case "q":
      f.quiet = true
      return
    case "b":
      f.base64 = true
      return
    case "u":
      f.noBump = true
      return
    case "I":
      f.invalidate = true
      return
    case "x":
      f.removeValue = true
      return
    case "O":
      if (arg.length > 32) {
        if (verb === "ms") return OPAQUE_TOO_LONG
        f.opaqueTooLong = true
      }
      return
    case "T":
    case "N":
    case "R": {
      // strtol into 32 bits
      const n = INT.test(arg) ? Number(arg) : NaN
      if (!Number.isInteger(n) || n > 2147483647 || n < -2147483648) return badNumber
      if (ch === "T") f.ttl = n
      else if (ch === "N") f.vivify = n
      else f.recache = n
      return
    }
    case "E":
    case "C":
    case "D":
    case "J": {
      // strtoull: digits only, at most 2^64-1
      if (!DIGITS.test(arg) || BigInt(arg) > U64_MAX) return badNumber
      const v = BigInt(arg)
      if (ch === "E") f.newCas = v
      else if (ch === "C") f.compareCas = v
      else if (ch === "D") f.delta = v
      else f.initial = v
      return
    }
    case "F":
      // strtoull, then truncated to the 32-bit client flags
      if (!DIGITS.test(arg) || BigInt(arg) > U64_MAX) return ErrorLines.badFormat
      f.clientFlags = Number(BigInt(arg) & 0xffffffffn)
      return
    case "M":
      // The length is checked while scanning; the mode letter only after every flag (see below).
      if (arg.length !== 1) return verb === "ms" ? "CLIENT_ERROR incorrect length for M token" : INVALID_OR_DUP
      f.mode = arg
      return
  }
  return
}
