// How long `aoc-auth db export` takes for a larger embedded install: makes one in a temporary
// DATA_DIR with SQL (USERS users, a tenth as many clients, consents and refresh tokens, one
// organization), then runs the export's service into a fresh database on the PostgreSQL server at
// BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), which it drops afterwards.
//   USERS=100000 npx tsx bench/db-export.ts
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { connectPglite, connectPostgres } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { exportDatabase } from '../src/services/database-export.js'

const users = Number(process.env.USERS ?? 100_000)
const batchSize = Number(process.env.BATCH_SIZE ?? 1000)
const serverUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aoc-export-bench-'))
const dbName = 'aoc_export_bench_' + randomBytes(4).toString('hex')
const admin = connectPostgres(serverUrl, 1)

try {
  let t0 = Date.now()
  const source = await connectPglite(path.join(dir, 'pgdata'))
  await migrateToLatest(source.db)
  const clients = Math.max(1, Math.floor(users / 10))
  const later = sql`now() + interval '30 days'`
  // The setup only: the change feed's trigger per row made it several times slower (PGlite runs as superuser).
  await sql`SET session_replication_role = replica`.execute(source.db)
  await sql`INSERT INTO organizations (id, name) VALUES ('o', 'bench')`.execute(source.db)
  await sql`INSERT INTO users (id, organization_id, email, public_key) SELECT 'u' || i, 'o', 'user' || i || '@bench.example.com', 'key ' || i FROM generate_series(1, ${users}) i`.execute(source.db)
  await sql`INSERT INTO clients (id, organization_id, name, redirect_uris, secret_encrypted, secret_hash) SELECT 'c' || i, 'o', 'client ' || i, '["https://app.example.com/cb"]', 'ciphertext ' || i, 'hash ' || i FROM generate_series(1, ${clients}) i`.execute(source.db)
  await sql`INSERT INTO consents (id, organization_id, user_id, client_id, scopes) SELECT 'k' || i, 'o', 'u' || i, 'c' || i, '["user:all"]' FROM generate_series(1, ${clients}) i`.execute(source.db)
  await sql`INSERT INTO refresh_tokens (token_hash, family_id, organization_id, client_id, user_id, scope, expires_at, idle_expires_at, access_token_jti, access_token_expires_at)
    SELECT 'h' || i, 'f' || i, 'o', 'c' || i, 'u' || i, 'user:all', ${later}, ${later}, 'j' || i, ${later} FROM generate_series(1, ${clients}) i`.execute(source.db)
  process.stdout.write(`embedded install made: ${users} users, ${clients} clients, consents and refresh tokens, in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)

  await sql.raw(`CREATE DATABASE ${dbName}`).execute(admin.db)
  const url = new URL(serverUrl)
  url.pathname = '/' + dbName
  const target = connectPostgres(url.toString(), 2)
  t0 = Date.now()
  const result = await exportDatabase(source.db, target.db, { batchSize })
  const seconds = (Date.now() - t0) / 1000
  const rows = result.tables.reduce((sum, x) => sum + x.rows, 0)
  process.stdout.write(`exported ${rows} rows in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s, batches of ${batchSize}, migrations included)\n`)
  await target.close()
  await source.close()
} finally {
  await sql.raw(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).execute(admin.db).catch(() => {})
  await admin.close()
  await fs.rm(dir, { recursive: true, force: true })
}
