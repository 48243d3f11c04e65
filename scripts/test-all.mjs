// npm test: both editions' suites — the Effect 3 package's (root, vitest 3) and the Effect 4 package's
// (packages/effect4, vitest 5) — with the same arguments. With `--outputFile=F` (the JSON reporter, as
// .ci/run passes) each run writes its own report and F ends up holding the two merged: the counts
// added up and both runs' test results, so one JSON line counts every test of both editions.
// Exits non-zero when either run fails (both always run).
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
let outputFile
const passArgs = []
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a.startsWith("--outputFile=")) outputFile = resolve(a.slice("--outputFile=".length))
  else if (a === "--outputFile") outputFile = resolve(args[++i])
  else passArgs.push(a)
}

const runs = [
  { name: "effect 3 (root)", cwd: root, file: outputFile },
  {
    name: "effect 4 (packages/effect4)",
    cwd: join(root, "packages", "effect4"),
    file: outputFile && `${outputFile}.effect4.json`
  }
]
// A file filter (`npm test -- test/Hash.test.ts`) may match files of one edition only.
const filtered = passArgs.some((a) => !a.startsWith("-"))
// The Effect 4 suite includes the Effect 4 copies of the shared root files (scripts/editions.mjs).
const sync = spawnSync(process.execPath, [join(root, "scripts", "editions.mjs")], { stdio: "inherit" })
if (sync.status !== 0) process.exit(sync.status || 1)
let status = 0
for (const run of runs) {
  if (run.file) rmSync(run.file, { force: true })
  console.log(`\nnpm test: ${run.name}`)
  const vitest = join(run.cwd, "node_modules", "vitest", "vitest.mjs")
  const bin = existsSync(vitest) ? vitest : join(root, "node_modules", "vitest", "vitest.mjs")
  const r = spawnSync(process.execPath, [
    bin,
    "run",
    ...passArgs,
    ...(filtered ? ["--passWithNoTests"] : []),
    ...(run.file ? [`--outputFile=${run.file}`] : [])
  ], {
    cwd: run.cwd,
    stdio: "inherit"
  })
  if (r.status !== 0) status = r.status || 1
}

if (outputFile) {
  const keys = [
    "numTotalTests",
    "numPassedTests",
    "numFailedTests",
    "numPendingTests",
    "numTodoTests",
    "numTotalTestSuites",
    "numPassedTestSuites",
    "numFailedTestSuites",
    "numPendingTestSuites"
  ]
  const reports = runs.map((run) => {
    if (!existsSync(run.file)) {
      console.error(`npm test: ${run.name} wrote no report (${run.file})`)
      status = status || 1
      return undefined
    }
    return JSON.parse(readFileSync(run.file, "utf8"))
  }).filter((r) => r !== undefined)
  const merged = { ...reports[0], testResults: reports.flatMap((r) => r.testResults ?? []) }
  for (const k of keys) merged[k] = reports.reduce((n, r) => n + (r[k] ?? 0), 0)
  merged.success = reports.length === runs.length && reports.every((r) => r.success)
  merged.editions = Object.fromEntries(
    runs.map((
      run,
      i
    ) => [run.name, reports[i] && { passed: reports[i].numPassedTests, failed: reports[i].numFailedTests }])
  )
  writeFileSync(outputFile, JSON.stringify(merged))
  rmSync(runs[1].file, { force: true })
  console.log(`npm test: both editions: ${merged.numPassedTests} passed, ${merged.numFailedTests} failed`)
}
process.exit(status)
