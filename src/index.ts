/**
 * effect-memcached: a memcached client for Effect.
 *
 * The namespaces a user needs: the client and its options, errors, policy, ring, transport, bulk
 * helpers, value codecs, the typed store, test layers and the in-memory server. The protocol codec
 * (`src/protocol`) and the connection engine (`src/engine`) are internals and not exported here.
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
export * as TypedClient from "./TypedClient.js"
/** @since 0.1.0 */
export * as ValueCodec from "./ValueCodec.js"
