import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import { keyProblem, MAX_KEY_LENGTH, RELATIVE_TTL_LIMIT, toExptime, validateKey } from "../src/Key.js"
import { MemcachedInputError } from "../src/MemcachedError.js"

const valid = (key: string) => {
  assert.isUndefined(keyProblem(key), JSON.stringify(key))
  assert.isUndefined(validateKey(key), JSON.stringify(key))
}

const invalid = (key: string) => {
  assert.isDefined(keyProblem(key), JSON.stringify(key))
  const e = validateKey(key)
  assert.instanceOf(e, MemcachedInputError)
  assert.strictEqual(e!.reason, "InvalidKey")
  assert.strictEqual(e!.key, key)
}

describe("Key validation", () => {
  it("the limit is 250 bytes", () => {
    assert.strictEqual(MAX_KEY_LENGTH, 250)
  })

  it("empty key is invalid", () => {
    invalid("")
    assert.strictEqual(keyProblem(""), "key is empty")
  })

  it("ASCII: 1 and 250 bytes are valid, 251 is not", () => {
    valid("a")
    valid("k".repeat(250))
    invalid("k".repeat(251))
    invalid("k".repeat(10_000))
  })

  it("multi-byte UTF-8 at the boundary is counted in bytes", () => {
    // 2-byte é: 125 × 2 = 250 bytes (valid), plus one ASCII byte = 251
    valid("é".repeat(125))
    invalid("é".repeat(125) + "a")
    // 248 ASCII + a 2-byte char = 250; + 3-byte char = 251
    valid("a".repeat(248) + "é")
    invalid("a".repeat(248) + "€")
    // 4-byte emoji (2 UTF-16 units): 246 + 4 = 250, 247 + 4 = 251
    valid("a".repeat(246) + "😀")
    invalid("a".repeat(247) + "😀")
    // 125 UTF-16 code units of 3-byte chars = 375 bytes, though only 125 "characters"
    invalid("€".repeat(125))
    valid("€".repeat(83) + "a")
  })

  it("space, tab, CR, LF, NUL, DEL and other C0 controls are invalid", () => {
    for (const c of [" ", "\t", "\r", "\n", "\0", "\x7f", "\x01", "\x1b", "\x1f", "\v", "\f"]) {
      invalid(`a${c}b`)
      invalid(c)
      invalid(`${c}abc`)
      invalid(`abc${c}`)
      // also in a key that is not ASCII
      invalid(`é${c}b`)
    }
    assert.strictEqual(keyProblem("a b"), "key contains a space")
  })

  it("C1 controls and Unicode whitespace are invalid", () => {
    for (
      const c of ["\u0080", "\u0085", "\u009f", "\u00a0", "\u1680", "\u2000", "\u2028", "\u2029", "\u3000", "\ufeff"]
    ) {
      invalid(`a${c}b`)
    }
  })

  it("unicode letters, punctuation and emoji are valid", () => {
    for (
      const k of ["clé", "ключ", "键", "キー", "😀", "user:42:profile", "a/b?c=d&e#f", "~!@$%^*()_+-={}[]|\\;'\",.<>"]
    ) {
      valid(k)
    }
  })

  it("lone surrogates are invalid (they cannot be encoded as UTF-8 and would be sent as U+FFFD)", () => {
    // "a\uD800" is sent as "a\uFFFD": two different JS keys would hit the same memcached key, and the
    // VALUE line for it can never match the requested key.
    invalid("a\uD800")
    invalid("\uDC00b")
    invalid("x\uDBFF\uDBFFy")
    valid("\uD83D\uDE00")
  })
})

describe("TTL → exptime", () => {
  const now = 1_700_000_000_123

  it("undefined and 0 never expire", () => {
    assert.strictEqual(toExptime(undefined, now), 0)
    assert.strictEqual(toExptime(0, now), 0)
    assert.strictEqual(toExptime(Duration.zero, now), 0)
  })

  it("numbers are seconds; fractions round up", () => {
    assert.strictEqual(toExptime(1, now), 1)
    assert.strictEqual(toExptime(60, now), 60)
    assert.strictEqual(toExptime(0.001, now), 1)
    assert.strictEqual(toExptime(1.5, now), 2)
  })

  it("Durations: '1 second', millis(500) → 1 (never 0), minutes, hours", () => {
    assert.strictEqual(toExptime("1 second", now), 1)
    assert.strictEqual(toExptime("2 seconds", now), 2)
    assert.strictEqual(toExptime(Duration.millis(500), now), 1)
    assert.strictEqual(toExptime(Duration.millis(1), now), 1)
    assert.strictEqual(toExptime(Duration.nanos(1n), now), 1)
    assert.strictEqual(toExptime(Duration.millis(1001), now), 2)
    assert.strictEqual(toExptime("5 minutes", now), 300)
    assert.strictEqual(toExptime(Duration.hours(1), now), 3600)
    assert.strictEqual(toExptime("500 millis", now), 1)
  })

  it("exactly 30 days stays relative", () => {
    assert.strictEqual(RELATIVE_TTL_LIMIT, 2_592_000)
    assert.strictEqual(toExptime(2_592_000, now), 2_592_000)
    assert.strictEqual(toExptime(Duration.days(30), now), 2_592_000)
    assert.strictEqual(toExptime("30 days", now), 2_592_000)
  })

  it("30 days + 1 s becomes absolute, based on now", () => {
    const nowSeconds = Math.ceil(now / 1000)
    assert.strictEqual(toExptime(2_592_001, now), nowSeconds + 2_592_001)
    assert.strictEqual(toExptime(Duration.sum(Duration.days(30), Duration.seconds(1)), now), nowSeconds + 2_592_001)
    assert.strictEqual(toExptime(2_592_001, 0), 2_592_001 + 0)
    assert.strictEqual(toExptime(2_592_001, 1_000_000), 1000 + 2_592_001)
    // 30 days + a fraction of a second is over the limit too
    assert.isAbove(toExptime(2_592_000.5, now) as number, RELATIVE_TTL_LIMIT)
    // absolute times are always in the future
    assert.isAbove(toExptime(Duration.days(31), now) as number, nowSeconds)
  })

  const assertInvalid = (ttl: unknown) => {
    const r = toExptime(ttl as never, now)
    assert.instanceOf(r, MemcachedInputError, `${String(ttl)} → ${String(r)}`)
    assert.strictEqual((r as MemcachedInputError).reason, "InvalidTtl")
  }

  it("negative, NaN, Infinity → InvalidTtl", () => {
    assertInvalid(-1)
    assertInvalid(-0.5)
    assertInvalid(NaN)
    assertInvalid(Infinity)
    assertInvalid(-Infinity)
    assertInvalid(Duration.infinity)
    assertInvalid("forever")
    assertInvalid("1 fortnight")
    assertInvalid({})
  })

  it("negative Duration inputs → InvalidTtl (not silently 'never expires')", () => {
    // Effect's Duration decoder clamps negative inputs to zero, and 0 means "never expires" to memcached.
    assertInvalid("-5 seconds")
    assertInvalid("-1 millis")
    assertInvalid([-5, 0])
    assertInvalid(-5n)
  })

  it("absolute times beyond what memcached accepts → InvalidTtl", () => {
    // memcached 1.6 keeps exptime in a signed 32-bit integer: 2^31 and above is answered STORED but the
    // item is already expired (checked against memcached 1.6.18), so the client must refuse it.
    assertInvalid(Duration.days(365 * 200))
    assertInvalid(2 ** 31)
    const r = toExptime(2 ** 31 - 1 - Math.ceil(now / 1000), now)
    assert.strictEqual(r, 2 ** 31 - 1)
  })
})
