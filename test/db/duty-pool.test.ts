// The admin lists' pool pause (src/db/duty-pool.ts) on a stand-in for pg.Pool: what matters is when
// a released connection goes back, which the stand-in records. Timings are lower bounds (a timer
// never fires early) or bounds far from the pause, so a busy machine cannot fail them.
import t from 'tap'
import type pg from 'pg'
import { DutyPool, MAX_PAUSE_MS } from '../../src/db/duty-pool.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** A pool of one connection: connect() waits until the last checkout's release reached it. */
function standIn () {
  const returns: Array<{ at: number, destroy: unknown }> = []
  let free: Promise<void> = Promise.resolve()
  let ended = false
  const pool = {
    async connect () {
      await free
      let give!: () => void
      free = new Promise((resolve) => { give = resolve })
      return {
        query: async () => ({ rows: [] }),
        release: (destroy?: unknown) => { returns.push({ at: performance.now(), destroy }); give() }
      }
    },
    async end () { ended = true }
  }
  return { pool: pool as unknown as pg.Pool, returns, ended: () => ended }
}

t.test('a connection goes back to the pool a pause after its release, in proportion to its use', async (t) => {
  const s = standIn()
  const paced = new DutyPool(s.pool, 0.5)
  const client = await paced.connect()
  await sleep(120)
  const releasedAt = performance.now()
  client.release()
  t.equal(s.returns.length, 0, 'duty ½, held 120 ms: not yet back at the release')
  const next = await paced.connect()
  t.ok(s.returns[0]!.at - releasedAt >= 110, `back ${(s.returns[0]!.at - releasedAt).toFixed(0)} ms after its release (held ≥ 120 ms × (1/½ − 1))`)
  t.equal(s.returns[0]!.destroy, undefined, 'given back, not destroyed')
  next.release()
  await paced.end()
})

t.test('duty 1, a destroyed connection, and a pause past the cap', async (t) => {
  const full = standIn()
  const unpaced = new DutyPool(full.pool, 1)
  const a = await unpaced.connect()
  await sleep(30)
  a.release()
  t.equal(full.returns.length, 1, 'duty 1: back at once')

  const s = standIn()
  const paced = new DutyPool(s.pool, 0.5)
  const b = await paced.connect()
  await sleep(30)
  const failure = new Error('connection lost')
  ;(b.release as (destroy?: Error) => void)(failure)
  t.equal(s.returns.length, 1, 'a connection released to be destroyed goes at once: it serves no one')
  t.equal(s.returns[0]!.destroy, failure, 'with its error')

  const slow = new DutyPool(standIn().pool, 0.001)
  const c = await slow.connect()
  await sleep(20)
  const releasedAt = performance.now()
  c.release()
  await slow.connect()
  const waited = performance.now() - releasedAt
  t.ok(waited >= MAX_PAUSE_MS - 10 && waited < 20 * 999, `held 20 ms at duty 0.001 would pause 20 s; the pause is capped at ${MAX_PAUSE_MS} ms (waited ${waited.toFixed(0)} ms)`)
  await slow.end()
})

t.test('end() gives held connections back without waiting out their pauses', async (t) => {
  const s = standIn()
  const paced = new DutyPool(s.pool, 0.01)
  const client = await paced.connect()
  await sleep(20)
  client.release()
  const started = performance.now()
  await paced.end()
  t.equal(s.returns.length, 1, 'the held connection went back')
  t.ok(s.ended(), 'and the pool ended')
  t.ok(performance.now() - started < MAX_PAUSE_MS / 2, 'before its pause was over')
})

t.test('a duty outside (0, 1] is refused', async (t) => {
  for (const duty of [0, -0.5, 1.5, Number.NaN]) {
    t.throws(() => new DutyPool(standIn().pool, duty), { name: 'RangeError', message: /pool duty must be in \(0, 1\]/ }, `duty ${duty}`)
  }
})
