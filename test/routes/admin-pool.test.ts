// The REST lists' own pool (context.ts adminDb): on PostgreSQL, statements there end after
// ADMIN_STATEMENT_TIMEOUT_MS and the request gets a 503 with Retry-After, while the token path's
// pool has no timeout and keeps answering. PGlite has one session: the lists share it, untimed.
import { sql } from 'kysely'
import t from 'tap'
import { isStatementTimeout } from '../../src/db/errors.js'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { dbKind } from '../helpers/db.js'

// 1 ms: any list that reads thousands of rows passes it, while the auth check (main pool) is untimed.
const ta = await buildTestApp(t, { ADMIN_STATEMENT_TIMEOUT_MS: '1' })
const { app } = ta
const { db, adminDb } = app.ctx

if (dbKind === 'pglite') {
  t.test('PGlite: the lists use the one session, without a statement timeout', async (t) => {
    t.equal(adminDb, db, 'the same database handle')
    const org = await newOrg(ta)
    const res = await call(app, org.adminToken, 'GET', '/api/v1/users?q=z')
    t.equal(res.statusCode, 200)
  })
} else {
  const org = await newOrg(ta)
  // Enough rows that a one-letter search (no trigram to use) scans for well over a millisecond.
  await sql`INSERT INTO users (id, organization_id, email, name)
    SELECT 'slow-' || i, ${org.orgId}, 'user' || i || '@slow.example', 'User ' || i FROM generate_series(1, 50000) AS i`.execute(db)

  t.test('the admin pool has the statement timeout, the token path none', async (t) => {
    const show = async (d: typeof db) => (await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(d)).rows[0]!.statement_timeout
    t.equal(await show(adminDb), '1ms')
    t.equal(await show(db), '0')
    const apps = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'aoc-admin-reads' AND datname = current_database()`.execute(db)).rows[0]!.n
    t.ok(apps >= 1, 'its connections are named aoc-admin-reads in pg_stat_activity')
  })

  t.test('a list past the timeout is a 503 with Retry-After; the token path still answers', async (t) => {
    const res = await call(app, org.adminToken, 'GET', '/api/v1/users?q=z&per_page=1000')
    t.equal(res.statusCode, 503)
    t.equal(res.headers['retry-after'], '2')
    t.equal(res.json().code, 'service_unavailable')
    // GET /self reads through the main pool (and the auth check did too).
    const self = await call(app, org.adminToken, 'GET', '/api/v1/self')
    t.equal(self.statusCode, 200)
  })

  t.test('57014 is a timeout only when the server says statement timeout, not a cancel', async (t) => {
    const timedOut = await sql`SELECT pg_sleep(0.2)`.execute(adminDb).then(() => undefined, (err: unknown) => err)
    t.match(timedOut, { code: '57014' })
    t.ok(isStatementTimeout(timedOut), 'statement_timeout')
    // A cancel asked for from another session: the same SQLSTATE, another message.
    const sleeping = sql`SELECT pg_sleep(5)`.execute(db).then(() => undefined, (err: unknown) => err)
    let cancelled = false
    for (let i = 0; i < 50 && !cancelled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const r = await sql<{ ok: boolean }>`SELECT pg_cancel_backend(pid) AS ok FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND datname = current_database()`.execute(db)
      cancelled = r.rows.some((row) => row.ok)
    }
    const cancel = await sleeping
    t.match(cancel, { code: '57014' })
    t.notOk(isStatementTimeout(cancel), 'a requested cancel is not a timeout')
  })
}
