/**
 * The published Effect 4 package, as a user gets it: build it (scripts/build-effect4.mjs, the shared
 * engine compiled in) into a staging copy, `npm pack` it, and in a fresh ESM project install the
 * tarball together with `effect@4.1` offline — without --legacy-peer-deps, so a peer-dependency conflict
 * fails the install — then type-check and compile the program of the
 * package's README with TypeScript (`module: nodenext`, strict), and run it with Node against the
 * in-memory server over TCP and against a real memcached.
 *
 * effect 4.1 has no dependencies, so it is installed as a tarball packed from the workspace's own copy:
 * installing `effect@4.1.0` by name offline needs its registry metadata in the npm cache, which a fresh
 * machine installing from the lockfile (`npm ci`) does not have (CI on a new box failed with ERESOLVE
 * "Found: effect@undefined"). `@types/node` (which has a dependency) is linked from the project's
 * node_modules, as the Effect 3 package test links its peers.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile, execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as MemoryServer from "../../../src/server/MemoryServer.js"
import { startMemcached } from "./support/memcached.js"

const pkgDir = join(import.meta.dirname, "..")
const root = join(pkgDir, "..", "..")
const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
const effectVersion = JSON.parse(readFileSync(join(pkgDir, "node_modules", "effect", "package.json"), "utf8")).version
let work = ""
let consumer = ""

const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}): string => {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env }
    })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${err.stdout ?? ""}\n${err.stderr ?? err.message}`)
  }
}

/**
 * Runs the compiled program without blocking this process (the in-memory server it talks to lives
 * here); resolves with its stdout.
 */
const runProgram = (servers: string): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, ["out/index.js"], {
      cwd: consumer,
      encoding: "utf8",
      env: { ...process.env, MEMCACHED_SERVERS: servers }
    }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`the README program failed:\n${stdout}\n${stderr}`)))
  )

/** The first ```ts block of the package README: the program a user starts from. */
const readmeProgram = (): string => {
  const readme = readFileSync(join(pkgDir, "README.md"), "utf8")
  const m = /```ts\n([\s\S]*?)```/.exec(readme)
  if (m === null) throw new Error("packages/effect4/README.md has no ```ts block")
  return m[1]!
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "effect-memcached-effect4-pkg-"))
  const stage = join(work, "stage")
  mkdirSync(stage)
  for (const file of ["package.json", "README.md", "LICENSE"]) cpSync(join(pkgDir, file), join(stage, file))
  run(process.execPath, [join(root, "scripts", "build-effect4.mjs"), "--out", join(stage, "dist")], root)
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], stage)) as Array<
    { filename: string }
  >
  const tarball = join(work, packed[0]!.filename)
  consumer = join(work, "consumer")
  mkdirSync(consumer)
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
  const packedEffect = JSON.parse(
    run("npm", [
      "pack",
      "--json",
      "--ignore-scripts",
      "--pack-destination",
      work,
      join(pkgDir, "node_modules", "effect")
    ], work)
  ) as Array<{ filename: string }>
  run("npm", [
    "install",
    "--offline",
    "--no-audit",
    "--no-fund",
    "--ignore-scripts",
    "--no-package-lock",
    join(work, packedEffect[0]!.filename),
    tarball
  ], consumer)
  mkdirSync(join(consumer, "node_modules", "@types"), { recursive: true })
  symlinkSync(join(root, "node_modules", "@types", "node"), join(consumer, "node_modules", "@types", "node"), "dir")
  writeFileSync(join(consumer, "index.ts"), readmeProgram())
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        exactOptionalPropertyTypes: true,
        types: ["node"],
        outDir: "out"
      },
      files: ["index.ts"]
    })
  )
}, 300_000)

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

describe("the packed Effect 4 package in a fresh ESM project with effect 4.1", () => {
  it("installs without peer conflicts: one effect, 4.x, and the engine inside the package", () => {
    // One effect: the consumer's own (4.x), none nested under the package. (`npm ls` is not used: with
    // no lockfile it reports a tarball-installed dependency as "invalid".)
    const effect = JSON.parse(readFileSync(join(consumer, "node_modules", "effect", "package.json"), "utf8"))
    assert.strictEqual(effect.version, effectVersion)
    assert.match(effectVersion, /^4\./)
    const installed = join(consumer, "node_modules", "effect-memcached-effect4")
    assert.isFalse(existsSync(join(installed, "node_modules", "effect")))
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"))
    assert.strictEqual(manifest.peerDependencies.effect, "^4.1.0")
    // The engine is compiled into the tarball (nothing else to install).
    readFileSync(join(installed, "dist", "src", "engine", "connection.js"))
  })

  it("type-checks and compiles the README program (tsc, nodenext, strict)", () => {
    run(process.execPath, [tsc, "-p", "tsconfig.json"], consumer)
  }, 120_000)

  it("runs the README program against the in-memory server over TCP", async () => {
    const server = MemoryServer.make()
    const { port } = await server.listen({ port: 0, host: "127.0.0.1" })
    try {
      const servers = `127.0.0.1:${port}`
      const first = JSON.parse(await runProgram(servers))
      assert.deepStrictEqual(first.greeting, "hello from Effect 4")
      assert.strictEqual(first.visits, "1")
      assert.strictEqual(first.versions.length, 1)
      assert.match(first.versions[0], /^\d+\.\d+\.\d+/)
      const second = JSON.parse(await runProgram(servers))
      assert.strictEqual(second.visits, "2")
    } finally {
      await server.close()
    }
  }, 120_000)

  it("runs the README program against a real memcached", async () => {
    const mc = await startMemcached()
    try {
      const out = JSON.parse(await runProgram(`127.0.0.1:${mc.port}`))
      assert.strictEqual(out.greeting, "hello from Effect 4")
      assert.strictEqual(out.visits, "1")
      assert.match(out.versions[0], /^1\.6\./)
    } finally {
      await mc.stop()
    }
  }, 120_000)
})
