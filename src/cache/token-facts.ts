// What the REST API and introspection check of an access token on every request (its user, org and
// client as they are now, and whether it was revoked), kept in memory while the change feed is up,
// so that a token check costs no database round trip (docs/cluster.md). Without the feed (down, or
// the embedded database) every check is the exact query it always was.
import { randomUUID } from 'node:crypto'
import { notifySync, SYNC_TABLE, type Change } from '../db/change-feed.js'
import type { Db } from '../store/db.js'
import { unexpiredRevocations } from '../store/revoked-tokens.js'
import { findTokenHolder, type TokenHolder } from '../store/users.js'
import { RowCache } from './hot-rows.js'

/** Whose token it is, and its id: what every check starts from (the token's verified claims). */
export interface TokenRef { orgId: string, userId: string, clientId: string, jti: string }

export interface TokenFacts {
  /** The token's holder as findTokenHolder answers it (`revoked` included); undefined when the user or org is gone. */
  holder: (ref: TokenRef) => Promise<TokenHolder | undefined>
  /** Drops what a committed change affects; a revocation is added. */
  apply: (change: Change) => void
  /** The feed came up (load the revocations, then answer from memory) or went down (forget all, ask the database). */
  feed: (up: boolean) => void
  /**
   * A write through this instance has committed (a revocation, a deactivation...): until the feed
   * has delivered it, checks ask the database, so that this instance never serves its own change
   * stale, not even for the milliseconds a notification takes. Takes effect at once; the marker
   * that ends it is sent in the background, so that no answer waits on it (nor hangs on a database
   * that stopped answering).
   */
  localWrite: () => void
  /** Whether checks are answered from memory now. */
  inMemory: () => boolean
  /** Stops the periodic reload. */
  close: () => void
}

/**
 * A revoked jti heard of by notification is kept this long: the longest access-token lifetime any
 * instance may be configured with (ADMIN_TOKEN_TTL and USER_TOKEN_TTL are at most a day), since the
 * notification does not carry the token's expiry. Loaded rows keep their own.
 */
const NOTIFIED_REVOCATION_MS = 24 * 3600 * 1000

/**
 * Token facts over `db`. While the feed is up, holders are cached `feedTtlMs` (dropped by changes
 * to their user, client or org) and revocations live in a set loaded from the table and grown by
 * notifications; the set is reloaded every `reloadMs`, which bounds what a notification lost on
 * a connection that looked healthy could cost (the same minute as the row caches).
 */
export function tokenFacts (db: Db, opts: { feedTtlMs?: number, max?: number, reloadMs?: number, now?: () => number } = {}): TokenFacts {
  const { feedTtlMs = 60_000, max = 10_000, reloadMs = 60_000, now = Date.now } = opts
  const holders = new RowCache<TokenRef, Omit<TokenHolder, 'revoked'>>(async (ref) => {
    const row = await findTokenHolder(db, ref)
    if (!row) return undefined
    const { revoked: _ignored, ...facts } = row
    return facts
  }, feedTtlMs, max, 'token_holders')
  // jti → expiry (ms). `pending` holds what notifications added while a load was under way.
  let revoked: Map<string, number> | undefined
  let pending: Map<string, number> | undefined
  let up = false
  let loads = 0
  let timer: NodeJS.Timeout | undefined
  // Local writes whose marker has not come back on the feed yet; while any has not, checks are exact.
  const instance = randomUUID()
  let syncs = 0
  let awaited: string | undefined
  // A marker that could not be sent: the next full load (which reads every revocation) ends the wait instead.
  let unsent: string | undefined

  const load = async (): Promise<void> => {
    const generation = ++loads
    pending = new Map()
    try {
      const rows = await unexpiredRevocations(db)
      if (generation !== loads || !up) return
      const next = new Map(rows.map((r) => [r.jti, r.expiresAt.getTime()]))
      for (const [jti, exp] of pending) next.set(jti, exp)
      revoked = next
      if (unsent !== undefined && awaited === unsent) awaited = undefined
    } catch {
      // The database did not answer: checks keep asking it (exact) until the next reload.
      if (generation === loads) revoked = undefined
    } finally {
      if (generation === loads) pending = undefined
    }
  }
  const prune = (): void => {
    const t = now()
    if (revoked) for (const [jti, exp] of revoked) if (exp <= t) revoked.delete(jti)
  }
  const key = (r: TokenRef): string => `${r.orgId}\u0000${r.userId}\u0000${r.clientId}`

  return {
    holder: async (ref) => {
      const set = revoked
      if (!up || !set || awaited !== undefined) return await findTokenHolder(db, ref)
      const facts = await holders.get(key(ref), ref)
      if (!facts) return undefined
      const exp = set.get(ref.jti)
      return { ...facts, revoked: exp !== undefined && exp > now() }
    },
    apply: (change) => {
      const orgId = change.new.organization_id ?? change.old.organization_id
      const ids = new Set([change.old.id, change.new.id].filter((v): v is string => v !== undefined))
      switch (change.table) {
        case SYNC_TABLE:
          // Every change committed before the latest local write has arrived.
          if (change.new.id === awaited) awaited = undefined
          return
        case 'revoked_tokens': {
          const jti = change.new.jti
          if (jti === undefined) return
          const exp = now() + NOTIFIED_REVOCATION_MS
          revoked?.set(jti, exp)
          pending?.set(jti, exp)
          return
        }
        // Keys are org \0 user \0 client: the changed row's part of it.
        case 'users':
          holders.drop((k) => { const [o, u] = k.split('\u0000'); return o === orgId && ids.has(u!) })
          return
        case 'clients':
          holders.drop((k) => { const [o, , c] = k.split('\u0000'); return o === orgId && ids.has(c!) })
          return
        case 'organizations':
          holders.drop((k) => ids.has(k.split('\u0000')[0]!))
      }
    },
    feed: (isUp) => {
      up = isUp
      awaited = undefined
      holders.clear()
      revoked = undefined
      if (timer) clearInterval(timer)
      timer = undefined
      if (!isUp) { loads++; return }
      load().catch(() => {})
      timer = setInterval(() => { prune(); load().catch(() => {}) }, reloadMs)
      timer.unref()
    },
    localWrite: () => {
      if (!up) return
      const marker = `${instance}:${++syncs}`
      awaited = marker
      holders.clear()
      // Until the next full load, or a state change of the feed, a marker that was not sent keeps checks exact.
      notifySync(db, marker).catch(() => { unsent = marker })
    },
    inMemory: () => up && revoked !== undefined && awaited === undefined,
    close: () => { if (timer) clearInterval(timer); timer = undefined; up = false }
  }
}
