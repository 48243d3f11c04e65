/**
 * The auto-discovery codec (issue 16): the two requests, the payload parser (examples from the AWS
 * and Memorystore documentation, malformed payloads as typed violations, fast-check properties), the
 * `CONFIG` block framed by its length in the reply parser at every split, and the server's encoders.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as C from "../../src/protocol/client.js"
import * as D from "../../src/protocol/discovery.js"
import { ProtocolViolation } from "../../src/protocol/errors.js"
import * as S from "../../src/protocol/server.js"

const RUNS = { numRuns: 400 }
const bytes = (s: string) => Buffer.from(s, "latin1")

const feed = <T>(push: (b: Uint8Array) => Array<T>, buf: Buffer, cuts: ReadonlyArray<number>): Array<T> => {
  const out: Array<T> = []
  let last = 0
  for (const c of [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)) {
    out.push(...push(buf.subarray(last, c)))
    last = c
  }
  out.push(...push(buf.subarray(last)))
  return out
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)
const hostName = fc.array(label, { minLength: 1, maxLength: 5 }).map((parts) => parts.join("."))
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."))
const node = fc.oneof(
  fc.record({ host: hostName, ip: ipv4, port: fc.integer({ min: 1, max: 65535 }) }),
  // Memorystore: the IP in both fields.
  ipv4.chain((ip) =>
    fc.record({ host: fc.constant(ip), ip: fc.constant(ip), port: fc.integer({ min: 1, max: 65535 }) })
  )
)
const config = fc.record({
  version: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nodes: fc.array(node, { minLength: 1, maxLength: 12 })
})
const cuts = fc.array(fc.nat(), { maxLength: 8 })

describe("auto-discovery requests", () => {
  it("config get cluster and the legacy get are byte-exact", () => {
    assert.strictEqual(D.encodeConfigGetCluster(), "config get cluster\r\n")
    assert.strictEqual(D.encodeLegacyClusterGet(), "get AmazonElastiCache:cluster\r\n")
  })
  it("the server parser reads config get cluster as a Config command", () => {
    const p = S.makeCommandParser()
    assert.deepStrictEqual(p.push(bytes("config get cluster\r\n")), [{ _tag: "Config", args: ["get", "cluster"] }])
  })
})

describe("parseClusterConfig", () => {
  it("parses the AWS documentation's two-node example (version line ends with LF only)", () => {
    const payload = "12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 " +
      "myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n"
    const parsed = D.parseClusterConfig(bytes(payload))
    assert.deepStrictEqual(parsed, {
      version: 12,
      nodes: [
        { host: "myCluster.pc4ldq.0001.use1.cache.amazonaws.com", ip: "10.82.235.120", port: 11211 },
        { host: "myCluster.pc4ldq.0002.use1.cache.amazonaws.com", ip: "10.80.249.27", port: 11211 }
      ]
    })
  })
  it("parses Memorystore's form (the IP in the host field) and an empty host with an IP", () => {
    assert.deepStrictEqual(D.parseClusterConfig(bytes("9\n10.0.0.2|10.0.0.2|11211 |10.0.0.3|11212\n")), {
      version: 9,
      nodes: [{ host: "10.0.0.2", ip: "10.0.0.2", port: 11211 }, { host: "", ip: "10.0.0.3", port: 11212 }]
    })
  })
  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["", "empty payload"],
    ["12", "no LF at all"],
    ["12\n", "no node line"],
    ["12\n\n", "empty node list"],
    ["12\nh|1.2.3.4|11211", "node line without its LF"],
    ["12\r\nh|1.2.3.4|11211\n", "CRLF after the version"],
    ["12\nh|1.2.3.4|11211\r\n", "CRLF after the nodes"],
    ["x12\nh|1.2.3.4|11211\n", "version not a number"],
    ["-1\nh|1.2.3.4|11211\n", "negative version"],
    ["99999999999999999\nh|1.2.3.4|11211\n", "version beyond 2^53"],
    ["12\nh|1.2.3.4\n", "two fields"],
    ["12\nh|1.2.3.4|11211|x\n", "four fields"],
    ["12\nh|1.2.3.4|0\n", "port 0"],
    ["12\nh|1.2.3.4|65536\n", "port too large"],
    ["12\nh|1.2.3.4|11a\n", "port not a number"],
    ["12\n||11211\n", "neither host nor IP"],
    ["12\nh|1.2.3.4|11211  h2|1.2.3.5|11211\n", "two spaces (an empty entry)"],
    ["12\nh/x|1.2.3.4|11211\n", "a slash in the host"],
    ["12\nh|1.2.3.4|11211\nextra\n", "three lines"]
  ]
  for (const [payload, why] of malformed) {
    it(`rejects ${why} as a typed Malformed violation`, () => {
      const parsed = D.parseClusterConfig(bytes(payload))
      assert.instanceOf(parsed, ProtocolViolation)
      assert.strictEqual((parsed as ProtocolViolation).reason, "Malformed")
    })
  }
  it("property: encodeClusterPayload → parseClusterConfig is the identity", () => {
    fc.assert(
      fc.property(config, (c) => {
        assert.deepStrictEqual(D.parseClusterConfig(D.encodeClusterPayload(c)), c)
      }),
      RUNS
    )
  })
  it("property: never throws on arbitrary bytes, answers a config or a Malformed violation", () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 16 }).map((u) => Buffer.from(u).toString("latin1")),
      fc.constantFrom("\n", "\r", " ", "|", "11211", "12", "host", "10.0.0.1", "||", "\r\n")
    )
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        const parsed = D.parseClusterConfig(bytes(pieces.join("")))
        if (parsed instanceof ProtocolViolation) assert.strictEqual(parsed.reason, "Malformed")
        else {
          assert.isAtLeast(parsed.nodes.length, 1)
          for (const n of parsed.nodes) assert.isTrue(n.port >= 1 && n.port <= 65535)
        }
      }),
      { numRuns: 1000 }
    )
  })
  it("property: a valid payload with any one byte turned into CR is rejected", () => {
    fc.assert(
      fc.property(config, fc.nat(), (c, at) => {
        const buf = Buffer.from(D.encodeClusterPayload(c))
        buf[at % buf.length] = 13
        assert.instanceOf(D.parseClusterConfig(buf), ProtocolViolation)
      }),
      RUNS
    )
  })
})

describe("CONFIG block framing in the reply parser", () => {
  it("property: the server's reply parses to one Config block and END at every split", () => {
    fc.assert(
      fc.property(config, cuts, (c, at) => {
        const wire = D.encodeConfigReply(c)
        const replies = feed(C.makeReplyParser().push, wire, at)
        assert.strictEqual(replies.length, 2)
        const [block, end] = replies as [C.Reply, C.Reply]
        assert.strictEqual(block._tag, "Config")
        assert.strictEqual(end._tag, "End")
        const b = block as C.ConfigReply
        assert.strictEqual(b.key, "cluster")
        assert.strictEqual(b.flags, 0)
        assert.deepStrictEqual(D.parseClusterConfig(b.value), c)
      }),
      RUNS
    )
  })
  it("the reply is byte-exact: CONFIG cluster 0 <len>\\r\\n<version>\\n<nodes>\\n\\r\\nEND\\r\\n", () => {
    const wire = D.encodeConfigReply({ version: 3, nodes: [{ host: "a.example", ip: "10.0.0.1", port: 11211 }] })
    const payload = "3\na.example|10.0.0.1|11211\n"
    assert.strictEqual(wire.toString("latin1"), `CONFIG cluster 0 ${payload.length}\r\n${payload}\r\nEND\r\n`)
  })
  it("a payload is framed by its length, not by scanning: END inside the payload is data", () => {
    const payload = "3\nEND|10.0.0.1|11211\n"
    const wire = bytes(`CONFIG cluster 0 ${payload.length}\r\n${payload}\r\nEND\r\n`)
    const replies = C.makeReplyParser().push(wire)
    assert.deepStrictEqual(replies.map((r) => r._tag), ["Config", "End"])
  })
  const bad: ReadonlyArray<readonly [string, string]> = [
    ["CONFIG cluster 0 5\r\n3\nab\nXXEND\r\n", "a block not followed by CRLF"],
    ["CONFIG cluster 0\r\n", "a line without the length"],
    ["CONFIG cluster x 5\r\n", "invalid flags"],
    ["CONFIG cluster 0 -5\r\n", "a negative length"]
  ]
  for (const [wire, why] of bad) {
    it(`stops with a typed violation on ${why}`, () => {
      const p = C.makeReplyParser()
      p.push(bytes(wire))
      assert.instanceOf(p.error, ProtocolViolation)
      assert.strictEqual(p.error!.reason, "Malformed")
    })
  }
  it("the legacy reply is a VALUE block with the same payload", () => {
    const c = { version: 7, nodes: [{ host: "h", ip: "10.0.0.9", port: 11211 }] }
    const payload = D.encodeClusterPayload(c)
    const wire = Buffer.concat([S.encodeValue(D.LEGACY_CLUSTER_KEY, 0, payload), bytes("END\r\n")])
    const [v] = C.makeReplyParser().push(wire) as [C.ValueReply]
    assert.strictEqual(v.key, D.LEGACY_CLUSTER_KEY)
    assert.deepStrictEqual(D.parseClusterConfig(v.value), c)
  })
})
