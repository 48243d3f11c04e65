/**
 * Server specifications: `host`, `host:port`, `[v6addr]:port`, `host:port:weight`, `host:port/?weight`,
 * `host:port alias` (libmc) and unix socket paths, each optionally prefixed `tls://`, parsed without
 * resolving anything. Plain TypeScript:
 * a parse returns the spec or the problem as a string (never throws); src/ServerSpec.ts adds the `Either`,
 * `Schema` and `Config` forms.
 *
 * @since 0.1.0
 */
import type * as tls from "node:tls"

/**
 * The memcached default port.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_PORT = 11211

/**
 * One memcached server as configured. `host` is kept exactly as written (never resolved; IPv6 without its
 * brackets) because consistent-hashing clients hash that string. Unix sockets have `path` set, `host` equal to
 * the path and `port` 0 (as libmemcached's `memcached_server_add_unix_socket`). `weight` is 1 unless given.
 * `name` is the display label: `host:port`, `[v6]:port`, or the socket path. `tls` is this server's TLS
 * setting: `true` (a `tls://` spec) or `tls.connect` options use TLS, `false` opts out of the client's
 * `tls` option; unset follows the client's option. It does not change `name` (nor the ring).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerSpec {
  readonly raw: string
  readonly host: string
  readonly port: number
  readonly weight: number
  readonly alias?: string | undefined
  readonly path?: string | undefined
  readonly name: string
  readonly tls?: boolean | tls.ConnectionOptions | undefined
}

/**
 * Builds a spec from its parts (no validation; `weight` defaults to 1, `port` to 11211, or 0 for a `path`).
 * `raw` defaults to the display name. Useful in tests and for servers that do not come from a string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: {
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly weight?: number | undefined
  readonly alias?: string | undefined
  readonly path?: string | undefined
  readonly raw?: string | undefined
  readonly tls?: boolean | tls.ConnectionOptions | undefined
}): ServerSpec => {
  const path = fields.path
  const host = path ?? fields.host ?? ""
  const port = fields.port ?? (path !== undefined ? 0 : DEFAULT_PORT)
  const name = path ?? (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)
  const prefix = fields.tls === true ? "tls://" : ""
  const spec: { -readonly [K in keyof ServerSpec]: ServerSpec[K] } = {
    raw: fields.raw ?? prefix + (fields.alias !== undefined ? `${name} ${fields.alias}` : name),
    host,
    port,
    weight: fields.weight ?? 1,
    name
  }
  if (fields.alias !== undefined) spec.alias = fields.alias
  if (path !== undefined) spec.path = path
  if (fields.tls !== undefined) spec.tls = fields.tls
  return spec
}

const hostnameRe = /^[A-Za-z0-9._-]+$/
const ipv6Re = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/
const digitsRe = /^[0-9]+$/

const parsePort = (s: string): number | string => {
  if (s === "") return "port is empty"
  if (!digitsRe.test(s)) return `port "${s}" is not a number`
  const n = Number(s)
  return n >= 1 && n <= 65535 ? n : `port ${s} is out of range 1..65535`
}

const parseWeight = (s: string): number | string => {
  if (!digitsRe.test(s)) return `weight "${s}" is not a positive integer`
  const n = Number(s)
  return n >= 1 && Number.isSafeInteger(n) ? n : `weight "${s}" is not a positive integer`
}

const parseUnsafe = (input: string): ServerSpec | string => {
  const raw = input.trim()
  if (raw === "") return "server spec is empty"
  if (raw.startsWith("udp:")) return "UDP servers are not supported"
  const secure = raw.startsWith("tls://")
  const tlsField = secure ? { tls: true } : {}
  const body = secure ? raw.slice(6) : raw
  if (secure && body === "") return "nothing after tls://"
  let rest = body.startsWith("unix:") ? body.slice(5) : body
  if (rest.startsWith("/")) {
    if (/\s/.test(rest)) return "unix socket path contains whitespace"
    return make({ path: rest, raw, ...tlsField })
  }
  if (body.startsWith("unix:")) return "unix socket path must be absolute (start with '/')"
  if (body.includes("://")) return `unknown scheme in "${body}" (only tls:// is supported)`

  let alias: string | undefined
  const tokens = rest.split(/\s+/)
  if (tokens.length > 2) return `unexpected "${tokens.slice(2).join(" ")}" after alias "${tokens[1]}"`
  if (tokens.length === 2) {
    alias = tokens[1]!
    rest = tokens[0]!
  }

  let weightText: string | undefined
  const q = rest.indexOf("/?")
  if (q >= 0) {
    weightText = rest.slice(q + 2)
    rest = rest.slice(0, q)
  }
  if (rest.includes("/")) return `unexpected '/' in "${rest}" (unix socket paths must start with '/')`

  let host: string
  let portText: string | undefined
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]")
    if (close < 0) return `unbalanced '[' in "${rest}"`
    host = rest.slice(1, close)
    if (host.includes("[") || rest.indexOf("]", close + 1) >= 0) return `unbalanced brackets in "${rest}"`
    if (host === "") return "host is empty"
    if (!ipv6Re.test(host)) return `"${host}" is not an IPv6 address`
    const after = rest.slice(close + 1)
    if (after !== "") {
      if (!after.startsWith(":")) return `unexpected "${after}" after "]"`
      const parts = after.slice(1).split(":")
      if (parts.length > 2) return `too many ':' after "]" in "${rest}"`
      portText = parts[0]!
      if (parts.length === 2) {
        if (weightText !== undefined) return "weight given twice"
        weightText = parts[1]!
      }
    }
  } else {
    if (rest.includes("]")) return `unbalanced ']' in "${rest}"`
    const parts = rest.split(":")
    if (parts.length > 3 || rest.includes("::")) {
      return `"${rest}" has too many ':' (write IPv6 addresses in brackets, e.g. [::1]:11211)`
    }
    host = parts[0]!
    if (host === "") return "host is empty"
    if (!hostnameRe.test(host)) return `host "${host}" contains invalid characters`
    if (parts.length >= 2) portText = parts[1]!
    if (parts.length === 3) {
      if (weightText !== undefined) return "weight given twice"
      weightText = parts[2]!
    }
  }

  let port = DEFAULT_PORT
  if (portText !== undefined) {
    const p = parsePort(portText)
    if (typeof p === "string") return p
    port = p
  }
  let weight = 1
  if (weightText !== undefined) {
    const w = parseWeight(weightText)
    if (typeof w === "string") return w
    weight = w
  }
  return make({ host, port, weight, alias, raw, ...tlsField })
}

/**
 * Parses one server spec. Accepted forms: `host`, `host:port`, `[v6]`, `[v6]:port`, `host:port:weight`,
 * `host:port/?weight`, `[v6]:port:weight`, `host[:port] alias` (libmc aliases), `/path/to/socket` and
 * `unix:/path`, each optionally prefixed `tls://` (the server speaks TLS: `tls` is `true`). The port
 * defaults to 11211 and the weight to 1.
 *
 * Returns the problem as a string naming the spec (never throws): empty spec or host, port not in 1..65535,
 * weight not a positive integer, unbalanced brackets, unbracketed IPv6, UDP, a scheme other than `tls://`,
 * or stray text.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): ServerSpec | string => {
  const r = parseUnsafe(input)
  return typeof r === "string" ? `invalid server spec ${JSON.stringify(input)}: ${r}` : r
}

/**
 * Splits a server list such as the value of `MEMCACHED_SERVERS`. When the list contains a comma it is split on
 * commas only (so libmc aliases, `host:port alias`, can be used); otherwise on whitespace.
 *
 * @since 0.1.0
 * @category parsing
 */
export const splitList = (input: string): Array<string> =>
  (input.includes(",") ? input.split(",") : input.split(/\s+/)).map((s) => s.trim()).filter((s) => s !== "")

/**
 * Parses a list of server specs (see {@link splitList} and {@link parse}). Returns the first problem as a
 * string (never throws), naming the offending entry and its position, when the list is empty, when an entry
 * is invalid, or when the same server (same `name`) is listed twice.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseList = (input: string): ReadonlyArray<ServerSpec> | string => {
  const entries = splitList(input)
  if (entries.length === 0) return "no memcached servers given"
  const out: Array<ServerSpec> = []
  const seen = new Set<string>()
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!
    const r = parseUnsafe(entry)
    if (typeof r === "string") return `server #${i + 1} ${JSON.stringify(entry)}: ${r}`
    if (seen.has(r.name)) return `server #${i + 1} ${JSON.stringify(entry)}: ${r.name} is listed twice`
    seen.add(r.name)
    out.push(r)
  }
  return out
}

/**
 * Formats a spec back into a canonical string: `tls://` when `tls` is `true`, the socket path, or
 * `host:port` / `[v6]:port`, followed by `:weight` when the weight is not 1 and ` alias` when there is
 * one.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (spec: ServerSpec): string =>
  (spec.tls === true ? "tls://" : "") + spec.name +
  (spec.path === undefined && spec.weight !== 1 ? `:${spec.weight}` : "") +
  (spec.alias !== undefined ? ` ${spec.alias}` : "")
