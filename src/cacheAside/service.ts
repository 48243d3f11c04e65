/**
 * The cache-aside service's tag in this edition's (Effect 3's) style: an interface and a `Context.Tag`
 * of the same name. The Effect 4 package's module of the same name declares it as a `Context.Service`
 * class. Internal: re-exported by `CacheAside.ts`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Context from "effect/Context"
import type { Service } from "../CacheAside.js"

/**
 * The cache-aside service (one per client; it owns the in-process single-flight table and the fibers of
 * flights and background refreshes, which end with its scope). Its operations: {@link Service}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAside extends Service {}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const CacheAside: Context.Tag<CacheAside, CacheAside> = Context.GenericTag<CacheAside>(
  "effect-memcached/CacheAside"
)
