/**
 * The memcached client service: every command of the text protocol as a typed Effect, over one or
 * more servers, each key routed through the configured distribution.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import {
  commandFor,
  type CommandRow,
  commands,
  storeModes,
  toBytes,
  U32_MAX,
  utf8Decoder
} from "./client/commands.js"
import * as Distribution from "./Distribution.js"
import { chunkGroups, groupByServer } from "./engine/cluster.js"
import { type Command, Slot, type Timers } from "./engine/connection.js"
import { exitCompletion, ResumeSlot, toMemcachedError } from "./client/completion.js"
import { ejectionBackoff, retryDelayOf } from "./client/backoff.js"
import { type PoolEvents, proxyUnsupported, ServerPool, type ServerProtocolName, type Settings } from "./engine/pool.js"
import { Router } from "./engine/router.js"
import { makeBulkWrites } from "./client/bulkWrites.js"
import { makeMetaMethods } from "./client/metaMethods.js"
import { withKeyPrefix } from "./client/keyPrefix.js"
import { positiveFiniteMillis, type Ttl, toExptime, validateKey } from "./Key.js"
import { type MemcachedError, MemcachedInputError, type MemcachedReadError } from "./MemcachedError.js"
import type { Policy } from "./MemcachedPolicy.js"
import * as MemcachedRing from "./MemcachedRing.js"
import { net as netTransport } from "./MemcachedTransport.js"
import {
  encodeDelete,
  encodeFlushAll,
  encodeGat,
  encodeGet,
  encodeIncrDecr,
  encodeStats,
  encodeStorageHeader,
  encodeTouch,
  encodeVerbosity,
  encodeVersion,
  type StorageCommand
} from "./protocol/client.js"
import {
  encodeMetaArithmetic,
  encodeMetaDelete,
  encodeMetaGetItem,
  encodeMetaGetMany,
  encodeMetaSetHeader,
  encodeMetaTouch
} from "./protocol/meta.js"

const CAS = { cas: true } as const
const NO_CAS = { cas: false } as const
import { U64_MAX } from "./protocol/bytes.js"
import * as ServerSpec from "./ServerSpec.js"
import type {
  AdminOptions,
  CallOptions,
  CasItem,
  Item,
  MemcachedClientOptions,
  MemcachedClient as MemcachedClientService,
  PerServer,
  StoreOptions,
  Value
} from "./client/models.js"

export type {
  AdminOptions,
  CallOptions,
  CasItem,
  Item,
  MemcachedClientOptions,
  MetaArithmeticOptions,
  MetaCounter,
  MetaDeleteOptions,
  MetaGetOptions,
  MetaKeyOptions,
  MetaSetOptions,
  MetaSetResult,
  PerServer,
  StoreOptions,
  Value,
  WriteResult
} from "./client/models.js"

/**
 * The client: every method validates its input before any byte is sent; each method's JSDoc (in
 * src/client/models.ts) says what it fails with. A cache miss is `Option.none()`, never an error.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemcachedClient extends MemcachedClientService {}

export type { MetaItem } from "./protocol/meta.js"

/**
 * The client service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const MemcachedClient: Context.Tag<MemcachedClient, MemcachedClient> = Context.GenericTag<MemcachedClient>(
  "effect-memcached/MemcachedClient"
)


const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

const positiveInt = (name: string, value: number | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  return Number.isInteger(value) && value > 0 ? value : invalid(name, `${name} must be a positive integer, got ${value}`)
}

const millis = (name: string, value: Duration.DurationInput | undefined, fallback: number): number | ConfigError.ConfigError => {
  if (value === undefined) return fallback
  const ms = positiveFiniteMillis(value)
  return ms === undefined ? invalid(name, `${name} must be a positive finite duration, got ${String(value)}`) : ms
}

const resolveServers = (
  servers: MemcachedClientOptions["servers"]
): ReadonlyArray<ServerSpec.ServerSpec> | ConfigError.ConfigError => {
  if (servers === undefined) return [ServerSpec.make({ host: "127.0.0.1", port: 11211 })]
  const list = typeof servers === "string" ? ServerSpec.splitList(servers) : servers
  if (list.length === 0) return invalid("servers", "at least one server is required")
  const out: Array<ServerSpec.ServerSpec> = []
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!
    if (typeof entry !== "string") {
      out.push(entry)
      continue
    }
    const parsed = ServerSpec.parse(entry)
    if (Either.isLeft(parsed)) return invalid(`servers[${i}]`, `invalid server ${JSON.stringify(entry)}: ${parsed.left}`)
    out.push(parsed.right)
  }
  const seen = new Set<string>()
  for (const s of out) {
    if (seen.has(s.name)) return invalid("servers", `server ${s.name} is listed twice`)
    seen.add(s.name)
  }
  return out
}

const isConfigError = (u: unknown): u is ConfigError.ConfigError => ConfigError.isConfigError(u)

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a client in the current scope; closing the scope closes its connections and fails any
 * request still pending with `MemcachedConnectionError("Closed")`. Everything it uses (ring, policy,
 * transport) comes from `options`; it reads no optional service from the context. Fails with a `ConfigError` naming the offending
 * option when the options are invalid.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MemcachedClientOptions = {}
): Effect.Effect<MemcachedClient, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const servers = resolveServers(options.servers)
    if (isConfigError(servers)) return yield* Effect.fail(servers)
    const fields = {
      connectTimeout: millis("connectTimeout", options.connectTimeout, 2000),
      timeout: millis("timeout", options.timeout, 5000),
      poolSize: positiveInt("poolSize", options.poolSize, 1),
      maxInFlight: positiveInt("maxInFlight", options.maxInFlight, 1024),
      maxQueued: positiveInt("maxQueued", options.maxQueued, 100_000),
      maxValueSize: positiveInt("maxValueSize", options.maxValueSize, 128 * 1024 * 1024),
      maxKeysPerGet: positiveInt("maxKeysPerGet", options.maxKeysPerGet, 100),
      autoBatch: options.autoBatch ?? true
    }
    for (const v of Object.values(fields)) if (isConfigError(v)) return yield* Effect.fail(v)
    const policy: Policy = options
    const health = {
      failureLimit: positiveInt("failureLimit", policy.failureLimit, 3),
      failureWindow: millis("failureWindow", policy.failureWindow, 10_000),
      retryInterval: millis("retryInterval", policy.retryInterval, 2_000),
      maxRetryInterval: millis("maxRetryInterval", policy.maxRetryInterval, 60_000),
      flapWindow: millis("flapWindow", policy.flapWindow, 30_000)
    }
    for (const v of Object.values(health)) if (isConfigError(v)) return yield* Effect.fail(v)
    const failover = policy.failover ?? "none"
    if (failover !== "none" && failover !== "next") {
      return yield* Effect.fail(invalid("failover", `failover must be "none" or "next", got ${String(failover)}`))
    }
    const keyPrefix = options.keyPrefix ?? ""
    if (typeof keyPrefix !== "string" || (keyPrefix !== "" && validateKey(keyPrefix) !== undefined)) {
      return yield* Effect.fail(invalid("keyPrefix", `keyPrefix must be printable without spaces, got ${JSON.stringify(keyPrefix)}`))
    }
    const protocol = options.protocol ?? "auto"
    if (protocol !== "meta" && protocol !== "text" && protocol !== "auto") {
      return yield* Effect.fail(invalid("protocol", `protocol must be "meta", "text" or "auto", got ${String(protocol)}`))
    }
    const settings = { ...fields, ...health, protocol, textProxy: options.textProxy === true } as Settings
    const distribution = options.distribution ?? Distribution.ketama()
    const transport = options.transport ?? netTransport
    const clock = yield* Effect.clock
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const timers: Timers = {
      now: () => clock.unsafeCurrentTimeMillis(),
      schedule: (ms, f) => {
        const fiber = runFork(Effect.sleep(ms).pipe(Effect.andThen(Effect.sync(f))))
        return () => fiber.unsafeInterruptAsFork(FiberId.none)
      }
    }
    const logAt = { debug: Effect.logDebug, info: Effect.logInfo, warning: Effect.logWarning } as const
    // The pools report health changes to the router, which is built over them right after.
    let router: Router | undefined = undefined
    const events: PoolEvents = {
      log: (level, message, server) =>
        runFork(logAt[level](message).pipe(Effect.annotateLogs({ module: "MemcachedClient", server }))),
      healthChanged: () => router?.invalidate(),
      retryDelay: retryDelayOf(ejectionBackoff(settings.retryInterval, settings.maxRetryInterval))
    }
    const pools = servers.map((spec, i) => new ServerPool(i, spec, transport, settings, timers, events))
    router = new Router(servers, pools, distribution, failover)
    yield* Effect.addFinalizer(() => Effect.sync(() => pools.forEach((p) => p.shutdown())))
    if (options.eager === true) for (const pool of pools) pool.openAll()

    const retry: Retry | undefined = policy.retry === undefined
      ? undefined
      : { schedule: policy.retry, all: policy.retryNonIdempotent === true, while: transient(failover) }
    const client = makeClient(servers, pools, router, settings, timers, retry)
    return keyPrefix === "" ? client : withKeyPrefix(client, keyPrefix)
  })


/**
 * Errors a retry can help with. `Ejected` only with failover `next`, where the retry goes to the
 * rebuilt ring; with `none` the server stays ejected and a retry would fail the same way at once.
 */
const transient = (failover: "none" | "next") => (e: MemcachedError): boolean =>
  e._tag === "MemcachedConnectionError" && e.reason !== "Overloaded" && (failover === "next" || e.reason !== "Ejected")

/** The retry policy, applied per command from the command table. */
interface Retry {
  readonly schedule: Schedule.Schedule<unknown, MemcachedError>
  /** Also retry the commands that are not idempotent. */
  readonly all: boolean
  readonly while: (e: MemcachedError) => boolean
}

const makeClient = (
  servers: ReadonlyArray<ServerSpec.ServerSpec>,
  pools: ReadonlyArray<ServerPool>,
  router: Router,
  settings: Settings,
  timers: Timers,
  retry: Retry | undefined
): MemcachedClient => {
  /** `effect` retried per the policy when the row's command may be retried; as is otherwise (no wrapper on the default path). */
  const retrying = retry === undefined
    ? <A, E extends MemcachedError>(_row: CommandRow, effect: Effect.Effect<A, E>) => effect
    : <A, E extends MemcachedError>(row: CommandRow, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      row.idempotent || retry.all ? Effect.retry(effect, { schedule: retry.schedule, while: retry.while }) : effect
  /** The one place a request is handed to a connection. */
  const submit = (
    pool: ServerPool,
    command: Command,
    head: string,
    data: Uint8Array | undefined,
    key: string,
    timeout: number,
    // The command's finisher decides the error type the caller sees (e.g. reads never get a store error).
    resume: (effect: Effect.Effect<any, any>) => void
  ): Slot => {
    const slot = new ResumeSlot(command, head, data, key, timeout, resume)
    pool.connection().enqueue(slot)
    return slot
  }
  const serverFor = router.route
  const poolOf = pools.length === 1 ? () => pools[0]! : (key: string) => pools[router.route(key)]!
  const timeoutOf = (options: CallOptions | undefined): number | MemcachedInputError => {
    const t = options?.timeout
    if (t === undefined) return settings.timeout
    const ms = positiveFiniteMillis(t)
    return ms === undefined
      ? new MemcachedInputError({ reason: "InvalidArgument", message: `timeout must be a positive finite duration, got ${String(t)}` })
      : ms
  }

  /** `Unsupported` when `pool` is a text-only proxy that does not forward `command` (nothing is sent). */
  const proxyRejects = (pool: ServerPool, command: string, key?: string): MemcachedInputError | undefined =>
    pool.proxy && proxyUnsupported.has(command)
      ? new MemcachedInputError({
        reason: "Unsupported",
        message: `${command} is not forwarded by ${pool.spec.name}, a text-only proxy (twemproxy); nothing was sent`,
        ...(key === undefined ? {} : { key })
      })
      : undefined

  const oneKey: [string] = [""]
  const retrieve = (command: "get" | "gets") => (key: string, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = options === undefined ? settings.timeout : timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const cas = command === "gets"
    const row = commands[command]
    return retrying(row, Effect.async<Option.Option<Item>, MemcachedReadError>((resume) => {
      const pool = poolOf(key)
      if (pool.protocol === "meta") submit(pool, row.meta, encodeMetaGetItem(key, cas), undefined, key, timeout, resume)
      else {
        // One reused one-key array (encodeGet reads it synchronously): no allocation on the hot path.
        oneKey[0] = key
        submit(pool, row.text, encodeGet(command, oneKey), undefined, key, timeout, resume)
      }
    }))
  }
  const get = retrieve("get")
  // The gets finisher fails a hit without a CAS unique (withCas), so every item has one.
  const gets = retrieve("gets") as (key: string, options?: CallOptions) => Effect.Effect<Option.Option<CasItem>, MemcachedReadError>

  const gat = (command: "gat" | "gats") => (key: string, ttl: Ttl, options?: CallOptions) => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    return Effect.suspend(() => {
      const exptime = toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return Effect.fail(exptime)
      const row = commands[command]
      return retrying(row, Effect.async<Option.Option<Item>, MemcachedReadError>((resume) => {
        const pool = poolOf(key)
        // In auto mode the probe tells a text-only proxy (which closes the connection on gat) apart.
        pool.whenKnown(() => {
          const rejected = proxyRejects(pool, command, key)
          if (rejected !== undefined) return resume(Exit.fail(rejected))
          if (pool.protocol === "meta") {
            submit(pool, row.meta, encodeMetaGetItem(key, command === "gats", exptime as number), undefined, key, timeout, resume)
          } else {
            submit(pool, row.text, encodeGat(command, exptime as number, [key]), undefined, key, timeout, resume)
          }
        })
      }))
    })
  }

  const store = (command: StorageCommand) =>
  (
    key: string,
    value: Value,
    options: StoreOptions | undefined,
    cas?: bigint
  ): Effect.Effect<void, MemcachedError> => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const flags = options?.flags ?? 0
    if (!Number.isInteger(flags) || flags < 0 || flags > U32_MAX) {
      return Effect.fail(
        new MemcachedInputError({ reason: "InvalidArgument", message: `flags must be a 32-bit unsigned integer, got ${flags}`, key })
      )
    }
    if (cas !== undefined && (cas < 0n || cas > U64_MAX)) {
      return Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid CAS unique ${cas}`, key }))
    }
    if (typeof value !== "string" && !(value instanceof Uint8Array)) {
      return Effect.fail(new MemcachedInputError({ reason: "InvalidValue", message: "value must be a Uint8Array or a string", key }))
    }
    const data = toBytes(value)
    if (data.length > settings.maxValueSize) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "ValueTooLarge",
          message: `value of ${data.length} bytes exceeds maxValueSize ${settings.maxValueSize}`,
          key
        })
      )
    }
    const ttl = options?.ttl
    const row = commands[command]
    const head = (meta: boolean, exptime: number): string =>
      meta
        ? encodeMetaSetHeader(key, data.length, { flags, ttl: exptime, mode: storeModes[command], compareCas: cas })
        : encodeStorageHeader(command, key, flags, exptime, data.length, cas)
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const exptime = toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        const pool = poolOf(key)
        const meta = pool.protocol === "meta"
        pool.connection().send(new Slot(commandFor(row, meta), head(meta, exptime), data, key, timeout))
        return Effect.void
      })
    }
    return retrying(row, Effect.async<void, MemcachedError>((resume) => {
      const exptime = ttl === undefined ? 0 : toExptime(ttl, timers.now())
      if (typeof exptime !== "number") return resume(Exit.fail(exptime))
      const pool = poolOf(key)
      const meta = pool.protocol === "meta"
      submit(pool, commandFor(row, meta), head(meta, exptime), data, key, timeout, resume)
    }))
  }
  const set = store("set")
  const add = store("add")
  const replace = store("replace")
  const append = store("append")
  const prepend = store("prepend")
  const casStore = store("cas")

  const simple = <A>(
    key: string,
    options: (CallOptions & { readonly noreply?: boolean | undefined }) | undefined,
    head: (meta: boolean) => string | MemcachedInputError,
    row: CommandRow
  ): Effect.Effect<A, MemcachedError> => {
    const invalidKey = validateKey(key)
    if (invalidKey !== undefined) return Effect.fail(invalidKey)
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    if (options?.noreply === true) {
      return Effect.suspend(() => {
        const pool = poolOf(key)
        const meta = pool.protocol === "meta"
        const h = head(meta)
        if (typeof h !== "string") return Effect.fail(h)
        pool.connection().send(new Slot(commandFor(row, meta), h, undefined, key, timeout))
        return Effect.void as Effect.Effect<any>
      })
    }
    return retrying(row, Effect.async<A, MemcachedError>((resume) => {
      const pool = poolOf(key)
      const meta = pool.protocol === "meta"
      const h = head(meta)
      if (typeof h !== "string") return resume(Exit.fail(h))
      submit(pool, commandFor(row, meta), h, undefined, key, timeout, resume)
    }))
  }

  const delta = (command: "incr" | "decr") => (key: string, d: number | bigint, options?: CallOptions) => {
    let big: bigint
    if (typeof d === "bigint") big = d
    else if (Number.isSafeInteger(d)) big = BigInt(d)
    else big = -1n
    if (big < 0n || big > U64_MAX) {
      return Effect.fail(
        new MemcachedInputError({ reason: "InvalidArgument", message: `${command} delta must be an unsigned 64-bit integer, got ${d}`, key })
      )
    }
    return simple<bigint>(
      key,
      options,
      (meta) =>
        meta
          ? encodeMetaArithmetic(key, { mode: command, delta: big, value: true })
          : encodeIncrDecr(command, key, big),
      commands[command]
    )
  }

  /**
   * One admin command on every server (or the one `options.server` names), each server's outcome
   * reported on its own: one dead server never hides the others' results.
   */
  const perServer = <A>(
    options: AdminOptions | undefined,
    row: CommandRow,
    head: string,
    label: string
  ): Effect.Effect<PerServer<A>, MemcachedInputError> => {
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    const target = options?.server
    const targets = target === undefined ? pools : pools.filter((p) => p.spec.name === target)
    if (targets.length === 0) {
      return Effect.fail(
        new MemcachedInputError({
          reason: "InvalidArgument",
          message: `unknown server ${JSON.stringify(target)}; the servers are ${servers.map((s) => s.name).join(", ")}`
        })
      )
    }
    return Effect.forEach(
      targets,
      (pool) =>
        Effect.map(
          Effect.either(retrying(row, Effect.async<A, MemcachedError>((resume) => {
            pool.whenKnown(() => {
              const rejected = proxyRejects(pool, label)
              if (rejected !== undefined) return resume(Exit.fail(rejected))
              submit(pool, commandFor(row, pool.protocol === "meta"), head, undefined, label, timeout, resume)
            })
          }))),
          (a) => [pool.spec.name, a] as const
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((entries) => new Map(entries)))
  }

  const getMany = (
    keysIn: Iterable<string>,
    options?: CallOptions & { readonly cas?: boolean | undefined }
  ): Effect.Effect<ReadonlyMap<string, Item>, MemcachedReadError> => {
    const unique = Array.from(new Set(keysIn))
    for (const key of unique) {
      const invalidKey = validateKey(key)
      if (invalidKey !== undefined) return Effect.fail(invalidKey)
    }
    const timeout = timeoutOf(options)
    if (typeof timeout !== "number") return Effect.fail(timeout)
    if (unique.length === 0) return Effect.succeed(new Map())
    const command = options?.cas === true ? "gets" : "get"
    const batches = chunkGroups(groupByServer(unique, (k) => k, serverFor, false), settings.maxKeysPerGet)
    // Meta: one quiet `mg <key> k v f q` per key and one `mn` (a Barrier slot). Hits come back in
    // request order (misses are silent) and each carries its key, which is checked.
    const metaOptions = command === "gets" ? CAS : NO_CAS
    return Effect.async<ReadonlyMap<string, Item>, MemcachedReadError>((resume) => {
      const out = new Map<string, Item>()
      let pending = batches.length
      let done = false
      const onBatch = exitCompletion((effect) => {
        if (done) return
        const exit = effect as Exit.Exit<Array<string | Item>, MemcachedReadError>
        if (exit._tag === "Failure") {
          done = true
          return resume(Exit.failCause(exit.cause))
        }
        const flat = exit.value
        for (let i = 0; i < flat.length; i += 2) out.set(flat[i] as string, flat[i + 1] as Item)
        if (--pending === 0) {
          done = true
          resume(Exit.succeed(out))
        }
      })
      for (const [s, keys] of batches) {
        const pool = pools[s]!
        let slot: Slot
        if (pool.protocol === "meta") {
          slot = new Slot(commands.getMany.meta, encodeMetaGetMany(keys, metaOptions), undefined, keys[0]!, timeout)
        } else {
          slot = new Slot(commands.getMany.text, encodeGet(command, keys), undefined, keys[0]!, timeout)
        }
        slot.keys = keys
        slot.done = onBatch
        pool.connection().enqueue(slot)
      }
    })
  }

  const { deleteMany, setMany, touchMany } = makeBulkWrites({ router, pools, settings, timers, timeoutOf })

  const client: MemcachedClient = {
    servers,
    setMany,
    deleteMany,
    touchMany,
    serverFor,
    get,
    gets,
    getString: (key, options) => Effect.map(get(key, options), Option.map((item) => utf8Decoder.decode(item.value))),
    getMany,
    gat: gat("gat"),
    gats: gat("gats") as MemcachedClient["gats"],
    set: (key, value, options) => set(key, value, options),
    add: (key, value, options) => add(key, value, options),
    replace: (key, value, options) => replace(key, value, options),
    append: (key, value, options) => append(key, value, options),
    prepend: (key, value, options) => prepend(key, value, options),
    cas: (key, value, cas, options) => casStore(key, value, options, cas),
    delete: (key, options) =>
      simple<void>(key, options, (meta) => (meta ? encodeMetaDelete(key) : encodeDelete(key)), commands.delete),
    touch: (key, ttl, options) =>
      simple<void>(key, options, (meta) => {
        const exptime = toExptime(ttl, timers.now())
        if (typeof exptime !== "number") return exptime
        return meta ? encodeMetaTouch(key, exptime) : encodeTouch(key, exptime)
      }, commands.touch),
    incr: delta("incr"),
    decr: delta("decr"),
    flushAll: (delay, options) =>
      Effect.suspend(() => {
        const exptime = toExptime(delay, timers.now())
        if (typeof exptime !== "number") return Effect.fail(exptime)
        return perServer<void>(options, commands.flush_all, encodeFlushAll(exptime), "flush_all")
      }),
    version: (options) => perServer<string>(options, commands.version, encodeVersion(), "version"),
    stats: (argument, options) => {
      if (argument !== undefined && !/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(argument)) {
        return Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid stats argument ${JSON.stringify(argument)}` }))
      }
      return perServer<ReadonlyMap<string, string>>(options, commands.stats, encodeStats(argument), "stats")
    },
    verbosity: (level, options) =>
      Number.isInteger(level) && level >= 0 && level <= U32_MAX
        ? perServer<void>(options, commands.verbosity, encodeVerbosity(level), "verbosity")
        : Effect.fail(new MemcachedInputError({ reason: "InvalidArgument", message: `invalid verbosity level ${level}` })),
    protocols: () =>
      Effect.forEach(pools, (pool) =>
        Effect.async<readonly [string, ServerProtocolName], MemcachedError>((resume) =>
          pool.detect((p) => resume(typeof p === "string" ? Exit.succeed([pool.spec.name, p] as const) : Exit.fail(toMemcachedError(p))))
        ), { concurrency: "unbounded" }).pipe(Effect.map((entries) => new Map(entries))),
    ...makeMetaMethods({ poolOf, timeoutOf, timers, settings, retrying, submit })
  }
  return MemcachedClient.of(client)
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/**
 * A client built from options. Fails at construction with a `ConfigError` naming the offending option.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemcachedClientOptions = {}): Layer.Layer<MemcachedClient, ConfigError.ConfigError> =>
  Layer.scoped(MemcachedClient, make(options))

/**
 * A client whose options come from `Config`. Fails with a `ConfigError` naming the offending entry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<MemcachedClientOptions>
): Layer.Layer<MemcachedClient, ConfigError.ConfigError> =>
  Layer.scoped(MemcachedClient, Effect.flatMap(Config.unwrap(config), make))

/**
 * The environment-driven configuration: `MEMCACHED_SERVERS` (comma or space separated specs, default
 * `127.0.0.1:11211`), `MEMCACHED_TIMEOUT` and `MEMCACHED_CONNECT_TIMEOUT` (durations such as
 * `500 millis`), `MEMCACHED_POOL_SIZE`, `MEMCACHED_DISTRIBUTION` (a ring name such as `ketama:md5`
 * or `libmc`, see `MemcachedRing.config`; default ketama).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<MemcachedClientOptions> = Config.all({
  servers: ServerSpec.config("MEMCACHED_SERVERS").pipe(
    Config.withDefault([ServerSpec.make({ host: "127.0.0.1", port: 11211 })] as ReadonlyArray<ServerSpec.ServerSpec>)
  ),
  timeout: Config.option(Config.duration("MEMCACHED_TIMEOUT")).pipe(Config.map(Option.getOrUndefined)),
  connectTimeout: Config.option(Config.duration("MEMCACHED_CONNECT_TIMEOUT")).pipe(Config.map(Option.getOrUndefined)),
  poolSize: Config.option(Config.integer("MEMCACHED_POOL_SIZE")).pipe(Config.map(Option.getOrUndefined)),
  distribution: Config.option(MemcachedRing.config("MEMCACHED_DISTRIBUTION")).pipe(Config.map(Option.getOrUndefined))
})

/**
 * {@link layerConfig} over {@link config}: the client configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<MemcachedClient, ConfigError.ConfigError> = Layer.scoped(
  MemcachedClient,
  Effect.flatMap(config, make)
)
