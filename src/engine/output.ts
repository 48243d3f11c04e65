/**
 * A connection's output buffer: encoded commands appended in one growable `Buffer`, large values handed
 * off as their own chunks (never copied), taken all at once when the connection flushes. Plain
 * JavaScript, no Effect, no socket.
 *
 * @since 0.1.0
 */

/** The size at which a connection flushes early, without waiting for the end of the tick. */
export const FLUSH_AT = 64 * 1024
const HAND_OFF_AT = 16 * 1024
/** Strings up to this many code units are copied in JavaScript (a native call costs more). */
const SHORT = 8

/**
 * Bytes waiting to be written. Never throws.
 *
 * @since 0.1.0
 * @category models
 */
export class OutputBuffer {
  private out = Buffer.allocUnsafe(FLUSH_AT + 1024)
  private len = 0
  private parts: Array<Uint8Array> = []

  /** Bytes in the current buffer (not counting chunks already sealed or handed off). */
  get length(): number {
    return this.len
  }

  /**
   * Appends `s` as UTF-8. Calls the buffer's `utf8Write` binding directly: for the one-byte strings
   * that ASCII keys make, V8 copies them as fast as a latin1 write (measured equal), and it skips
   * `Buffer#write`'s argument decoding (~30% of a short write). Non-ASCII keys stay correct.
   */
  writeString(s: string): void {
    const n = s.length
    const need = this.len + n * 3
    if (need > this.out.length) this.grow(need)
    if (n <= SHORT) {
      // A short ASCII string (the CRLF after every value, `mn`): stored byte by byte, cheaper than the
      // native call. The first non-ASCII code unit hands the whole string to `utf8Write`.
      const out = this.out
      const at = this.len
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        out[at + i] = c
      }
      if (i === n) {
        this.len = at + n
        return
      }
    }
    this.len += this.out.utf8Write(s, this.len)
  }

  writeBytes(b: Uint8Array): void {
    if (b.length >= HAND_OFF_AT) {
      this.seal()
      this.parts.push(b)
      return
    }
    const need = this.len + b.length
    if (need > this.out.length) this.grow(need)
    this.out.set(b, this.len)
    this.len += b.length
  }

  /**
   * Everything buffered, emptying the buffer: one `Buffer` (the common case), several chunks to write in
   * order (corked), or `undefined` when there is nothing.
   */
  take(): Buffer | Array<Uint8Array> | undefined {
    if (this.parts.length === 0) return this.len === 0 ? undefined : this.takeOut()
    this.seal()
    const parts = this.parts
    this.parts = []
    return parts
  }

  /** Drops everything buffered (the connection closed). */
  clear(): void {
    this.parts = []
    this.len = 0
  }

  /** Makes room for `need - len` more bytes: seals what is filled, then replaces the buffer only if too small. */
  private grow(need: number): void {
    const more = need - this.len
    this.seal()
    if (more > this.out.length) this.out = Buffer.allocUnsafe(more + FLUSH_AT)
  }

  /** Moves the filled part of the buffer into `parts`. */
  private seal(): void {
    if (this.len === 0) return
    this.parts.push(this.takeOut())
  }

  private takeOut(): Buffer {
    const len = this.len
    this.len = 0
    if (len < HAND_OFF_AT) {
      const copy = Buffer.allocUnsafe(len)
      this.out.copy(copy, 0, 0, len)
      return copy
    }
    const filled = this.out.subarray(0, len)
    this.out = Buffer.allocUnsafe(FLUSH_AT + 1024)
    return filled
  }
}

declare global {
  interface Buffer {
    utf8Write(s: string, offset: number): number
  }
}
