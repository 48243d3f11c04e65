/**
 * Issue 16 — TLS, against a real `memcached -Z` (Debian's 1.6.18 is built with TLS) and the in-memory
 * server's TLS listener, with certificates generated at run time by openssl: a trusted server works in
 * text, meta and auto mode; an untrusted CA and a wrong-name certificate fail typed (`Tls`) and the
 * server reads no byte of a request; mTLS accepts the right client certificate and rejects a missing
 * one; SNI carries the host name (also when connecting to an IP, never an IP literal); a restarted
 * server is reconnected over TLS and sessions are resumed across reconnects. The cases common to both
 * editions are the edition-neutral ones of support/managedCases.ts, registered here with the Effect 3
 * client (support/managedEdition.ts, one source for both editions); the Effect 4 package registers the same ones.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as tls from "node:tls"
import * as MemcachedClient from "../src/MemcachedClient.js"
import type { MemcachedClientOptions } from "../src/MemcachedClient.js"
import * as ServerSpec from "../src/ServerSpec.js"
import { withTls } from "../src/MemcachedTransport.js"
import { spawnMemcachedOn } from "./support/load.js"
import { type ManagedCase, tlsCases, tlsSettingCases } from "./support/managedCases.js"
import { managedEdition } from "./support/managedEdition.js"
import { freePort } from "./support/memcached.js"
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

const roundTrip = (c: MemcachedClient.MemcachedClient, key: string) =>
  Effect.gen(function*() {
    yield* c.set(key, "over tls")
    const got = yield* c.get(key)
    assert.strictEqual(Option.map(got, (i) => Buffer.from(i.value).toString()).pipe(Option.getOrUndefined), "over tls")
  })

const register = (cases: ReadonlyArray<ManagedCase>, target: () => Target) => {
  for (const c of cases) {
    it(c.name, () => c.run({ edition: managedEdition, target: target(), certs: () => certs }), 60_000)
  }
}

describe("TLS against real memcached -Z", () => {
  register(tlsCases, () => realMemcached(certs.dir))

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

describe("TLS against the in-memory server's TLS listener", () => register(tlsCases, () => memoryServer))

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
})

describe("TLS: failure classification, retries, SNI and sessions (shared cases)", () =>
  register(tlsSettingCases, () => memoryServer))
