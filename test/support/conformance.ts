/**
 * The conformance suite through the Effect 3 client: the shared, edition-neutral cases of
 * test/support/conformanceCases.ts registered over a layer. The same cases run through the Effect 4
 * client in packages/effect4/test/support/conformance.ts.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, type Layer, ManagedRuntime, Option } from "effect"
import * as MemcachedClient from "../../src/MemcachedClient.js"
import { type Case, commandCases, type Driver, driverOver, type Edition, metaCases } from "./conformanceCases.js"

export { uniqueKey } from "./conformanceCases.js"

/** Effect 3: run to a Promise (rejecting with the typed error), `Option`, `Either`. */
const effect3: Edition = {
  run: (effect) =>
    Effect.runPromiseExit(effect as Effect.Effect<unknown, unknown>).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    }),
  optional: (o: Option.Option<unknown>) => Option.getOrUndefined(o),
  outcome: (e: Either.Either<unknown, any>) =>
    Either.isRight(e) ? { ok: true, value: e.right } : { ok: false, error: e.left }
}

const register = (
  section: string,
  layer: Layer.Layer<MemcachedClient.MemcachedClient, unknown>,
  cases: ReadonlyArray<Case>
) =>
  describe(section, () => {
    // Live services: the client and a real server must agree on the time (absolute TTLs).
    let runtime: ManagedRuntime.ManagedRuntime<MemcachedClient.MemcachedClient, unknown> | undefined
    let driver: Driver | undefined
    beforeAll(async () => {
      runtime = ManagedRuntime.make(layer)
      driver = driverOver(await runtime.runPromise(MemcachedClient.MemcachedClient), effect3)
    }, 60_000)
    afterAll(() => runtime?.dispose(), 60_000)
    for (const c of cases) it(c.name, () => c.run(driver!), 60_000)
  })

/** Registers the commands section in the current describe block; `layer` provides the client under test. */
export const conformance = (layer: Layer.Layer<MemcachedClient.MemcachedClient, unknown>) =>
  register("commands", layer, commandCases)

/**
 * The meta section: meta-only features, with the client in meta mode (or auto, which must detect meta
 * on every backend).
 */
export const metaConformance = (layer: Layer.Layer<MemcachedClient.MemcachedClient, unknown>) =>
  register("meta", layer, metaCases)
