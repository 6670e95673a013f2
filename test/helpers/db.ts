import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { connectPglite, connectPgliteWorker, connectPostgres, PGLITE_EXTENSIONS, type DbHandle } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import type { Db } from '../../src/store/db.js'
import { withAdvisoryLock } from '../../src/store/locks.js'

/**
 * One migrated database for a test file. With TEST_DATABASE_URL (a server's admin URL), a fresh
 * database is created on that server and dropped at the end; otherwise an in-memory PGlite,
 * loaded from the migrated template that scripts/test.mjs dumps once (PGLITE_TEMPLATE), or
 * created and migrated here when there is none. The PGlite runs in a thread of its own, as the
 * server's default does, unless EMBEDDED_DB_THREAD=main.
 */
export async function testDb (): Promise<DbHandle> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (serverUrl) return await serverDb()
  const template = process.env.PGLITE_TEMPLATE
  if (process.env.EMBEDDED_DB_THREAD !== 'main') {
    const handle = await connectPgliteWorker(template ? { loadDataDir: await fs.readFile(template) } : {})
    await migrateToLatest(handle.db)
    return handle
  }
  if (template) {
    const blob = new Blob([await fs.readFile(template)])
    const instance = await PGlite.create({ loadDataDir: blob, extensions: PGLITE_EXTENSIONS })
    const handle = await connectPglite(undefined, instance)
    await migrateToLatest(handle.db)
    return handle
  }
  const handle = await connectPglite()
  await migrateToLatest(handle.db)
  return handle
}

/**
 * Fills `dataDir`/pgdata with the migrated template (PGLITE_TEMPLATE), so that a server started on
 * `dataDir` in a process of its own opens an embedded database that is already migrated instead of
 * creating and migrating one (seconds of WASM on a busy machine). For tests whose subject is not the
 * first start (test/server.test.ts's is). Without a template (the PostgreSQL pass) it does nothing:
 * the process creates it. Answers whether it filled it.
 */
export async function seedEmbeddedDataDir (dataDir: string): Promise<boolean> {
  const template = process.env.PGLITE_TEMPLATE
  if (!template) return false
  const blob = new Blob([await fs.readFile(template)])
  const instance = await PGlite.create({ dataDir: path.join(dataDir, 'pgdata'), loadDataDir: blob, extensions: PGLITE_EXTENSIONS })
  await instance.close()
  return true
}

/** The kind of database the suite runs on, for test names and skips. */
export const dbKind = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'

async function serverDb (): Promise<DbHandle> {
  const server = (await serverDatabaseUrl())!
  const handle = connectPostgres(server.url, 5)
  await migrateToLatest(handle.db)
  return {
    ...handle,
    /** Also drops the database, so a run leaves the server as it found it. */
    close: async () => {
      await handle.close()
      await server.drop()
    }
  }
}

/** A URL for the server database of this test run (for tests that start a real process). */
export async function serverDatabaseUrl (): Promise<{ url: string, drop: () => Promise<void> } | undefined> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) return undefined
  const name = 'aoc_test_' + randomBytes(6).toString('hex')
  const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: serverUrl, max: 1 }) }) })
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin)
  const url = new URL(serverUrl)
  url.pathname = '/' + name
  return {
    url: url.toString(),
    drop: async () => {
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin)
      await admin.destroy()
    }
  }
}

/**
 * Takes advisory lock `key` on `db` (another instance's pool) as a background job holds it, and
 * keeps it until the returned function is called; that function resolves once it is let go.
 */
export async function holdAdvisoryLock (db: Db, key: number): Promise<() => Promise<void>> {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let started: () => void = () => {}
  const holding = new Promise<void>((resolve) => { started = resolve })
  const run = withAdvisoryLock(db, key, async () => { started(); await held })
  await Promise.race([holding, run.then((r) => { if (!r.ran) throw new Error(`advisory lock ${key} is taken`) })])
  return async () => {
    release()
    await run
  }
}
