/**
 * The client's option checks, shared by both editions: every option the constructor reads, checked
 * before anything is built, each problem a `ConfigError` naming the entry. Internal: not exported from
 * the package index.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import type { Settings } from "../engine/pool.js"
import { parse as parseServer } from "../engine/serverSpec.js"
import { authCredentialProblem, encodeAuth } from "../protocol/client.js"
import * as Distribution from "../Distribution.js"
import { type ConfigError, type DurationInput, invalidConfig, isConfigError } from "../edition.js"
import { keyProblem, positiveFiniteMillis } from "../Key.js"
import type { MemcachedError } from "../MemcachedError.js"
import * as ServerSpec from "../ServerSpec.js"
import type { MemcachedClientOptions } from "./models.js"

const positiveInt = (name: string, value: number | undefined, fallback: number): number | ConfigError => {
  if (value === undefined) return fallback
  return Number.isInteger(value) && value > 0
    ? value
    : invalidConfig(name, `${name} must be a positive integer, got ${value}`)
}

const millis = (name: string, value: DurationInput | undefined, fallback: number): number | ConfigError => {
  if (value === undefined) return fallback
  const ms = positiveFiniteMillis(value)
  return ms === undefined ? invalidConfig(name, `${name} must be a positive finite duration, got ${String(value)}`) : ms
}

/** The `servers` option as specs (default `127.0.0.1:11211`), or the first invalid entry. */
const resolveServers = (
  servers: MemcachedClientOptions["servers"]
): ReadonlyArray<ServerSpec.ServerSpec> | ConfigError => {
  if (servers === undefined) return [ServerSpec.make({ host: "127.0.0.1", port: 11211 })]
  const list = typeof servers === "string" ? ServerSpec.splitList(servers) : servers
  if (list.length === 0) return invalidConfig("servers", "at least one server is required")
  const out: Array<ServerSpec.ServerSpec> = []
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!
    if (typeof entry !== "string") {
      out.push(entry)
      continue
    }
    const parsed = parseServer(entry)
    if (typeof parsed === "string") return invalidConfig(`servers[${i}]`, parsed)
    out.push(parsed)
  }
  const seen = new Set<string>()
  for (const s of out) {
    if (seen.has(s.name)) return invalidConfig("servers", `server ${s.name} is listed twice`)
    seen.add(s.name)
  }
  return out
}

/** The engine's settings from the options, or the first invalid entry. */
const settingsOf = (options: MemcachedClientOptions): Settings | ConfigError => {
  const fields = {
    connectTimeout: millis("connectTimeout", options.connectTimeout, 2000),
    timeout: millis("timeout", options.timeout, 5000),
    poolSize: positiveInt("poolSize", options.poolSize, 1),
    maxInFlight: positiveInt("maxInFlight", options.maxInFlight, 1024),
    maxQueued: positiveInt("maxQueued", options.maxQueued, 100_000),
    maxValueSize: positiveInt("maxValueSize", options.maxValueSize, 128 * 1024 * 1024),
    maxKeysPerGet: positiveInt("maxKeysPerGet", options.maxKeysPerGet, 100),
    failureLimit: positiveInt("failureLimit", options.failureLimit, 3),
    failureWindow: millis("failureWindow", options.failureWindow, 10_000),
    retryInterval: millis("retryInterval", options.retryInterval, 2_000),
    maxRetryInterval: millis("maxRetryInterval", options.maxRetryInterval, 60_000),
    flapWindow: millis("flapWindow", options.flapWindow, 30_000)
  }
  for (const v of Object.values(fields)) if (isConfigError(v)) return v
  const protocol = options.protocol ?? "auto"
  if (protocol !== "meta" && protocol !== "text" && protocol !== "auto") {
    return invalidConfig("protocol", `protocol must be "meta", "text" or "auto", got ${String(protocol)}`)
  }
  return {
    ...(fields as { [K in keyof typeof fields]: number }),
    autoBatch: options.autoBatch ?? true,
    protocol,
    textProxy: options.textProxy === true
  }
}

/**
 * The encoded authentication command of the `auth` option, or a `ConfigError` naming the entry (never
 * quoting the password).
 */
const authCommand = (auth: MemcachedClientOptions["auth"]): Uint8Array | undefined | ConfigError => {
  if (auth === undefined) return undefined
  if (typeof auth.username !== "string") return invalidConfig("auth.username", "auth.username must be a string")
  if (!Redacted.isRedacted(auth.password)) {
    return invalidConfig(
      "auth.password",
      "auth.password must be a Redacted string (Redacted.make or a redacted Config)"
    )
  }
  const password: unknown = Redacted.value(auth.password)
  if (typeof password !== "string") return invalidConfig("auth.password", "auth.password must be a Redacted string")
  const userProblem = authCredentialProblem("username", auth.username)
  if (userProblem !== undefined) return invalidConfig("auth.username", `auth.${userProblem}`)
  const passwordProblem = authCredentialProblem("password", password)
  if (passwordProblem !== undefined) return invalidConfig("auth.password", `auth.${passwordProblem}`)
  return encodeAuth(auth.username, password)
}

/**
 * Errors a retry can help with. `Ejected` only with failover `next`, where the retry goes to the
 * rebuilt ring; with `none` the server stays ejected and a retry would fail the same way at once.
 *
 * @since 0.1.0
 * @category predicates
 */
export const transient = (failover: "none" | "next") => (e: MemcachedError): boolean =>
  e._tag === "MemcachedConnectionError" && e.reason !== "Overloaded" && e.reason !== "Tls" && e.reason !== "Auth" &&
  (failover === "next" || e.reason !== "Ejected")

/**
 * The client's options, checked: what the constructor builds the engine from.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckedOptions {
  /** The `servers` option's specs; empty when `discovery` gives the list. */
  readonly listed: ReadonlyArray<ServerSpec.ServerSpec>
  readonly settings: Settings
  readonly failover: "none" | "next"
  readonly keyPrefix: string
  readonly distribution: Distribution.Distribution
  /** The encoded authentication command, sent first on every connection; none without `auth`. */
  readonly auth: Uint8Array | undefined
}

/**
 * Checks every option but `telemetry`, `tls` and `transport` (the edition's own), returning them
 * resolved, or the first problem as a `ConfigError` naming the entry. Never throws.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkOptions = (options: MemcachedClientOptions): CheckedOptions | ConfigError => {
  if (options.discovery !== undefined && options.servers !== undefined) {
    return invalidConfig("servers", "servers and discovery are exclusive: discovery gives the server list")
  }
  const listed = options.discovery === undefined ? resolveServers(options.servers) : []
  if (isConfigError(listed)) return listed
  const settings = settingsOf(options)
  if (isConfigError(settings)) return settings
  const failover = options.failover ?? "none"
  if (failover !== "none" && failover !== "next") {
    return invalidConfig("failover", `failover must be "none" or "next", got ${String(failover)}`)
  }
  const keyPrefix = options.keyPrefix ?? ""
  if (typeof keyPrefix !== "string" || (keyPrefix !== "" && keyProblem(keyPrefix) !== undefined)) {
    return invalidConfig("keyPrefix", `keyPrefix must be printable without spaces, got ${JSON.stringify(keyPrefix)}`)
  }
  const auth = authCommand(options.auth)
  if (isConfigError(auth)) return auth
  return { listed, settings, failover, keyPrefix, distribution: options.distribution ?? Distribution.ketama(), auth }
}
