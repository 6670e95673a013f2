// The token endpoint's authorization_code grant (RFC 6749 §4.1.3, RFC 7636), driven over app.inject:
// a signed-in jar gets a code at the authorize endpoint, the client exchanges it.
import t from 'tap'
import { createAuthorizationCode } from '../../src/oauth/authorization-codes.js'
import { hashOpaque } from '../../src/oauth/opaque.js'
import { purgeExpired } from '../../src/services/purge.js'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { basic, defined, errorOf, oauthPoster, type Form } from '../helpers/oauth.js'
import { authorize, browserClient, type BrowserClient, pkcePair, signedInUser, signInWithPassword } from '../helpers/signin.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0', LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' })
const { app } = ta
const org = await newOrg(ta)
const post = oauthPoster(app, org.orgName)

const alice = await signedInUser(ta, org)

/** Runs authorize for `client` (its registered redirect URI unless `extra` says otherwise) and answers the code. */
async function codeFor (client: BrowserClient, extra: Form = {}, jar = alice.jar): Promise<string> {
  const { url } = await authorize(app, jar, org.orgName, defined({ response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, ...extra }))
  const code = url.searchParams.get('code')
  if (!code) throw new Error(`authorize gave no code: ${url.searchParams.get('error') ?? ''} ${url.searchParams.get('error_description') ?? ''}`)
  return code
}

/** The token request as ascli makes it: client_id and client_secret in the body; `extra` overrides. */
async function exchange (client: BrowserClient, code: string | undefined, extra: Form = {}, headers: Record<string, string> = {}) {
  return await post('token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    client_id: client.id,
    client_secret: client.secret ?? undefined,
    ...extra
  }, headers)
}

/** Whether the client's introspection reads the access token as active. */
async function active (client: BrowserClient, token: string): Promise<boolean> {
  const res = await post('introspect', { token }, basic(client.id, client.secret!))
  if (res.statusCode !== 200) throw new Error(`introspect answered ${res.statusCode}`)
  return res.json().active
}

const refresh = async (client: BrowserClient, refreshToken: string) =>
  await post('token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.id, client_secret: client.secret ?? undefined })

t.test('success: PKCE, secret in the body; the answer has both tokens and is not cached', async (t) => {
  const client = await browserClient(ta, org)
  const { verifier, challenge } = pkcePair()
  const { url } = await authorize(app, alice.jar, org.orgName, {
    response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256'
  })
  t.equal(url.origin + url.pathname, client.redirectUri, 'back at the registered redirect URI')
  t.equal(url.searchParams.get('state'), 'st-1', 'with the state')
  const res = await exchange(client, url.searchParams.get('code')!, { code_verifier: verifier })
  t.equal(res.statusCode, 200, errorOf(res))
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { access_token: String, token_type: 'bearer', expires_in: 3600, scope: 'user:all', refresh_token: String })
  t.not(body.refresh_token, body.access_token)
  const self = await call(app, body.access_token, 'GET', '/api/v1/self')
  t.equal(self.statusCode, 200, 'the access token works on the REST API')
  t.equal(self.json().id, alice.user.id, 'for the user who signed in')
  t.ok(await active(client, body.access_token), 'and the client introspects it as active')
})

t.test('success with HTTP Basic instead of the secret in the body', async (t) => {
  const client = await browserClient(ta, org)
  const { verifier, challenge } = pkcePair()
  const code = await codeFor(client, { code_challenge: challenge, code_challenge_method: 'S256' })
  const res = await exchange(client, code, { client_id: undefined, client_secret: undefined, code_verifier: verifier }, basic(client.id, client.secret!))
  t.equal(res.statusCode, 200, errorOf(res))
  t.match(res.json(), { access_token: String, token_type: 'bearer', scope: 'user:all', refresh_token: String })
  t.equal((await call(app, res.json().access_token, 'GET', '/api/v1/self')).statusCode, 200)
})

t.test('ascli: no PKCE, secret in the body, loopback redirect URI on a port of the moment', async (t) => {
  const client = await browserClient(ta, org, { redirect_uris: ['http://localhost:12345'] })
  const { url } = await authorize(app, alice.jar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: 'http://localhost:54321', scope: 'user:all' })
  t.equal(url.host, 'localhost:54321', 'redirected to the port the request named, not the registered one')
  const code = url.searchParams.get('code')
  t.ok(code, 'with a code')
  const res = await exchange(client, code!, { redirect_uri: 'http://localhost:54321' })
  t.equal(res.statusCode, 200, errorOf(res))
  t.match(res.json(), { access_token: String, token_type: 'bearer', scope: 'user:all', refresh_token: String })
  t.equal((await call(app, res.json().access_token, 'GET', '/api/v1/self')).statusCode, 200)
})

t.test('a confidential client must prove itself: no secret or a wrong one is 401 invalid_client', async (t) => {
  const client = await browserClient(ta, org)
  const code = await codeFor(client)
  const none = await exchange(client, code, { client_secret: undefined })
  t.equal(none.statusCode, 401, 'client_id alone')
  t.equal(none.json().error, 'invalid_client')
  const wrong = await exchange(client, code, { client_secret: 'not-the-secret' })
  t.equal(wrong.statusCode, 401, 'a wrong secret in the body')
  t.equal(wrong.json().error, 'invalid_client')
  const wrongBasic = await exchange(client, code, { client_id: undefined, client_secret: undefined }, basic(client.id, 'not-the-secret'))
  t.equal(wrongBasic.statusCode, 401, 'a wrong secret by Basic')
  t.match(wrongBasic.headers['www-authenticate'], /^Basic/)
  // Refused before the code is looked at: someone without the secret cannot burn the client's codes.
  t.equal((await exchange(client, code)).statusCode, 200, 'the code still works for the client with its secret')
})

t.test('a public client: PKCE is required at authorize; the exchange takes client_id alone and refuses a secret', async (t) => {
  const client = await browserClient(ta, org, { token_endpoint_auth_method: 'none' })
  t.equal(client.secret, null)
  const { url } = await authorize(app, alice.jar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 's' })
  t.equal(url.searchParams.get('error'), 'invalid_request', 'no code_challenge: redirected with invalid_request')
  t.match(url.searchParams.get('error_description'), /PKCE/)
  t.equal(url.searchParams.get('state'), 's')
  t.notOk(url.searchParams.has('code'))

  const pair = pkcePair()
  const code = await codeFor(client, { code_challenge: pair.challenge, code_challenge_method: 'S256' })
  const res = await exchange(client, code, { code_verifier: pair.verifier })
  t.equal(res.statusCode, 200, errorOf(res))
  t.match(res.json(), { access_token: String, refresh_token: String, scope: 'user:all' })
  t.equal((await call(app, res.json().access_token, 'GET', '/api/v1/self')).statusCode, 200)

  const other = pkcePair()
  const code2 = await codeFor(client, { code_challenge: other.challenge, code_challenge_method: 'S256' })
  const withSecret = await exchange(client, code2, { code_verifier: other.verifier, client_secret: 'anything' })
  t.equal(withSecret.statusCode, 401, 'a public client that presents a secret')
  t.equal(withSecret.json().error, 'invalid_client')
})

t.test('a code used twice: invalid_grant, and what the first exchange issued is revoked', async (t) => {
  const client = await browserClient(ta, org)
  const code = await codeFor(client)
  const first = await exchange(client, code)
  t.equal(first.statusCode, 200, errorOf(first))
  const { access_token: access, refresh_token: refreshToken } = first.json()
  t.ok(await active(client, access), 'the first access token is active before the reuse')

  const second = await exchange(client, code)
  t.equal(second.statusCode, 400)
  t.same(second.json(), { error: 'invalid_grant', error_description: 'authorization code already used' })
  t.notOk(await active(client, access), 'introspection: the first access token is no longer active')
  t.equal((await call(app, access, 'GET', '/api/v1/self')).statusCode, 401, 'the REST API refuses it')
  const again = await refresh(client, refreshToken)
  t.equal(again.statusCode, 400, 'the first refresh token is refused')
  t.equal(again.json().error, 'invalid_grant')
})

t.test('PKCE failures are invalid_grant, and they use the code up', async (t) => {
  const client = await browserClient(ta, org)
  const cases: Array<[string, boolean, (verifier: string) => Form]> = [
    ['a wrong code_verifier', true, () => ({ code_verifier: pkcePair().verifier })],
    ['a malformed code_verifier', true, () => ({ code_verifier: 'short' })],
    ['no code_verifier for a code with a challenge', true, () => ({})],
    ['a code_verifier for a code without a challenge', false, (verifier) => ({ code_verifier: verifier })]
  ]
  for (const [label, withChallenge, extra] of cases) {
    const { verifier, challenge } = pkcePair()
    const code = await codeFor(client, withChallenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {})
    const res = await exchange(client, code, extra(verifier))
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().error, 'invalid_grant', label)
    t.notOk('access_token' in res.json(), label)
    const retry = await exchange(client, code, withChallenge ? { code_verifier: verifier } : {})
    t.equal(retry.statusCode, 400, `${label}: a correct retry fails too`)
    t.same(retry.json(), { error: 'invalid_grant', error_description: 'authorization code already used' }, label)
  }
})

t.test('redirect_uri at the token request must repeat the authorize request\'s', async (t) => {
  const two = await browserClient(ta, org, { redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/other'] })
  const differs = await exchange(two, await codeFor(two, { redirect_uri: 'https://app.example.com/cb' }), { redirect_uri: 'https://app.example.com/other' })
  t.equal(differs.statusCode, 400, 'another registered URI than the one authorized')
  t.same(differs.json(), { error: 'invalid_grant', error_description: "redirect uri doesn't match authorized redirect uri" })

  const one = await browserClient(ta, org)
  const omitted = await exchange(one, await codeFor(one), { redirect_uri: undefined })
  t.equal(omitted.statusCode, 400, 'left out when the authorize request named it')
  t.equal(omitted.json().error, 'invalid_grant')

  const bothOmitted = await exchange(one, await codeFor(one, { redirect_uri: undefined }), { redirect_uri: undefined })
  t.equal(bothOmitted.statusCode, 200, `left out at both ends, the client has exactly one registered ${errorOf(bothOmitted)}`)
  t.match(bothOmitted.json(), { access_token: String, refresh_token: String })
})

t.test('codes that are not good for this exchange', async (t) => {
  const client = await browserClient(ta, org)
  const other = await browserClient(ta, org)

  const expired = await codeFor(client)
  await app.ctx.db.updateTable('authorization_codes').set({ expires_at: new Date(Date.now() - 1000) }).where('code_hash', '=', hashOpaque(expired)).execute()
  const late = await exchange(client, expired)
  t.equal(late.statusCode, 400, 'expired')
  t.match(late.json(), { error: 'invalid_grant', error_description: /expired/ })

  const theirs = await codeFor(client)
  const foreign = await exchange(other, theirs)
  t.equal(foreign.statusCode, 400, 'another client\'s code, with that other client\'s secret')
  t.equal(foreign.json().error, 'invalid_grant')
  t.equal((await exchange(client, theirs)).statusCode, 200, 'and the other client\'s attempt did not burn it')

  for (const [label, code] of [['garbage', 'not-a-code'], ['well formed but unknown', 'A'.repeat(43)]] as const) {
    const res = await exchange(client, code)
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().error, 'invalid_grant', label)
  }

  const missing = await exchange(client, undefined)
  t.equal(missing.statusCode, 400, 'no code at all')
  t.same(missing.json(), { error: 'invalid_request', error_description: "missing 'code': send the code of the authorization response" })
})

t.test('a user deactivated between authorize and exchange: invalid_grant', async (t) => {
  const bob = await signedInUser(ta, org)
  const client = await browserClient(ta, org)
  const code = await codeFor(client, {}, bob.jar)
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/users/${bob.user.id}`, { deactivated: true })
  t.equal(put.statusCode, 204, errorOf(put))
  const res = await exchange(client, code)
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_grant')
  t.notOk('access_token' in res.json())
})

t.test('a code not exchanged before a deactivation stays dead after the reactivation', async (t) => {
  const bob = await signedInUser(ta, org)
  const client = await browserClient(ta, org)
  const code = await codeFor(client, {}, bob.jar)
  for (const deactivated of [true, false]) {
    const put = await call(app, org.adminToken, 'PUT', `/api/v1/users/${bob.user.id}`, { deactivated })
    t.equal(put.statusCode, 204, errorOf(put))
  }
  const res = await exchange(client, code)
  t.equal(res.statusCode, 400, errorOf(res))
  t.match(res.json(), { error: 'invalid_grant', error_description: /expired/ })
  t.notOk('access_token' in res.json())
})

t.test('an admin with scope admin:all: the admin lifetime and no refresh token', async (t) => {
  const jar = await signInWithPassword(ta, org, org.admin, { t })
  const client = await browserClient(ta, org)
  const res = await exchange(client, await codeFor(client, { scope: 'admin:all' }, jar))
  t.equal(res.statusCode, 200, errorOf(res))
  const body = res.json()
  t.match(body, { access_token: String, token_type: 'bearer', scope: 'admin:all', expires_in: 1800 })
  t.notOk('refresh_token' in body, 'admin-scoped grants get no refresh token')
  const users = await call(app, body.access_token, 'GET', '/api/v1/users')
  t.equal(users.statusCode, 200, 'the token administers')
})

t.test('codes are stored hashed only', async (t) => {
  const client = await browserClient(ta, org)
  const code = await codeFor(client)
  const rows = await app.ctx.db.selectFrom('authorization_codes').selectAll().where('client_id', '=', client.id).execute()
  t.equal(rows.length, 1)
  t.notOk(JSON.stringify(rows).includes(code), 'the code string is in no column')
  t.equal(rows[0]!.code_hash, hashOpaque(code), 'its hash is the key')
})

t.test('the purge keeps a code as long as what it issued may live, and drops what has expired', async (t) => {
  const { db } = app.ctx
  const client = await browserClient(ta, org)
  const code = await createAuthorizationCode(db, {
    orgId: org.orgId, clientId: client.id, userId: alice.user.id, redirectUri: client.redirectUri, redirectUriGiven: true, scope: 'user:all', codeChallenge: undefined
  }, 60)
  const hash = hashOpaque(code)
  await db.updateTable('authorization_codes').set({ expires_at: new Date(Date.now() - 2 * 24 * 3600 * 1000) }).where('code_hash', '=', hash).execute()
  await db.insertInto('login_failures').values({ key: 'address:purge-test', failures: 3, window_start: new Date(Date.now() - 7200_000), expires_at: new Date(Date.now() - 1000) }).execute()
  await purgeExpired(db, { usedCodeSeconds: 30 * 24 * 3600, eventDays: 365 })
  t.ok(await db.selectFrom('authorization_codes').select('code_hash').where('code_hash', '=', hash).executeTakeFirst(), 'kept within the refresh-token lifetime')
  t.notOk(await db.selectFrom('login_failures').select('key').where('key', '=', 'address:purge-test').executeTakeFirst(), 'an ended failure window is dropped')
  await purgeExpired(db, { usedCodeSeconds: 24 * 3600, eventDays: 365 })
  t.notOk(await db.selectFrom('authorization_codes').select('code_hash').where('code_hash', '=', hash).executeTakeFirst(), 'dropped past it')
})
