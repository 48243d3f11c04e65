/**
 * Grouping keys by the server they are routed to: the one place this is done, for the client's
 * `getMany`, its bulk writes and `Bulk`. Plain JavaScript, no Effect.
 *
 * @since 0.1.0
 */

/**
 * Groups `items` by `route(keyOf(item))`, keeping each group in input order; the first item wins
 * when two share a key (`unique`, default true). Never throws unless `route` does.
 *
 * @since 0.1.0
 * @category grouping
 */
export const groupByServer = <A>(
  items: Iterable<A>,
  keyOf: (item: A) => string,
  route: (key: string) => number,
  unique = true
): Map<number, Array<A>> => {
  const groups = new Map<number, Array<A>>()
  const seen = unique ? new Set<string>() : undefined
  for (const item of items) {
    const key = keyOf(item)
    if (seen !== undefined) {
      if (seen.has(key)) continue
      seen.add(key)
    }
    const s = route(key)
    const g = groups.get(s)
    if (g === undefined) groups.set(s, [item])
    else g.push(item)
  }
  return groups
}

/**
 * Splits every group into chunks of at most `max` items: `[server, chunk]` pairs, servers in first-seen
 * order.
 *
 * @since 0.1.0
 * @category grouping
 */
export const chunkGroups = <A>(groups: Map<number, Array<A>>, max: number): Array<[number, ReadonlyArray<A>]> => {
  const out: Array<[number, ReadonlyArray<A>]> = []
  for (const [s, items] of groups) {
    for (let i = 0; i < items.length; i += max) out.push([s, items.slice(i, i + max)])
  }
  return out
}
