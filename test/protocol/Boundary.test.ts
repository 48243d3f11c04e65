/**
 * The protocol layer's boundary (issue 12): src/protocol imports nothing from `effect`/`@effect/*` and
 * nothing from outside src/protocol except Node built-ins, so it is sans-IO and Effect-free; and no
 * module passes ~700 lines.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const dir = path.join(import.meta.dirname, "../../src/protocol")
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))

describe("src/protocol boundary", () => {
  it("has modules to check", () => assert.isAbove(files.length, 5))
  for (const file of files) {
    it(`${file} imports only protocol modules and node built-ins`, () => {
      const text = fs.readFileSync(path.join(dir, file), "utf8")
      const specifiers = [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!)
      for (const s of specifiers) {
        assert.isTrue(s.startsWith("./") || s.startsWith("node:"), `${file} imports ${s}`)
        assert.notInclude(s, "..", `${file} imports ${s}`)
      }
      assert.notMatch(text, /from\s+["'](?:effect|@effect\/)/, file)
    })
    it(`${file} stays under 700 lines`, () => {
      assert.isBelow(fs.readFileSync(path.join(dir, file), "utf8").split("\n").length, 700, file)
    })
  }
})
