/**
 * One auto-discovery poll, effect-free: a fresh connection to the configuration endpoint (so its host
 * name is resolved again on every poll and every retry), `config get cluster`, and — when the endpoint
 * answers `ERROR` (the command is unknown, as on memcached 1.6 or ElastiCache engines before 1.4.14) —
 * `get AmazonElastiCache:cluster` on the same connection; then the connection closes. The caller's
 * transport and timeouts apply, so a TLS client polls over TLS.
 *
 * @since 0.2.0
 */
import type { Reply } from "../protocol/client.js"
import {
  type ClusterConfig,
  encodeConfigGetCluster,
  encodeLegacyClusterGet,
  LEGACY_CLUSTER_KEY,
  parseClusterConfig
} from "../protocol/discovery.js"
import { ProtocolViolation } from "../protocol/errors.js"
import { type Command, Connection, Slot, SlotKind } from "./connection.js"
import { type Connector, type Endpoint, EngineError, protocolError, serverError, type Timers } from "./types.js"

/**
 * How the endpoint is asked: `config get cluster`, or the legacy key.
 *
 * @since 0.2.0
 * @category models
 */
export type DiscoveryMode = "config" | "legacy"

/**
 * A successful poll: the configuration, and the form that got it (later polls use it directly).
 *
 * @since 0.2.0
 * @category models
 */
export interface DiscoveryAnswer {
  readonly config: ClusterConfig
  readonly mode: DiscoveryMode
}

/**
 * The outcome of a poll: an answer, or a failure — `Connection`, `Protocol` (a malformed reply; the
 * connection closed), or `Server` `UnknownCommand` when the endpoint answers neither form (a plain
 * memcached answers `ERROR`, then `END`: it is no discovery endpoint).
 *
 * @since 0.2.0
 * @category models
 */
export type DiscoveryResult = DiscoveryAnswer | EngineError

/**
 * Connection settings of a poll.
 *
 * @since 0.2.0
 * @category models
 */
export interface DiscoverySettings {
  readonly connectTimeout: number
  readonly timeout: number
  readonly timers: Timers
}

const UNKNOWN = { _tag: "Unknown" } as const

const configOf = (server: string, value: Uint8Array): ClusterConfig | EngineError => {
  const parsed = parseClusterConfig(value)
  return parsed instanceof ProtocolViolation
    ? protocolError("Malformed", server, `${server}: ${parsed.message}`)
    : parsed
}

const finishConfig = (slot: Slot, reply: Reply): unknown => {
  if (reply._tag === "Error") return UNKNOWN
  if (reply._tag !== "End") {
    return serverError("UnknownCommand", `${slot.server}: config get cluster answered ${reply._tag}`, slot.server)
  }
  const block = slot.acc?.[0]
  if (block === undefined || block._tag !== "Config" || slot.acc!.length !== 1 || block.key !== "cluster") {
    return protocolError(
      "Unexpected",
      slot.server,
      `${slot.server}: config get cluster: no single CONFIG cluster block`
    )
  }
  return configOf(slot.server, block.value)
}

const finishLegacy = (slot: Slot, reply: Reply): unknown => {
  if (reply._tag !== "End") {
    return serverError(
      "UnknownCommand",
      `${slot.server}: get ${LEGACY_CLUSTER_KEY} answered ${reply._tag}`,
      slot.server
    )
  }
  const block = slot.hit
  if (block === undefined) {
    return serverError(
      "UnknownCommand",
      `${slot.server} answers ERROR to config get cluster and has no ${LEGACY_CLUSTER_KEY} key: not a discovery endpoint`,
      slot.server
    )
  }
  return configOf(slot.server, block.value)
}

const CONFIG: Command = { name: "config", kind: SlotKind.Stats, finish: finishConfig }
const LEGACY: Command = { name: "get", kind: SlotKind.Values, finish: finishLegacy }

/**
 * Runs one poll against `endpoint` and calls `done` exactly once (never throws; a transport that
 * throws is a `Connect` failure). `mode` is the form that worked last time (`config` first when
 * undefined). Returns a function that abandons the poll (its connection closes, `done` is not called).
 *
 * @since 0.2.0
 * @category constructors
 */
export const pollOnce = <S extends Endpoint>(
  connector: Connector<S>,
  endpoint: S,
  settings: DiscoverySettings,
  mode: DiscoveryMode | undefined,
  done: (result: DiscoveryResult) => void
): () => void => {
  const server = endpoint.name
  let finished = false
  let conn: Connection | undefined
  const finish = (result: DiscoveryResult) => {
    if (finished) return
    finished = true
    conn?.shutdown()
    done(result)
  }
  try {
    conn = new Connection(connector.connect(endpoint), {
      server,
      connectTimeout: settings.connectTimeout,
      maxInFlight: 4,
      maxInFlightBytes: 1024 * 1024,
      maxQueued: 4,
      autoBatch: 0,
      limits: { maxValueSize: 1024 * 1024 },
      timers: settings.timers
    })
  } catch (cause) {
    finish(new EngineError("Connection", "Connect", `${server}: ${String(cause)}`, server, cause))
    return () => {}
  }
  const live = conn
  const send = (legacy: boolean) => {
    const slot = legacy
      ? new Slot(LEGACY, encodeLegacyClusterGet(), undefined, LEGACY_CLUSTER_KEY, settings.timeout)
      : new Slot(CONFIG, encodeConfigGetCluster(), undefined, "cluster", settings.timeout)
    slot.done = {
      succeed: (value) => {
        if (value === UNKNOWN) return send(true)
        finish({ config: value as ClusterConfig, mode: legacy ? "legacy" : "config" })
      },
      fail: (error) => finish(error)
    }
    live.enqueue(slot)
  }
  send(mode === "legacy")
  return () => {
    finished = true
    live.shutdown()
  }
}
