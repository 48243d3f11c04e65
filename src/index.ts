/**
 * effect-memcached: a memcached client for Effect.
 *
 * The namespaces a user needs: the client and its options, errors, policy, ring, transport, bulk
 * helpers, value codecs, the typed store, cache-aside, the Promise facade, the KeyValueStore layer,
 * test layers and the in-memory server; each is also its own subpath export
 * (`effect-memcached/MemcachedClient`, …). The protocol codec (`src/protocol`), the connection engine
 * (`src/engine`) and the in-memory server's internals are not exported. The adapters that need an
 * optional peer (`KeyvMemcached`, `MemcachedPersistence`, `MemcachedRateLimiter`) are subpaths only.
 *
 * @since 0.1.0
 */
/** @since 0.1.0 */
export * as Bulk from "./Bulk.js"
/** @since 0.1.0 */
export * as CacheAside from "./CacheAside.js"
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
export * as MemcachedKeyValueStore from "./MemcachedKeyValueStore.js"
/** @since 0.1.0 */
export * as MemcachedPolicy from "./MemcachedPolicy.js"
/** @since 0.1.0 */
export * as MemcachedPromise from "./MemcachedPromise.js"
/** @since 0.1.0 */
export * as MemcachedRing from "./MemcachedRing.js"
/** @since 0.1.0 */
export * as MemcachedTelemetry from "./MemcachedTelemetry.js"
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
