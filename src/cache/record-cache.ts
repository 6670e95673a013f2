/**
 * A small in-process cache of database rows for the token endpoint's hot path. Entries live at
 * most `ttlMs` (1 s by default): a change made by another instance or by the CLI reaches this one
 * within that bound. A change made through this instance's API clears the cache at once (see
 * app.ts), so the instance that took a change never serves the old row.
 *
 * A missing row is cached too, for the same bound: an unknown e-mail then costs what a known one
 * costs (no query either way), so the answer's timing does not tell whether the e-mail exists, and
 * a flood of unknown names does not reach the database.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V | undefined, until: number }>()
  // Bumped by clear(): a load that began before a clear may have read the old row, so its result
  // is handed to its caller but not stored.
  private generation = 0

  constructor (private readonly ttlMs = 1000, private readonly maxEntries = 10_000) {}

  async get (key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const now = Date.now()
    const hit = this.entries.get(key)
    if (hit && hit.until > now) return hit.value
    const generation = this.generation
    const value = await load()
    if (generation !== this.generation) return value
    if (!hit && this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, until: now + this.ttlMs })
    return value
  }

  clear (): void {
    this.entries.clear()
    this.generation++
  }
}
