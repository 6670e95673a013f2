// The purge (src/services/purge.ts; docs/cluster.md): expired rows go in batches of a bounded size
// until none is left, live rows stay, and one instance at a time runs it under an advisory lock.
import { sql } from 'kysely'
import t from 'tap'
import { connectPostgres } from '../../src/db/connect.js'
import { purgeExpired, purgeExpiredOnce } from '../../src/services/purge.js'
import { PURGE_LOCK } from '../../src/store/locks.js'
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
  t.equal(await purgeExpired(db, undefined, 5), 23, '23 expired rows, in five statements of five at most')
  t.equal(await count(), 5, 'the live ones stay')
  t.equal(await purgeExpired(db, undefined, 5), 0, 'nothing more')
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
