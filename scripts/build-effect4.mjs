// Builds packages/effect4: compiles its src with the root modules it imports (the effect-free engine,
// protocol and in-memory server) into packages/effect4/dist, then checks that nothing compiled from
// outside the package imports `effect` or `@effect/*` (they would resolve to the user's Effect 4 and
// break at load). Exits non-zero on a compile error or such an import. `--out DIR` builds into DIR
// instead of packages/effect4/dist (the package test builds into a staging copy).
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const pkg = join(root, "packages", "effect4")
const outArg = process.argv.indexOf("--out")
const out = outArg > 0 ? process.argv[outArg + 1] : join(pkg, "dist")
// The shared root files' Effect 4 copies (scripts/editions.mjs) are part of this package's source.
execFileSync(process.execPath, [join(root, "scripts", "editions.mjs")], { stdio: "inherit" })
rmSync(out, { recursive: true, force: true })
execFileSync(
  process.execPath,
  [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json", "--outDir", out],
  { cwd: pkg, stdio: "inherit" }
)

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]
  )
const shared = join(out, "src")
const offenders = []
for (const file of walk(shared)) {
  if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue
  const text = readFileSync(file, "utf8")
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']((?:effect|@effect\/)[^"']*)["']/g)) {
    offenders.push(`${relative(pkg, file)} imports ${m[1]}`)
  }
}
if (offenders.length > 0) {
  console.error(
    "build-effect4: shared modules compiled into the v4 package import Effect:\n  " + offenders.join("\n  ")
  )
  process.exit(1)
}
console.log(`build-effect4: ok (${walk(out).length} files in ${relative(root, out) || out})`)
