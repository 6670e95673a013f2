// Issue 9, finding 3: TRUST_PROXY names the proxies to trust (a hop count, or addresses and CIDRs),
// so the address that is limited is the one the trusted proxy saw, never what the client wrote at
// the left of X-Forwarded-For. `true` (trust every hop) is refused at start-up.
import { generateKeyPairSync } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { buildAppForTest, buildTestApp, newOrg, pem, testConfig } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { FORM } from '../helpers/oauth.js'
import { Jar, signIn } from '../helpers/signin.js'

t.test('TRUST_PROXY takes a hop count or trusted addresses; true and nonsense stop the start', async (t) => {
  const env = (value: string) => ({ PUBLIC_URL: 'http://localhost:3000', SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'), TRUST_PROXY: value })
  t.equal(loadConfig(env('false')).trustProxy, false)
  t.equal(loadConfig(env('0')).trustProxy, false, '0 hops: no proxy')
  t.equal(loadConfig(env('1')).trustProxy, 1)
  t.equal(loadConfig(env('2')).trustProxy, 2)
  t.same(loadConfig(env('10.0.0.0/8, 127.0.0.1')).trustProxy, ['10.0.0.0/8', '127.0.0.1'])
  t.same(loadConfig(env('loopback,fd00::/8')).trustProxy, ['loopback', 'fd00::/8'])
  for (const bad of ['true', 'TRUE', 'yes', '-1', '1.5', '10.0.0.0/99', 'proxy.example.com', '10.0.0.1,,']) {
    t.throws(() => loadConfig(env(bad)), { name: 'ConfigError', variable: 'TRUST_PROXY' }, `${JSON.stringify(bad)} is refused`)
  }
  const err = (() => { try { loadConfig(env('true')) } catch (e) { return e } })()
  t.ok(err instanceof ConfigError)
  t.match((err as Error).message, /X-Forwarded-For.*hop count/s, 'the message for true says why, and what to give instead')
})

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '5', TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_ADDRESS: '5', LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000' })
const org = await newOrg(ta)
const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(key.publicKey) })
const tokenUrl = `/api/v1/oauth2/${org.orgName}/token`

/** A token request that reached us through one proxy at 127.0.0.1, which appended the client's real address. */
async function throughProxy (app: FastifyInstance, forwardedFor: string) {
  return await app.inject({
    method: 'POST',
    url: tokenUrl,
    remoteAddress: '127.0.0.1',
    headers: { ...FORM, 'x-forwarded-for': forwardedFor },
    // An unknown client: the per-address limit alone applies.
    payload: ascliForm('no-such-client', await ascliAssertion(key.privateKey, 'no-such-client', user.email))
  })
}

t.test('behind one trusted hop, a spoofed leftmost address does not escape the per-address limit', async (t) => {
  const codes: number[] = []
  for (let i = 0; i < 12; i++) codes.push((await throughProxy(ta.app, `10.1.${i}.${i}, 203.0.113.7`)).statusCode)
  t.same(codes.slice(0, 5), [401, 401, 401, 401, 401], 'five requests are answered')
  t.ok(codes.slice(5).every((c) => c === 429), `then 429, whatever the client writes: ${codes.join(' ')}`)
  const other = await throughProxy(ta.app, '10.1.0.0, 203.0.113.8')
  t.equal(other.statusCode, 401, 'another real client behind the same proxy keeps its own limit')
})

t.test('a list of trusted proxies: the rightmost untrusted address is the client', async (t) => {
  const app = await buildAppForTest({ config: testConfig({ TOKEN_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1,10.9.0.0/16' }), db: ta.handle })
  t.teardown(async () => { await app.close() })
  const codes: number[] = []
  // Two proxies (10.9.0.5, then 127.0.0.1); the client wrote the first entry itself.
  for (let i = 0; i < 6; i++) codes.push((await throughProxy(app, `192.0.2.${i}, 198.51.100.1, 10.9.0.5`)).statusCode)
  t.same(codes, [401, 401, 401, 429, 429, 429])
})

t.test('a login spray with a rotating X-Forwarded-For is throttled per real address', async (t) => {
  const codes: number[] = []
  for (let i = 0; i < 10; i++) {
    const jar = new Jar('127.0.0.1')
    // signIn's requests carry no X-Forwarded-For, so add the spoofed header the way a proxy would pass it on.
    const inject = ta.app.inject.bind(ta.app)
    const app = Object.create(ta.app) as FastifyInstance
    app.inject = ((opts: Record<string, unknown>) => inject({ ...opts, headers: { ...(opts.headers as object), 'x-forwarded-for': `10.2.${i}.1, 203.0.113.9` } })) as FastifyInstance['inject']
    codes.push((await signIn(app, jar, org.orgName, `victim${i}@${org.orgName}.example.com`, 'a wrong password')).statusCode)
  }
  t.same(codes.slice(0, 5), [400, 400, 400, 400, 400], 'wrong passwords, each for another account')
  t.ok(codes.slice(5).every((c) => c === 429), `then the address is throttled: ${codes.join(' ')}`)
})
