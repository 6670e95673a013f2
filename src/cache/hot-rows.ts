// The rows the token endpoint reads on every request, cached for a second per instance.
import { LRUCache } from 'lru-cache'
import type { Client, Organization } from '../db/schema.js'
import { cacheLookups } from '../metrics.js'
import { ORG_NAME } from '../paths.js'
import { findClientRow } from '../store/clients.js'
import type { Db } from '../store/db.js'
import { findOrganizationRowByName } from '../store/organizations.js'
import { findGrantUser, type GrantUser } from '../store/users.js'

/**
 * One kind of row, by key. Entries live at most `ttlMs`: a change made by another instance or by
 * the CLI reaches this one within that bound; a change made through this instance's API clears the
 * cache at once (routes/api.ts). Concurrent misses of one key share one load (lru-cache's fetch).
 * A missing row is cached too, so an unknown e-mail costs what a known one costs and a flood of
 * unknown names does not reach the database. A load under way when the cache is cleared may have
 * read the old row: lru-cache then drops it, and its callers get a fresh load instead.
 */
export class RowCache<C, V> {
  private readonly lru: LRUCache<string, { row: V | undefined }, C>
  private generation = 0

  constructor (private readonly load: (context: C) => Promise<V | undefined>, ttlMs: number, max: number, private readonly name = 'rows') {
    this.lru = new LRUCache<string, { row: V | undefined }, C>({
      max,
      ttl: ttlMs,
      fetchMethod: async (_key, _stale, { context }) => ({ row: await load(context) })
    })
  }

  async get (key: string, context: C): Promise<V | undefined> {
    const generation = this.generation
    try {
      // lru-cache types the options by whether C may be undefined; a generic C satisfies neither branch.
      const fetch = this.lru.fetch.bind(this.lru) as (k: string, o: { context: C, status: LRUCache.Status<string, unknown> }) => Promise<{ row: V | undefined } | undefined>
      const status: LRUCache.Status<string, unknown> = {}
      const found = await fetch(key, { context, status })
      cacheLookups.inc({ cache: this.name, result: status.fetch === 'hit' ? 'hit' : status.fetch === 'inflight' ? 'shared' : 'miss' })
      return found?.row
    } catch (err) {
      if (generation !== this.generation) return await this.load(context)
      throw err
    }
  }

  clear (): void {
    this.generation++
    this.lru.clear()
  }
}

/** The row caches of the token endpoint's hot path; callers ask by what they know, never by a key. */
export interface HotRows {
  /** The organization of this name. */
  org: (name: string) => Promise<Organization | undefined>
  /** The org's client with this id, secret columns included. */
  client: (orgId: string, id: string) => Promise<Client | undefined>
  /** The org's user that a JWT-bearer assertion's `sub` names (e-mail without case, or id). */
  user: (orgId: string, sub: string) => Promise<GrantUser | undefined>
  /** Forgets everything, at once (a change was made through this instance's API). */
  clear: () => void
}

/** Caches of at most `max` rows of each kind, each kept at most `ttlMs`. */
export function hotRows (db: Db, ttlMs = 1000, max = 10_000): HotRows {
  const orgs = new RowCache<string, Organization>((name) => findOrganizationRowByName(db, name), ttlMs, max, 'organizations')
  const clients = new RowCache<{ orgId: string, id: string }, Client>((c) => findClientRow(db, c.orgId, c.id), ttlMs, max, 'clients')
  const users = new RowCache<{ orgId: string, sub: string }, GrantUser>((u) => findGrantUser(db, u.orgId, u.sub), ttlMs, max, 'users')
  return {
    // A name no org can have never reaches SQL (an odd byte, a long string).
    org: async (name) => ORG_NAME.test(name) ? await orgs.get(name, name) : undefined,
    client: async (orgId, id) => await clients.get(`${orgId}\u0000${id}`, { orgId, id }),
    user: async (orgId, sub) => await users.get(`${orgId}\u0000${sub}`, { orgId, sub }),
    clear: () => { orgs.clear(); clients.clear(); users.clear() }
  }
}
