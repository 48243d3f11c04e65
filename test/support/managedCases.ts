/**
 * TLS and ASCII-authentication cases, edition-neutral (the conformance pattern of conformanceCases.ts):
 * one body per case, run against real memcached (`-Z`, `-Y`) and the in-memory server's TLS listener and
 * auth file, through whichever edition registers them with its {@link ManagedEdition} (Effect 3:
 * test/Tls.test.ts and test/Auth.test.ts via managedEdition.ts (shared with Effect 4); Effect 4:
 * packages/effect4/test/Managed.test.ts). Certificates are generated per run by openssl
 * (tlsCerts.ts). This module imports neither `effect` nor a test runner: assertions are
 * `node:assert/strict`.
 */
import assert from "node:assert/strict"
import * as net from "node:net"
import * as tls from "node:tls"
import * as MemoryServer from "../../src/server/MemoryServer.js"
import type { TestCerts } from "./tlsCerts.js"
import type { RunningTarget, Target, TargetOptions } from "./tlsTargets.js"

/** A server of a client's options: a spec string, or parts (with the spec's own `tls`). */
export type PlainServer = string | {
  readonly host: string
  readonly port: number
  readonly tls?: boolean | tls.ConnectionOptions | undefined
}

/** Client options as the cases give them (the edition turns `password` into its `Redacted`, ms into durations). */
export interface PlainOptions {
  readonly servers: ReadonlyArray<PlainServer>
  readonly tls?: boolean | tls.ConnectionOptions | undefined
  readonly auth?: { readonly username: string; readonly password: string } | undefined
  readonly protocol?: "text" | "meta" | "auto" | undefined
  readonly timeoutMs?: number | undefined
  readonly failureLimit?: number | undefined
  /** Retry every failure this many times (the edition's `retry` schedule, `retryNonIdempotent`). */
  readonly retries?: number | undefined
}

/** A typed failure as a case sees it, with everything the edition would show of it. */
export interface Failure {
  readonly _tag: string
  readonly reason: string
  readonly message: string
  /** Message, string form, cause chain, pretty cause: where a password must never appear. */
  readonly shown: string
}

/** The client under test, as Promises; they reject with a {@link Failure}. */
export interface ManagedClient {
  readonly set: (key: string, value: string) => Promise<void>
  readonly getString: (key: string, timeoutMs?: number) => Promise<string | undefined>
  readonly protocols: () => Promise<ReadonlyArray<string>>
  /** Every log line the client wrote so far (message and annotations). */
  readonly logs: () => ReadonlyArray<string>
}

/** How an edition builds clients. */
export interface ManagedEdition {
  /** Builds a client (closed after `use`); rejects with the configuration error's text when it cannot. */
  readonly withClient: <A>(options: PlainOptions, use: (client: ManagedClient) => Promise<A>) => Promise<A>
}

/** What the cases run with. */
export interface ManagedContext {
  readonly edition: ManagedEdition
  readonly target: Target
  readonly certs: () => TestCerts
}

/** One case. */
export interface ManagedCase {
  readonly name: string
  readonly run: (ctx: ManagedContext) => Promise<void>
}

/**
 * Everything a failure shows, for the password checks: the edition's pretty cause, then the error's
 * string form, message, stack and JSON along its cause chain.
 */
export const shownOf = (pretty: string, error: unknown): string => {
  const parts = [pretty]
  let e: unknown = error
  for (let depth = 0; e !== undefined && depth < 6; depth++) {
    parts.push(String(e), (e as Error).message ?? "", (e as Error).stack ?? "")
    try {
      parts.push(JSON.stringify(e))
    } catch {
      // circular
    }
    e = (e as { cause?: unknown }).cause
  }
  return parts.join("\n")
}

export const PASSWORD = "s3cret-Pa55word"
export const AUTH_FILE = `alice:${PASSWORD}\nbob:other\n`

const BASE = { timeoutMs: 3000, failureLimit: 100 } as const

const failureOf = async (promise: Promise<unknown>): Promise<Failure> => {
  try {
    await promise
  } catch (e) {
    const error = e as Failure
    assert.equal(typeof error._tag, "string", `expected a typed failure, got ${String(e)}`)
    return error
  }
  assert.fail("expected a failure")
}

/** The connection error reason of a failure (or what else happened). */
const reasonOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise
    return "succeeded"
  } catch (e) {
    const error = e as Failure
    return error._tag === "MemcachedConnectionError" ? error.reason : `other: ${error._tag} ${error.reason}`
  }
}

const withStarted = async <A>(
  target: Target,
  options: TargetOptions,
  use: (t: RunningTarget) => Promise<A>
): Promise<A> => {
  const t = await target.start(options)
  try {
    return await use(t)
  } finally {
    await t.stop()
  }
}

const open = <A>(ctx: ManagedContext, options: PlainOptions, use: (c: ManagedClient) => Promise<A>) =>
  ctx.edition.withClient({ ...BASE, ...options }, use)

const roundTrip = async (c: ManagedClient, key: string, value = "over tls") => {
  await c.set(key, value)
  assert.equal(await c.getString(key), value)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Retries `f` until it succeeds (a reconnect after a dropped connection may meet the dead one first). */
const eventually = async (f: () => Promise<unknown>, attempts = 20, pause = 100): Promise<boolean> => {
  for (let i = 0; i < attempts; i++) {
    try {
      await f()
      return true
    } catch {
      await sleep(pause)
    }
  }
  return false
}

const tlsServer = (ctx: ManagedContext, o: { cert?: "server" | "wrong" | "untrusted"; mtls?: boolean } = {}) => {
  const certs = ctx.certs()
  const kind = o.cert ?? "server"
  const cert = kind === "server" ? certs.serverCert : kind === "wrong" ? certs.wrongNameCert : certs.untrustedCert
  const key = kind === "server" ? certs.serverKey : kind === "wrong" ? certs.wrongNameKey : certs.untrustedKey
  const harness: tls.ConnectionOptions = {
    ca: kind === "untrusted" ? undefined : certs.caPem,
    rejectUnauthorized: false,
    ...(o.mtls === true ? { cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) } : {})
  }
  return { cert, key, ca: o.mtls === true ? certs.caFile : undefined, harness }
}

/** TLS against a target (real memcached -Z or the in-memory TLS listener). */
export const tlsCases: ReadonlyArray<ManagedCase> = [
  ...(["text", "meta", "auto"] as const).map((protocol): ManagedCase => ({
    name: `a trusted server works in ${protocol} mode (SNI localhost)`,
    run: (ctx) =>
      withStarted(
        ctx.target,
        tlsServer(ctx),
        (t) =>
          open(ctx, { servers: [`localhost:${t.port}`], tls: { ca: ctx.certs().caPem }, protocol }, async (c) => {
            await roundTrip(c, `k-${protocol}`)
            if (protocol !== "text") assert.deepEqual(await c.protocols(), ["meta"])
          })
      )
  })),
  {
    name: "tls:// spec form and per-spec options (no client-wide tls); a plain client does not talk to it",
    run: (ctx) =>
      withStarted(ctx.target, tlsServer(ctx), async (t) => {
        const ca = ctx.certs().caPem
        await open(ctx, { servers: [`tls://localhost:${t.port}`], tls: { ca } }, (c) => roundTrip(c, "a"))
        await open(ctx, { servers: [{ host: "localhost", port: t.port, tls: { ca } }] }, (c) => roundTrip(c, "b"))
        const plain = await open(
          ctx,
          { servers: [`localhost:${t.port}`], timeoutMs: 1000 },
          (c) => reasonOf(c.getString("x"))
        )
        assert.notEqual(plain, "succeeded")
      })
  },
  {
    name: "an untrusted CA fails typed (Tls) and the server reads no request byte",
    run: (ctx) =>
      withStarted(ctx.target, tlsServer(ctx, { cert: "untrusted" }), async (t) => {
        const before = await t.requestBytes()
        for (const option of [true, { ca: ctx.certs().caPem }] as const) {
          const reasons = await open(
            ctx,
            { servers: [`localhost:${t.port}`], tls: option },
            (c) => Promise.all([reasonOf(c.set("k", "v")), reasonOf(c.getString("k"))])
          )
          assert.deepEqual(reasons, ["Tls", "Tls"])
        }
        assert.equal(await t.requestBytes(), before)
      })
  },
  {
    name: "a wrong-name certificate fails typed (Tls) unless servername names it",
    run: (ctx) =>
      withStarted(ctx.target, tlsServer(ctx, { cert: "wrong" }), async (t) => {
        const ca = ctx.certs().caPem
        const before = await t.requestBytes()
        for (const host of ["localhost", "127.0.0.1"]) {
          const reason = await open(
            ctx,
            { servers: [`${host}:${t.port}`], tls: { ca }, protocol: "meta" },
            (c) => reasonOf(c.getString("k"))
          )
          assert.equal(reason, "Tls", host)
        }
        assert.equal(await t.requestBytes(), before)
        await open(
          ctx,
          { servers: [`127.0.0.1:${t.port}`], tls: { ca, servername: "wrong.example" } },
          (c) => roundTrip(c, "by-name")
        )
      })
  },
  {
    name: "mTLS: the right client certificate is accepted, a missing one rejected (Tls)",
    run: (ctx) =>
      withStarted(ctx.target, tlsServer(ctx, { mtls: true }), async (t) => {
        const certs = ctx.certs()
        const initial = await t.requestBytes()
        await open(ctx, {
          servers: [`localhost:${t.port}`],
          tls: { ca: certs.caPem, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) }
        }, (c) => roundTrip(c, "mtls"))
        const before = await t.requestBytes()
        assert.ok(before > initial, "the measure sees the requests of an accepted client")
        const reason = await open(
          ctx,
          { servers: [`localhost:${t.port}`], tls: { ca: certs.caPem }, protocol: "text" },
          (c) => reasonOf(c.getString("mtls"))
        )
        assert.equal(reason, "Tls")
        assert.equal(await t.requestBytes(), before)
      })
  }
]

/** A TCP server that counts connections and answers the first bytes of each with `reply`, then closes. */
const countingServer = async (reply: string) => {
  const received: Array<Buffer> = []
  let connections = 0
  const server = net.createServer((socket) => {
    connections++
    socket.on("data", (d: Buffer) => {
      received.push(d)
      socket.end(reply)
    })
    socket.on("error", () => {})
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    received: () => Buffer.concat(received),
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

/** TLS cases that need no target: failure classification, retries, SNI and session resumption. */
export const tlsSettingCases: ReadonlyArray<ManagedCase> = [
  {
    name: "TLS to a closed port is Connect; TLS to a plain server is Tls, sends no request and is not retried",
    run: async (ctx) => {
      const probe = await countingServer("")
      const closedPort = probe.port
      await probe.close()
      const closed = await open(
        ctx,
        { servers: [`localhost:${closedPort}`], tls: true, protocol: "text" },
        (c) => reasonOf(c.getString("k"))
      )
      assert.equal(closed, "Connect")
      const plain = await countingServer("ERROR\r\n")
      try {
        const reason = await open(
          ctx,
          { servers: [`localhost:${plain.port}`], tls: true, protocol: "text", retries: 3 },
          (c) => reasonOf(c.getString("k"))
        )
        assert.equal(reason, "Tls")
        assert.equal(plain.connections(), 1, "a Tls failure is not retried (4 connections if it were)")
        assert.equal(plain.received()[0], 0x16, "the server saw a TLS ClientHello")
        assert.ok(!plain.received().toString("latin1").includes("get k"))
      } finally {
        await plain.close()
      }
    }
  },
  {
    name: "SNI is the host name (also to an IP with servername), never an IP literal; sessions resume on reconnect",
    run: async (ctx) => {
      const certs = ctx.certs()
      const memory = MemoryServer.make()
      const seen: Array<{ servername: string | false | undefined; reused: boolean }> = []
      const listener = tls.createServer(
        { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
        (socket) => {
          seen.push({
            servername: (socket as tls.TLSSocket & { servername?: string | false }).servername,
            reused: socket.isSessionReused()
          })
          const conn = memory.attach({
            write: (d) => void socket.write(d),
            end: () => void socket.end(),
            destroy: () => void socket.destroy()
          }, "tcp:test")
          if (conn === undefined) return socket.destroy()
          socket.on("data", (d: Buffer) => conn.receive(d))
          socket.on("close", () => conn.finish())
          socket.on("error", () => {})
        }
      )
      await new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()))
      try {
        const port = (listener.address() as net.AddressInfo).port
        await open(ctx, { servers: [`localhost:${port}`], tls: { ca: certs.caPem }, protocol: "text" }, async (c) => {
          await roundTrip(c, "sni")
          memory.faults.dropConnections()
          assert.ok(await eventually(() => c.getString("sni"), 20, 50))
        })
        assert.ok(seen.length >= 2)
        assert.deepEqual(seen.map((s) => s.servername), seen.map(() => "localhost"))
        assert.equal(seen[0]!.reused, false)
        assert.equal(seen[seen.length - 1]!.reused, true, "the reconnect resumed the TLS session")
        seen.length = 0
        await open(
          ctx,
          { servers: [`127.0.0.1:${port}`], tls: { ca: certs.caPem, servername: "localhost" }, protocol: "text" },
          (c) => roundTrip(c, "ip-with-name")
        )
        await open(
          ctx,
          { servers: [`127.0.0.1:${port}`], tls: { ca: certs.caPem }, protocol: "text" },
          (c) => roundTrip(c, "ip")
        )
        assert.deepEqual(seen.map((s) => s.servername), ["localhost", false])
      } finally {
        await new Promise<void>((r) => listener.close(() => r()))
      }
    }
  }
]

const alice = (password = PASSWORD, username = "alice") => ({ username, password })

/** ASCII authentication against a target (real memcached -Y or the in-memory server's auth file). */
export const authCases: ReadonlyArray<ManagedCase> = [
  ...(["text", "meta", "auto"] as const).map((protocol): ManagedCase => ({
    name: `the right credentials work (${protocol})`,
    run: (ctx) =>
      withStarted(ctx.target, { authFile: AUTH_FILE }, async (t) => {
        await open(
          ctx,
          { servers: [`127.0.0.1:${t.port}`], auth: alice(), protocol },
          (c) => roundTrip(c, `k-${protocol}`, "authenticated")
        )
        assert.equal(await t.stat("auth_errors"), "0")
      })
  })),
  {
    name: "wrong credentials fail Auth; the password is in no error, cause or log",
    run: (ctx) =>
      withStarted(ctx.target, { authFile: AUTH_FILE }, async (t) => {
        const logs: Array<string> = []
        for (const credentials of [alice("wrong-password"), alice(PASSWORD, "mallory"), alice("other-pass", "bob")]) {
          const failures = await open(
            ctx,
            { servers: [`127.0.0.1:${t.port}`], auth: credentials, protocol: "auto" },
            async (c) => {
              const out = await Promise.all([failureOf(c.getString("k")), failureOf(c.set("k", "v"))])
              logs.push(...c.logs())
              return out
            }
          )
          for (const f of failures) {
            assert.equal(`${f._tag}.${f.reason}`, "MemcachedConnectionError.Auth")
            assert.ok(f.shown.includes("rejected the credentials"), f.shown)
            assert.ok(!f.shown.includes(credentials.password))
            assert.ok(!f.shown.includes(PASSWORD))
          }
        }
        assert.ok(logs.length > 0, "the client logged its connection failures")
        for (const line of logs) assert.ok(!line.includes(PASSWORD) && !line.includes("wrong-password"), line)
        assert.ok(Number(await t.stat("auth_errors")) >= 3)
      })
  },
  {
    name: "rejections count toward ejection like connect failures; Auth is not retried",
    run: (ctx) =>
      withStarted(ctx.target, { authFile: AUTH_FILE }, async (t) => {
        await open(
          ctx,
          { servers: [`127.0.0.1:${t.port}`], auth: alice("nope"), protocol: "text", failureLimit: 2 },
          async (c) => {
            assert.equal(await reasonOf(c.getString("a")), "Auth")
            assert.equal(await reasonOf(c.getString("b")), "Auth")
            assert.equal(await reasonOf(c.getString("c")), "Ejected")
          }
        )
        const before = Number(await t.stat("auth_errors"))
        await open(
          ctx,
          { servers: [`127.0.0.1:${t.port}`], auth: alice("nope"), protocol: "text", retries: 3 },
          async (c) => assert.equal(await reasonOf(c.getString("a")), "Auth")
        )
        assert.equal(Number(await t.stat("auth_errors")) - before, 1, "one rejected attempt (4 if retried)")
      })
  },
  {
    name: "every reconnect re-authenticates",
    run: (ctx) =>
      withStarted(ctx.target, { authFile: AUTH_FILE }, (t) =>
        open(
          ctx,
          { servers: [`127.0.0.1:${t.port}`], auth: alice(), protocol: "text", timeoutMs: 300 },
          async (c) => {
            await roundTrip(c, "one", "authenticated")
            const before = Number(await t.stat("auth_cmds"))
            // A request past its deadline in flight closes its connection. The request is a get of a ~900 KB
            // value with a 1 ms timeout: a small value could come back within 1 ms every time (it did, once, in CI).
            await c.set("big", "x".repeat(900_000))
            let timedOut = false
            for (let i = 0; i < 200 && !timedOut; i++) timedOut = (await reasonOf(c.getString("big", 1))) === "Timeout"
            assert.ok(timedOut)
            await sleep(50)
            assert.ok(await eventually(() => c.getString("one"), 20, 50))
            assert.ok(Number(await t.stat("auth_cmds")) > before, "the new connection authenticated")
          }
        ))
  }
]

/** Cases only a real memcached shows: TLS and auth together, a server without `-Y`. */
export const realAuthCases: ReadonlyArray<ManagedCase> = [
  {
    name: "TLS and authentication together (memcached -Z -Y)",
    run: (ctx) => {
      const certs = ctx.certs()
      return withStarted(ctx.target, {
        authFile: AUTH_FILE,
        cert: certs.serverCert,
        key: certs.serverKey,
        harness: { ca: certs.caPem }
      }, async (t) => {
        await open(
          ctx,
          { servers: [`localhost:${t.port}`], tls: { ca: certs.caPem }, auth: alice() },
          (c) => roundTrip(c, "both")
        )
        const wrong = await open(
          ctx,
          { servers: [`localhost:${t.port}`], tls: { ca: certs.caPem }, auth: alice("bad") },
          (c) => reasonOf(c.getString("both"))
        )
        assert.equal(wrong, "Auth")
      })
    }
  },
  {
    name: "against a server without -Y the credentials are not left in the cache",
    run: (ctx) =>
      withStarted(
        ctx.target,
        {},
        (t) =>
          open(ctx, { servers: [`127.0.0.1:${t.port}`], auth: alice(), protocol: "text" }, async (c) => {
            await roundTrip(c, "k", "authenticated")
            assert.equal(await c.getString("auth"), undefined, "the authentication set stored nothing")
          })
      )
  }
]

/** Invalid credentials: the build fails naming the entry, never quoting the password. */
export const authConfigCases: ReadonlyArray<ManagedCase> = [
  {
    name: "bad credentials fail the build naming the entry, never quoting the password",
    run: async (ctx) => {
      for (
        const [auth, entry] of [
          [alice(PASSWORD, "al:ice"), "auth.username"],
          [alice("two words"), "auth.password"],
          [alice(PASSWORD, ""), "auth.username"]
        ] as const
      ) {
        let text = "built"
        try {
          await ctx.edition.withClient({ servers: ["127.0.0.1:1"], auth }, async () => undefined)
        } catch (e) {
          text = String(e)
        }
        assert.ok(text.includes(entry), text)
        assert.ok(!text.includes(auth.password), text)
      }
    }
  }
]
