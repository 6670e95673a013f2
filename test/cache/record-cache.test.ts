import t from 'tap'
import { TtlCache } from '../../src/cache/record-cache.js'

/** A loader that counts its calls and answers what `answer` holds when called. */
function loader<V> (answer: { value: V | undefined }) {
  const calls = { n: 0 }
  return { calls, load: async () => { calls.n++; return answer.value } }
}

t.test('a row is served from the cache until its lifetime ends', async (t) => {
  const cache = new TtlCache<string>(50)
  const answer = { value: 'v1' as string | undefined }
  const { calls, load } = loader(answer)
  t.equal(await cache.get('k', load), 'v1')
  answer.value = 'v2'
  t.equal(await cache.get('k', load), 'v1', 'within the lifetime: the cached row')
  t.equal(calls.n, 1)
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(await cache.get('k', load), 'v2', 'after it: loaded again')
})

t.test('a missing row is cached as missing, and a clear forgets that at once', async (t) => {
  const cache = new TtlCache<string>(10_000)
  const answer = { value: undefined as string | undefined }
  const { calls, load } = loader(answer)
  t.equal(await cache.get('k', load), undefined)
  t.equal(await cache.get('k', load), undefined)
  t.equal(calls.n, 1, 'the second lookup of an unknown key does not reach the loader')
  answer.value = 'created'
  cache.clear()
  t.equal(await cache.get('k', load), 'created', 'after a clear (a write on this instance) the new row is seen')
})

t.test('a load that began before a clear is not stored: the next lookup reads again', async (t) => {
  const cache = new TtlCache<string>(10_000)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const slow = cache.get('k', async () => { await gate; return 'old key' })
  cache.clear() // a key change commits and clears while the old row is on its way
  release()
  t.equal(await slow, 'old key', 'the request that read before the change gets what it read')
  t.equal(await cache.get('k', async () => 'new key'), 'new key', 'the next request reads the changed row, not the old one')
})

t.test('the cache holds at most maxEntries rows', async (t) => {
  const cache = new TtlCache<number>(10_000, 3)
  for (let i = 0; i < 5; i++) await cache.get(`k${i}`, async () => i)
  let reloads = 0
  for (let i = 0; i < 5; i++) await cache.get(`k${i}`, async () => { reloads++; return i })
  t.ok(reloads >= 2, `the oldest rows were dropped (${reloads} reloaded)`)
})
