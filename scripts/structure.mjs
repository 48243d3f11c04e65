// npm run lint — structure limits of src/ (issue 12): no module over MAX_MODULE_LINES lines, no function
// over MAX_FUNCTION_LINES lines. Measured with the project's TypeScript compiler API: every function-like
// node counts (declarations, expressions, arrows, methods, accessors, constructors), nested ones too, so
// a generator passed to `Effect.gen` or a closure returned by a factory is measured on its own. A
// function's length runs from its first token (after its JSDoc) to its closing token, both lines counted.
// A module's length is its number of lines (a final newline does not start another line), as `wc -l`.
//
// Prints every violation, largest first, with file:line and the function's name, and exits 1 when there
// is any; prints the largest module and the longest function either way.
//
// Usage: node scripts/structure.mjs [project-dir]   (default: this project; test/Structure.test.ts
// points it at a fixture tree)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { createRequire } from "node:module"

/** The limits. A module or function longer than this fails. */
export const MAX_MODULE_LINES = 700
export const MAX_FUNCTION_LINES = 150

const self = join(import.meta.dirname, "..")
const ts = createRequire(join(self, "package.json"))("typescript")
const root = process.argv[2] ?? self

/** Every TypeScript source under `dir` (declaration files excluded), sorted. */
const sources = (dir) =>
  readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.(m|c)?ts$/.test(name) && !/\.d\.(m|c)?ts$/.test(name) ? [path] : []
  })

/** A readable name for a function-like node: its own name, the variable or property it is assigned to,
 * or the call it is an argument of (`Effect.gen(…) callback`). */
const functionName = (node, sf) => {
  if (ts.isConstructorDeclaration(node)) {
    return `${node.parent.name ? node.parent.name.getText(sf) : "class"} constructor`
  }
  if (node.name) return node.name.getText(sf)
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(sf)
  }
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression.getText(sf)
    return `${callee.length > 40 ? callee.slice(0, 40) + "…" : callee}(…) callback`
  }
  return "<anonymous>"
}

const isFunctionLike = (node) =>
  ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) ||
  ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node)

const moduleProblems = []
const functionProblems = []
let largestModule = { file: "", lines: 0 }
let longestFunction = { where: "", name: "", lines: 0 }

// Both editions: the root package and the Effect 4 package (packages/effect4/src). The repository must
// have both; a fixture tree given as an argument (test/Structure.test.ts) may have only src/.
const effect4 = join(root, "packages", "effect4", "src")
const roots = root === self || existsSync(effect4) ? [join(root, "src"), effect4] : [join(root, "src")]
for (const file of roots.flatMap(sources)) {
  const rel = relative(root, file)
  const text = readFileSync(file, "utf8")
  const lines = text.length === 0 ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0)
  if (lines > largestModule.lines) largestModule = { file: rel, lines }
  if (lines > MAX_MODULE_LINES) moduleProblems.push({ file: rel, lines })
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const visit = (node) => {
    if (isFunctionLike(node) && node.body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line
      const length = end - start + 1
      const where = `${rel}:${start + 1}`
      const name = functionName(node, sf)
      if (length > longestFunction.lines) longestFunction = { where, name, lines: length }
      if (length > MAX_FUNCTION_LINES) functionProblems.push({ where, name, lines: length })
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
}

moduleProblems.sort((a, b) => b.lines - a.lines)
functionProblems.sort((a, b) => b.lines - a.lines)
for (const p of moduleProblems) {
  console.error(`lint: module too long: ${p.file}: ${p.lines} lines (limit ${MAX_MODULE_LINES})`)
}
for (const p of functionProblems) {
  console.error(`lint: function too long: ${p.where} ${p.name}: ${p.lines} lines (limit ${MAX_FUNCTION_LINES})`)
}
console.log(
  `lint: largest module ${largestModule.file} (${largestModule.lines} lines), longest function ` +
    `${longestFunction.where} ${longestFunction.name} (${longestFunction.lines} lines)`
)
const problems = moduleProblems.length + functionProblems.length
if (problems > 0) {
  console.error(
    `lint: FAILED: ${moduleProblems.length} module(s) over ${MAX_MODULE_LINES} lines, ` +
      `${functionProblems.length} function(s) over ${MAX_FUNCTION_LINES} lines`
  )
  process.exit(1)
}
console.log("lint: ok")
