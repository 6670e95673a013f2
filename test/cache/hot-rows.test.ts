// The token endpoint's row caches (src/cache/hot-rows.ts): lifetime, missing rows, clears, shared loads.
import t from 'tap'
import { RowCache } from '../../src/cache/hot-rows.js'

/** A loader that counts its calls and answers what `answer` holds when called. */
function loader<V> (answer: { value: V | undefined }) {
  const calls = { n: 0 }
  return { calls, load: async () => { calls.n++; return answer.value } }
}

t.test('a row is served from the cache until its lifetime ends', async (t) => {
  const answer = { value: 'v1' as string | undefined }
  const { calls, load } = loader(answer)
  const cache = new RowCache<null, string>(load, 50, 100)
  t.equal(await cache.get('k', null), 'v1')
  answer.value = 'v2'
  t.equal(await cache.get('k', null), 'v1', 'within the lifetime: the cached row')
  t.equal(calls.n, 1)
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(await cache.get('k', null), 'v2', 'after it: loaded again')
})

t.test('a missing row is cached as missing, and a clear forgets that at once', async (t) => {
  const answer = { value: undefined as string | undefined }
  const { calls, load } = loader(answer)
  const cache = new RowCache<null, string>(load, 10_000, 100)
  t.equal(await cache.get('k', null), undefined)
  t.equal(await cache.get('k', null), undefined)
  t.equal(calls.n, 1, 'the second lookup of an unknown key does not reach the loader')
  answer.value = 'created'
  cache.clear()
  t.equal(await cache.get('k', null), 'created', 'after a clear (a write on this instance) the new row is seen')
})

t.test('concurrent misses of one key share one load; other keys load on their own', async (t) => {
  let loads = 0
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const cache = new RowCache<string, string>(async (ctx) => { loads++; await gate; return `row of ${ctx}` }, 10_000, 100)
  const same = Array.from({ length: 20 }, () => cache.get('k', 'k'))
  const other = cache.get('j', 'j')
  release()
  t.same(await Promise.all(same), Array(20).fill('row of k'))
  t.equal(await other, 'row of j')
  t.equal(loads, 2, 'one load for the 20 lookups of k, one for j')
})

t.test('a load under way when the cache is cleared is not kept: its callers and the next lookup read again', async (t) => {
  let value = 'old key'
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let first = true
  const cache = new RowCache<null, string>(async () => {
    const read = value
    if (first) { first = false; await gate }
    return read
  }, 10_000, 100)
  const slow = cache.get('k', null)
  value = 'new key'
  cache.clear() // a key change commits and clears while the old row is on its way
  release()
  t.equal(await slow, 'new key', 'the request under way reads again, after the change')
  t.equal(await cache.get('k', null), 'new key', 'and the next request sees the changed row')
})

t.test('a failed load is not cached and fails its caller', async (t) => {
  let fail = true
  const cache = new RowCache<null, string>(async () => { if (fail) throw new Error('database down'); return 'up' }, 10_000, 100)
  await t.rejects(cache.get('k', null), /database down/)
  fail = false
  t.equal(await cache.get('k', null), 'up', 'the next lookup loads again')
})

t.test('the cache holds at most max rows', async (t) => {
  let loads = 0
  const cache = new RowCache<number, number>(async (i) => { loads++; return i }, 10_000, 3)
  for (let i = 0; i < 5; i++) await cache.get(`k${i}`, i)
  loads = 0
  for (let i = 0; i < 5; i++) await cache.get(`k${i}`, i)
  t.ok(loads >= 2, `the least recently used rows were dropped (${loads} reloaded)`)
})

t.test('drop removes exactly the keys named, loads under way included, which load again', async (t) => {
  let version = 1
  let gate: () => void = () => {}
  const cache = new RowCache<string, string>(async (k) => {
    const read = version // what the database held when the load read it
    if (k === 'slow' && read === 1) await new Promise<void>((resolve) => { gate = resolve })
    return `${k} v${read}`
  }, 60_000, 100)
  t.equal(await cache.get('a', 'a'), 'a v1')
  t.equal(await cache.get('b', 'b'), 'b v1')
  const slow = cache.get('slow', 'slow')
  version = 2
  t.equal(cache.drop((k) => k === 'a' || k === 'slow'), 2, 'two entries dropped')
  gate()
  t.equal(await slow, 'slow v2', 'the load under way, which read v1, was dropped and done again')
  t.equal(await cache.get('a', 'a'), 'a v2', 'a dropped key loads again')
  t.equal(await cache.get('b', 'b'), 'b v1', 'another key is kept')
})

t.test('setTtl applies to rows loaded from then on', async (t) => {
  const answer = { value: 'v1' as string | undefined }
  const { calls, load } = loader(answer)
  const cache = new RowCache<null, string>(load, 60_000, 100)
  cache.setTtl(30)
  await cache.get('k', null)
  await new Promise((resolve) => setTimeout(resolve, 60))
  await cache.get('k', null)
  t.equal(calls.n, 2, 'the short TTL ended it')
})
