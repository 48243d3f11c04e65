import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// The shared root files (editions.json) are copied here, against Effect 4, before any test file loads:
// `npx vitest` in this package sees the root's current text.
execFileSync(process.execPath, [fileURLToPath(new URL("../../scripts/editions.mjs", import.meta.url))], {
  stdio: "inherit"
})

// vitest 5's reporter calls Map.groupBy (node >= 21) when a test fails; node 20 lacks it.
if (typeof (Map as any).groupBy !== "function") {
  ;(Map as any).groupBy = <K, V>(items: Iterable<V>, key: (v: V, i: number) => K): Map<K, Array<V>> => {
    const out = new Map<K, Array<V>>()
    let i = 0
    for (const v of items) {
      const k = key(v, i++)
      const list = out.get(k)
      if (list === undefined) out.set(k, [v])
      else list.push(v)
    }
    return out
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
