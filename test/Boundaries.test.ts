/**
 * The layer boundary of issue 12: src/protocol, src/engine and src/server import nothing from `effect`
 * or `@effect/*` — neither directly nor through another module of src/ they import — except the one
 * Effect-facing server layer module in {@link EFFECT_FACING_LAYER_MODULES}.
 *
 * Every form of import counts, type-only ones too (the core must port to another Effect without
 * touching it): `import`/`import type`, `export … from`, `import x = require()`, dynamic `import()`,
 * `require()`, `import("…")` types and `/// <reference types>`. A dynamic import or require whose
 * specifier is not a string literal fails too, since it cannot be checked.
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import ts from "typescript"

/**
 * The Effect-facing server layer module(s) allowed to import `effect`/`@effect/*` (paths from the project
 * root). At most one, under src/server/. Modules of the layers may not import it either (that would
 * bring Effect in through it).
 */
export const EFFECT_FACING_LAYER_MODULES: ReadonlyArray<string> = ["src/server/layer.ts"]

/** The folders whose modules must stay free of Effect. */
const LAYERS = ["src/protocol", "src/engine", "src/server"] as const

const root = join(import.meta.dirname, "..")

/** One import found in a source file. */
interface ImportSite {
  readonly specifier: string | undefined // undefined: not a string literal
  readonly line: number
  readonly form: string
}

const isEffectSpecifier = (s: string) => s === "effect" || s.startsWith("effect/") || s.startsWith("@effect/")

const literalText = (node: ts.Node | undefined): string | undefined =>
  node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined

/** Every import of a source text, in every form listed in this file's header. */
export const scanImports = (fileName: string, text: string): Array<ImportSite> => {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const sites: Array<ImportSite> = []
  const add = (node: ts.Node, specifier: string | undefined, form: string) =>
    sites.push({ specifier, form, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 })
  for (const ref of sf.typeReferenceDirectives) {
    sites.push({
      specifier: ref.fileName,
      form: "/// <reference types>",
      line: sf.getLineAndCharacterOfPosition(ref.pos).line + 1
    })
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, literalText(node.moduleSpecifier), node.importClause?.isTypeOnly ? "import type" : "import")
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add(node, literalText(node.moduleSpecifier), node.isTypeOnly ? "export type … from" : "export … from")
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, literalText(node.moduleReference.expression), "import = require()")
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument
      add(node, ts.isLiteralTypeNode(arg) ? literalText(arg.literal) : undefined, "import() type")
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === "require"
      if (isDynamicImport || isRequire) {
        add(node, literalText(node.arguments[0]), isDynamicImport ? "import()" : "require()")
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return sites
}

/** Every TypeScript module under `dir`, as project-relative paths with forward slashes. */
const sources = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).sort().flatMap((name) => {
    const path = `${dir}/${name}`
    if (statSync(join(root, path)).isDirectory()) return sources(path)
    return /\.(m|c)?ts$/.test(name) && !/\.d\.(m|c)?ts$/.test(name) ? [path] : []
  })

/** The module of `tree` a relative specifier of `from` names (`./x.js` → `src/…/x.ts`), if it is one. */
const resolveRelative = (tree: ReadonlyMap<string, string>, from: string, specifier: string): string | undefined => {
  if (!specifier.startsWith(".")) return undefined
  const base = relative(root, join(root, dirname(from), specifier)).split(sep).join("/")
  const candidates = [base.replace(/\.(m|c)?js$/, (ext) => ext.replace("js", "ts")), base + ".ts", base + "/index.ts"]
  return candidates.find((c) => tree.has(c))
}

/**
 * The boundary violations of a source tree (project-relative path → text): for each module of a layer,
 * not in `allowed`, that reaches Effect, the shortest chain of imports that brings it in
 * (`src/engine/a.ts:3 (import) → src/Key.ts:5 (import) → effect/Duration`).
 */
export const findViolations = (tree: ReadonlyMap<string, string>, allowed: ReadonlyArray<string>): Array<string> => {
  const all = [...tree.keys()]
  const imports = new Map(all.map((f) => [f, scanImports(f, tree.get(f)!)]))
  // distance[f]: the fewest relative imports from f to a module that imports Effect itself (0 for that
  // module); a fixed point over the import graph, so cycles need no special care.
  const target = (file: string, site: ImportSite) =>
    site.specifier === undefined ? undefined : resolveRelative(tree, file, site.specifier)
  const distance = new Map<string, number>()
  for (const [file, sites] of imports) {
    if (sites.some((s) => s.specifier === undefined || isEffectSpecifier(s.specifier))) distance.set(file, 0)
  }
  for (let changed = true; changed;) {
    changed = false
    for (const [file, sites] of imports) {
      for (const site of sites) {
        const via = target(file, site)
        const d = via === undefined ? undefined : distance.get(via)
        if (d !== undefined && d + 1 < (distance.get(file) ?? Infinity)) {
          distance.set(file, d + 1)
          changed = true
        }
      }
    }
  }
  // The shortest chain of imports from a module to Effect, each step with its file:line and form.
  const chainToEffect = (file: string): string => {
    const sites = imports.get(file) ?? []
    const direct = sites.find((s) => s.specifier === undefined || isEffectSpecifier(s.specifier))
    if (direct !== undefined) {
      return direct.specifier === undefined
        ? `${file}:${direct.line} (${direct.form} of a computed specifier, which cannot be checked)`
        : `${file}:${direct.line} (${direct.form}) → ${direct.specifier}`
    }
    const step = sites.find((s) => {
      const via = target(file, s)
      return via !== undefined && distance.get(via) === distance.get(file)! - 1
    })!
    return `${file}:${step.line} (${step.form}) → ${chainToEffect(target(file, step)!)}`
  }
  return all
    .filter((f) => LAYERS.some((layer) => f.startsWith(layer + "/")) && !allowed.includes(f))
    .flatMap((f) => {
      return distance.has(f) ? [`${f} imports Effect: ${chainToEffect(f)}`] : []
    })
}

describe("layer boundary: src/protocol, src/engine, src/server are free of Effect", () => {
  it("the scanner finds every form of import, with its line", () => {
    const text = [
      `/// <reference types="effect" />`, // a triple-slash directive counts only before any statement
      `import * as Effect from "effect/Effect"`,
      `import type { Layer } from "effect"`,
      `import { type Option } from "effect/Option"`,
      `export { Socket } from "@effect/platform/Socket"`,
      `export type * from "@effect/platform-node"`,
      `import Cause = require("effect/Cause")`,
      `const lazy = () => import("effect/Stream")`,
      "const tpl = () => import(`effect/Chunk`)",
      `const cjs = require("effect/Exit")`,
      `type S = import("effect/Scope").Scope`,
      `const computed = (m: string) => import(m)`,
      `import { local } from "./local.js"`
    ].join("\n")
    const sites = scanImports("sample.ts", text)
    assert.deepStrictEqual(
      sites.map((s) => [s.line, s.form, s.specifier]).sort((a, b) => (a[0] as number) - (b[0] as number)),
      [
        [1, "/// <reference types>", "effect"],
        [2, "import", "effect/Effect"],
        [3, "import type", "effect"],
        [4, "import", "effect/Option"],
        [5, "export … from", "@effect/platform/Socket"],
        [6, "export type … from", "@effect/platform-node"],
        [7, "import = require()", "effect/Cause"],
        [8, "import()", "effect/Stream"],
        [9, "import()", "effect/Chunk"],
        [10, "require()", "effect/Exit"],
        [11, "import() type", "effect/Scope"],
        [12, "import()", undefined],
        [13, "import", "./local.js"]
      ]
    )
    assert.isTrue(isEffectSpecifier("effect") && isEffectSpecifier("@effect/platform"))
    assert.isFalse(isEffectSpecifier("effectful") || isEffectSpecifier("./effect.js"))
  })

  it("the allow-list names at most one existing module under src/server", () => {
    assert.isAtMost(EFFECT_FACING_LAYER_MODULES.length, 1)
    for (const f of EFFECT_FACING_LAYER_MODULES) {
      assert.isTrue(f.startsWith("src/server/") && existsSync(join(root, f)), `${f} is a module under src/server`)
    }
  })

  it("a module reaching Effect through other modules is reported with its chain; cycles are followed", () => {
    const tree = new Map([
      ["src/Edge.ts", `import * as Data from "effect/Data"\nexport const x = 1`],
      ["src/Pure.ts", `export const y = 2`],
      ["src/engine/a.ts", `import { y } from "../Pure.js"\nimport { x } from "../Edge.js"`],
      ["src/engine/clean.ts", `import { y } from "../Pure.js"\nimport * as fs from "node:fs"`],
      ["src/engine/c.ts", `import { d } from "./d.js"\nexport const c = 1`],
      ["src/engine/d.ts", `import { c } from "./c.js"\nexport type { Scope } from "effect/Scope"`],
      ["src/protocol/e.ts", `import { c } from "../engine/c.js"`],
      ["src/server/layer.ts", `import * as Layer from "effect/Layer"\nimport { f } from "./f.js"`],
      ["src/server/f.ts", `export const f = 1`],
      ["src/server/g.ts", `import { layer } from "./layer.js"`]
    ])
    assert.deepStrictEqual(findViolations(tree, ["src/server/layer.ts"]), [
      "src/engine/a.ts imports Effect: src/engine/a.ts:2 (import) → src/Edge.ts:1 (import) → effect/Data",
      "src/engine/c.ts imports Effect: src/engine/c.ts:1 (import) → src/engine/d.ts:2 (export type … from) → effect/Scope",
      "src/engine/d.ts imports Effect: src/engine/d.ts:2 (export type … from) → effect/Scope",
      "src/protocol/e.ts imports Effect: src/protocol/e.ts:1 (import) → src/engine/c.ts:1 (import) → " +
      "src/engine/d.ts:2 (export type … from) → effect/Scope",
      "src/server/g.ts imports Effect: src/server/g.ts:1 (import) → src/server/layer.ts:1 (import) → effect/Layer"
    ])
  })

  it("no module of the layers reaches effect or @effect/*", () => {
    const tree = new Map(sources("src").map((f) => [f, readFileSync(join(root, f), "utf8")]))
    const found = findViolations(tree, EFFECT_FACING_LAYER_MODULES)
    assert.deepStrictEqual(found, [], `\n${found.join("\n")}\n`)
  })
})
