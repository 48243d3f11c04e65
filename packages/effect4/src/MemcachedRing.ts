/**
 * Which memcached client's server selection to reproduce. A ring is a plain value given to the client
 * as its `distribution` option — there is no ring service, so a ring can never be provided beside a
 * client and silently ignored:
 *
 * ```ts
 * MemcachedClient.layer({ servers, distribution: MemcachedRing.libmc({ hash: "md5" }) })
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Distribution from "./Distribution.js"

export { fromString, hashring, ketama, ketamaWeighted, libmc, modula, omcache, rendezvous } from "./Distribution.js"

/**
 * A ring named by a `Config` string (`MEMCACHED_DISTRIBUTION` by default): `ketama[:hash]`,
 * `ketama_weighted`, `modula[:hash]`, `omcache[:variant]`, `libmc[:hash]`, `rendezvous`,
 * `hashring[:defaultPort]`. Fails with a `Config.ConfigError` naming the entry when it is not one of these.
 *
 * @since 0.1.0
 * @category config
 */
export const config = (name = "MEMCACHED_DISTRIBUTION"): Config.Config<Distribution.Distribution> =>
  Config.String(name).pipe(Config.mapEffect((input) => {
    const r = Distribution.fromString(input)
    return typeof r === "string"
      ? Effect.fail(
        new Config.ConfigError(
          new Schema.SchemaError(new SchemaIssue.Pointer([name], new SchemaIssue.InvalidValue({ message: r }, input)))
        )
      )
      : Effect.succeed(r)
  }))
