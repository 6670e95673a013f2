// The rows the token endpoint reads on every request, cached per instance: for a second, or for a
// minute while the change feed (db/change-feed.ts) tells this instance of every change.
import { LRUCache } from 'lru-cache'
import type { Change } from '../db/change-feed.js'
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
  /** How long a row loaded now may be kept: `ttlMs`, or longer while the change feed is up (`setTtl`). */
  private ttl: number
  /** Keys with a load under way, and how many callers wait on each. */
  private readonly loading = new Map<string, number>()

  constructor (private readonly load: (context: C) => Promise<V | undefined>, ttlMs: number, max: number, private readonly name = 'rows') {
    this.ttl = ttlMs
    this.counted = { hit: cacheLookups.labels(name, 'hit'), miss: cacheLookups.labels(name, 'miss'), shared: cacheLookups.labels(name, 'shared') }
    this.lru = new LRUCache<string, { row: V | undefined }, C>({
      max,
      ttl: ttlMs,
      fetchMethod: async (_key, _stale, { context }) => ({ row: await load(context) })
    })
  }

  /** The counters of this cache's lookups, by result, bound once (a label lookup per request is not free). */
  private readonly counted: Record<'hit' | 'miss' | 'shared', { inc: () => void }>

  async get (key: string, context: C): Promise<V | undefined> {
    // The common case, a fresh entry, without fetch's bookkeeping. lru-cache's get() answers
    // undefined for a load under way or an expired entry: those go through fetch below.
    const cached = this.lru.get(key)
    if (cached !== undefined) {
      this.counted.hit.inc()
      return cached.row
    }
    const generation = this.generation
    try {
      // lru-cache types the options by whether C may be undefined; a generic C satisfies neither branch.
      const fetch = this.lru.fetch.bind(this.lru) as (k: string, o: { context: C, ttl: number, status: LRUCache.Status<string, unknown> }) => Promise<{ row: V | undefined } | undefined>
      const status: LRUCache.Status<string, unknown> = {}
      // lru-cache's keys() leaves out loads under way; drop() must find them too.
      this.loading.set(key, (this.loading.get(key) ?? 0) + 1)
      const found = await fetch(key, { context, ttl: this.ttl, status }).finally(() => {
        const n = this.loading.get(key)! - 1
        if (n === 0) this.loading.delete(key)
        else this.loading.set(key, n)
      })
      this.counted[status.fetch === 'hit' ? 'hit' : status.fetch === 'inflight' ? 'shared' : 'miss'].inc()
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

  /** Drops the entries whose key `affected` names, loads under way included; returns how many. */
  drop (affected: (key: string) => boolean): number {
    let dropped = 0
    for (const key of new Set([...this.lru.keys(), ...this.loading.keys()])) {
      if (affected(key)) {
        this.lru.delete(key)
        dropped++
      }
    }
    // A load under way for a dropped key is aborted by lru-cache; its callers load again (get's catch).
    if (dropped > 0) this.generation++
    return dropped
  }

  /** The TTL of rows loaded from now on; entries already cached keep theirs. */
  setTtl (ttlMs: number): void { this.ttl = ttlMs }
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
  /** Drops exactly the entries a committed change affects (the change feed); returns how many. */
  apply: (change: Change) => number
  /**
   * The change feed is up (rows are kept `feedTtlMs`: every change will be applied) or down (rows
   * are kept `ttlMs`, and everything cached is forgotten: changes may have been missed).
   */
  feed: (up: boolean) => void
}

/** The values a change's row had before and after it, of one key, without case. */
function valuesOf (change: Change, key: 'id' | 'email' | 'name'): Set<string> {
  const out = new Set<string>()
  for (const v of [change.old[key], change.new[key]]) if (v !== undefined) out.add(v.toLowerCase())
  return out
}

/** The org of a change (before or after: an org id never changes). */
function orgOf (change: Change): string | undefined {
  return change.new.organization_id ?? change.old.organization_id
}

/** Caches of at most `max` rows of each kind, each kept at most `ttlMs`, or `feedTtlMs` while the change feed is up. */
export function hotRows (db: Db, ttlMs = 1000, max = 10_000, feedTtlMs = 60_000): HotRows {
  const orgs = new RowCache<string, Organization>((name) => findOrganizationRowByName(db, name), ttlMs, max, 'organizations')
  const clients = new RowCache<{ orgId: string, id: string }, Client>((c) => findClientRow(db, c.orgId, c.id), ttlMs, max, 'clients')
  const users = new RowCache<{ orgId: string, sub: string }, GrantUser>((u) => findGrantUser(db, u.orgId, u.sub), ttlMs, max, 'users')
  return {
    // A name no org can have never reaches SQL (an odd byte, a long string).
    org: async (name) => ORG_NAME.test(name) ? await orgs.get(name, name) : undefined,
    client: async (orgId, id) => await clients.get(`${orgId}\u0000${id}`, { orgId, id }),
    user: async (orgId, sub) => await users.get(`${orgId}\u0000${sub}`, { orgId, sub }),
    clear: () => { orgs.clear(); clients.clear(); users.clear() },
    apply: (change) => {
      // Keys are `name` (orgs) and `orgId\0id` or `orgId\0sub` (clients, users): what a request asked by.
      const orgId = orgOf(change)
      const inOrg = (key: string, values: Set<string>) => {
        const sep = key.indexOf('\u0000')
        return key.slice(0, sep) === orgId && values.has(key.slice(sep + 1).toLowerCase())
      }
      switch (change.table) {
        case 'organizations': {
          const names = valuesOf(change, 'name')
          return orgs.drop((key) => names.has(key.toLowerCase()))
        }
        case 'clients': {
          const ids = valuesOf(change, 'id')
          return clients.drop((key) => inOrg(key, ids))
        }
        case 'users': {
          // A sub is the user's id or e-mail, in any case: every key that could have found this row, before or after.
          const subs = new Set([...valuesOf(change, 'id'), ...valuesOf(change, 'email')])
          return users.drop((key) => inOrg(key, subs))
        }
        default: return 0
      }
    },
    feed: (up) => {
      for (const cache of [orgs, clients, users]) {
        cache.setTtl(up ? feedTtlMs : ttlMs)
        cache.clear()
      }
    }
  }
}
