/**
 * Auto-discovery over TLS (issue 16): with the client's `tls` option, the configuration endpoint and
 * every discovered node are reached over TLS (in-memory servers with TLS-only listeners and a test
 * CA), verified against the node's host name; a node added later gets TLS too. The cases are the
 * edition-neutral ones of support/discoveryCases.ts (`tlsCases`), registered through the Effect 3 world
 * of test/Discovery.test.ts's shape; the Effect 4 package registers the same ones.
 */
import { afterAll, beforeAll, describe } from "@effect/vitest"
import { tlsCases } from "./support/discoveryCases.js"
import { registerDiscovery } from "./support/discoveryEdition.js"
import { makeTestCerts, removeTestCerts, type TestCerts } from "./support/tlsCerts.js"

let certs: TestCerts
beforeAll(() => {
  certs = makeTestCerts()
})
afterAll(() => removeTestCerts(certs))

describe("Discovery over TLS", () => registerDiscovery(tlsCases(() => certs)))
