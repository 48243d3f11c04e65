import { assert, describe, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import * as MemoryServer from "../src/server/MemoryServer.js"

const found = spawnSync("memccapable", ["--help"], { stdio: "ignore" }).error === undefined

const runCapable = (port: number) =>
  new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn("memccapable", ["-a", "-h", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d: Buffer) => void (output += d.toString()))
    child.stderr.on("data", (d: Buffer) => void (output += d.toString()))
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL")
    }, 50_000)
    child.once("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

describe("memccapable (libmemcached-tools) against the memory server", () => {
  it("memccapable -a passes every ascii test", async () => {
    assert.isTrue(found, "memccapable is required (apt-get install libmemcached-tools)")
    const server = MemoryServer.make()
    try {
      const { port } = await server.listen({ port: 0, host: "127.0.0.1" })
      const { code, output } = await runCapable(port)
      const failed = output.split("\n").filter((l) => /\[(fail|FAIL)\]/.test(l))
      assert.deepStrictEqual(failed, [], output)
      assert.include(output, "All tests passed", output)
      assert.strictEqual(code, 0, output)
      assert.isAtLeast(output.split("\n").filter((l) => /\[pass\]/.test(l)).length, 27, output)
    } finally {
      await server.close()
    }
  })
})
