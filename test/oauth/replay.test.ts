import t from 'tap'
import { sql } from 'kysely'
import { JtiRecorder } from '../../src/store/assertion-jtis.js'
import { purgeExpired } from '../../src/services/purge.js'
import { testDb } from '../helpers/db.js'

const handle = await testDb()
t.teardown(() => handle.close())
const { db } = handle
const later = () => new Date(Date.now() + 60_000)

t.test('a jti is accepted once per client, also within one batch and across instances', async (t) => {
  const a = new JtiRecorder(db)
  const b = new JtiRecorder(db)
  const same = await Promise.all([a.record('c1', 'j1', later()), a.record('c1', 'j1', later()), b.record('c1', 'j1', later())])
  t.same(same.filter(Boolean).length, 1, 'one of three concurrent uses wins, whichever instance')
  t.equal(await a.record('c1', 'j1', later()), false, 'a later use is a replay')
  t.equal(await b.record('c2', 'j1', later()), true, 'another client may use the same jti')
  const many = await Promise.all(Array.from({ length: 600 }, (_, i) => a.record('c3', `j${i % 300}`, later())))
  t.equal(many.filter(Boolean).length, 300, 'batches larger than the batch size keep the rule')
})

t.test('expired records are purged, live ones kept', async (t) => {
  const r = new JtiRecorder(db)
  t.ok(await r.record('c9', 'old', new Date(Date.now() - 1000)))
  t.ok(await r.record('c9', 'new', later()))
  await db.insertInto('revoked_tokens').values({ jti: 'gone', expires_at: new Date(Date.now() - 1000) }).execute()
  t.ok(await purgeExpired(db) >= 2)
  const left = await db.selectFrom('assertion_jtis').select('jti').where('client_id', '=', 'c9').execute()
  t.same(left.map((x) => x.jti), ['new'])
  t.equal((await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', 'gone').execute()).length, 0)
  t.ok((await sql<{ n: number }>`select count(*)::int as n from assertion_jtis`.execute(db)).rows[0]!.n > 0)
})

t.test('a row the database refuses fails only its own caller, not the others of its batch', async (t) => {
  const r = new JtiRecorder(db)
  // A client id that breaks the insert: NUL is not allowed in PostgreSQL text.
  const results = await Promise.allSettled([r.record('bad\u0000id', 'x', later()), r.record('c10', 'fine', later()), r.record('c11', 'fine', later())])
  t.equal(results[0]!.status, 'rejected', 'the bad row gets the error')
  t.same(results.slice(1), [{ status: 'fulfilled', value: true }, { status: 'fulfilled', value: true }], 'the others are recorded as new')
  t.equal(await r.record('c10', 'fine', later()), false, 'and were stored: their reuse is a replay')
})
