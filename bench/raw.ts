/**
 * A minimal pipelined memcached text-protocol client on `net.Socket`: the practical limit for Node and
 * the reference every figure of the bench is divided by.
 *
 * - one connection per server, `noDelay`, every request pipelined;
 * - one `write()` per tick: commands are appended to an output buffer flushed from `process.nextTick`
 *   (values ≥ 32 KiB are not copied: they go out as their own chunk of a corked `writev`);
 * - reply parser: `Buffer.indexOf` + manual integer parsing; values are zero-copy `subarray`s of the
 *   received chunk (a value spanning chunks is assembled once into a buffer of its declared size);
 * - one Promise per request, resolved from the `data` handler in FIFO order.
 *
 * Keys must be ASCII (they are written as latin1). No timeouts, no reconnection: a socket error fails
 * every pending request. Multi-server routing: FNV-1a(key) mod n.
 */
import * as net from "node:net"

const K_GET = 0
const K_MULTI = 1
const K_STORE = 2
/** `mg <key> v`: one `VA <n>` + data block, or `EN`; complete on its own line (no `END`). */
const K_MG = 3

/** Completion callbacks of one request (the Promise methods and the Effect floor both use them). */
export type OnValue = (v: Buffer | undefined) => void
export type OnError = (e: Error) => void

class Req {
  value: Buffer | undefined = undefined
  constructor(
    readonly kind: number,
    readonly resolve: (v: any) => void,
    readonly reject: (e: Error) => void,
    readonly map: Map<string, Buffer> | undefined
  ) {}
}

/** Array-backed FIFO with a moving head (Array#shift is O(n) on large arrays). */
class Fifo<T> {
  private items: Array<T | undefined> = []
  private head = 0
  get length(): number {
    return this.items.length - this.head
  }
  push(x: T): void {
    this.items.push(x)
  }
  peek(): T | undefined {
    return this.items[this.head]
  }
  shift(): T | undefined {
    const x = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return x
  }
  drain(): Array<T> {
    const out = this.items.slice(this.head) as Array<T>
    this.items = []
    this.head = 0
    return out
  }
}

const LARGE_CHUNK = 32 * 1024
const POOLED = 4000 // Buffer.allocUnsafe below 4 KiB comes from Node's shared pool

export class RawConnection {
  private out: Buffer = Buffer.allocUnsafe(POOLED)
  private outLen = 0
  private chunks: Array<Buffer> = []
  private scheduled = false
  private readonly fifo = new Fifo<Req>()
  private rest: Buffer | undefined = undefined
  private pending: Buffer | undefined = undefined
  private pendingHave = 0
  private pendingKey: string | undefined = undefined
  private pendingDone = false
  private failed: Error | undefined = undefined
  private readonly flushNow = (): void => this.flush()

  private constructor(private readonly sock: net.Socket) {
    sock.setNoDelay(true)
    sock.on("data", (chunk: Buffer) => this.onData(chunk))
    sock.on("error", (e) => this.fail(e))
    sock.on("close", () => this.fail(new Error("connection closed")))
  }

  static connect(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port })
      const onError = (e: Error) => reject(e)
      sock.once("error", onError)
      sock.once("connect", () => {
        sock.off("error", onError)
        resolve(new RawConnection(sock))
      })
    })
  }

  /** Connects without waiting (for the black-hole memory scenario, where nothing ever answers). */
  static connectLazy(host: string, port: number): RawConnection {
    return new RawConnection(net.connect({ host, port }))
  }

  get inFlight(): number {
    return this.fifo.length
  }

  close(): void {
    this.sock.destroy()
  }

  get(key: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => this.getWith(key, resolve, reject))
  }

  /** One text `get <key>`, completed through callbacks (no Promise). */
  getWith(key: string, resolve: OnValue, reject: OnError): void {
    if (this.failed !== undefined) return reject(this.failed)
    this.fifo.push(new Req(K_GET, resolve, reject, undefined))
    this.str("get " + key + "\r\n")
  }

  /** One meta `mg <key> v` (memcached ≥ 1.6), completed through callbacks. */
  mgWith(key: string, resolve: OnValue, reject: OnError): void {
    if (this.failed !== undefined) return reject(this.failed)
    this.fifo.push(new Req(K_MG, resolve, reject, undefined))
    this.str("mg " + key + " v\r\n")
  }

  mg(key: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => this.mgWith(key, resolve, reject))
  }

  /** One text `set`, completed through callbacks. */
  setWith(key: string, value: Uint8Array, resolve: OnValue, reject: OnError): void {
    if (this.failed !== undefined) return reject(this.failed)
    this.fifo.push(new Req(K_STORE, resolve, reject, undefined))
    this.str("set " + key + " 0 0 " + value.length + "\r\n")
    this.bytes(value)
    this.str("\r\n")
  }

  /** One `get k1 k2 …` command; hits are added to `into`. */
  getMulti(keys: ReadonlyArray<string>, into: Map<string, Buffer>): Promise<Map<string, Buffer>> {
    return new Promise((resolve, reject) => {
      if (this.failed !== undefined) return reject(this.failed)
      this.fifo.push(new Req(K_MULTI, resolve, reject, into))
      this.str("get " + keys.join(" ") + "\r\n")
    })
  }

  set(key: string, value: Uint8Array, flags = 0, exptime = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failed !== undefined) return reject(this.failed)
      this.fifo.push(new Req(K_STORE, resolve, reject, undefined))
      this.str("set " + key + " " + flags + " " + exptime + " " + value.length + "\r\n")
      this.bytes(value)
      this.str("\r\n")
    })
  }

  // -- output -------------------------------------------------------------------------------

  private ensure(n: number): void {
    if (this.outLen + n <= this.out.length) return
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLen + n))
    this.out.copy(next, 0, 0, this.outLen)
    this.out = next
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true
      process.nextTick(this.flushNow)
    }
  }

  private str(s: string): void {
    this.ensure(s.length)
    this.outLen += this.out.write(s, this.outLen, "latin1")
    this.schedule()
  }

  private bytes(v: Uint8Array): void {
    if (v.length >= LARGE_CHUNK) {
      if (this.outLen > 0) {
        this.chunks.push(this.out.subarray(0, this.outLen))
        this.out = Buffer.allocUnsafe(POOLED)
        this.outLen = 0
      }
      this.chunks.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength))
    } else {
      this.ensure(v.length)
      this.out.set(v, this.outLen)
      this.outLen += v.length
    }
    this.schedule()
  }

  private flush(): void {
    this.scheduled = false
    const used = this.outLen
    if (this.chunks.length === 0) {
      if (used === 0) return
      this.sock.write(this.out.subarray(0, used))
    } else {
      if (used > 0) this.chunks.push(this.out.subarray(0, used))
      this.sock.cork()
      for (const c of this.chunks) this.sock.write(c)
      this.sock.uncork()
      this.chunks = []
    }
    // The written buffer belongs to the socket now; start a fresh one sized like this tick's output.
    this.out = Buffer.allocUnsafe(used > POOLED ? used + (used >> 2) : POOLED)
    this.outLen = 0
  }

  // -- input --------------------------------------------------------------------------------

  private fail(e: Error): void {
    if (this.failed !== undefined) return
    this.failed = e
    for (const r of this.fifo.drain()) r.reject(e)
  }

  private complete(): void {
    const r = this.fifo.shift()
    if (r === undefined) return this.fail(new Error("reply without request"))
    if (r.kind === K_MULTI) r.resolve(r.map)
    else if (r.kind === K_GET || r.kind === K_MG) r.resolve(r.value)
    else r.resolve(undefined)
  }

  private deliver(key: string | undefined, value: Buffer): void {
    const r = this.fifo.peek()
    if (r === undefined) return this.fail(new Error("value without request"))
    if (r.kind === K_MULTI) r.map!.set(key!, value)
    else r.value = value
  }

  private onData(chunk: Buffer): void {
    let buf = chunk
    let pos = 0
    if (this.pending !== undefined) {
      const target = this.pending
      const n = Math.min(target.length - this.pendingHave, buf.length)
      buf.copy(target, this.pendingHave, 0, n)
      this.pendingHave += n
      if (this.pendingHave < target.length) return
      pos = n
      this.pending = undefined
      this.deliver(this.pendingKey, target.subarray(0, target.length - 2))
      this.pendingKey = undefined
      if (this.pendingDone) {
        this.pendingDone = false
        this.complete()
      }
    }
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, buf.subarray(pos)])
      this.rest = undefined
      pos = 0
    }
    const end = buf.length
    while (pos < end) {
      const eol = buf.indexOf(10, pos)
      if (eol < 0) {
        this.rest = buf.subarray(pos)
        return
      }
      const c0 = buf[pos]
      if (c0 === 86 /* V */ && buf[pos + 2] === 32 /* "VA " */) {
        // VA <bytes>[ flags]\r\n<data>\r\n : the whole reply of one `mg`
        let p = pos + 3
        let n = 0
        for (let ch = buf[p]!; ch >= 48 && ch <= 57; ch = buf[++p]!) n = n * 10 + (ch - 48)
        const ds = eol + 1
        if (ds + n + 2 <= end) {
          this.deliver(undefined, buf.subarray(ds, ds + n))
          this.complete()
          pos = ds + n + 2
          continue
        }
        const target = Buffer.allocUnsafe(n + 2)
        buf.copy(target, 0, ds, end)
        this.pending = target
        this.pendingHave = end - ds
        this.pendingKey = undefined
        this.pendingDone = true
        return
      }
      if (c0 === 86 /* V */) {
        // VALUE <key> <flags> <bytes>[ <cas>]\r\n
        const ks = pos + 6
        const ke = buf.indexOf(32, ks)
        let p = buf.indexOf(32, ke + 1) + 1
        let n = 0
        for (let ch = buf[p]!; ch >= 48 && ch <= 57; ch = buf[++p]!) n = n * 10 + (ch - 48)
        const head = this.fifo.peek()
        const key = head !== undefined && head.kind === K_MULTI ? buf.latin1Slice(ks, ke) : undefined
        const ds = eol + 1
        if (ds + n + 2 <= end) {
          this.deliver(key, buf.subarray(ds, ds + n))
          pos = ds + n + 2
          continue
        }
        const target = Buffer.allocUnsafe(n + 2)
        buf.copy(target, 0, ds, end)
        this.pending = target
        this.pendingHave = end - ds
        this.pendingKey = key
        return
      }
      if (c0 === 69 /* E */ && (eol - pos === 4 || eol - pos === 3)) this.complete() // END, EN (mg miss)
      else if (c0 === 83 /* S */ && buf[pos + 1] === 84 /* T */) this.complete() // STORED
      else {
        const r = this.fifo.shift()
        const msg = buf.latin1Slice(pos, eol - 1)
        if (r === undefined) return this.fail(new Error(`unexpected reply: ${msg}`))
        r.reject(new Error(msg))
      }
      pos = eol + 1
    }
  }
}

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The raw client over one or more servers (FNV-1a mod n placement). */
export class RawClient {
  private constructor(readonly conns: ReadonlyArray<RawConnection>) {}

  static async connect(servers: ReadonlyArray<string>): Promise<RawClient> {
    const conns = await Promise.all(
      servers.map((s) => {
        const i = s.lastIndexOf(":")
        return RawConnection.connect(s.slice(0, i), Number(s.slice(i + 1)))
      })
    )
    return new RawClient(conns)
  }

  static lazy(servers: ReadonlyArray<string>): RawClient {
    return new RawClient(
      servers.map((s) => {
        const i = s.lastIndexOf(":")
        return RawConnection.connectLazy(s.slice(0, i), Number(s.slice(i + 1)))
      })
    )
  }

  pick(key: string): RawConnection {
    return this.conns.length === 1 ? this.conns[0]! : this.conns[fnv1a(key) % this.conns.length]!
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.pick(key).get(key)
  }

  set(key: string, value: Uint8Array, flags = 0, exptime = 0): Promise<void> {
    return this.pick(key).set(key, value, flags, exptime)
  }

  /** One `mg <key> v` line. */
  mg(key: string): Promise<Buffer | undefined> {
    return this.pick(key).mg(key)
  }

  /** A multi-get as pipelined `mg <key> v` lines (one per key), merged into one Map. */
  getMultiMg(keys: ReadonlyArray<string>): Promise<Map<string, Buffer>> {
    const into = new Map<string, Buffer>()
    let left = keys.length
    return new Promise((resolve, reject) => {
      if (left === 0) return resolve(into)
      for (const k of keys) {
        this.pick(k).mgWith(k, (v) => {
          if (v !== undefined) into.set(k, v)
          if (--left === 0) resolve(into)
        }, reject)
      }
    })
  }

  /** One multi-key `get` per server that owns some of `keys`, merged into one Map. */
  getMulti(keys: ReadonlyArray<string>): Promise<Map<string, Buffer>> {
    const into = new Map<string, Buffer>()
    if (this.conns.length === 1) return this.conns[0]!.getMulti(keys, into)
    const groups: Array<Array<string> | undefined> = new Array(this.conns.length)
    for (const k of keys) {
      const s = fnv1a(k) % this.conns.length
      ;(groups[s] ??= []).push(k)
    }
    const ps: Array<Promise<unknown>> = []
    for (let s = 0; s < groups.length; s++) {
      const g = groups[s]
      if (g !== undefined) ps.push(this.conns[s]!.getMulti(g, into))
    }
    return Promise.all(ps).then(() => into)
  }

  close(): void {
    for (const c of this.conns) c.close()
  }
}

/**
 * memcached's own CPU (`rusage_user + rusage_system` of `stats`, in µs) summed over `servers`, each
 * read on its own short-lived connection (not the measured client's).
 */
export const serverCpuUs = async (servers: ReadonlyArray<string>): Promise<number> => {
  let total = 0
  for (const s of servers) {
    const i = s.lastIndexOf(":")
    const st = await statsOf(s.slice(0, i), Number(s.slice(i + 1)))
    total += (Number(st.rusage_user) + Number(st.rusage_system)) * 1e6
  }
  return total
}

/** `stats` of one server, as a name → value map. */
export const statsOf = (host: string, port: number): Promise<Record<string, string>> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host, port })
    let acc = ""
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error("stats timeout"))
    }, 5000)
    s.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    s.on("data", (d: Buffer) => {
      acc += d.toString("latin1")
      if (acc.endsWith("END\r\n")) {
        clearTimeout(timer)
        s.destroy()
        const out: Record<string, string> = {}
        for (const line of acc.split("\r\n")) {
          const p = line.split(" ")
          if (p[0] === "STAT" && p[1] !== undefined) out[p[1]] = p.slice(2).join(" ")
        }
        resolve(out)
      }
    })
    s.write("stats\r\n")
  })
