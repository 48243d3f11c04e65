/**
 * The completion seam's `resumeReleasing` (src/client/completion.ts): a large result is resumed through
 * an effect that lets go of it once read, so a resumption message that outlives its use (Effect 3 queues
 * one per resume; V8 may allocate them in old space) no longer keeps the result alive. One source, both
 * editions (packages/effect4/editions.json).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resumeReleasing } from "../src/client/completion.js"
import { callback } from "../src/edition.js"

describe("resumeReleasing", () => {
  it.effect("the resumed effect yields the value once, then refers to nothing", () =>
    Effect.gen(function*() {
      const result = new Map([["k", 1]])
      let resumed: Effect.Effect<Map<string, number>> | undefined
      resumeReleasing((effect: Effect.Effect<Map<string, number>>) => {
        resumed = effect
      }, result)
      assert.strictEqual(yield* resumed!, result)
      // What a stale resumption message still points to no longer reaches the map.
      assert.isUndefined(yield* resumed!)
    }))

  it.effect("through a callback effect, resumed later, the caller gets the value", () =>
    Effect.gen(function*() {
      const result = new Map([["k", 2]])
      const got = yield* callback<Map<string, number>>((resume) => {
        setTimeout(() => resumeReleasing(resume, result), 1)
      })
      assert.strictEqual(got, result)
    }))
})
