import { defineConfig } from "vitest/config"

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
