/**
 * Reply lines of the in-memory server as bytes, shared by the text, meta and admin commands.
 *
 * @since 0.2.0
 */

const lines = new Map<string, Buffer>()
/** How many distinct lines are kept; lines past it (numbers, mostly) are built each time. */
const CACHED_LINES = 4096

/**
 * A reply line with its CRLF, as latin1 bytes; the first {@link CACHED_LINES} distinct lines are
 * cached (the returned Buffer is shared: never write into it). Never throws.
 *
 * @since 0.2.0
 */
export const line = (text: string): Buffer => {
  let b = lines.get(text)
  if (b === undefined) {
    b = Buffer.from(text + "\r\n", "latin1")
    if (lines.size < CACHED_LINES) lines.set(text, b)
  }
  return b
}
