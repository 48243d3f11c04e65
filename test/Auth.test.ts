/**
 * Issue 16 — memcached's ASCII authentication (`-Y authfile`), against a real memcached 1.6 and the
 * in-memory server's auth file, plus a fake server where the order of bytes is the point: the right
 * credentials work (text, meta, auto, and over TLS), wrong ones fail `Auth`, no request byte is sent
 * before `STORED`, every reconnect re-authenticates, rejections count toward ejection, and the password
 * appears in no error, cause or log. Then the server side: the in-memory gate answers byte for byte
 * what memcached 1.6.18 answers. The client cases common to both editions are the edition-neutral ones
 * of support/managedCases.ts, registered here with the Effect 3 client (support/managedEdition.ts, one source for both editions).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Config from "effect/Config"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as MemcachedClient from "../src/MemcachedClient.js"
import { authCredentialProblem, encodeAuth } from "../src/protocol/client.js"
import type { MemcachedClientOptions } from "../src/MemcachedClient.js"
import { spawnMemcachedOn } from "./support/load.js"
import { AUTH_FILE, authCases, type ManagedCase, PASSWORD, realAuthCases } from "./support/managedCases.js"
import { managedEdition } from "./support/managedEdition.js"
import { freePort, startFakeServer } from "./support/memcached.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "./support/tlsCerts.js"
import { memoryServer, realMemcached, type Target } from "./support/tlsTargets.js"

const AUTH_COMMAND = `set auth 0 -1 ${"alice".length + 1 + PASSWORD.length}\r\nalice ${PASSWORD}\r\n`

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

const auth = (password = PASSWORD, username = "alice") => ({ username, password: Redacted.make(password) })

const BASE = { connectTimeout: "3 seconds", timeout: "3 seconds", failureLimit: 100 } as const

const withClient = <A, E>(
  options: MemcachedClientOptions,
  f: (c: MemcachedClient.MemcachedClient) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(MemcachedClient.make({ ...BASE, ...options }), f))

const roundTrip = (c: MemcachedClient.MemcachedClient, key: string) =>
  Effect.gen(function*() {
    yield* c.set(key, "authenticated")
    const got = yield* c.get(key)
    assert.strictEqual(Option.getOrUndefined(Option.map(got, (i) => Buffer.from(i.value).toString())), "authenticated")
  })

const reasonOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "succeeded"
  const e = Cause.squash(exit.cause) as { _tag?: string; reason?: string }
  return e._tag === "MemcachedConnectionError" ? e.reason! : `other: ${e._tag} ${e.reason}`
}

const register = (cases: ReadonlyArray<ManagedCase>, target: () => Target) => {
  for (const c of cases) {
    it(c.name, () => c.run({ edition: managedEdition, target: target(), certs: () => certs }), 60_000)
  }
}

describe("ASCII authentication against real memcached -Y", () => {
  register(authCases, () => realMemcached(certs.dir))
  register(realAuthCases, () => realMemcached(certs.dir))

  it.live("a restarted server is re-authenticated", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const file = `${certs.dir}/restart-auth`
      fs.writeFileSync(file, AUTH_FILE, { mode: 0o644 })
      let mc = yield* Effect.promise(() => spawnMemcachedOn(port, ["-Y", file]))
      try {
        yield* withClient({ servers: [`127.0.0.1:${port}`], auth: auth(), protocol: "text" }, (c) =>
          Effect.gen(function*() {
            yield* roundTrip(c, "before")
            yield* Effect.promise(() =>
              mc.kill("SIGKILL")
            )
            mc = yield* Effect.promise(() => spawnMemcachedOn(port, ["-Y", file]))
            let ok = false
            for (let i = 0; i < 20 && !ok; i++) {
              ok = Exit.isSuccess(yield* Effect.exit(c.set("after", "v")))
              if (!ok) yield* Effect.sleep("100 millis")
            }
            assert.isTrue(ok, "requests work again after the restart (an unauthenticated one would fail)")
            assert.isTrue(Option.isSome(yield* c.get("after")))
          }))
      } finally {
        yield* Effect.promise(() => mc.kill("SIGTERM"))
      }
    }), 60_000)
})

describe("ASCII authentication against the in-memory server's auth file", () => register(authCases, () => memoryServer))

describe("ASCII authentication: the order of bytes (fake server)", () => {
  it.live("no request byte before STORED; queued requests are released after it", () =>
    Effect.gen(function*() {
      let answer: ((s: string) => void) | undefined
      const fake = yield* Effect.promise(() =>
        startFakeServer((socket, _chunk, received) => {
          if (received === AUTH_COMMAND) answer = (s) => void socket.write(s)
          if (received.endsWith("get k\r\n")) socket.write("END\r\n")
        })
      )
      try {
        yield* withClient({ servers: [fake.address], auth: auth(), protocol: "text" }, (c) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.fork(c.get("k"))
            yield* Effect.promise(() => fake.receivedUntil(0, (d) => d === AUTH_COMMAND))
            yield* Effect.sleep("200 millis")
            assert.strictEqual(fake.received[0], AUTH_COMMAND, "nothing but the authentication before STORED")
            answer!("STORED\r\n")
            const got = yield* fiber.await
            assert.isTrue(Exit.isSuccess(got))
            assert.strictEqual(fake.received[0], AUTH_COMMAND + "get k\r\n")
          }))
      } finally {
        yield* Effect.promise(() => fake.close())
      }
    }), 30_000)

  it.live("a rejection fails the queued requests with Auth and none of them is sent", () =>
    Effect.gen(function*() {
      const fake = yield* Effect.promise(() =>
        startFakeServer((socket, _chunk, received) => {
          if (received === AUTH_COMMAND) socket.write("CLIENT_ERROR authentication failure\r\n")
        })
      )
      try {
        const exits = yield* withClient({ servers: [fake.address], auth: auth(), protocol: "text" }, (c) =>
          Effect.all([c.get("a"), c.set("b", "v"), c.delete("c")].map(Effect.exit), { concurrency: "unbounded" }))
        assert.deepStrictEqual(exits.map(reasonOf), ["Auth", "Auth", "Auth"])
        assert.strictEqual(fake.received[0], AUTH_COMMAND)
      } finally {
        yield* Effect.promise(() =>
          fake.close()
        )
      }
    }), 30_000)

  it.live(
    "Auth is not retried by the retry schedule (a new attempt would be rejected again)",
    () =>
      Effect.gen(function*() {
        const fake = yield* Effect.promise(() =>
          startFakeServer((socket, _chunk, received) => {
            if (received === AUTH_COMMAND) socket.write("CLIENT_ERROR authentication failure\r\n")
          })
        )
        try {
          const exit = yield* withClient(
            { servers: [fake.address], auth: auth(), protocol: "text", retry: Schedule.recurs(3) },
            (c) => Effect.exit(c.get("a"))
          )
          assert.strictEqual(reasonOf(exit), "Auth")
          yield* Effect.sleep("100 millis")
          assert.strictEqual(fake.sockets.length, 1, "one connection: no retry")
        } finally {
          yield* Effect.promise(() => fake.close())
        }
      }),
    30_000
  )

  it.live(
    "the handshake has the connect deadline (a server that never answers: ConnectTimeout)",
    () =>
      Effect.gen(function*() {
        const fake = yield* Effect.promise(() => startFakeServer())
        try {
          const exit = yield* withClient(
            { servers: [fake.address], auth: auth(), protocol: "text", connectTimeout: "300 millis" },
            (c) => Effect.exit(c.get("a"))
          )
          assert.strictEqual(reasonOf(exit), "ConnectTimeout")
          assert.strictEqual(fake.received[0], AUTH_COMMAND)
        } finally {
          yield* Effect.promise(() => fake.close())
        }
      }),
    30_000
  )
})

describe("auth configuration", () => {
  it.effect("layerConfig reads the password as Redacted; bad credentials fail naming the entry", () =>
    Effect.gen(function*() {
      const config = Config.all({
        servers: Config.succeed(["127.0.0.1:1"]),
        auth: Config.all({ username: Config.string("USER"), password: Config.redacted("PASSWORD") })
      })
      const build = (env: Record<string, string>) =>
        Effect.either(
          Layer.build(MemcachedClient.layerConfig(config)).pipe(
            Effect.scoped,
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
          )
        )
      assert.isTrue(Either.isRight(yield* build({ USER: "alice", PASSWORD })))
      for (
        const [env, entry] of [
          [{ USER: "al:ice", PASSWORD }, "auth.username"],
          [{ USER: "alice", PASSWORD: "two words" }, "auth.password"],
          [{ USER: "", PASSWORD }, "auth.username"]
        ] as const
      ) {
        const r = yield* build(env)
        assert.isTrue(Either.isLeft(r))
        const text = String(Either.isLeft(r) ? r.left : "")
        assert.include(text, entry)
        assert.notInclude(text, env.PASSWORD)
      }
    }))
})

describe("auth from the environment and the encoder", () => {
  it.effect("MEMCACHED_USERNAME/MEMCACHED_PASSWORD (Redacted), MEMCACHED_TLS; one without the other fails", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.either(Effect.withConfigProvider(
          MemcachedClient.config,
          ConfigProvider.fromMap(new Map(Object.entries(env)))
        ))
      const both = yield* read({ MEMCACHED_USERNAME: "alice", MEMCACHED_PASSWORD: PASSWORD, MEMCACHED_TLS: "true" })
      assert.isTrue(Either.isRight(both))
      if (Either.isRight(both)) {
        assert.strictEqual(both.right.auth?.username, "alice")
        assert.isTrue(Redacted.isRedacted(both.right.auth?.password))
        assert.notInclude(String(both.right.auth?.password), PASSWORD)
        assert.strictEqual(both.right.tls, true)
      }
      const none = yield* read({})
      assert.isTrue(Either.isRight(none) && none.right.auth === undefined && none.right.tls === undefined)
      const half = yield* read({ MEMCACHED_USERNAME: "alice" })
      assert.isTrue(Either.isLeft(half))
      assert.include(String(Either.isLeft(half) ? half.left : ""), "MEMCACHED_PASSWORD")
    }))

  it("encodeAuth builds the authentication set as bytes; bad parts are described, never quoted", () => {
    assert.strictEqual(encodeAuth("alice", PASSWORD).toString("latin1"), AUTH_COMMAND)
    assert.strictEqual(
      encodeAuth("b", "é").toString("latin1"),
      Buffer.from("set auth 0 -1 4\r\nb é\r\n").toString("latin1")
    )
    assert.strictEqual(authCredentialProblem("username", "alice"), undefined)
    for (
      const [part, value] of [
        ["username", ""],
        ["username", "a:b"],
        ["username", "a b"],
        ["password", "p\r\nget x"],
        ["password", "tab\there"],
        ["password", "x".repeat(251)]
      ] as const
    ) {
      const problem = authCredentialProblem(part, value)
      assert.isString(problem, `${part} ${JSON.stringify(value)}`)
      if (value.length > 0) assert.notInclude(problem!, value)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Server side: the in-memory gate answers what memcached 1.6.18 answers
// ---------------------------------------------------------------------------------------------

/** Sends each step on one connection and collects what arrives until the line is quiet. */
const converse = (port: number, steps: ReadonlyArray<string>): Promise<Array<string>> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const out: Array<string> = []
    let current = ""
    let closed = false
    let timer: NodeJS.Timeout | undefined
    let i = 0
    const next = () => {
      if (i > 0) out.push(current + (closed ? "<closed>" : ""))
      current = ""
      if (i >= steps.length || closed) {
        socket.destroy()
        return resolve(out)
      }
      socket.write(steps[i++]!)
      quiet()
    }
    const quiet = () => {
      clearTimeout(timer)
      timer = setTimeout(next, 300)
    }
    socket.on("data", (d: Buffer) => {
      current += d.toString("latin1")
      quiet()
    })
    socket.on("close", () => {
      closed = true
    })
    socket.on("error", () => {})
    socket.once("connect", next)
    socket.once("error", reject)
  })

const dialogues: ReadonlyArray<ReadonlyArray<string>> = [
  ["get foo\r\n", "get foo\r\n", "version\r\n", "mn\r\n", "mg foo v\r\n", "stats\r\n", "quit\r\n"],
  ["version\r\nget foo\r\n"],
  [`set a 0 0 11\r\nalice wrong\r\n`, "get foo\r\n", `set a 0 0 ${5 + 1 + PASSWORD.length}\r\nalice ${PASSWORD}\r\n`],
  [`set a 0 0 11\r\nalice wrong\r\nget foo\r\n`],
  [`set a 0 0 ${6 + PASSWORD.length}\r\n`, `alice ${PASSWORD}\r\n`, "get a\r\n"],
  [`set a 5 100 ${6 + PASSWORD.length}\r\nalice ${PASSWORD}\r\nget a\r\nset a 0 0 1\r\nx\r\nget a\r\n`],
  [`set a 0 0 ${7 + PASSWORD.length}\r\nalice ${PASSWORD} \r\n`, "get nokey\r\n"],
  [`set a 0 0 ${8 + PASSWORD.length}\r\nalice ${PASSWORD} x\r\n`],
  ["set a 0 0 11\r\nbob  other\r\n"],
  [
    "set a 0 0 5\r\nalice\r\n",
    "set a 0 0 3\r\nabcde\r\n",
    "set a 0 0\r\n",
    "add a 0 0 3\r\nabc\r\n",
    "set a 0 0 x\r\n"
  ],
  [`set a 0 0 ${6 + PASSWORD.length} noreply\r\nalice ${PASSWORD}\r\n`, "get a\r\n"],
  ["get foo\r\n" + "x".repeat(3000)]
]

describe("the in-memory auth gate matches memcached 1.6.18 byte for byte", () => {
  it.live("the same dialogues get the same replies and closes", () =>
    Effect.gen(function*() {
      const real = yield* Effect.promise(() => realMemcached(certs.dir).start({ authFile: AUTH_FILE }))
      const memory = yield* Effect.promise(() => memoryServer.start({ authFile: AUTH_FILE }))
      try {
        for (const steps of dialogues) {
          const a = yield* Effect.promise(() => converse(real.port, steps))
          const b = yield* Effect.promise(() => converse(memory.port, steps))
          // Compared as one transcript: on a loaded machine a reply may land after the next step left.
          assert.strictEqual(b.join(""), a.join(""), `${JSON.stringify(steps)}: ${JSON.stringify([a, b])}`)
        }
        for (const name of ["auth_cmds", "auth_errors"]) {
          const r = yield* Effect.promise(() => real.stat(name))
          const m = yield* Effect.promise(() => memory.stat(name))
          // The harness's own authenticated stats connection counts on the real server only.
          assert.strictEqual(Number(m), Number(r) - (name === "auth_cmds" ? 1 : 0), name)
        }
      } finally {
        yield* Effect.promise(() => real.stop())
        yield* Effect.promise(() => memory.stop())
      }
    }), 120_000)
})

// ---------------------------------------------------------------------------------------------
// The standalone server: `npm run server -- --tls-cert … --tls-key … --auth-file …`
// ---------------------------------------------------------------------------------------------

/** Runs bin/server.ts (what `npm run server` runs) until it prints its listening line. */
const startCli = (args: ReadonlyArray<string>) =>
  new Promise<{ line: string; child: ChildProcess }>((resolve, reject) => {
    const child = spawn(path.resolve("node_modules/.bin/tsx"), ["bin/server.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000)
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const line = out.split("\n").find((l) => l.includes(" listening on "))
      if (line !== undefined) {
        clearTimeout(timer)
        resolve({ line, child })
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited ${code}: ${out}`))
    })
  })

describe("npm run server with TLS and an auth file", () => {
  it.live(
    "--tls-cert/--tls-key/--tls-ca/--auth-file: the client connects with mTLS and authenticates",
    () =>
      Effect.gen(function*() {
        const file = `${certs.dir}/cli-auth`
        fs.writeFileSync(file, AUTH_FILE)
        const { child, line } = yield* Effect.promise(() =>
          startCli([
            "--port",
            "0",
            "--tls-cert",
            certs.serverCert,
            "--tls-key",
            certs.serverKey,
            "--tls-ca",
            certs.caFile,
            "--auth-file",
            file
          ])
        )
        try {
          const port = Number(/tls:127\.0\.0\.1:(\d+)/.exec(line)![1])
          const tlsOptions = { ca: certs.caPem, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) }
          yield* withClient({ servers: [`localhost:${port}`], tls: tlsOptions, auth: auth() }, (c) =>
            Effect.gen(function*() {
              yield* roundTrip(c, "cli")
              const settings = yield* c.stats("settings")
              const only = [...settings.values()][0]!
              assert.isTrue(Either.isRight(only))
              assert.strictEqual(Either.isRight(only) ? only.right.get("auth_enabled_ascii") : undefined, "yes")
            }))
          const wrong = yield* withClient(
            { servers: [`localhost:${port}`], tls: tlsOptions, auth: auth("bad") },
            (c) =>
              Effect.exit(c.get("cli"))
          )
          assert.strictEqual(reasonOf(wrong), "Auth")
          const noCert = yield* withClient(
            { servers: [`localhost:${port}`], tls: { ca: certs.caPem }, auth: auth() },
            (c) =>
              Effect.exit(c.get("cli"))
          )
          assert.strictEqual(reasonOf(noCert), "Tls")
        } finally {
          child.removeAllListeners("exit")
          process.kill(child.pid!, "SIGTERM")
        }
      }),
    60_000
  )

  it("a malformed auth file (a line without ':') exits 1, as memcached refuses to start", () => {
    const file = `${certs.dir}/bad-auth`
    fs.writeFileSync(file, "alice\n")
    const r = spawnSync(path.resolve("node_modules/.bin/tsx"), ["bin/server.ts", "--port", "0", "--auth-file", file], {
      encoding: "utf8"
    })
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, "has no ':'")
  })
})
