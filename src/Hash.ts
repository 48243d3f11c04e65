/**
 * Key hash functions used to pick a server, as pure functions on bytes with allocation-free fast paths for
 * JS strings (hashed as their UTF-8 bytes). The implementation is the engine's (src/engine/hash.ts, no
 * Effect), shared by every edition; this module is its public face.
 *
 * Every function reproduces a real client bit for bit (see `docs/distribution.md` and the vectors in
 * `test/fixtures/vectors`).
 *
 * @since 0.1.0
 */
export * from "./engine/hash.js"
