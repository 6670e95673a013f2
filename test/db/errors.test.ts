// What counts as "the database is unavailable" (src/db/errors.ts, docs/operations.md): the errors
// that a closed handle throws, taken from the drivers themselves, and the SQLSTATEs and socket
// codes of a server that is away; a statement that is wrong is not.
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'kysely'
import t from 'tap'
import { connectPglite, connectPostgres } from '../../src/db/connect.js'
import { isDatabaseUnavailable } from '../../src/db/errors.js'

/** What `run` throws. */
async function thrown (run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (err) {
    return err
  }
  throw new Error('it did not throw')
}

t.test('a closed PGlite is unavailable, whether closed itself or through its handle', async (t) => {
  const instance = await PGlite.create()
  const handle = await connectPglite(undefined, instance)
  await sql`select 1`.execute(handle.db)
  await instance.close()
  const closed = await thrown(async () => await sql`select 1`.execute(handle.db))
  t.match(closed, { message: 'PGlite is closed' }, 'PGlite\'s own error')
  t.ok(isDatabaseUnavailable(closed), 'PGlite is closed: unavailable')
  const inTransaction = await thrown(async () => await handle.db.transaction().execute(async (tx) => await sql`select 1`.execute(tx)))
  t.ok(isDatabaseUnavailable(inTransaction), 'a transaction on it too')
  t.ok(isDatabaseUnavailable(new Error('PGlite is closing')), 'PGlite is closing: unavailable')
})

t.test('a closed handle is unavailable: kysely\'s error once DbHandle.close has run', async (t) => {
  // A pool on a port where nothing listens: the first statement starts the driver (and is refused).
  const handle = connectPostgres('postgres://127.0.0.1:1/none')
  t.ok(isDatabaseUnavailable(await thrown(async () => await sql`select 1`.execute(handle.db))), 'refused: unavailable')
  await handle.close()
  const destroyed = await thrown(async () => await sql`select 1`.execute(handle.db))
  t.match(destroyed, { message: 'driver has already been destroyed' }, 'kysely\'s error for a closed handle')
  t.ok(isDatabaseUnavailable(destroyed), 'a closed handle: unavailable')
})

t.test('a server that is away is unavailable; a wrong statement or a bug is not', async (t) => {
  const unavailable: unknown[] = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    new Error('Connection terminated unexpectedly'),
    new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })
  ]
  for (const err of unavailable) t.ok(isDatabaseUnavailable(err), (err as Error).message)
  const not: unknown[] = [
    Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
    Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' }),
    new Error('PGlite is closed, said a message that only starts so'),
    new TypeError('Cannot read properties of undefined'),
    undefined,
    'PGlite is closed'
  ]
  for (const err of not) t.notOk(isDatabaseUnavailable(err), String((err as Error | undefined)?.message ?? err))
})
