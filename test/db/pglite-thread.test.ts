// The embedded database in its own thread (src/db/pglite-thread.ts, EMBEDDED_DB_THREAD=worker):
// what callers saw with PGlite on the event loop still holds. A transaction has the one session to
// itself, a failed one frees it, values and errors come back as PGlite made them, and a thread that
// ends leaves errors that read as "database unavailable".
import { sql } from 'kysely'
import t from 'tap'
import { connectPgliteWorker } from '../../src/db/connect.js'
import { isDatabaseUnavailable, isUniqueViolation } from '../../src/db/errors.js'

const handle = await connectPgliteWorker()
t.teardown(async () => { await handle.close() })
const db = handle.db
await sql`create table things (id int primary key, note text)`.execute(db)

const count = async () => (await sql<{ n: number }>`select count(*)::int as n from things`.execute(db)).rows[0]!.n

t.test('a statement sent during a transaction waits for its end, and never sees it half done', async (t) => {
  let seen: number | undefined
  const tx = db.transaction().execute(async (trx) => {
    await sql`insert into things values (1, 'a')`.execute(trx)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await sql`insert into things values (2, 'b')`.execute(trx)
  })
  const outside = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 10))
    seen = await count()
  })()
  await Promise.all([tx, outside])
  t.equal(seen, 2, 'it ran after the commit')
})

t.test('a failed transaction is rolled back and frees the session', async (t) => {
  const failed = await db.transaction().execute(async (trx) => {
    await sql`insert into things values (3, 'c')`.execute(trx)
    await sql`insert into things values (1, 'again')`.execute(trx)
  }).then(() => undefined, (err: unknown) => err)
  t.ok(isUniqueViolation(failed), 'PGlite\'s error with its SQLSTATE')
  t.match(failed, { constraint: 'things_pkey', table: 'things' }, 'and its fields')
  t.equal(await count(), 2, 'row 3 went with the rollback')
})

t.test('values come back as PGlite makes them', async (t) => {
  const row = (await sql<{ d: Date, b: Uint8Array, j: unknown, big: bigint }>`select now() as d, '\\x0102'::bytea as b, '{"a":1}'::jsonb as j, 9007199254740993::int8 as big`.execute(db)).rows[0]!
  t.ok(row.d instanceof Date, 'timestamptz: a Date')
  t.same([...row.b], [1, 2], 'bytea: bytes')
  t.same(row.j, { a: 1 }, 'jsonb: parsed')
  t.equal(row.big, 9007199254740993n, 'int8 past 2^53: a bigint')
  const inserted = await db.insertInto('things' as never).values({ id: 4, note: 'd' } as never).executeTakeFirst()
  t.equal(inserted.numInsertedOrUpdatedRows, 1n, 'the affected row count')
})

t.test('many statements at once all answer, each its own', async (t) => {
  const answers = await Promise.all(Array.from({ length: 200 }, async (_, i) => (await sql<{ i: number }>`select ${i}::int as i`.execute(db)).rows[0]!.i))
  t.same(answers, Array.from({ length: 200 }, (_, i) => i))
})

t.test('a closed handle is unavailable', async (t) => {
  const other = await connectPgliteWorker()
  await sql`select 1`.execute(other.db)
  await other.close()
  const err = await sql`select 1`.execute(other.db).then(() => undefined, (e: unknown) => e)
  t.ok(isDatabaseUnavailable(err), 'kysely\'s error once closed: unavailable')
})
