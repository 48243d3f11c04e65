/**
 * The deep-equality set-up (test/support/setupAssert.ts): Options and Eithers compare by content.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

const throws = (f: () => void): boolean => {
  try {
    f()
    return false
  } catch {
    return true
  }
}

describe("deep equality of Effect data", () => {
  it("a None never equals a Some, a Left never a Right, at any depth", () => {
    assert.isTrue(throws(() => assert.deepStrictEqual(Option.none() as Option.Option<string>, Option.some("x"))))
    assert.isTrue(throws(() => assert.deepStrictEqual(Option.some("y"), Option.some("x"))))
    assert.isTrue(throws(() => assert.deepStrictEqual([Option.none()], [Option.some(1)])))
    assert.isTrue(throws(() => assert.deepStrictEqual({ a: Option.none() }, { a: Option.some(1) })))
    assert.isTrue(
      throws(() => assert.deepStrictEqual(new Map([["k", Option.none()]]), new Map([["k", Option.some(1)]])))
    )
    assert.isTrue(
      throws(() => assert.deepStrictEqual(Either.left("e") as Either.Either<string, string>, Either.right("e")))
    )
    assert.isTrue(throws(() => assert.deepStrictEqual(Either.right(1), Either.right(2))))
  })

  it("equal contents are equal", () => {
    assert.deepStrictEqual(Option.some({ a: [1, 2] }), Option.some({ a: [1, 2] }))
    assert.deepStrictEqual(Option.none(), Option.none())
    assert.deepStrictEqual([Either.right(Option.some(Uint8Array.from([1])))], [
      Either.right(Option.some(Uint8Array.from([1])))
    ])
    assert.notDeepEqual(Option.some(1), Option.none())
  })
})
