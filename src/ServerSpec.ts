/**
 * Server specifications: `host`, `host:port`, `[v6addr]:port`, `host:port:weight`, `host:port/?weight`,
 * `host:port alias` (libmc) and unix socket paths, each optionally prefixed `tls://`, parsed without
 * resolving anything. The grammar is the
 * engine's (src/engine/serverSpec.ts, no Effect), shared by every edition; this module is its public face
 * with the `Either`, `Schema` and `Config` forms.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as tls from "node:tls"
import * as Engine from "./engine/serverSpec.js"
import type { ServerSpec } from "./engine/serverSpec.js"

export { DEFAULT_PORT, format, make, type ServerSpec, splitList } from "./engine/serverSpec.js"

/**
 * Parses one server spec. Accepted forms: `host`, `host:port`, `[v6]`, `[v6]:port`, `host:port:weight`,
 * `host:port/?weight`, `[v6]:port:weight`, `host[:port] alias` (libmc aliases), `/path/to/socket` and
 * `unix:/path`, each optionally prefixed `tls://` (the server speaks TLS: `tls` is `true`). The port
 * defaults to 11211 and the weight to 1.
 *
 * Fails (Left) with a description of the problem: empty spec or host, port not in 1..65535, weight not a
 * positive integer, unbalanced brackets, unbracketed IPv6, UDP, a scheme other than `tls://`, or stray
 * text.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<ServerSpec, string> => {
  const r = Engine.parse(input)
  return typeof r === "string" ? Either.left(r) : Either.right(r)
}

/**
 * Parses a list of server specs (see {@link splitList} and {@link parse}). Fails (Left) with the first
 * problem, naming the offending entry and its position, when the list is empty, when an entry is invalid, or
 * when the same server (same `name`) is listed twice.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseList = (input: string): Either.Either<ReadonlyArray<ServerSpec>, string> => {
  const r = Engine.parseList(input)
  return typeof r === "string" ? Either.left(r) : Either.right(r)
}

/**
 * Schema of a parsed {@link ServerSpec} value.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ServerSpecSchema: Schema.Schema<ServerSpec> = Schema.Struct({
  raw: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  weight: Schema.Number,
  alias: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  name: Schema.String,
  tls: Schema.optional(
    Schema.declare((u): u is boolean | tls.ConnectionOptions =>
      typeof u === "boolean" || (typeof u === "object" && u !== null)
    )
  )
})

/**
 * Schema decoding a server spec string into a {@link ServerSpec} (encoding gives back `raw`). Decoding fails
 * with a `ParseError` whose message is the problem {@link parse} reports.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FromString: Schema.Schema<ServerSpec, string> = Schema.transformOrFail(Schema.String, ServerSpecSchema, {
  strict: true,
  decode: (s, _, ast) => {
    const r = parse(s)
    return Either.isRight(r) ? ParseResult.succeed(r.right) : ParseResult.fail(new ParseResult.Type(ast, s, r.left))
  },
  encode: (spec) => ParseResult.succeed(spec.raw)
})

/**
 * Schema decoding a whole server list string (see {@link parseList}) into specs; encodes as a comma-separated
 * list of `raw` specs.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListFromString: Schema.Schema<ReadonlyArray<ServerSpec>, string> = Schema.transformOrFail(
  Schema.String,
  Schema.Array(ServerSpecSchema),
  {
    strict: true,
    decode: (s, _, ast) => {
      const r = parseList(s)
      return Either.isRight(r) ? ParseResult.succeed(r.right) : ParseResult.fail(new ParseResult.Type(ast, s, r.left))
    },
    encode: (specs) => ParseResult.succeed(specs.map((spec) => spec.raw).join(","))
  }
)

/**
 * A `Config` reading a server list from the variable `name` (e.g. `MEMCACHED_SERVERS`, comma or whitespace
 * separated). Fails with `ConfigError.MissingData` when unset and `ConfigError.InvalidData` naming the offending
 * entry when an entry does not parse (see {@link parseList}).
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name: string): Config.Config<ReadonlyArray<ServerSpec>> =>
  Config.mapOrFail(
    Config.string(name),
    (s) => Either.mapLeft(parseList(s), (problem) => ConfigError.InvalidData([], problem))
  )
