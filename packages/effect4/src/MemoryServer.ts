/**
 * The in-memory memcached (the shared, effect-free server of the Effect 3 package): for tests, or as a
 * stand-in server over TCP (`listen`). `MemcachedTest` wires it to a client on Effect's clock.
 *
 * @since 0.1.0
 */
export * from "../../../src/server/MemoryServer.js"
