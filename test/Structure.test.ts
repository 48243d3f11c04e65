/**
 * `npm run lint` (scripts/structure.mjs) measures what it claims: run on fixture trees, it passes at
 * the limits (a 700-line module, a 150-line function) and fails one line past them, naming the module
 * or the function (declarations, arrows, methods, a generator passed to a call) with its file:line.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const script = join(import.meta.dirname, "..", "scripts", "structure.mjs")

/** Runs the structure check on a fixture project whose src/ holds `files`. */
const lint = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), "effect-memcached-structure-"))
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, "src", path, ".."), { recursive: true })
      writeFileSync(join(dir, "src", path), text)
    }
    const r = spawnSync(process.execPath, [script, dir], { encoding: "utf8" })
    return { status: r.status, out: r.stdout + r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A module of exactly `n` lines (final newline included, as an editor saves it). */
const moduleOf = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i}`).join("\n") + "\n"

/** A function of exactly `n` lines, from its first line to its closing brace, in the given form. */
const functionOf = (n: number, open: string, close = "}") =>
  [open, ...Array.from({ length: n - 2 }, (_, i) => `  const x${i} = ${i}`), close].join("\n") + "\n"

describe("npm run lint (structure limits)", () => {
  it("passes at the limits: a 700-line module, 150-line functions", () => {
    const r = lint({
      "a.ts": moduleOf(700),
      "engine/b.ts": functionOf(150, "export function fits() {") + functionOf(150, "export const arrow = () => {")
    })
    assert.strictEqual(r.status, 0, r.out)
    assert.include(r.out, "lint: ok")
  })

  it("fails one line past each limit, naming module, function and place", () => {
    const r = lint({
      "big.ts": moduleOf(701),
      "engine/fns.ts": [
        `/** JSDoc lines do not count */\n`,
        functionOf(151, "export function declared() {"),
        functionOf(151, "export const arrow = (n: number) => {"),
        "export class K {\n" + functionOf(151, "  method() {", "  }") + "}\n",
        functionOf(151, "export const g = Effect.gen(function*() {", "})")
      ].join("")
    })
    assert.strictEqual(r.status, 1, r.out)
    assert.include(r.out, "lint: module too long: src/big.ts: 701 lines (limit 700)")
    assert.include(r.out, "lint: function too long: src/engine/fns.ts:2 declared: 151 lines (limit 150)")
    assert.include(r.out, "lint: function too long: src/engine/fns.ts:153 arrow: 151 lines (limit 150)")
    assert.include(r.out, "src/engine/fns.ts:305 method: 151 lines")
    assert.include(r.out, "src/engine/fns.ts:457 Effect.gen(…) callback: 151 lines")
    assert.include(r.out, "lint: FAILED: 1 module(s) over 700 lines, 4 function(s) over 150 lines")
  })
})
