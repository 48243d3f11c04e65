// npm run check:package — builds each package (the Effect 3 package at the root, the Effect 4 package
// in packages/effect4), packs it as `npm publish` would, and checks the tarball:
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

/** Builds with `build`, packs `dir`, and checks the tarball with publint and attw. */
const check = (label, dir, build) => {
  run(build[0], build.slice(1))
  const dest = join(packDir, label)
  rmSync(dest, { recursive: true, force: true })
  mkdirSync(dest, { recursive: true })
  const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: dir, encoding: "utf8" })
  if (pack.status !== 0) {
    console.error(pack.stdout, pack.stderr)
    console.error(`check:package: FAILED: npm pack (${label})`)
    process.exit(1)
  }
  const [info] = JSON.parse(pack.stdout)
  const tarball = join(dest, info.filename)
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
}

check("effect3", root, ["npm", "run", "build"])
// The Effect 4 package: its build compiles the shared engine in and fails if a shared module imports effect.
check("effect4", join(root, "packages", "effect4"), ["node", join(root, "scripts", "build-effect4.mjs")])
console.log("check:package: ok")
