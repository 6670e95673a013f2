// The scheduled key rotation's turn (src/services/signing-keys.ts rotateSigningKeyIfDue; docs/cluster.md):
// it rotates only when the newest key began to sign an interval ago, counts a key published and not
// yet signing as done, records the event, and one instance at a time takes it under an advisory lock,
// so that any number of instances make one key per interval. The clock is a plain variable.
import { sql } from 'kysely'
import t from 'tap'
import { connectPostgres } from '../../src/db/connect.js'
import { ensureSigningKey } from '../../src/keys/signing-keys.js'
import { SecretBox } from '../../src/keys/secret-box.js'
import { rotateSigningKeyIfDue, type RotationSchedule } from '../../src/services/signing-keys.js'
import type { Db } from '../../src/store/db.js'
import { KEY_ROTATION_LOCK } from '../../src/store/locks.js'
import { listSigningKeyDates } from '../../src/store/signing-keys.js'
import { dbKind, holdAdvisoryLock, testDb } from '../helpers/db.js'

const handle = await testDb()
t.teardown(async () => { await handle.close() })
const { db } = handle
const box = new SecretBox(Buffer.alloc(32, 5))

const DAY = 24 * 3600
const INTERVAL = 90 * DAY
const DELAY = 600
const MAX_TTL = 3600
const ms = (seconds: number) => seconds * 1000

let clock = 0
const schedule: RotationSchedule = { alg: 'ES256', interval: INTERVAL, publishDelay: DELAY, maxTokenTtl: MAX_TTL, now: () => new Date(clock) }
const src = { organizationId: null, actor: { type: 'system' as const }, log: { info: () => {} } }
const turn = async (on: Db = db) => await rotateSigningKeyIfDue(on, box, src, schedule)
const rotationEvents = async () => (await sql<{ actor_type: string, organization_id: string | null, target_id: string }>`
  SELECT actor_type, organization_id, target_id FROM audit_events WHERE event_type = 'signing_key.rotated' ORDER BY created_at`.execute(db)).rows

/** A database with one key, which began to sign at `clock`'s start. */
async function freshKey (t: Tap): Promise<Date> {
  await db.deleteFrom('signing_keys').execute()
  await sql`DELETE FROM audit_events WHERE event_type = 'signing_key.rotated'`.execute(db)
  clock = Date.parse('2030-01-01T00:00:00Z')
  await ensureSigningKey(db, box, 'ES256', new Date(clock))
  t.equal((await listSigningKeyDates(db)).length, 1)
  return new Date(clock)
}
type Tap = Pick<typeof t, 'equal'>

t.test('not due before the interval; due at it; a key published and not yet signing counts as done', async (t) => {
  const first = await freshKey(t)
  clock = first.getTime() + ms(INTERVAL) - 1000
  t.same(await turn(), { outcome: 'not_due', dueAt: new Date(first.getTime() + ms(INTERVAL)) }, 'a second early: nothing')
  t.equal((await listSigningKeyDates(db)).length, 1)
  t.same(await rotationEvents(), [])

  clock = first.getTime() + ms(INTERVAL)
  const rotated = await turn()
  t.match(rotated, { outcome: 'rotated', kid: /^[A-Za-z0-9_-]{43}$/ })
  if (rotated.outcome !== 'rotated') return
  t.same(rotated.activatesAt, new Date(clock + ms(DELAY)), 'it signs KEY_PUBLISH_DELAY after it is published')
  const [old, next] = await listSigningKeyDates(db)
  t.same(next?.activates_at, rotated.activatesAt)
  t.same(old?.retires_at, rotated.activatesAt, 'the old key stops signing when the new one starts')
  t.same(old?.unpublish_at, new Date(rotated.activatesAt.getTime() + ms(MAX_TTL + 60)), 'and is published until its longest token has expired, plus a minute')
  t.same(await rotationEvents(), [{ actor_type: 'system', organization_id: null, target_id: rotated.kid }], 'one event, of the whole server, by the system')

  for (const at of [clock, clock + ms(DELAY) - 1, rotated.activatesAt.getTime() + ms(INTERVAL) - 1000]) {
    clock = at
    t.same(await turn(), { outcome: 'not_due', dueAt: new Date(rotated.activatesAt.getTime() + ms(INTERVAL)) }, `not due at ${new Date(at).toISOString()}: the interval counts from the new key's activation`)
  }
  t.equal((await listSigningKeyDates(db)).length, 2)
  clock = rotated.activatesAt.getTime() + ms(INTERVAL)
  t.match(await turn(), { outcome: 'rotated' }, 'due an interval after the new key began to sign')
  t.equal((await listSigningKeyDates(db)).length, 3)
})

t.test('a late turn (the instances were down for a year) makes one key, not one per interval missed', async (t) => {
  const first = await freshKey(t)
  clock = first.getTime() + ms(4 * INTERVAL + 17)
  t.match(await turn(), { outcome: 'rotated' })
  t.match(await turn(), { outcome: 'not_due' })
  t.equal((await listSigningKeyDates(db)).length, 2)
})

if (dbKind === 'postgres') {
  t.test('instances taking their turns at once: one key per interval, however many turns', async (t) => {
    const pools = [connectPostgres(handle.url!, 2), connectPostgres(handle.url!, 2), connectPostgres(handle.url!, 2)]
    t.teardown(async () => { for (const p of pools) await p.close() })
    const first = await freshKey(t)
    clock = first.getTime() + ms(INTERVAL) + 5000
    const outcomes: string[] = []
    for (let round = 0; round < 5; round++) {
      const turns = await Promise.all(pools.flatMap((p) => [turn(p.db), turn(p.db)]))
      outcomes.push(...turns.map((r) => r.outcome))
    }
    t.equal(outcomes.filter((o) => o === 'rotated').length, 1, `one turn rotated (${outcomes.join(', ')})`)
    t.ok(outcomes.every((o) => o === 'rotated' || o === 'busy' || o === 'not_due'))
    t.equal((await listSigningKeyDates(db)).length, 2, 'one new key')
    t.equal((await rotationEvents()).length, 1, 'one event')
  })

  t.test('while another instance holds the lock, the turn is skipped and makes nothing', async (t) => {
    const other = connectPostgres(handle.url!, 2)
    t.teardown(async () => { await other.close() })
    const first = await freshKey(t)
    clock = first.getTime() + ms(INTERVAL)
    const release = await holdAdvisoryLock(other.db, KEY_ROTATION_LOCK)
    t.same(await turn(), { outcome: 'busy' })
    t.equal((await listSigningKeyDates(db)).length, 1)
    await release()
    t.match(await turn(), { outcome: 'rotated' }, 'taken once the lock is free')
  })
} else {
  t.test('the embedded database has one session: turns follow one another, one key', async (t) => {
    const first = await freshKey(t)
    clock = first.getTime() + ms(INTERVAL)
    const turns = await Promise.all([turn(), turn(), turn()])
    t.same(turns.map((r) => r.outcome).sort(), ['not_due', 'not_due', 'rotated'])
    t.equal((await listSigningKeyDates(db)).length, 2)
  })
}

t.test('an interval of 0 is refused: 0 means the app schedules no rotation', async (t) => {
  await t.rejects(rotateSigningKeyIfDue(db, box, src, { ...schedule, interval: 0 }), RangeError)
})
