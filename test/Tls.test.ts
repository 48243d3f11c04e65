/**
 * Issue 16 — TLS, against a real `memcached -Z` (Debian's 1.6.18 is built with TLS) and the in-memory
 * server's TLS listener, with certificates generated at run time by openssl: a trusted server works in
 * text, meta and auto mode; an untrusted CA and a wrong-name certificate fail typed (`Tls`) and the
 * server reads no byte of a request; mTLS accepts the right client certificate and rejects a missing
 * one; SNI carries the host name (also when connecting to an IP, never an IP literal); a restarted
 * server is reconnected over TLS and sessions are resumed across reconnects.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as net from "node:net"
import * as tls from "node:tls"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { MemcachedClientOptions } from "../src/MemcachedClient.js"
import * as MemoryServer from "../src/server/MemoryServer.js"
import * as ServerSpec from "../src/ServerSpec.js"
import { withTls } from "../src/MemcachedTransport.js"
import { spawnMemcachedOn } from "./support/load.js"
import { freePort, startFakeServer } from "./support/memcached.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "./support/tlsCerts.js"
import { memoryServer, realMemcached, type Target } from "./support/tlsTargets.js"

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

const BASE = { connectTimeout: "3 seconds", timeout: "3 seconds", failureLimit: 100 } as const

const withClient = <A, E>(
  options: MemcachedClientOptions,
  f: (c: MemcachedClient.MemcachedClient) => Effect.Effect<A, E>
) => Effect.scoped(Effect.flatMap(MemcachedClient.make({ ...BASE, ...options }), f))

const started = (target: Target, options: Parameters<Target["start"]>[0]) =>
  Effect.acquireRelease(Effect.promise(() => target.start(options)), (t) => Effect.promise(() => t.stop()))

/** The failure of `effect` as a connection error reason (or a description of what else happened). */
const failureReason = <A>(effect: Effect.Effect<A, { readonly _tag: string; readonly reason?: string }>) =>
  Effect.map(
    Effect.either(effect),
    (r) =>
      Either.isRight(r)
        ? "succeeded"
        : r.left._tag === "MemcachedConnectionError"
        ? r.left.reason!
        : `other: ${r.left._tag} ${r.left.reason}`
  )

const roundTrip = (c: MemcachedClient.MemcachedClient, key: string) =>
  Effect.gen(function*() {
    yield* c.set(key, "over tls")
    const got = yield* c.get(key)
    assert.strictEqual(Option.map(got, (i) => Buffer.from(i.value).toString()).pipe(Option.getOrUndefined), "over tls")
  })

const cases = (target: () => Target) => {
  const server = (o: { cert?: "server" | "wrong" | "untrusted"; mtls?: boolean } = {}) => {
    const kind = o.cert ?? "server"
    const cert = kind === "server" ? certs.serverCert : kind === "wrong" ? certs.wrongNameCert : certs.untrustedCert
    const key = kind === "server" ? certs.serverKey : kind === "wrong" ? certs.wrongNameKey : certs.untrustedKey
    const harness: tls.ConnectionOptions = {
      ca: kind === "untrusted" ? undefined : certs.caPem,
      rejectUnauthorized: false,
      ...(o.mtls === true ? { cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) } : {})
    }
    return started(target(), { cert, key, ca: o.mtls === true ? certs.caFile : undefined, harness })
  }

  for (const protocol of ["text", "meta", "auto"] as const) {
    it.live(`a trusted server works in ${protocol} mode (SNI localhost)`, () =>
      Effect.scoped(Effect.gen(function*() {
        const t = yield* server()
        yield* withClient(
          { servers: [`localhost:${t.port}`], tls: { ca: certs.caPem }, protocol },
          (c) =>
            Effect.gen(function*() {
              yield* roundTrip(c, `k-${protocol}`)
              if (protocol !== "text") {
                const protocols = yield* c.protocols()
                assert.strictEqual([...protocols.values()][0], "meta")
                const meta = yield* c.metaGet(`k-${protocol}`)
                assert.isTrue(Option.isSome(meta))
              }
            })
        )
      })), 30_000)
  }

  it.live("tls:// spec form and per-spec options (no client-wide tls)", () =>
    Effect.scoped(Effect.gen(function*() {
      const t = yield* server()
      // tls:// with the client's options (the CA) …
      yield* withClient({ servers: [`tls://localhost:${t.port}`], tls: { ca: certs.caPem } }, (c) => roundTrip(c, "a"))
      // … or a spec carrying its own options.
      const spec = ServerSpec.make({ host: "localhost", port: t.port, tls: { ca: certs.caPem } })
      yield* withClient({ servers: [spec] }, (c) => roundTrip(c, "b"))
      // A plain client against the TLS port does not talk to it.
      const plain = yield* withClient({ servers: [`localhost:${t.port}`], timeout: "1 second" }, (c) =>
        failureReason(c.get("x")))
      assert.notStrictEqual(plain, "succeeded")
    })), 30_000)

  it.live(
    "an untrusted CA fails typed (Tls) and the server reads no request byte",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const t = yield* server({ cert: "untrusted" })
        const before = yield* Effect.promise(() => t.requestBytes())
        // System CAs (tls: true) and our CA both reject a certificate of another CA.
        for (const option of [true, { ca: certs.caPem }] as const) {
          const reason = yield* withClient(
            { servers: [`localhost:${t.port}`], tls: option },
            (c) => Effect.all([failureReason(c.set("k", "v")), failureReason(c.get("k"))])
          )
          assert.deepStrictEqual(reason, ["Tls", "Tls"])
        }
        assert.strictEqual(yield* Effect.promise(() => t.requestBytes()), before)
      })),
    30_000
  )

  it.live(
    "a wrong-name certificate fails typed (Tls) unless servername names it",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const t = yield* server({ cert: "wrong" })
        const before = yield* Effect.promise(() => t.requestBytes())
        for (const host of ["localhost", "127.0.0.1"]) {
          const reason = yield* withClient(
            { servers: [`${host}:${t.port}`], tls: { ca: certs.caPem }, protocol: "meta" },
            (c) => failureReason(c.get("k"))
          )
          assert.strictEqual(reason, "Tls", host)
        }
        assert.strictEqual(yield* Effect.promise(() => t.requestBytes()), before)
        // Connecting to the IP and checking the certificate against its name.
        yield* withClient(
          { servers: [`127.0.0.1:${t.port}`], tls: { ca: certs.caPem, servername: "wrong.example" } },
          (c) => roundTrip(c, "by-name")
        )
      })),
    30_000
  )

  it.live(
    "mTLS: the right client certificate is accepted, a missing one rejected (Tls)",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const t = yield* server({ mtls: true })
        const initial = yield* Effect.promise(() => t.requestBytes())
        yield* withClient({
          servers: [`localhost:${t.port}`],
          tls: { ca: certs.caPem, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) }
        }, (c) => roundTrip(c, "mtls"))
        const before = yield* Effect.promise(() => t.requestBytes())
        assert.isAbove(before, initial, "the measure sees the requests of an accepted client")
        const reason = yield* withClient(
          { servers: [`localhost:${t.port}`], tls: { ca: certs.caPem }, protocol: "text" },
          (c) => failureReason(c.get("mtls"))
        )
        assert.strictEqual(reason, "Tls")
        // TLS 1.3: the server checks the client certificate after the client's handshake is done, so the
        // request's bytes may leave (encrypted); the server rejects the connection before reading them.
        assert.strictEqual(yield* Effect.promise(() => t.requestBytes()), before)
      })),
    30_000
  )
}

describe("TLS against real memcached -Z", () => {
  cases(() => realMemcached(certs.dir))

  it.live(
    "a restarted server is reconnected over TLS; sessions resume within one process",
    () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(() => freePort())
        const args = ["-Z", "-o", `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey}`]
        let mc = yield* Effect.promise(() => spawnMemcachedOn(port, args))
        try {
          // Session reuse, measured on the transport the client uses.
          const { transport } = withTls(undefined, { ca: certs.caPem })
          const spec = ServerSpec.make({ host: "localhost", port })
          const reused = () =>
            new Promise<boolean>((resolve, reject) => {
              const s = transport.connect(spec) as tls.TLSSocket
              s.once("secureConnect", () => {
                // The ticket arrives after the handshake, with the first reply.
                s.write("version\r\n")
              })
              s.once("data", () => {
                const r = s.isSessionReused()
                s.end()
                resolve(r)
              })
              s.once("error", reject)
            })
          assert.isFalse(yield* Effect.promise(reused))
          assert.isTrue(yield* Effect.promise(reused))
          assert.isTrue(yield* Effect.promise(reused))

          yield* withClient({ servers: [`localhost:${port}`], tls: { ca: certs.caPem }, timeout: "2 seconds" }, (c) =>
            Effect.gen(function*() {
              yield* roundTrip(c, "before")
              yield* Effect.promise(() =>
                mc.kill("SIGKILL")
              )
              mc = yield* Effect.promise(() => spawnMemcachedOn(port, args))
              // The first request may meet the dead connection; the next ones reconnect over TLS.
              let ok = false
              for (let i = 0; i < 20 && !ok; i++) {
                ok = Exit.isSuccess(yield* Effect.exit(c.set("after", "v")))
                if (!ok) yield* Effect.sleep("100 millis")
              }
              assert.isTrue(ok)
              assert.isTrue(Option.isSome(yield* c.get("after")))
              assert.isTrue(Option.isNone(yield* c.get("before")))
            }))
          // A new process cannot decrypt the old process's tickets: a full handshake, which works.
          assert.isFalse(yield* Effect.promise(reused))
          assert.isTrue(yield* Effect.promise(reused))
        } finally {
          yield* Effect.promise(() => mc.kill("SIGTERM"))
        }
      }),
    60_000
  )
})

describe("TLS against the in-memory server's TLS listener", () => {
  cases(() => memoryServer)

  it.live(
    "SNI is the host name (also to an IP with servername), never an IP literal; sessions resume on reconnect",
    () =>
      Effect.scoped(Effect.gen(function*() {
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
        yield* Effect.acquireRelease(
          Effect.promise(() => new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()))),
          () => Effect.promise(() => new Promise<void>((r) => listener.close(() => r())))
        )
        const port = (listener.address() as net.AddressInfo).port
        yield* withClient({ servers: [`localhost:${port}`], tls: { ca: certs.caPem }, protocol: "text" }, (c) =>
          Effect.gen(function*() {
            yield* roundTrip(c, "sni")
            memory.faults.dropConnections()
            let ok = false
            for (let i = 0; i < 20 && !ok; i++) {
              ok = Exit.isSuccess(yield* Effect.exit(c.get("sni")))
              if (!ok) {
                yield* Effect.sleep("50 millis")
              }
            }
            assert.isTrue(ok)
          }))
        assert.isAtLeast(seen.length, 2)
        assert.deepStrictEqual(
          seen.map((s) =>
            s.servername
          ),
          seen.map(() => "localhost")
        )
        assert.isFalse(seen[0]!.reused)
        assert.isTrue(seen[seen.length - 1]!.reused, "the reconnect resumed the TLS session")
        // To an IP: with servername, SNI is the name; without, no SNI at all (RFC 6066: no IP literals).
        seen.length = 0
        yield* withClient(
          { servers: [`127.0.0.1:${port}`], tls: { ca: certs.caPem, servername: "localhost" }, protocol: "text" },
          (c) => roundTrip(c, "ip-with-name")
        )
        yield* withClient(
          { servers: [`127.0.0.1:${port}`], tls: { ca: certs.caPem }, protocol: "text" },
          (c) => roundTrip(c, "ip")
        )
        assert.deepStrictEqual(seen.map((s) => s.servername), ["localhost", false])
      })),
    30_000
  )
})

describe("TLS settings", () => {
  it("tls:// specs parse, format and decode; other schemes are rejected", () => {
    const a = ServerSpec.parse("tls://cache.example.com:11212")
    assert.isTrue(Either.isRight(a))
    if (Either.isRight(a)) {
      assert.deepStrictEqual([a.right.host, a.right.port, a.right.name, a.right.tls], [
        "cache.example.com",
        11212,
        "cache.example.com:11212",
        true
      ])
      assert.strictEqual(ServerSpec.format(a.right), "tls://cache.example.com:11212")
    }
    const v6 = ServerSpec.parse("tls://[::1]:11211:3")
    assert.isTrue(Either.isRight(v6) && v6.right.host === "::1" && v6.right.weight === 3 && v6.right.tls === true)
    const plain = ServerSpec.parse("cache:11211")
    assert.isTrue(Either.isRight(plain) && plain.right.tls === undefined)
    for (const bad of ["tls://", "http://cache:11211", "tls://tls://cache"]) {
      assert.isTrue(Either.isLeft(ServerSpec.parse(bad)), bad)
    }
    const list = ServerSpec.parseList("tls://a:1,b:2")
    assert.isTrue(Either.isRight(list))
    if (Either.isRight(list)) assert.deepStrictEqual(list.right.map((s) => s.tls), [true, undefined])
  })

  it("withTls: which servers use TLS, and with which options", () => {
    const ca = Buffer.from("ca")
    const spec = (raw: string, tls?: ServerSpec.ServerSpec["tls"]) =>
      ServerSpec.make({ ...Either.getOrThrow(ServerSpec.parse(raw)), tls })
    const none = withTls(undefined, undefined)
    assert.strictEqual(none.tlsOf(spec("a:1")), undefined)
    assert.strictEqual(none.tlsOf(spec("tls://a:1", true)), true)
    const all = withTls(undefined, { ca })
    assert.deepStrictEqual(all.tlsOf(spec("a:1")), { ca })
    assert.deepStrictEqual(all.tlsOf(spec("tls://a:1", true)), { ca })
    assert.strictEqual(all.tlsOf(spec("a:1", false)), undefined)
    assert.deepStrictEqual(all.tlsOf(spec("a:1", { servername: "n" })), { ca, servername: "n" })
    assert.strictEqual(withTls(undefined, true).tlsOf(spec("a:1")), true)
    assert.strictEqual(withTls(undefined, false).tlsOf(spec("a:1")), undefined)
  })

  it.live(
    "TLS to a closed port is Connect (not Tls); TLS to a plain server is Tls and sends no request",
    () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(() => freePort())
        const closed = yield* withClient(
          { servers: [`localhost:${port}`], tls: true, protocol: "text" },
          (c) => failureReason(c.get("k"))
        )
        assert.strictEqual(closed, "Connect")
        const fake = yield* Effect.promise(() => startFakeServer((socket) => socket.end("ERROR\r\n")))
        try {
          const plain = yield* withClient(
            { servers: [`localhost:${fake.port}`], tls: true, protocol: "text" },
            (c) => failureReason(c.get("k"))
          )
          assert.strictEqual(plain, "Tls")
          // The server saw a TLS ClientHello (a handshake record, 0x16), never "get k".
          assert.strictEqual(fake.received[0]!.charCodeAt(0), 0x16)
          assert.notInclude(fake.received.join(""), "get k")
        } finally {
          yield* Effect.promise(() => fake.close())
        }
      }),
    30_000
  )
})
