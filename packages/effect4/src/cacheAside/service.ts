/**
 * The cache-aside service in this edition's (Effect 4's) style: a `Context.Service` class whose shape is
 * {@link Service}. The root's module of the same name declares an Effect 3 interface and tag. Internal:
 * re-exported by `CacheAside.ts`.
 *
 * @since 0.1.0
 * @internal
 */
import * as Context from "effect/Context"
import type { Service } from "../CacheAside.js"

/**
 * The cache-aside service (see {@link Service} for its operations).
 *
 * @since 0.1.0
 * @category services
 */
export class CacheAside extends Context.Service<CacheAside, Service>()("effect-memcached/CacheAside") {}
