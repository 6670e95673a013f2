// plugins/token-rate-limit.ts: the counts live in a store that can be shared, as the cluster issue will
// share them between instances; by default each instance counts in memory on its own.
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { RateLimited } from '../../src/oauth/errors.js'
import { tokenRateLimit, type TokenRateLimiter } from '../../src/plugins/token-rate-limit.js'

/** A store after @fastify/rate-limit's interface, whose counts several instances share. */
function sharedStore () {
  const counts = new Map<string, { current: number, start: number }>()
  class SharedStore {
    constructor (readonly options: { timeWindow?: number } = {}) {}
    incr (key: string, cb: (err: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number): void {
      const now = Date.now()
      let entry = counts.get(key)
      if (!entry || entry.start + timeWindow <= now) entry = { current: 0, start: now }
      entry.current++
      counts.set(key, entry)
      cb(null, { current: entry.current, ttl: entry.start + timeWindow - now })
    }

    child (): SharedStore { return this }
  }
  return { counts, SharedStore }
}

type Tap = { teardown: (fn: () => unknown) => void }
type Count = (remoteAddress: string, clientId?: string) => Promise<string>

/** An instance with the limiter, and a way to count one request against an address, or a client too. */
async function instance (t: Tap, limiterOf: (app: FastifyInstance) => Promise<TokenRateLimiter>): Promise<Count> {
  const app = Fastify()
  const limiter = await limiterOf(app)
  app.post('/count', async (request) => {
    const client = request.headers['x-client']
    await (typeof client === 'string' ? limiter.byClient(request, client) : limiter.byAddress(request))
    return 'ok'
  })
  app.setErrorHandler((err, _request, reply) => err instanceof RateLimited
    ? reply.status(429).header('Retry-After', err.headers['Retry-After']).send('429')
    : reply.status(500).send(String(err)))
  await app.ready()
  t.teardown(() => app.close())
  return async (remoteAddress, clientId) => {
    const res = await app.inject({ method: 'POST', url: '/count', remoteAddress, headers: clientId ? { 'x-client': clientId } : {} })
    return res.statusCode === 429 ? `429 after ${String(res.headers['retry-after'])}` : res.body
  }
}

async function times (n: number, count: () => Promise<string>): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push((await count()).replace(/^429 after .*/, '429'))
  return out
}

t.test('in memory, each instance counts on its own', async (t) => {
  const a = await instance(t, (app) => tokenRateLimit(app, { perMinute: 2 }))
  const b = await instance(t, (app) => tokenRateLimit(app, { perMinute: 2 }))
  t.same(await times(3, () => a('192.0.2.1')), ['ok', 'ok', '429'])
  t.same(await times(2, () => b('192.0.2.1')), ['ok', 'ok'], 'the other instance has its own count')
})

t.test('with a shared store, two instances keep one count per address and per client', async (t) => {
  const { counts, SharedStore } = sharedStore()
  const store = { store: SharedStore as never }
  const a = await instance(t, (app) => tokenRateLimit(app, { perMinute: 3, store }))
  const b = await instance(t, (app) => tokenRateLimit(app, { perMinute: 3, store }))
  t.same([...await times(2, () => a('192.0.2.7')), ...await times(2, () => b('192.0.2.7'))], ['ok', 'ok', 'ok', '429'])
  let n = 0
  const client = (count: Count) => () => count(`198.51.100.${++n}`, 'client-1')
  t.same([...await times(3, client(b)), ...await times(1, client(a))], ['ok', 'ok', 'ok', '429'],
    'a client is counted across instances, whatever its addresses')
  t.ok([...counts.keys()].some((k) => k.includes('client-1')), 'the counts are the store\'s')
})

t.test('a limit of 0 counts nothing', async (t) => {
  const count = await instance(t, (app) => tokenRateLimit(app, { perMinute: 0 }))
  t.same(await times(5, () => count('192.0.2.9')), ['ok', 'ok', 'ok', 'ok', 'ok'])
})

t.test('a refusal says when to retry', async (t) => {
  const count = await instance(t, (app) => tokenRateLimit(app, { perMinute: 1 }))
  t.equal(await count('192.0.2.10'), 'ok')
  const refused = /^429 after (\d+)$/.exec(await count('192.0.2.10'))
  t.ok(refused, 'the second request is refused')
  t.ok(Number(refused?.[1]) >= 1 && Number(refused?.[1]) <= 60, `Retry-After within the minute (${refused?.[1]})`)
})
