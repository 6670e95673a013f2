// Owner of the `assertion_jtis` table: the jtis of JWT-bearer assertions already used, per client,
// until the assertions expire (RFC 7523 §3: replay protection).
import { sql } from 'kysely'
import { jtiBatchSize } from '../metrics.js'
import { deleteBatch, type Db } from './db.js'

interface Pending { clientId: string, jti: string, expiresAt: Date, resolve: (fresh: boolean) => void, reject: (err: unknown) => void }

const keyOf = (clientId: string, jti: string) => `${clientId}\u0000${jti}`

/**
 * Records assertion jtis, each for its client until it expires. A jti seen before, on this
 * instance or any other, answers false. The records of the requests that arrive together (one turn
 * of the event loop, at most `maxBatch`) go in one multi-row insert that does nothing on a
 * duplicate: one round trip and one commit for many tokens, where a row per request made the
 * insert the token endpoint's largest cost. Within a batch the first of two equal jtis wins.
 */
export class JtiRecorder {
  private pending: Pending[] = []
  private scheduled = false

  constructor (private readonly db: Db, private readonly maxBatch = 256) {}

  record (clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ clientId, jti, expiresAt, resolve, reject })
      if (this.pending.length >= this.maxBatch) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush (): void {
    this.scheduled = false
    const batch = this.pending.splice(0)
    if (batch.length === 0) return
    const unique = new Map<string, Pending>()
    for (const p of batch) {
      const key = keyOf(p.clientId, p.jti)
      if (unique.has(key)) p.resolve(false)
      else unique.set(key, p)
    }
    const rows = [...unique.values()]
    jtiBatchSize.observe(rows.length)
    const settle = (ps: Pending[], fresh: Set<string>) => { for (const p of ps) p.resolve(fresh.has(keyOf(p.clientId, p.jti))) }
    this.insert(rows).then((fresh) => { settle(rows, fresh) }, (err: unknown) => {
      if (rows.length === 1) {
        rows[0]!.reject(err)
        return
      }
      // The batch mixes requests of every client and org: one row the database refuses must fail
      // only its own request, so each is tried again alone.
      for (const p of rows) this.insert([p]).then((fresh) => { settle([p], fresh) }, p.reject)
    })
  }

  /** Inserts the rows that are new; returns the keys it inserted. */
  private async insert (rows: Pending[]): Promise<Set<string>> {
    const inserted = await this.db.insertInto('assertion_jtis')
      .values(rows.map((p) => ({ client_id: p.clientId, jti: p.jti, expires_at: p.expiresAt })))
      .onConflict((oc) => oc.columns(['client_id', 'jti']).doNothing())
      .returning(['client_id', 'jti'])
      .execute()
    return new Set(inserted.map((r) => keyOf(r.client_id, r.jti)))
  }
}

/** Deletes the records of assertions that have expired; returns how many. */
export async function purgeAssertionJtis (db: Db, limit?: number): Promise<number> {
  return await deleteBatch(db, 'assertion_jtis', sql`expires_at < now()`, limit)
}
