/**
 * Growth data: one organization grown to the size issue 11 measures (1,000,000 users, a tenth as
 * many clients, memberships, client authorizations, consents, codes and refresh tokens, a hundredth
 * as many groups, five jti rows per user), with set-based SQL (INSERT … SELECT FROM
 * generate_series) rather than a million API calls, so that it takes well under a minute.
 *
 * Used two ways:
 * - `growOrganization(client, …)` from another bench (bench/scale.ts), on a migrated database
 *   whose organization the CLI created;
 * - `npx tsx bench/growth.ts [users]` alone: creates a database `growth_<users>` on BENCH_PG_URL,
 *   migrates it, grows organization `growth`, prints the timings and keeps the database for
 *   EXPLAIN (GROWTH_DROP=1 drops it at the end).
 *
 * This is bench data, not application code: it writes the tables directly (scripts/check-table-owners.mjs
 * checks src/ only). It needs a superuser: it sets session_replication_role = replica, which skips
 * the change feed's triggers (one pg_notify per row) and the foreign-key checks, as pg_restore
 * does; the rows it makes are consistent by construction.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

/** How much to grow; everything else scales with `users`. */
export interface GrowthSize {
  users: number
  /** Users that get `public_key` (the many-users token case); at most `users`. */
  keyedUsers: number
}

export function growthSize (users: number): GrowthSize {
  return { users, keyedUsers: Math.min(users, 100_000) }
}

/** What was made, and how long each step took (ms). */
export interface GrowthReport {
  rows: Record<string, number>
  ms: Record<string, number>
  totalMs: number
}

/** The tables grown, in an order that respects the foreign keys (checked or not). */
const TABLES = ['users', 'clients', 'groups', 'group_memberships', 'client_authorizations', 'consents',
  'authorization_codes', 'refresh_tokens', 'assertion_jtis'] as const

// An id of the shape newId() makes (22 base64url characters), derived from a seed so reruns agree.
const ID = (seed: string) => `rtrim(translate(encode(decode(md5(${seed}), 'hex'), 'base64'), '+/', '-_'), '=')`

/**
 * Grows organization `orgId` on a migrated database. Growth user i has e-mail user<i>@growth.example
 * and name "User <i>"; users 1..keyedUsers hold `publicKeyPem` (one key for all: the server caches a
 * parsed key by its PEM text, so each request still looks its user up, but parses no key). Every
 * 10,000th user is an administrator and every 50th deactivated (a token bench leaves those out). Timestamps are spread over the past
 * year in user order, so created_at orders rows as creation did.
 */
export async function growOrganization (client: pg.Client, orgId: string, size: GrowthSize, publicKeyPem: string): Promise<GrowthReport> {
  const n = size.users
  const nClients = Math.max(1, Math.floor(n / 10))
  const nGroups = Math.max(1, Math.floor(n / 100))
  const tenth = Math.max(1, Math.floor(n / 10))
  const ms: Record<string, number> = {}
  const t0 = performance.now()
  const step = async (name: string, text: string, values: unknown[] = []): Promise<void> => {
    const t = performance.now()
    await client.query(text, values)
    ms[name] = Math.round(performance.now() - t)
  }

  await client.query('BEGIN')
  try {
    await client.query('SET LOCAL session_replication_role = replica')
    await client.query("SET LOCAL maintenance_work_mem = '256MB'")
    await client.query('SET LOCAL synchronous_commit = off')
    // Secondary indexes are dropped and rebuilt after the load: one sorted build beats a million
    // random insertions (and a trigram GIN index takes far longer row by row). Constraint indexes
    // (primary keys, UNIQUE constraints) stay, since foreign keys depend on them.
    const { rows: indexes } = await client.query<{ name: string, def: string }>(`
      SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
      WHERE i.schemaname = current_schema() AND i.tablename = ANY ($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`, [TABLES])
    for (const ix of indexes) await client.query(`DROP INDEX ${pg.escapeIdentifier(ix.name)}`)
    // So are primary keys and UNIQUE constraints that no foreign key references (assertion_jtis'
    // key: 5 million random (client_id, jti) insertions into a btree larger than shared_buffers
    // took 258 s; one sorted build takes seconds).
    const { rows: constraints } = await client.query<{ tbl: string, name: string, def: string }>(`
      SELECT c.conrelid::regclass::text AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
      WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY ($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)`, [TABLES])
    for (const c of constraints) await client.query(`ALTER TABLE ${pg.escapeIdentifier(c.tbl)} DROP CONSTRAINT ${pg.escapeIdentifier(c.name)}`)

    await step('users', `
      INSERT INTO users (id, organization_id, email, name, first_name, last_name, organization_admin, deactivated, public_key, created_at, updated_at)
      SELECT ${ID("'u' || i")}, $1, 'user' || i || '@growth.example', 'User ' || i, 'User', i::text,
             i % 10000 = 0, i % 50 = 0, CASE WHEN i <= $3 THEN $4 END,
             now() - interval '365 days' + i * (interval '365 days' / $2::int), now()
      FROM generate_series(1, $2) AS i`, [orgId, n, size.keyedUsers, publicKeyPem])
    await step('clients', `
      INSERT INTO clients (id, organization_id, name, origins, redirect_uris, token_endpoint_auth_method, jwt_grant_enabled, created_at, updated_at)
      SELECT ${ID("'c' || i")}, $1, 'client ' || i, jsonb_build_array('https://app' || i || '.growth.example'),
             jsonb_build_array('https://app' || i || '.growth.example/cb'), 'none', false,
             now() - interval '365 days' + i * (interval '365 days' / $2::int), now()
      FROM generate_series(1, $2) AS i`, [orgId, nClients])
    await step('groups', `
      INSERT INTO groups (id, organization_id, name, created_at, updated_at)
      SELECT ${ID("'g' || i")}, $1, 'group ' || i, now() - interval '365 days' + i * (interval '365 days' / $2::int), now()
      FROM generate_series(1, $2) AS i`, [orgId, nGroups])
    await step('group_memberships', `
      INSERT INTO group_memberships (id, organization_id, group_id, member_type, member_id, created_at)
      SELECT ${ID("'m' || i")}, $1, ${ID("'g' || (1 + i % $3)")}, 'user', ${ID("'u' || i")}, now() - interval '1 day' + i * interval '1 ms'
      FROM generate_series(1, $2) AS i`, [orgId, tenth, nGroups])
    // Half of them list users on client 1 (one client with many: ?client_id= must page them), the
    // rest one group each on the other clients.
    await step('client_authorizations', `
      INSERT INTO client_authorizations (id, organization_id, client_id, entity_type, entity_id, created_at)
      SELECT ${ID("'a' || i")}, $1,
             CASE WHEN i % 2 = 0 THEN ${ID("'c1'")} ELSE ${ID("'c' || (1 + i % $3)")} END,
             CASE WHEN i % 2 = 0 THEN 'user' ELSE 'group' END,
             CASE WHEN i % 2 = 0 THEN ${ID("'u' || i")} ELSE ${ID("'g' || (1 + i % $4)")} END,
             now() - interval '1 day' + i * interval '1 ms'
      FROM generate_series(1, $2) AS i
      `, [orgId, tenth, nClients, nGroups])
    await step('consents', `
      INSERT INTO consents (id, organization_id, user_id, client_id, scopes)
      SELECT ${ID("'s' || i")}, $1, ${ID("'u' || i")}, ${ID("'c' || (1 + i % $3)")}, '["user:all"]'
      FROM generate_series(1, $2) AS i`, [orgId, tenth, nClients])
    await step('authorization_codes', `
      INSERT INTO authorization_codes (code_hash, organization_id, client_id, user_id, redirect_uri, redirect_uri_given, scope, expires_at, used_at)
      SELECT md5('code' || i), $1, ${ID("'c' || (1 + i % $3)")}, ${ID("'u' || i")}, 'https://app.growth.example/cb', true, 'user:all',
             now() + interval '1 hour', now()
      FROM generate_series(1, $2) AS i`, [orgId, tenth, nClients])
    await step('refresh_tokens', `
      INSERT INTO refresh_tokens (token_hash, family_id, organization_id, client_id, user_id, scope, expires_at, idle_expires_at, access_token_jti, access_token_expires_at)
      SELECT md5('refresh' || i), md5('family' || i), $1, ${ID("'c' || (1 + i % $3)")}, ${ID("'u' || i")}, 'user:all',
             now() + interval '30 days', now() + interval '30 days', md5('jti' || i), now() + interval '1 hour'
      FROM generate_series(1, $2) AS i`, [orgId, tenth, nClients])
    // Not yet expired, so that the purge leaves them during a bench. The clients are numbered and
    // hash-joined: a subscript into an array of 100,000 text ids walks it from the start each time.
    await step('assertion_jtis', `
      INSERT INTO assertion_jtis (client_id, jti, expires_at)
      SELECT c.id, md5('assertion' || i), now() + interval '1 day'
      FROM generate_series(1, $1) AS i
      JOIN (SELECT id, row_number() OVER () - 1 AS k FROM clients WHERE organization_id = $2) AS c ON c.k = i % $3`, [5 * n, orgId, nClients])

    const tIx = performance.now()
    for (const c of constraints) await client.query(`ALTER TABLE ${pg.escapeIdentifier(c.tbl)} ADD CONSTRAINT ${pg.escapeIdentifier(c.name)} ${c.def}`)
    for (const ix of indexes) await client.query(ix.def)
    ms.indexes = Math.round(performance.now() - tIx)
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  }
  // Statistics for the planner, and the visibility map for index-only scans (autovacuum may be off,
  // or not yet have run).
  const tv = performance.now()
  await client.query(`VACUUM (ANALYZE) ${TABLES.join(', ')}`)
  ms.vacuum_analyze = Math.round(performance.now() - tv)

  const counts = await client.query<Record<string, number>>(`SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(', ')}`)
  return { rows: counts.rows[0]!, ms, totalMs: Math.round(performance.now() - t0) }
}

/**
 * `count` plain users (no key, not administrators) in organization `orgId`, e-mails
 * plain<i>@bench.example: a small org's other members, apart from growOrganization's numbering.
 */
export async function addPlainUsers (client: pg.Client, orgId: string, count: number): Promise<void> {
  await client.query(`
    INSERT INTO users (id, organization_id, email, name, first_name, last_name, organization_admin, deactivated, created_at, updated_at)
    SELECT ${ID("'plain' || i")}, $1, 'plain' || i || '@bench.example', 'Plain ' || i, 'Plain', i::text, false, false, now(), now()
    FROM generate_series(1, $2) AS i`, [orgId, count])
}

/** Prints a report as aligned lines. */
export function printGrowth (report: GrowthReport): void {
  for (const [table, count] of Object.entries(report.rows)) {
    console.log(`  ${table.padEnd(22)} ${String(count).padStart(10)} rows${report.ms[table] !== undefined ? `  ${String(report.ms[table]).padStart(7)} ms` : ''}`)
  }
  console.log(`  indexes rebuilt in ${report.ms.indexes} ms, VACUUM (ANALYZE) ${report.ms.vacuum_analyze} ms; total ${(report.totalMs / 1000).toFixed(1)} s`)
}

async function main (): Promise<void> {
  const users = Number(process.argv[2] ?? process.env.GROWTH_USERS ?? 1_000_000)
  if (!Number.isInteger(users) || users < 100) throw new Error('usage: growth.ts [users >= 100]')
  const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const dbName = `growth_${users}`
  const admin = new pg.Client({ connectionString: pgUrl })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${dbName}`)
  const url = new URL(pgUrl)
  url.pathname = `/${dbName}`
  try {
    // The application's migrations, as the server would run them at start.
    const { connectPostgres } = await import('../src/db/connect.js')
    const { migrateToLatest } = await import('../src/db/migrate.js')
    const handle = connectPostgres(url.toString(), 1)
    await migrateToLatest(handle.db)
    await handle.close()

    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    try {
      await client.query("INSERT INTO organizations (id, name) VALUES ('growth-org', 'growth')")
      const { generateKeyPairSync } = await import('node:crypto')
      const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
      console.log(`growing organization 'growth' in database ${dbName} to ${users} users...`)
      printGrowth(await growOrganization(client, 'growth-org', growthSize(users), pem))
    } finally {
      await client.end()
    }
    if (process.env.GROWTH_DROP === '1') await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`)
    else console.log(`kept database ${dbName} (DROP DATABASE ${dbName} when done)`)
  } finally {
    await admin.end()
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`growth failed: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  })
}
