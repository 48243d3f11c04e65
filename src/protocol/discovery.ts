/**
 * The cluster-configuration codec of ElastiCache (and Memorystore) auto-discovery, both directions:
 * the two requests (`config get cluster`, and `get AmazonElastiCache:cluster` for engines before
 * 1.4.14), the payload parser, and the server-side encoders.
 *
 * The reply is `CONFIG cluster 0 <len>\r\n<payload>\r\nEND\r\n` (or the same payload in a `VALUE
 * AmazonElastiCache:cluster 0 <len>` block): the block is framed by its declared length in
 * `replies.ts` like every data block, and its payload is `<version>\n<host|ip|port>( <host|ip|port>)*\n`
 * — the version line ends with a bare LF, the node line with an LF too, and the block's own CRLF
 * follows. Nothing here throws: a payload that is not of this form is a {@link ProtocolViolation}.
 *
 * @since 0.2.0
 */
import { ProtocolViolation } from "./errors.js"

/**
 * The key of the legacy (before 1.4.14) form.
 *
 * @since 0.2.0
 * @category constants
 */
export const LEGACY_CLUSTER_KEY = "AmazonElastiCache:cluster"

/**
 * One node of a cluster configuration: the host name (may be empty or equal to the IP, as
 * Memorystore sends it), its IP address (may be empty) and its port.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClusterNode {
  readonly host: string
  readonly ip: string
  readonly port: number
}

/**
 * A parsed cluster configuration: its version (it increases with every change of the node list) and
 * its nodes, in the order the endpoint listed them.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClusterConfig {
  readonly version: number
  readonly nodes: ReadonlyArray<ClusterNode>
}

/**
 * `config get cluster\r\n`.
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeConfigGetCluster = (): string => "config get cluster\r\n"

/**
 * `get AmazonElastiCache:cluster\r\n`: the same configuration on engines before 1.4.14.
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeLegacyClusterGet = (): string => `get ${LEGACY_CLUSTER_KEY}\r\n`

const HOST = /^[A-Za-z0-9._:-]*$/
const MAX_VERSION = Number.MAX_SAFE_INTEGER

const digits = (s: string, max: number): number => {
  if (s.length === 0 || s.length > 16 || !/^[0-9]+$/.test(s)) return -1
  const n = Number(s)
  return n <= max ? n : -1
}

const malformed = (message: string) => new ProtocolViolation("Malformed", `cluster config: ${message}`)

/**
 * Parses a configuration payload (`<version>\n<node>( <node>)*\n`, each node `host|ip|port`).
 * Returns a {@link ProtocolViolation} (`Malformed`) for anything else: no final LF, a CR anywhere, a
 * version that is not a decimal integer, an empty node list, a node without three fields, a port
 * outside 1–65535, a node with neither host nor IP, or characters a host name cannot hold. Never throws.
 *
 * @since 0.2.0
 * @category parsers
 */
export const parseClusterConfig = (payload: Uint8Array): ClusterConfig | ProtocolViolation => {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("latin1")
  if (text.includes("\r")) return malformed("a CR in the payload (its lines end with a bare LF)")
  const lf = text.indexOf("\n")
  if (lf < 0) return malformed("no LF after the version")
  const version = digits(text.slice(0, lf), MAX_VERSION)
  if (version < 0) return malformed(`version ${JSON.stringify(text.slice(0, Math.min(lf, 32)))} is not an integer`)
  const rest = text.slice(lf + 1)
  if (!rest.endsWith("\n")) return malformed("the node list does not end with LF")
  const list = rest.slice(0, -1)
  if (list.includes("\n")) return malformed("more than two lines")
  if (list.length === 0) return malformed("empty node list")
  const nodes: Array<ClusterNode> = []
  for (const entry of list.split(" ")) {
    const fields = entry.split("|")
    if (fields.length !== 3) return malformed(`node ${JSON.stringify(entry.slice(0, 64))} is not host|ip|port`)
    const [host, ip, portText] = fields as [string, string, string]
    const port = digits(portText, 65535)
    if (port < 1) return malformed(`node ${JSON.stringify(entry.slice(0, 64))} has an invalid port`)
    if (host.length === 0 && ip.length === 0) return malformed("a node with neither host nor IP")
    if (!HOST.test(host) || !HOST.test(ip) || host.length > 253 || ip.length > 64) {
      return malformed(`node ${JSON.stringify(entry.slice(0, 64))} has an invalid host or IP`)
    }
    nodes.push({ host, ip, port })
  }
  return { version, nodes }
}

/**
 * The payload of a configuration: `<version>\n<host|ip|port ...>\n` (the inverse of
 * {@link parseClusterConfig}). The nodes must be valid (non-empty list, `|`/space/LF-free fields).
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeClusterPayload = (config: ClusterConfig): Buffer =>
  Buffer.from(`${config.version}\n${config.nodes.map((n) => `${n.host}|${n.ip}|${n.port}`).join(" ")}\n`, "latin1")

/**
 * The server's answer to `config get cluster`: `CONFIG cluster 0 <len>\r\n<payload>\r\nEND\r\n`.
 *
 * @since 0.2.0
 * @category encoders
 */
export const encodeConfigReply = (config: ClusterConfig): Buffer => {
  const payload = encodeClusterPayload(config)
  return Buffer.concat([
    Buffer.from(`CONFIG cluster 0 ${payload.length}\r\n`, "latin1"),
    payload,
    Buffer.from("\r\nEND\r\n", "latin1")
  ])
}
