/**
 * Vitest set-up for the Effect 3 suites: chai's deep equality compares objects that have a
 * `Symbol.iterator` by what they yield, and Effect 3's `Option`/`Either` yield one opaque wrapper for
 * the `yield*` protocol — so `assert.deepStrictEqual(Option.none(), Option.some(x))` passed. Every deep
 * comparison here first turns Options and Eithers (at any depth: arrays, plain objects, Maps) into
 * plain tagged data, so a miss can never equal a hit and a Left never a Right.
 * (`test/AssertSetup.test.ts` pins it.)
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { assert } from "vitest"

const plain = (u: unknown, seen: Set<unknown> = new Set()): unknown => {
  if (typeof u !== "object" || u === null || seen.has(u)) return u
  if (Option.isOption(u)) return Option.isSome(u) ? { _tag: "Some", value: plain(u.value, seen) } : { _tag: "None" }
  if (Either.isEither(u)) {
    return Either.isRight(u)
      ? { _tag: "Right", right: plain(u.right, seen) }
      : { _tag: "Left", left: plain(u.left, seen) }
  }
  seen.add(u)
  try {
    if (Array.isArray(u)) return u.map((x) => plain(x, seen))
    if (u instanceof Map) return new Map(Array.from(u, ([k, v]) => [plain(k, seen), plain(v, seen)]))
    const proto = Object.getPrototypeOf(u)
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(u)) out[k] = plain((u as Record<string, unknown>)[k], seen)
      return out
    }
    return u
  } finally {
    seen.delete(u)
  }
}

for (const name of ["deepStrictEqual", "deepEqual", "notDeepStrictEqual", "notDeepEqual"] as const) {
  const original = (assert as unknown as Record<string, unknown>)[name] as
    | ((actual: unknown, expected: unknown, message?: string) => void)
    | undefined
  if (typeof original !== "function") continue
  ;(assert as unknown as Record<string, unknown>)[name] = (actual: unknown, expected: unknown, message?: string) =>
    original(plain(actual), plain(expected), message)
}
