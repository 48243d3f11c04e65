/**
 * Server specs of the Effect 4 edition: `host:port`, `[v6]:port`, `host:port:weight`, `host:port alias`,
 * unix socket paths, each optionally prefixed `tls://`. The grammar is the shared one of the Effect 3 package.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type * as tls from "node:tls"
import * as Shared from "../../../src/engine/serverSpec.js"

/**
 * One server: where it is, its weight in the ring, and the name it is known by (errors, logs, results
 * per server); the engine's type, the same in both editions (see src/engine/serverSpec.ts).
 *
 * @since 0.1.0
 * @category models
 */
export type ServerSpec = Shared.ServerSpec

/**
 * Builds a spec from its parts (no validation; `weight` defaults to 1, `port` to 11211, or 0 for a
 * `path`). Never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (fields: {
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly weight?: number | undefined
  readonly alias?: string | undefined
  readonly path?: string | undefined
  readonly raw?: string | undefined
  readonly tls?: boolean | tls.ConnectionOptions | undefined
}) => ServerSpec = Shared.make

/**
 * Parses one spec; returns the description of the problem (a string) when it is invalid: empty spec
 * or host, port not in 1..65535, weight not a positive integer, unbalanced brackets, unbracketed IPv6,
 * UDP, or stray text. Never throws.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse: (input: string) => ServerSpec | string = Shared.parse

/**
 * Splits a server list (commas when there is one, else whitespace). Never fails.
 *
 * @since 0.1.0
 * @category parsing
 */
export const splitList: (input: string) => Array<string> = Shared.splitList

/**
 * Parses a list of specs; returns the first problem (a string naming the entry) when the list is empty,
 * an entry is invalid or a server is listed twice. Never throws.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseList: (input: string) => ReadonlyArray<ServerSpec> | string = Shared.parseList

/**
 * The spec as a string that {@link parse} reads back. Never fails.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format: (spec: ServerSpec) => string = Shared.format

/**
 * A server list read from `Config` (e.g. `MEMCACHED_SERVERS`): fails with a `Config.ConfigError`
 * naming the entry and the problem.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name: string): Config.Config<ReadonlyArray<ServerSpec>> =>
  Config.String(name).pipe(Config.mapEffect((input) => {
    const r = parseList(input)
    return typeof r === "string"
      ? Effect.fail(
        new Config.ConfigError(
          new Schema.SchemaError(new SchemaIssue.Pointer([name], new SchemaIssue.InvalidValue({ message: r }, input)))
        )
      )
      : Effect.succeed(r)
  }))
