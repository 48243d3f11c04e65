/**
 * The client's methods over its pools and router: every method group built over one shared context,
 * with the key prefix applied last. Internal: not exported from the package index.
 *
 * @since 0.1.0
 */
import type { Timers } from "../engine/connection.js"
import type { ServerPool, Settings } from "../engine/pool.js"
import type { Router } from "../engine/router.js"
import type { ServerSpec } from "../ServerSpec.js"
import { makeAdmin } from "./admin.js"
import { makeBulkWrites } from "./bulkWrites.js"
import { makeContext, type Retry } from "./context.js"
import { withKeyPrefix } from "./keyPrefix.js"
import { makeKeyCommands } from "./keyed.js"
import { makeMetaMethods } from "./metaMethods.js"
import type { MemcachedClient } from "./models.js"
import { makeReads } from "./reads.js"
import { makeStores } from "./writes.js"

/**
 * What the methods are built over.
 *
 * @since 0.1.0
 * @category models
 */
export interface MethodsInput {
  readonly servers: ReadonlyArray<ServerSpec>
  readonly pools: ReadonlyArray<ServerPool<ServerSpec>>
  readonly router: Router<ServerSpec>
  readonly settings: Settings
  readonly timers: Timers
  readonly retry: Retry | undefined
  readonly keyPrefix: string
}

/**
 * The client's methods. Never fails; each method fails as its JSDoc in the models says.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMethods = (input: MethodsInput): MemcachedClient => {
  const { keyPrefix, pools, retry, router, servers, settings, timers } = input
  const ctx = makeContext(servers, pools, router, settings, timers, retry)
  const client: MemcachedClient = {
    servers,
    serverFor: ctx.serverFor,
    ...makeBulkWrites(ctx),
    ...makeReads(ctx),
    ...makeStores(ctx),
    ...makeKeyCommands(ctx),
    ...makeAdmin(ctx),
    ...makeMetaMethods(ctx)
  }
  return keyPrefix === "" ? client : withKeyPrefix(client, keyPrefix)
}
