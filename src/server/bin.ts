#!/usr/bin/env node
/**
 * The package's `effect-memcached-server` executable (see `cli.ts` for the options).
 *
 * @since 0.2.0
 */
import { main } from "./cli.js"

await main(process.argv.slice(2))
