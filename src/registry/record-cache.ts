/**
 * A small in-process cache of database rows for the token endpoint's hot path. Entries live at
 * most `ttlMs` (1 s by default): a change made by another instance or by the CLI reaches this one
 * within that bound. A change made through this instance's API clears the cache at once (see
 * app.ts), so the instance that took a change never serves the old row. Missing rows are not
 * cached, so a new client or user works at once everywhere.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V, until: number }>()

  constructor (private readonly ttlMs = 1000, private readonly maxEntries = 10_000) {}

  async get (key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const now = Date.now()
    const hit = this.entries.get(key)
    if (hit && hit.until > now) return hit.value
    const value = await load()
    if (value === undefined) {
      this.entries.delete(key)
      return undefined
    }
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, until: now + this.ttlMs })
    return value
  }

  clear (): void { this.entries.clear() }
}
