import fs from 'node:fs/promises'
import path from 'node:path'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { PGLITE_EXTENSIONS } from './pglite-extensions.js'
import { PgliteThread, PgliteThreadDialect, type ThreadStart } from './pglite-thread.js'
import type { Database } from './schema.js'
import { DutyPool } from './duty-pool.js'

export { PGLITE_EXTENSIONS }

/** Which back end a Db runs on; tests and logs name it. */
export type DbKind = 'postgres' | 'pglite'

export interface DbHandle {
  db: Kysely<Database>
  kind: DbKind
  /** Closes the pool (or the embedded database); waits for checked-out connections. */
  close: () => Promise<void>
  /** The server's URL, for the change feed's own connection; undefined for the embedded database. */
  url?: string
  /** The pool's connections by state, for the metrics; undefined for the embedded database (one session, no pool). */
  poolStats?: () => { total: number, idle: number, waiting: number }
}

// bigint counts come back as strings from pg; we only count rows, which fit a JS number.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10))

/** Options of a pool's connections. */
export interface PoolOptions {
  /** The server's statement_timeout for every statement on these connections, ms (0 or absent: none). */
  statementTimeoutMs?: number
  /** Shown in pg_stat_activity, so an operator tells the pools apart. */
  applicationName?: string
  /** The share of wall time each connection may be busy (DutyPool); absent or 1: no pause. */
  duty?: number
}

/** Connects to PostgreSQL at `url`. */
export function connectPostgres (url: string, poolMax = 10, options: PoolOptions = {}): DbHandle {
  // A server that does not answer a connection within 3 s is down as far as a request is concerned:
  // the request gets its 503 well within the 5 s that docs/operations.md promises, rather than a hang.
  // Keep-alive finds a connection whose server vanished without a word (a network cut).
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: 3000,
    keepAlive: true,
    // Sent in the start-up packet: the server applies it to every statement of the session.
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.applicationName ? { application_name: options.applicationName } : {})
  })
  // A connection checked out of the pool has no 'error' listener of the pool's: if its server ends it
  // between two statements (PostgreSQL stopped mid-transaction), the unhandled event would end the
  // process. The next statement on it fails instead, and the pool discards it on release.
  pool.on('connect', (client) => { client.on('error', () => {}) })
  // An idle connection the server ends (restart, pg_terminate_backend, DROP ... WITH (FORCE) while
  // the pool is still closing it) makes the pool emit 'error'; unhandled, that kills the process.
  // The pool has already discarded the connection and the next query opens a new one.
  pool.on('error', () => {})
  const paced = options.duty !== undefined && options.duty < 1 ? new DutyPool(pool, options.duty) : pool
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: paced }) })
  return {
    db,
    kind: 'postgres',
    url,
    close: () => db.destroy(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })
  }
}

// The handles connectPglite made. The embedded database is one session in this process: code that
// would otherwise hold a connection for a whole job (an advisory lock) asks isEmbedded instead of
// being told the back end by its caller.
const embedded = new WeakSet<Kysely<Database>>()

/** Whether `db` is the embedded database (PGlite: one session, one instance); false for a pool or a transaction. */
export function isEmbedded (db: Kysely<Database>): boolean {
  return embedded.has(db)
}

/**
 * Opens the embedded PostgreSQL. `dataDir` undefined keeps it in memory (tests); `pglite` lets a
 * caller pass an already opened or cloned instance.
 */
export async function connectPglite (dataDir?: string, pglite?: PGlite): Promise<DbHandle> {
  let instance = pglite
  if (!instance) {
    if (dataDir) await fs.mkdir(path.dirname(dataDir), { recursive: true })
    instance = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: PGLITE_EXTENSIONS })
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(instance) })
  embedded.add(db)
  return { db, kind: 'pglite', close: () => db.destroy() }
}

/**
 * Opens the embedded PostgreSQL in a worker thread of its own (EMBEDDED_DB_THREAD=worker): its SQL
 * runs beside the event loop instead of on it, so a slow statement delays the statements queued
 * behind it, not every request. `start.dataDir` undefined keeps it in memory (tests, from
 * `start.loadDataDir` when given). A transaction has the session to itself, as with connectPglite.
 */
export async function connectPgliteWorker (start: ThreadStart = {}): Promise<DbHandle> {
  if (start.dataDir) await fs.mkdir(path.dirname(start.dataDir), { recursive: true })
  const thread = await PgliteThread.start(start)
  const db = new Kysely<Database>({ dialect: new PgliteThreadDialect(thread) })
  return { db, kind: 'pglite', close: () => db.destroy() }
}
