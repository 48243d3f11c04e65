/**
 * effect-memcached: a memcached client for Effect.
 *
 * Re-exports every public module as a namespace; each is also its own subpath export
 * (`effect-memcached/MemcachedClient`, …). The codec (src/protocol), the engine (src/engine) and the
 * in-memory server's internals (src/server, except MemoryServer) are not exported.
 *
 * @since 0.1.0
 */
/** @since 0.1.0 */
export * as Bulk from "./Bulk.js"
/** @since 0.1.0 */
export * as Distribution from "./Distribution.js"
/** @since 0.1.0 */
export * as Hash from "./Hash.js"
/** @since 0.1.0 */
export * as Key from "./Key.js"
/** @since 0.1.0 */
export * as MemcachedClient from "./MemcachedClient.js"
/** @since 0.1.0 */
export * as MemcachedError from "./MemcachedError.js"
/** @since 0.1.0 */
export * as LargeValue from "./LargeValue.js"
/** @since 0.1.0 */
export * as MemcachedPolicy from "./MemcachedPolicy.js"
/** @since 0.1.0 */
export * as MemcachedRing from "./MemcachedRing.js"
/** @since 0.1.0 */
export * as MemcachedTest from "./MemcachedTest.js"
/** @since 0.1.0 */
export * as MemcachedTransport from "./MemcachedTransport.js"
/** @since 0.1.0 */
export * as MemoryServer from "./server/MemoryServer.js"
/** @since 0.1.0 */
export * as ServerSpec from "./ServerSpec.js"
/** @since 0.1.0 */
export * as TypedStore from "./TypedStore.js"
/** @since 0.1.0 */
export * as ValueCodec from "./ValueCodec.js"
