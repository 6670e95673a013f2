import { generateKeyPairSync } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildAppForTest, buildTestApp, newOrg, pem, testConfig } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { basic, FORM } from '../helpers/oauth.js'

// One database for the file; each limit gets its own app on it (the counters live in the app).
const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '5', TRUST_PROXY: '1' })
const org = await newOrg(ta)
const alice = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(alice.publicKey) })
await ta.app.ctx.db.updateTable('clients').set({ jwt_grant_enabled: true }).where('id', '=', org.clientId).execute()
const tokenUrl = `/api/v1/oauth2/${org.orgName}/token`

/** Another app on this file's database, closed with it. */
async function appWith (env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildAppForTest({ config: testConfig(env), db: ta.handle })
  t.teardown(async () => { await app.close() })
  return app
}

/** A token request as ascli sends it, for `clientId`, from `ip` (X-Forwarded-For, honoured with TRUST_PROXY). */
async function tokenRequest (app: FastifyInstance, clientId = org.clientId, ip?: string) {
  return await app.inject({
    method: 'POST',
    url: tokenUrl,
    headers: { ...FORM, ...(ip ? { 'x-forwarded-for': ip } : {}) },
    payload: ascliForm(clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email))
  })
}

async function times (n: number, fn: () => Promise<{ statusCode: number }>): Promise<number[]> {
  const codes: number[] = []
  for (let i = 0; i < n; i++) codes.push((await fn()).statusCode)
  return codes
}

t.test('limit 5 per minute: the 6th request is 429 with Retry-After and an OAuth body', async (t) => {
  const codes = await times(5, () => tokenRequest(ta.app, org.clientId, '10.0.0.1'))
  t.same(codes, [200, 200, 200, 200, 200], 'the first five get tokens')
  const sixth = await tokenRequest(ta.app, org.clientId, '10.0.0.1')
  t.equal(sixth.statusCode, 429)
  const retryAfter = Number(sixth.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After is whole seconds within the window (${sixth.headers['retry-after']})`)
  t.match(sixth.headers['content-type'], /^application\/json/)
  t.equal(sixth.headers['cache-control'], 'no-store')
  const body = sixth.json()
  t.same(Object.keys(body).sort(), ['error', 'error_description'])
  t.equal(body.error, 'temporarily_unavailable')
  t.type(body.error_description, 'string')
})

t.test('the limit is per address: another client id from the same address is refused', async (t) => {
  // 10.0.0.1 used its five above; this client id is new to the limiter.
  const other = await tokenRequest(ta.app, 'another-client', '10.0.0.1')
  t.equal(other.statusCode, 429, 'a different client_id does not escape the address limit')
  t.equal(other.json().error, 'temporarily_unavailable')
  // A fresh address with a fresh client id is untouched by the others' use.
  const fresh = await tokenRequest(ta.app, 'never-seen-client', '10.0.0.2')
  t.equal(fresh.statusCode, 401, 'a new address and client reach the endpoint (unknown client: 401, not 429)')
})

t.test('the limit is also per client: the same client id from a new address is refused', async (t) => {
  const moved = await tokenRequest(ta.app, org.clientId, '10.0.0.3')
  t.equal(moved.statusCode, 429, 'the client used its five from 10.0.0.1')
  const viaBasic = await ta.app.inject({
    method: 'POST',
    url: tokenUrl,
    headers: { ...FORM, 'x-forwarded-for': '10.0.0.4', ...basic(org.clientId, org.clientSecret) },
    payload: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${await ascliAssertion(alice.privateKey, org.clientId, user.email)}`
  })
  t.equal(viaBasic.statusCode, 429, 'naming the client by Basic counts the same')
})

t.test('requests that do not prove the client count against their address only, not the client', async (t) => {
  const app = await appWith({ TOKEN_RATE_LIMIT_PER_MINUTE: '5', TRUST_PROXY: '1' })
  const mallory = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const forged = () => ascliAssertion(mallory.privateKey, org.clientId, user.email)
  const post = async (ip: string, payload: string, headers: Record<string, string> = {}) => await app.inject({
    method: 'POST', url: tokenUrl, headers: { ...FORM, 'x-forwarded-for': ip, ...headers }, payload
  })
  const forgedCodes = await times(5, async () => await post('10.0.1.66', ascliForm(org.clientId, await forged())))
  t.same(forgedCodes, [400, 400, 400, 400, 400], 'assertions signed with a foreign key: invalid_grant')
  const badSecret = basic(org.clientId, 'wrong-secret')
  const wrongSecretCodes = await times(5, async () => await post('10.0.1.67', `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${await forged()}`, badSecret))
  t.same(wrongSecretCodes, [401, 401, 401, 401, 401], 'a wrong secret: invalid_client')
  t.equal((await post('10.0.1.66', ascliForm(org.clientId, await forged()))).statusCode, 429, 'the sender\'s address is limited')
  const own = await times(5, async () => await post('10.0.1.7', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email))))
  t.same(own, [200, 200, 200, 200, 200], 'the client itself still has its five: ten requests in its name did not use them up')
  t.equal((await post('10.0.1.8', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email)))).statusCode, 429, 'its own sixth is limited, from any address')
})

t.test('CORS preflights count against their address: the sixth is 429 with an OAuth body', async (t) => {
  const app = await appWith({ TOKEN_RATE_LIMIT_PER_MINUTE: '5', TRUST_PROXY: '1' })
  const preflight = async () => await app.inject({
    method: 'OPTIONS',
    url: tokenUrl,
    headers: { origin: 'https://spa.example.com', 'access-control-request-method': 'POST', 'x-forwarded-for': '10.0.2.1' }
  })
  const codes = await times(5, preflight)
  t.notOk(codes.includes(429), `the first five are answered (${codes.join(', ')})`)
  const sixth = await preflight()
  t.equal(sixth.statusCode, 429)
  t.ok(Number(sixth.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal(sixth.json().error, 'temporarily_unavailable')
  const elsewhere = await app.inject({ method: 'OPTIONS', url: tokenUrl, headers: { origin: 'https://spa.example.com', 'access-control-request-method': 'POST', 'x-forwarded-for': '10.0.2.2' } })
  t.not(elsewhere.statusCode, 429, 'another address is not limited')
})

t.test('introspection shares the limit', async (t) => {
  const res = await ta.app.inject({
    method: 'POST',
    url: `/api/v1/oauth2/${org.orgName}/introspect`,
    headers: { ...FORM, 'x-forwarded-for': '10.0.0.1' },
    payload: `client_id=${org.clientId}&client_secret=${org.clientSecret}&token=abc`
  })
  t.equal(res.statusCode, 429)
  t.ok(res.headers['retry-after'])
})

t.test('limit 0: no limit at all', async (t) => {
  const app = await appWith({ TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
  const codes = await times(30, () => tokenRequest(app))
  t.equal(codes.filter((c) => c === 429).length, 0, 'none of 30 requests is 429')
  t.same(new Set(codes), new Set([200]), 'all 30 get tokens')
})

t.test('default limit (1200/min): a burst of 40, as ascli sends them, is not limited', async (t) => {
  const app = await appWith({})
  t.equal(app.ctx.config.tokenRateLimitPerMinute, 1200)
  const assertions = await Promise.all(Array.from({ length: 40 }, () => ascliAssertion(alice.privateKey, org.clientId, user.email)))
  const res = await Promise.all(assertions.map((a) => app.inject({
    method: 'POST', url: tokenUrl, headers: FORM, payload: ascliForm(org.clientId, a)
  })))
  const codes = res.map((r) => r.statusCode)
  t.equal(codes.filter((c) => c === 429).length, 0, 'no 429 in the burst')
  t.same(new Set(codes), new Set([200]), 'all 40 get tokens')
})
