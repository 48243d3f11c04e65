/**
 * Standalone in-memory memcached for `npm run server -- <options>`: the same program as the package's
 * `effect-memcached-server` bin (options in src/server/cli.ts, `--help` prints them).
 *
 * @since 0.1.0
 */
import { main } from "../src/server/cli.js"

await main(process.argv.slice(2))
