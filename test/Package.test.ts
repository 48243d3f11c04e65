/**
 * The published package, as a user gets it: build the library, `npm pack` it, install the tarball into
 * a fresh ESM consumer and a fresh CommonJS consumer, type-check and compile a consumer program in each
 * with TypeScript (`module: nodenext`), run it with Node, and check what it did: `ServerSpec.parse`, a
 * set/get round trip through `MemcachedTest.layer`, every subpath of the exports map loading, the root
 * re-exporting the same module instances, and internals (`dist/…`, `protocol/…`) refused.
 *
 * Offline: the tarball is installed by npm from the file with no dependencies to fetch (peers are not
 * auto-installed, `--legacy-peer-deps`), and the peers (`effect`, `@effect/platform`, …) are symlinked
 * from this project's node_modules, as a user's own install would provide them.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, beforeAll } from "vitest"

const root = join(import.meta.dirname, "..")
const projectPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string
  exports: Record<string, unknown>
  peerDependencies: Record<string, string>
  bin?: string | Record<string, string>
}
const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
let work = ""

/** Runs a command, returning its stdout; on failure the error carries the command's stdout and stderr. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${err.stdout ?? ""}\n${err.stderr ?? err.message}`)
  }
}

/** Builds the package into a staging copy of it and packs that copy: the project's own dist/ is left alone. */
const buildAndPack = (): string => {
  const stage = join(work, "stage")
  mkdirSync(stage)
  for (const file of ["package.json", "README.md", "LICENSE"]) cpSync(join(root, file), join(stage, file))
  cpSync(join(root, "src"), join(stage, "src"), { recursive: true })
  run(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", join(stage, "dist")], root)
  const packed = JSON.parse(
    run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], stage)
  ) as Array<
    { filename: string }
  >
  return join(work, packed[0]!.filename)
}

/** A consumer project of the given module format with the tarball installed and the peers linked in. */
const makeConsumer = (name: string, type: "module" | "commonjs", tarball: string): string => {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type }, null, 2))
  run("npm", [
    "install",
    "--offline",
    "--no-save",
    "--legacy-peer-deps",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    "--no-package-lock",
    tarball
  ], dir)
  for (const peer of [...Object.keys(projectPackage.peerDependencies), "@types/node"]) {
    const target = join(dir, "node_modules", peer)
    mkdirSync(dirname(target), { recursive: true })
    symlinkSync(join(root, "node_modules", peer), target, "dir")
  }
  cpSync(join(root, "test", "fixtures", "consumer", "consumer.ts"), join(dir, "index.ts"))
  return dir
}

interface Report {
  readonly format: string
  readonly effectBuild: string
  readonly spec: { host: string; port: number; weight: number } | null
  readonly badSpecRejected: boolean
  readonly roundTrip: { hit: string | null; miss: boolean; stored: boolean }
  readonly memoryServer: string
  readonly subpaths: Record<string, string>
  readonly sameInstance: boolean
  readonly rootNamespaces: ReadonlyArray<string>
  readonly internal: Record<string, string>
}

let esm = ""
let cjs = ""

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "effect-memcached-package-"))
  const tarball = buildAndPack()
  esm = makeConsumer("esm-consumer", "module", tarball)
  cjs = makeConsumer("cjs-consumer", "commonjs", tarball)
  // One TypeScript program for both consumers, as a user's `tsc` with `module: nodenext` sees them:
  // in the CommonJS one every import of the package becomes a require() of an ES module.
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: true,
        types: ["node"],
        typeRoots: [join(root, "node_modules", "@types")],
        outDir: "out",
        rootDir: "."
      },
      files: ["esm-consumer/index.ts", "cjs-consumer/index.ts"]
    })
  )
  run(process.execPath, [tsc, "-p", join(work, "tsconfig.json")], work)
}, 120_000)

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

/** Runs a consumer's compiled program from its own directory and parses its report. */
const runConsumer = (dir: string, name: string): Report => {
  // The compiled program sits beside its source's package.json, which decides its module format.
  cpSync(join(work, "out", name, "index.js"), join(dir, "main.js"))
  return JSON.parse(run(process.execPath, ["main.js"], dir)) as Report
}

const expectWorkingConsumer = (report: Report, format: string) => {
  assert.strictEqual(report.format, format)
  assert.deepStrictEqual(report.spec, { host: "cache-1.internal", port: 11311, weight: 9 })
  assert.isTrue(report.badSpecRejected)
  assert.deepStrictEqual(report.roundTrip, { hit: "hello from the tarball", miss: true, stored: true })
  assert.strictEqual(report.memoryServer, "function")
  assert.isTrue(report.sameInstance, "the root and the subpaths share module instances")
  // Every namespace of the root is a module with its own subpath: no internals through the root. (A
  // subpath may be absent from the root: a module whose optional peer the root must not require.)
  const modules = Object.keys(projectPackage.exports).map((k) => k.slice(2))
  assert.isNotEmpty(report.rootNamespaces)
  for (const name of report.rootNamespaces) assert.include(modules, name, `root namespace ${name} has a subpath`)
  assert.deepStrictEqual(Object.keys(report.subpaths), Object.keys(projectPackage.exports))
  for (const [subpath, result] of Object.entries(report.subpaths)) assert.strictEqual(result, "loaded", subpath)
  assert.deepStrictEqual(report.internal, {
    dist: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    protocol: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    engine: "ERR_PACKAGE_PATH_NOT_EXPORTED"
  })
}

describe("the packed package", () => {
  it("ships the built modules, the license and no tests", () => {
    const installed = join(esm, "node_modules", projectPackage.name)
    assert.isTrue(existsSync(join(installed, "LICENSE")))
    assert.isTrue(existsSync(join(installed, "dist", "index.js")))
    assert.isTrue(existsSync(join(installed, "dist", "index.d.ts")))
    assert.isFalse(existsSync(join(installed, "test")))
    for (const target of Object.values(projectPackage.exports)) {
      // One unconditional target per subpath: the same ES module for import and require(esm).
      assert.isString(target, "each exports target is a plain path")
      const path = target as string
      assert.isTrue(existsSync(join(installed, path)), `exports target ${path} is in the tarball`)
      if (path.endsWith(".js")) {
        assert.isTrue(existsSync(join(installed, path.replace(/\.js$/, ".d.ts"))), `types beside ${path}`)
      }
    }
  })

  it("every bin entry is a built Node script, linked into node_modules/.bin by the install", () => {
    const bin = projectPackage.bin
    const entries = typeof bin === "string" ? { [projectPackage.name]: bin } : bin ?? {}
    const installed = join(esm, "node_modules", projectPackage.name)
    for (const [name, path] of Object.entries(entries)) {
      assert.match(path, /\.(m|c)?js$/, `bin ${name}: ${path} must be built JavaScript (node runs it without tsx)`)
      assert.isTrue(existsSync(join(installed, path)), `bin ${name}: ${path} is in the tarball`)
      assert.isTrue(
        readFileSync(join(installed, path), "utf8").startsWith("#!/usr/bin/env node"),
        `bin ${name} shebang`
      )
      assert.isTrue(existsSync(join(esm, "node_modules", ".bin", name)), `bin ${name} is linked`)
    }
  })

  it("works from an ESM consumer (import)", () => {
    expectWorkingConsumer(runConsumer(esm, "esm-consumer"), "esm")
  })

  it("works from a CommonJS consumer (require of the ES module)", () => {
    const compiled = readFileSync(join(work, "out", "cjs-consumer", "index.js"), "utf8")
    assert.include(compiled, `require("effect-memcached")`, "TypeScript compiled the imports to require()")
    assert.include(compiled, `require("effect-memcached/MemcachedTest")`)
    const report = runConsumer(cjs, "cjs-consumer")
    expectWorkingConsumer(report, "commonjs")
    // The consumer ran the package's effects (built with effect's ESM build) with effect's CommonJS build.
    assert.match(report.effectBuild, /[/\\]effect[/\\]dist[/\\]cjs[/\\]Effect\.js$/)
  })
})
