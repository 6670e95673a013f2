// PostgreSQL goes away under a steady token load (issue 12, item 5; docs/operations.md): every
// request is answered within 5 s, with 503 and Retry-After rather than a 500; readiness says 503;
// the log says so at most once a second at warn level; within 5 s of the database's return requests
// succeed again, with no pool connection leaked; a write answered 2xx is kept and a refused one
// left nothing. The REST lists run on their own pool of one connection (ADMIN_DB_POOL_MAX), which a
// statement holds as each outage begins: lists too are refused meanwhile and answer again after.
// The server is this test's own (test/helpers/throwaway-pg.ts), never the shared one.
import { generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { connectPostgres } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { buildAppForTest, memoryLogger, newOrg, pem, testConfig } from './helpers/app.js'
import { recordValue } from './helpers/log-capture.js'
import { ascliAssertion, ascliForm } from './helpers/assertions.js'
import { FORM } from './helpers/oauth.js'
import { steadyLoad, type Sample } from './helpers/load.js'
import { canMakePostgres, throwawayPostgres } from './helpers/throwaway-pg.js'

if (!await canMakePostgres()) {
  t.fail('PostgreSQL server binaries (initdb, pg_ctl) are needed: apt-get install postgresql-15')
} else {
  t.setTimeout(180_000)
  const server = await throwawayPostgres()
  t.teardown(server.remove)
  const handle = connectPostgres(server.url, 10)
  await migrateToLatest(handle.db)
  const { logger, lines } = memoryLogger('info')
  // One admin connection: were it left stuck or checked out by the outage, every list after it would fail.
  const config = testConfig({ TOKEN_RATE_LIMIT_PER_MINUTE: '0', ADMIN_DB_POOL_MAX: '1' })
  const app = await buildAppForTest({ config, db: handle, logger })
  t.teardown(async () => { await app.close(); await handle.close() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const org = await newOrg({ app, handle, config })
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { user } = await org.newUser({ public_key: pem(key.publicKey) })

  // Signed beforehand (each has its own jti), so that the load costs this process little besides
  // the server's own work: on a busy machine the test must not starve the server it measures.
  const RATE = 30
  const assertions = await Promise.all(Array.from({ length: RATE * 35 }, async () => await ascliAssertion(key.privateKey, org.clientId, user.email, org.orgName)))
  for (const a of assertions) recordValue('assertion', a)
  const tokens = steadyLoad(async (signal) => await fetch(`${base}/api/v1/oauth2/${org.orgName}/token`, {
    method: 'POST', headers: FORM, signal, body: ascliForm(org.clientId, assertions.pop()!)
  }), RATE)
  let n = 0
  const emails: string[] = []
  const writes = steadyLoad(async (signal) => {
    const email = `outage-${++n}@${org.orgName}.example.com`
    emails.push(email)
    return await fetch(`${base}/api/v1/users`, {
      method: 'POST', signal, headers: { authorization: `Bearer ${org.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ email })
    })
  }, 5)
  const lists = steadyLoad(async (signal) => await fetch(`${base}/api/v1/users?per_page=100`, {
    signal, headers: { authorization: `Bearer ${org.adminToken}` }
  }), 4)
  const ready = steadyLoad(async (signal) => await fetch(`${base}/health/ready`, { signal }), 4)
  const live = steadyLoad(async (signal) => await fetch(`${base}/health/live`, { signal }), 4)
  const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

  // Two outages: PostgreSQL stopped as a service manager stops it (sessions told to end), then as a
  // crash (sockets cut, crash recovery on start).
  // Each begins while a statement holds the admin pool's only connection, as a slow list would.
  interface Outage { mode: 'fast' | 'immediate', stopAt: number, stoppedAt: number, restartAt: number, upAt: number, held: string }
  const outages: Outage[] = []
  const adminBusy = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = 'aoc-admin-reads' AND state = 'active' AND query LIKE 'select pg_sleep%'`.execute(handle.db)).rows[0]!.n > 0
  await sleep(2000)
  for (const [mode, downMs] of [['fast', 6000], ['immediate', 3000]] as const) {
    const holding = sql`select pg_sleep(4)`.execute(app.ctx.adminDb).then(() => 'finished', (err: unknown) => `failed: ${(err as Error).message}`)
    for (let i = 0; i < 100 && !await adminBusy(); i++) await sleep(20)
    const stopAt = tokens.now()
    await server.stop(mode)
    const stoppedAt = tokens.now()
    // It ends with the outage (its session is ended or its socket closed), not at some later timeout.
    const held = await Promise.race([holding, sleep(downMs).then(() => 'still running')])
    await sleep(downMs - (tokens.now() - stoppedAt))
    const restartAt = tokens.now()
    await server.start()
    outages.push({ mode, stopAt, stoppedAt, restartAt, upAt: tokens.now(), held })
    await sleep(6000)
  }
  const [tokenSamples, writeSamples, listSamples, readySamples, liveSamples] = await Promise.all([tokens.stop(), writes.stop(), lists.stop(), ready.stop(), live.stop()])
  for (const o of outages) t.comment(`${o.mode}: stopped in ${Math.round(o.stoppedAt - o.stopAt)} ms, down ${Math.round(o.restartAt - o.stoppedAt)} ms, restarted in ${Math.round(o.upAt - o.restartAt)} ms`)
  t.comment(`${tokenSamples.length} token requests, ${writeSamples.length} writes`)

  // Sent and answered within the window: one still in flight at its edge (PostgreSQL stopping or
  // back meanwhile) may rightly get either answer.
  const sentBetween = (samples: Sample[], from: number, to: number) => samples.filter((s) => s.sentAt >= from && s.doneAt < to)
  const statuses = (samples: Sample[]) => [...new Set(samples.map((s) => s.error ?? s.status))].sort()

  t.test('every request is answered within 5 s, never with a 500 or a hang', async (t) => {
    for (const [name, samples, ok] of [['token', tokenSamples, 200], ['write', writeSamples, 201], ['list', listSamples, 200], ['ready', readySamples, 200], ['live', liveSamples, 200]] as const) {
      t.same(statuses(samples).filter((s) => s !== ok && s !== 503), [], `${name}: only ${ok} and 503`)
      const slowest = Math.max(...samples.map((s) => s.doneAt - s.sentAt))
      t.ok(slowest < 5000, `${name}: the slowest answer took ${Math.round(slowest)} ms`)
    }
    // Answered before the stop began; one still in flight when PostgreSQL began to shut down may rightly get its 503.
    t.same(statuses(tokenSamples.filter((s) => s.doneAt < outages[0]!.stopAt)), [200], 'tokens answered before the outage')
  })

  for (const { mode, stoppedAt, restartAt, upAt, held } of outages) {
    const next = outages.find((o) => o.stopAt > upAt)?.stopAt ?? Infinity
    t.test(`${mode} stop: 503 with Retry-After, in the body each path documents`, async (t) => {
      const during = sentBetween(tokenSamples, stoppedAt + 500, restartAt)
      const expected = (restartAt - stoppedAt - 500) / 1000 * RATE
      t.ok(during.length >= expected * 0.5, `${during.length} token requests sent while the database was down (${Math.round(expected)} expected)`)
      t.same(statuses(during), [503], 'all refused')
      t.same([...new Set(during.map((s) => `${s.retryAfter} ${JSON.stringify(s.body?.error)}`))], ['2 "temporarily_unavailable"'], 'OAuth JSON, Retry-After: 2')
      const writesDuring = sentBetween(writeSamples, stoppedAt + 500, restartAt)
      t.same([...new Set(writesDuring.map((s) => `${s.status} ${s.retryAfter} ${JSON.stringify(s.body?.code)}`))], ['503 2 "service_unavailable"'], 'REST: service_unavailable')
      const listsDuring = sentBetween(listSamples, stoppedAt + 500, restartAt)
      t.same([...new Set(listsDuring.map((s) => `${s.status} ${s.retryAfter} ${JSON.stringify(s.body?.code)}`))], ['503 2 "service_unavailable"'], 'a list, on the admin pool: the same')
      t.match(held, /^failed: /, `the statement that held the admin pool's only connection ended with the outage (${held})`)
      t.same(statuses(sentBetween(readySamples, stoppedAt + 500, restartAt)), [503], '/health/ready is 503')
      t.ok(sentBetween(readySamples, stoppedAt + 500, restartAt).every((s) => s.body?.reason === 'database'), 'and says why')
    })

    t.test(`${mode} stop: within 5 s of the database's return requests succeed again`, async (t) => {
      const firstOk = tokenSamples.find((s) => s.sentAt >= upAt && s.status === 200)
      t.ok(firstOk && firstOk.doneAt - upAt < 5000, `the first token after the restart was answered ${firstOk ? Math.round(firstOk.doneAt - upAt) : '-'} ms after it`)
      t.same(statuses(sentBetween(tokenSamples, upAt + 5000, next)), [200], 'every token request from 5 s after the restart on')
      t.same(statuses(sentBetween(writeSamples, upAt + 5000, next)), [201], 'every write too')
      t.same(statuses(sentBetween(listSamples, upAt + 5000, next)), [200], 'every list: the admin pool\'s only connection was given back')
      t.same(statuses(sentBetween(readySamples, upAt + 5000, next)), [200], 'ready again')
    })
  }

  t.test('/health/live stays 200 throughout', async (t) => {
    t.same(statuses(liveSamples), [200])
  })

  t.test('the pool leaked nothing', async (t) => {
    await sleep(200)
    const pool = handle.poolStats!()
    t.ok(pool.total <= 10 && pool.waiting === 0 && pool.idle === pool.total, `pool: ${JSON.stringify(pool)}: none checked out, none waiting`)
  })

  t.test('a write answered 201 is there; one refused left nothing, not even its audit event', async (t) => {
    const kept = writeSamples.map((s, i) => ({ ...s, email: emails[i]! }))
    const created = kept.filter((s) => s.status === 201)
    const refused = kept.filter((s) => s.status === 503)
    t.ok(created.length > 20 && refused.length > 10, `${created.length} created, ${refused.length} refused`)
    const rows = await handle.db.selectFrom('users').select('email').where('organization_id', '=', org.orgId).where('email', 'like', 'outage-%').execute()
    const stored = new Set(rows.map((r) => r.email))
    t.same(created.filter((s) => !stored.has(s.email)).map((s) => s.email), [], 'every 201 is stored')
    t.same(refused.filter((s) => stored.has(s.email)).map((s) => s.email), [], 'no 503 is stored')
    const events = await handle.db.selectFrom('audit_events').select('target_name').where('organization_id', '=', org.orgId).where('event_type', '=', 'user.created').execute()
    const audited = new Set(events.map((e) => e.target_name))
    t.same(created.filter((s) => !audited.has(s.email)).length, 0, 'each stored user has its audit event')
    t.same(refused.filter((s) => audited.has(s.email)).length, 0, 'no refused one has')
  })

  t.test('the log: at most one warn line a second about it, no error lines, no stack traces', async (t) => {
    const parsed = lines.map((l) => JSON.parse(l) as { level: number, time: number, msg: string, err?: { stack?: string } })
    t.same(parsed.filter((l) => l.level >= 50).map((l) => l.msg), [], 'no error-level line')
    const outage = parsed.filter((l) => l.level === 40 && /database/.test(l.msg))
    t.ok(outage.length >= 3, `${outage.length} warn lines about the database`)
    const gaps = outage.slice(1).map((l, i) => l.time - outage[i]!.time)
    t.ok(gaps.every((g) => g >= 1000), `at least a second apart (shortest ${Math.min(...gaps)} ms)`)
    t.notOk(parsed.some((l) => l.level >= 40 && l.err?.stack), 'no stack trace at warn or above')
  })
}
