/**
 * The conformance suite through the Effect 4 client: the shared, edition-neutral cases of the root's
 * test/support/conformanceCases.ts (the same cases the Effect 3 client runs) registered over a layer.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, type Layer, ManagedRuntime, Option, Result } from "effect"
import {
  type Case,
  commandCases,
  type Driver,
  driverOver,
  type Edition,
  metaCases
} from "../../../../test/support/conformanceCases.js"
import { MemcachedClient } from "../../src/MemcachedClient.js"

/** Effect 4: run to a Promise (rejecting with the typed error), `Option`, `Result`. */
const effect4: Edition = {
  run: (effect) =>
    Effect.runPromiseExit(effect as Effect.Effect<unknown, unknown>).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    }),
  optional: (o: Option.Option<unknown>) => Option.getOrUndefined(o),
  outcome: (r: Result.Result<unknown, any>) =>
    Result.isSuccess(r) ? { ok: true, value: r.success } : { ok: false, error: r.failure }
}

const register = (section: string, layer: Layer.Layer<MemcachedClient, unknown>, cases: ReadonlyArray<Case>) =>
  describe(section, () => {
    // Live services: the client and a real server must agree on the time (absolute TTLs).
    let runtime: ManagedRuntime.ManagedRuntime<MemcachedClient, unknown> | undefined
    let driver: Driver | undefined
    beforeAll(async () => {
      runtime = ManagedRuntime.make(layer)
      driver = driverOver(await runtime.runPromise(MemcachedClient.useSync((c) => c)), effect4)
    }, 60_000)
    afterAll(() => runtime?.dispose(), 60_000)
    for (const c of cases) it(c.name, () => c.run(driver!), 60_000)
  })

/** Registers the commands section in the current describe block; `layer` provides the client under test. */
export const conformance = (layer: Layer.Layer<MemcachedClient, unknown>) => register("commands", layer, commandCases)

/** Registers the meta section (client in meta or auto mode). */
export const metaConformance = (layer: Layer.Layer<MemcachedClient, unknown>) => register("meta", layer, metaCases)
