/**
 * Key distributions of the Effect 4 edition: the same rings as the Effect 3 package (libmemcached
 * ketama, modula, OMcache, libmc, rendezvous, hashring), computed by the shared code.
 *
 * @since 0.1.0
 */
import * as Shared from "../../../src/engine/distribution.js"
import type { ServerSpec } from "./ServerSpec.js"

/**
 * Key → server index over a fixed server list.
 *
 * @since 0.1.0
 * @category models
 */
export interface Placement {
  readonly serverFor: (key: string) => number
}

/**
 * A named way to place keys on servers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Distribution {
  readonly name: string
  readonly build: (servers: ReadonlyArray<ServerSpec>) => Placement
}

/**
 * libmemcached ketama (the default; weighted when any weight > 1); `{ hash }` picks another key hash.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ketama: (options?: Shared.KetamaOptions) => Distribution = Shared.ketama
/**
 * libmemcached KETAMA_WEIGHTED.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ketamaWeighted: (options?: Omit<Shared.KetamaOptions, "weighted">) => Distribution = Shared.ketamaWeighted
/**
 * libmemcached modula (not consistent).
 *
 * @since 0.1.0
 * @category constructors
 */
export const modula: typeof Shared.modula = Shared.modula
/**
 * OMcache.
 *
 * @since 0.1.0
 * @category constructors
 */
export const omcache: typeof Shared.omcache = Shared.omcache
/**
 * douban/libmc.
 *
 * @since 0.1.0
 * @category constructors
 */
export const libmc: typeof Shared.libmc = Shared.libmc
/**
 * pymemcache HashClient (rendezvous).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rendezvous: typeof Shared.rendezvous = Shared.rendezvous
/**
 * node-memcached (npm hashring).
 *
 * @since 0.1.0
 * @category constructors
 */
export const hashring: typeof Shared.hashring = Shared.hashring

/**
 * Parses `ketama:md5`, `libmc:crc_32`, …; returns the problem (a string) for unknown names or options.
 * Never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromString: (input: string) => Distribution | string = Shared.fromString
