// npm run check:package — builds the package, packs it as `npm publish` would, and checks the tarball:
//   publint                     the package.json fields and exports map against the packed files;
//   @arethetypeswrong/cli       every entrypoint's types under the module resolutions we support.
//
// attw profile: `node16` (node16/nodenext ESM and CommonJS consumers, and bundlers). `node10` resolution
// is not claimed: it cannot see subpath exports. One rule is ignored, `cjs-resolves-to-esm`: the package
// is ESM-only and CommonJS consumers load it with `require(esm)` (Node ^20.19 / >=22.12, see README
// "Module formats"). attw computes node16-cjs with TypeScript's `node16` mode, which predates
// require(esm); TypeScript >= 5.8 with `module: nodenext` (or 5.9 `node20`) type-checks the same require
// — test/Package.test.ts type-checks a CommonJS consumer that way. Every other problem under node16-cjs
// (missing types, masquerading formats, unresolvable type imports, …) still fails this check.
//
// Runs offline: attw does not fetch @types (`--no-definitely-typed`).
import { spawnSync } from "node:child_process"
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const packDir = join(root, ".tmp", "pack")

/** Runs a command in the project root, echoing it; exits with its status when it fails. */
const run = (command, args) => {
  console.log(`check:package: ${command} ${args.join(" ")}`)
  const r = spawnSync(command, args, { cwd: root, stdio: "inherit" })
  if (r.status !== 0) {
    console.error(`check:package: FAILED: ${command} ${args.join(" ")} (exit ${r.status ?? r.signal})`)
    process.exit(r.status || 1)
  }
}

run("npm", ["run", "build"])
rmSync(packDir, { recursive: true, force: true })
mkdirSync(packDir, { recursive: true })
const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: root, encoding: "utf8" })
if (pack.status !== 0) {
  console.error(pack.stdout, pack.stderr)
  console.error("check:package: FAILED: npm pack")
  process.exit(1)
}
const [info] = JSON.parse(pack.stdout)
const tarball = join(packDir, info.filename)
console.log(`check:package: packed ${info.filename}: ${info.entryCount} files, ${info.size} bytes`)

run("npx", ["--no-install", "publint", "run", tarball, "--strict"])
run("npx", [
  "--no-install",
  "attw",
  tarball,
  "--profile",
  "node16",
  "--ignore-rules",
  "cjs-resolves-to-esm",
  "--no-definitely-typed",
  "--format",
  "table-flipped"
])
console.log("check:package: ok")
