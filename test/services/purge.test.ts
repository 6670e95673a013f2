// The purge (src/services/purge.ts; docs/cluster.md): expired rows go in batches of a bounded size
// until none is left, live rows stay, and one instance at a time runs it under an advisory lock.
import { sql } from 'kysely'
import t from 'tap'
import { connectPostgres } from '../../src/db/connect.js'
import { purgeExpired, purgeExpiredOnce } from '../../src/services/purge.js'
import { PURGE_LOCK, withAdvisoryLock } from '../../src/store/locks.js'
import { buildAppForTest, testConfig } from '../helpers/app.js'
import { dbKind, holdAdvisoryLock, testDb } from '../helpers/db.js'

const handle = await testDb()
t.teardown(async () => { await handle.close() })
const { db } = handle

async function addJtis (n: number, expired: boolean, prefix: string): Promise<void> {
  const when = expired ? sql`now() - interval '1 minute'` : sql`now() + interval '1 hour'`
  await sql`INSERT INTO assertion_jtis (client_id, jti, expires_at) SELECT 'purge-client', ${prefix} || g, ${when} FROM generate_series(1, ${n}) g`.execute(db)
}
const count = async (): Promise<number> => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM assertion_jtis WHERE client_id = 'purge-client'`.execute(db)).rows[0]!.n)

t.test('expired rows go in batches until none is left; live rows stay', async (t) => {
  await addJtis(23, true, 'old-')
  await addJtis(5, false, 'live-')
  t.equal(await purgeExpired(db, undefined, { batch: 5, duty: 1 }), 23, '23 expired rows, in five statements of five at most')
  t.equal(await count(), 5, 'the live ones stay')
  t.equal(await purgeExpired(db, undefined, { batch: 5, duty: 1 }), 0, 'nothing more')
})

t.test('the pace: a pause after each statement, and a stop between two', async (t) => {
  await addJtis(23, true, 'paced-')
  const stop = new AbortController()
  // duty 0.0001: after each statement a pause of 9,999 times its length (seconds), so the purge is
  // still in its first pause when the rows are counted below, unless it does not pause at all.
  const purging = purgeExpired(db, undefined, { batch: 5, duty: 0.0001, signal: stop.signal })
  const end = Date.now() + 20_000
  while (await count() > 23 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await count(), 23, 'one statement of five ran (5 live + 18 expired left): then it paused')
  stop.abort()
  t.equal(await purging, 5, 'the stop ends the pause, and the purge says what it removed')
  t.equal(await count(), 23, 'nothing more was deleted after the stop')
  t.equal(await purgeExpired(db, undefined, { batch: 5, duty: 1 }), 18, 'the next purge takes the rest')
  await t.rejects(purgeExpired(db, undefined, { duty: 0 }), RangeError, 'a duty of 0 would never end')
  await t.rejects(purgeExpired(db, undefined, { duty: 2 }), RangeError)
})

if (dbKind === 'postgres') {
  t.test('one instance at a time: while another session holds the lock, the purge skips its turn', async (t) => {
    // Another instance: its own pool on the same database.
    const other = connectPostgres(handle.url!, 2)
    t.teardown(async () => { await other.close() })
    await addJtis(3, true, 'held-')
    const release = await holdAdvisoryLock(other.db, PURGE_LOCK)
    t.equal(await purgeExpiredOnce(db), undefined, 'skipped: the other instance holds the lock')
    t.equal(await count(), 8, 'and deleted nothing')
    await release()
    t.equal(await purgeExpiredOnce(db), 3, 'runs once the lock is free')
    t.equal(await count(), 5)
  })
} else {
  t.test('the embedded database has one session: the purge always runs', async (t) => {
    await addJtis(2, true, 'solo-')
    t.equal(await purgeExpiredOnce(db), 2)
  })

  t.test('the embedded database: a job under the lock leaves its only connection to the requests', async (t) => {
    // Were the job to hold PGlite's one connection, this query from outside it would wait for the job's end: forever.
    const outside = async () => await Promise.race([
      count().then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => { resolve('still waiting after 5 s') }, 5000))
    ])
    const outcome = await withAdvisoryLock(db, PURGE_LOCK, outside)
    t.same(outcome, { ran: true, result: 'answered' })
  })
}

t.test('PURGE_INTERVAL: an app purges on its timer; with 0 it never does', async (t) => {
  const build = async (interval: string) => {
    const app = await buildAppForTest({ config: testConfig({ PURGE_INTERVAL: interval }), db: handle })
    t.teardown(async () => { await app.close() })
    return app
  }
  const off = await build('0')
  await addJtis(4, true, 'timer-off-')
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(await count(), 9, 'with 0, the expired rows are still there 2.5 s later (5 live + 4 expired)')
  await off.close()
  await build('1')
  // Within a second or two; 20 s allows for a starved test machine.
  const end = Date.now() + 20_000
  while (await count() > 5 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await count(), 5, 'every second: the expired rows go, the live ones stay')
})

t.test('closing the app stops a paced purge between two statements', async (t) => {
  await addJtis(12_000, true, 'close-')
  // With PURGE_DUTY=0.0001 the first statement of 5,000 rows is followed by a pause of hours.
  const app = await buildAppForTest({ config: testConfig({ PURGE_INTERVAL: '1', PURGE_DUTY: '0.0001' }), db: handle })
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })
  const end = Date.now() + 20_000
  while (await count() > 7_005 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(await count(), 7_005, 'one batch of 5,000 went (7,000 expired + 5 live left)')
  await app.close()
  closed = true
  t.equal(await count(), 7_005, 'close returned without deleting the rest: the purge stopped in its pause')
  t.equal(await purgeExpired(db, undefined, { duty: 1 }), 7_000)
})
