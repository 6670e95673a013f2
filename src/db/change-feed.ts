// The change feed's listening end (docs/cluster.md): one dedicated connection per instance that
// LISTENs on aoc_changes (migrations/0006_change_feed.sql), so that a change committed through any
// instance, the CLI or plain SQL reaches every instance's caches at once. If the connection drops,
// the instance says so (`up` false: its caches fall back to their short TTL) and reconnects with
// backoff; on reconnection the caller must assume it missed changes.
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.js'

export const CHANGE_CHANNEL = 'aoc_changes'

/** A row's keys before and after a change (absent: the row did not exist then). */
export interface RowKeys {
  id?: string
  organization_id?: string
  email?: string
  name?: string
  user_id?: string
  client_id?: string
  jti?: string
}

export interface Change {
  table: string
  old: RowKeys
  new: RowKeys
}

/** The pseudo-table of a marker an instance sends itself (notifySync): it names no row. */
export const SYNC_TABLE = '_sync'

/**
 * Sends a marker on the feed's channel. PostgreSQL delivers notifications in commit order, so when
 * a listener hears this marker it has heard every change committed before it was sent.
 */
export async function notifySync (db: Kysely<Database>, marker: string): Promise<void> {
  await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify({ table: SYNC_TABLE, old: {}, new: { id: marker } })})`.execute(db)
}

/** A notification's payload as a Change; undefined for anything else (a payload we did not send). */
export function parseChange (payload: string | undefined): Change | undefined {
  if (!payload) return undefined
  try {
    const v = JSON.parse(payload) as Partial<Change>
    if (typeof v.table !== 'string') return undefined
    return { table: v.table, old: v.old ?? {}, new: v.new ?? {} }
  } catch {
    return undefined
  }
}

export interface ChangeFeedEvents {
  change: (change: Change) => void
  /** The feed came up (true: every change from now on will arrive) or went down (false). */
  state: (up: boolean, reason?: string) => void
}

export interface ChangeFeed {
  /** Whether the listening connection is open and listening now. */
  up: () => boolean
  close: () => Promise<void>
}

/** Backoff between reconnection attempts: 0.25 s doubling to 10 s. */
const retryDelay = (attempt: number): number => Math.min(10_000, 250 * 2 ** Math.min(attempt, 6))

/** Listens on `url` until closed; calls `events` from then on. Resolves once the first attempt settles. */
export async function listenForChanges (url: string, events: ChangeFeedEvents): Promise<ChangeFeed> {
  let client: pg.Client | undefined
  let up = false
  // What the caller was last told; undefined until the first attempt settles, so a start without
  // the feed is reported too.
  let reported: boolean | undefined
  let closed = false
  let attempt = 0
  let timer: NodeJS.Timeout | undefined
  const down = (reason: string) => {
    if (closed) return
    client?.removeAllListeners()
    client?.on('error', () => {})
    client?.end().catch(() => {})
    client = undefined
    up = false
    if (reported !== false) {
      reported = false
      events.state(false, reason)
    }
    timer = setTimeout(() => { connect().catch(() => {}) }, retryDelay(attempt++))
    timer.unref()
  }
  const connect = async () => {
    if (closed) return
    // Named, so that an operator (and a test) can tell it in pg_stat_activity.
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, keepAlive: true, application_name: 'aoc-change-feed' })
    client = c
    c.on('error', (err) => { if (client === c) down(err.message) })
    c.on('end', () => { if (client === c) down('the connection ended') })
    c.on('notification', (msg) => {
      const change = msg.channel === CHANGE_CHANNEL ? parseChange(msg.payload) : undefined
      if (change) events.change(change)
    })
    try {
      await c.connect()
      await c.query(`LISTEN ${CHANGE_CHANNEL}`)
      if (closed || client !== c) return
      attempt = 0
      up = true
      reported = true
      events.state(true)
    } catch (err) {
      if (client === c) down((err as Error).message)
    }
  }
  await connect()
  return {
    up: () => up,
    close: async () => {
      closed = true
      clearTimeout(timer)
      const c = client
      client = undefined
      if (c) {
        c.removeAllListeners()
        c.on('error', () => {})
        await c.end().catch(() => {})
      }
    }
  }
}
