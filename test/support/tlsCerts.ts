/**
 * Test certificates generated at run time with `openssl` (nothing checked in): a CA, a server
 * certificate for "localhost" with a 127.0.0.1 SAN, a certificate for another name signed by the same
 * CA, a client certificate, and a second, untrusted CA with a "localhost" certificate. Files live in a
 * fresh temporary directory readable by memcached's `-u nobody`. Under `CI=true` a missing `openssl`
 * is a failure (thrown on import), as for memcached.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0

/** True when `openssl` can be run. */
export const opensslAvailable: boolean = hasOpenssl

if (!hasOpenssl && process.env.CI === "true") {
  throw new Error("openssl not found (CI=true requires it to generate the TLS test certificates)")
}

/** Paths of the generated PEM files and their contents. */
export interface TestCerts {
  readonly dir: string
  readonly caPem: Buffer
  readonly caFile: string
  readonly serverCert: string
  readonly serverKey: string
  readonly wrongNameCert: string
  readonly wrongNameKey: string
  readonly clientCert: string
  readonly clientKey: string
  readonly untrustedCert: string
  readonly untrustedKey: string
  readonly read: (file: string) => Buffer
}

const openssl = (dir: string, args: ReadonlyArray<string>): void => {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`)
}

const leaf = (dir: string, name: string, ca: string, subject: string, ext: string): void => {
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject
  ])
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext)
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`
  ])
}

/** Generates the certificates into a new temporary directory (about a second of openssl work). */
export const makeTestCerts = (): TestCerts => {
  if (!hasOpenssl) throw new Error("openssl not found")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-memcached-tls-"))
  fs.chmodSync(dir, 0o755)
  for (const ca of ["ca", "other-ca"]) {
    openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=effect-memcached test ${ca}`
    ])
  }
  leaf(dir, "server", "ca", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
  leaf(dir, "wrong", "ca", "/CN=wrong.example", "subjectAltName=DNS:wrong.example\n")
  leaf(dir, "client", "ca", "/CN=effect-memcached client", "extendedKeyUsage=clientAuth\n")
  leaf(dir, "untrusted", "other-ca", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644)
  const p = (f: string) => path.join(dir, f)
  return {
    dir,
    caPem: fs.readFileSync(p("ca.pem")),
    caFile: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    wrongNameCert: p("wrong.pem"),
    wrongNameKey: p("wrong.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    untrustedCert: p("untrusted.pem"),
    untrustedKey: p("untrusted.key"),
    read: (f) => fs.readFileSync(f)
  }
}

/** Removes the directory of {@link makeTestCerts}. */
export const removeTestCerts = (certs: TestCerts): void => fs.rmSync(certs.dir, { recursive: true, force: true })
