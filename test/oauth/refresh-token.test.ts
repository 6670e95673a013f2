// The token endpoint's refresh_token grant (RFC 6749 §6, rotation and replay detection after
// RFC 9700 §4.14.2), and RFC 7009 revocation of refresh tokens. Tokens come from the code flow over app.inject.
import t from 'tap'
import { hashOpaque } from '../../src/oauth/opaque.js'
import { buildTestApp, call, newOrg, pastCutOff } from '../helpers/app.js'
import { basic, defined, errorOf, oauthPoster, type Form } from '../helpers/oauth.js'
import { authorize, browse, browserClient, type BrowserClient, pkcePair, signedInUser, signIn, TEST_PASSWORD } from '../helpers/signin.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0', LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' })
const { app } = ta
const org = await newOrg(ta)
const base = `/api/v1/oauth2/${org.orgName}`
const post = oauthPoster(app, org.orgName)

interface Tokens { access: string, refresh: string }

const alice = await signedInUser(ta, org)

/** The code flow for `client` up to its first tokens (PKCE, so a public client works as well). */
async function grant (client: BrowserClient, scope?: string, jar = alice.jar): Promise<Tokens> {
  const { verifier, challenge } = pkcePair()
  const { url } = await authorize(app, jar, org.orgName, defined({
    response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, scope, code_challenge: challenge, code_challenge_method: 'S256'
  }))
  const code = url.searchParams.get('code')
  if (!code) throw new Error(`authorize gave no code: ${url.searchParams.get('error') ?? ''}`)
  const res = await post('token', {
    grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, client_id: client.id, client_secret: client.secret ?? undefined
  })
  if (res.statusCode !== 200) throw new Error(`code exchange failed ${errorOf(res)}`)
  return { access: res.json().access_token, refresh: res.json().refresh_token }
}

/** The refresh request as ascli makes it: client_id and client_secret in the body; `extra` overrides. */
async function refresh (client: BrowserClient, refreshToken: string | undefined, extra: Form = {}, headers: Record<string, string> = {}) {
  return await post('token', {
    grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.id, client_secret: client.secret ?? undefined, ...extra
  }, headers)
}

/** Introspection by the client itself (it needs its secret): the answer's body. */
async function introspect (client: BrowserClient, token: string): Promise<{ active: boolean, scope?: string }> {
  const res = await post('introspect', { token }, basic(client.id, client.secret!))
  if (res.statusCode !== 200) throw new Error(`introspect failed ${errorOf(res)}`)
  return res.json()
}

t.test('rotation: a new refresh token each time; the presented one is used up', async (t) => {
  const client = await browserClient(ta, org)
  const first = await grant(client)
  const res = await refresh(client, first.refresh)
  t.equal(res.statusCode, 200, errorOf(res))
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { access_token: String, token_type: 'bearer', expires_in: 3600, scope: 'user:all', refresh_token: String })
  t.not(body.refresh_token, first.refresh, 'a new refresh token')
  t.not(body.access_token, first.access, 'a new access token')
  const self = await call(app, body.access_token, 'GET', '/api/v1/self')
  t.equal(self.statusCode, 200, 'the new access token works')
  t.equal(self.json().id, alice.user.id)

  const old = await refresh(client, first.refresh)
  t.equal(old.statusCode, 400, 'the rotated-out token is refused')
  t.equal(old.json().error, 'invalid_grant')
})

t.test('reuse of a rotated token revokes the whole family', async (t) => {
  const client = await browserClient(ta, org)
  const first = await grant(client)
  const r2 = (await refresh(client, first.refresh)).json()
  const r3 = (await refresh(client, r2.refresh_token)).json()
  t.ok((await introspect(client, r3.access_token)).active, 'the newest access token is active before the replay')

  const replay = await refresh(client, first.refresh)
  t.equal(replay.statusCode, 400, 'the replayed token')
  t.match(replay.json(), { error: 'invalid_grant', error_description: /already used/ })

  const newest = await refresh(client, r3.refresh_token)
  t.equal(newest.statusCode, 400, 'the newest refresh token, never used, is refused as well')
  t.equal(newest.json().error, 'invalid_grant')
  for (const [label, token] of [['first', first.access], ['second', r2.access_token], ['newest', r3.access_token]]) {
    t.notOk((await introspect(client, token!)).active, `the ${label} access token of the family is inactive`)
  }
  t.equal((await call(app, r3.access_token, 'GET', '/api/v1/self')).statusCode, 401, 'and the REST API refuses it')
})

t.test('a narrower scope narrows the access token; the rotated refresh token keeps the grant\'s scope (RFC 6749 §6)', async (t) => {
  const client = await browserClient(ta, org)
  const first = await grant(client, 'user:all self')
  const res = await refresh(client, first.refresh, { scope: 'self' })
  t.equal(res.statusCode, 200, errorOf(res))
  t.equal(res.json().scope, 'self')
  t.equal((await introspect(client, res.json().access_token)).scope, 'self', 'the access token has the narrower scope')

  const rotated = res.json().refresh_token
  const whole = await refresh(client, rotated, { scope: 'user:all self' })
  t.equal(whole.statusCode, 200, 'the rotated refresh token may still ask for everything first granted')
  t.equal(whole.json().scope, 'user:all self')
  const plain = await refresh(client, whole.json().refresh_token)
  t.equal(plain.statusCode, 200, errorOf(plain))
  t.equal(plain.json().scope, 'user:all self', 'without scope, the grant\'s scope')
  const wider = await refresh(client, plain.json().refresh_token, { scope: 'user:all self admin:all' })
  t.equal(wider.json().error, 'invalid_scope', 'never more than granted')
})

t.test('a wider scope is invalid_scope, and the presented token still works', async (t) => {
  const client = await browserClient(ta, org)
  const first = await grant(client)
  for (const scope of ['user:all self', 'admin:all', 'nonsense']) {
    const res = await refresh(client, first.refresh, { scope })
    t.equal(res.statusCode, 400, scope)
    t.equal(res.json().error, 'invalid_scope', scope)
    t.notOk('access_token' in res.json(), scope)
  }
  const after = await refresh(client, first.refresh)
  t.equal(after.statusCode, 200, `the token was not used up ${errorOf(after)}`)
  t.equal(after.json().scope, 'user:all')
})

t.test('another client\'s refresh token is invalid_grant, and stays good for its client', async (t) => {
  const owner = await browserClient(ta, org)
  const other = await browserClient(ta, org)
  const tokens = await grant(owner)
  const res = await refresh(other, tokens.refresh)
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_grant')
  t.equal((await refresh(owner, tokens.refresh)).statusCode, 200, 'the owner can still use it')
})

t.test('a missing refresh_token is invalid_request', async (t) => {
  const client = await browserClient(ta, org)
  const res = await refresh(client, undefined)
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_request', error_description: "missing 'refresh_token': send the refresh token of the last token response" })
})

t.test('a confidential client must send its secret: 401 invalid_client, and the token is not used up', async (t) => {
  const client = await browserClient(ta, org)
  const tokens = await grant(client)
  const none = await refresh(client, tokens.refresh, { client_secret: undefined })
  t.equal(none.statusCode, 401, 'client_id alone')
  t.equal(none.json().error, 'invalid_client')
  const wrong = await refresh(client, tokens.refresh, { client_secret: 'not-the-secret' })
  t.equal(wrong.statusCode, 401, 'a wrong secret')
  t.equal(wrong.json().error, 'invalid_client')
  const byBasic = await refresh(client, tokens.refresh, { client_id: undefined, client_secret: undefined }, basic(client.id, client.secret!))
  t.equal(byBasic.statusCode, 200, `the right secret by Basic then works ${errorOf(byBasic)}`)
})

t.test('a public client refreshes with client_id alone, never with a secret', async (t) => {
  const client = await browserClient(ta, org, { token_endpoint_auth_method: 'none' })
  const tokens = await grant(client)
  const withSecret = await refresh(client, tokens.refresh, { client_secret: 'anything' })
  t.equal(withSecret.statusCode, 401, 'a secret from a public client')
  t.equal(withSecret.json().error, 'invalid_client')
  const res = await refresh(client, tokens.refresh)
  t.equal(res.statusCode, 200, errorOf(res))
  t.match(res.json(), { access_token: String, refresh_token: String, scope: 'user:all' })
  t.equal((await call(app, res.json().access_token, 'GET', '/api/v1/self')).statusCode, 200)
})

t.test('expired refresh tokens: past the family\'s end, or unused too long', async (t) => {
  const client = await browserClient(ta, org)
  for (const column of ['expires_at', 'idle_expires_at'] as const) {
    const tokens = await grant(client)
    await app.ctx.db.updateTable('refresh_tokens').set({ [column]: new Date(Date.now() - 1000) }).where('token_hash', '=', hashOpaque(tokens.refresh)).execute()
    const res = await refresh(client, tokens.refresh)
    t.equal(res.statusCode, 400, column)
    t.match(res.json(), { error: 'invalid_grant', error_description: /expired/ }, column)
  }
})

t.test('a user deactivated since the code exchange: invalid_grant', async (t) => {
  const bob = await signedInUser(ta, org)
  const client = await browserClient(ta, org)
  const tokens = await grant(client, undefined, bob.jar)
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/users/${bob.user.id}`, { deactivated: true })
  t.equal(put.statusCode, 204, errorOf(put))
  const res = await refresh(client, tokens.refresh)
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_grant')
  t.notOk('access_token' in res.json())
})

t.test('deactivated, then reactivated: every credential from before stays dead; a new sign-in works', async (t) => {
  const bob = await signedInUser(ta, org)
  const client = await browserClient(ta, org)
  const old = await grant(client, undefined, bob.jar)
  t.ok((await introspect(client, old.access)).active, 'the access token is active before')
  for (const deactivated of [true, false]) {
    const put = await call(app, org.adminToken, 'PUT', `/api/v1/users/${bob.user.id}`, { deactivated })
    t.equal(put.statusCode, 204, errorOf(put))
  }
  t.equal((await call(app, old.access, 'GET', '/api/v1/self')).statusCode, 401, 'the REST API refuses the old access token')
  t.notOk((await introspect(client, old.access)).active, 'introspection reads it inactive')
  const res = await refresh(client, old.refresh)
  t.equal(res.statusCode, 400, 'the old refresh token is refused')
  t.match(res.json(), { error: 'invalid_grant', error_description: /revoked/ })
  const query = new URLSearchParams({ response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri })
  const page = await browse(app, bob.jar, 'GET', `${base}/authorize?${query.toString()}`)
  t.equal(page.statusCode, 302, 'the browser session ended')
  t.match(page.headers.location, `${base}/login?`, 'authorize asks for a sign-in')

  await pastCutOff(ta, bob.user.id)
  t.equal((await signIn(app, bob.jar, org.orgName, bob.user.email, TEST_PASSWORD)).statusCode, 303, 'the user signs in again')
  const fresh = await grant(client, undefined, bob.jar)
  t.equal((await call(app, fresh.access, 'GET', '/api/v1/self')).statusCode, 200, 'its new access token works')
  t.ok((await introspect(client, fresh.access)).active, 'and is active')
  const rotated = await refresh(client, fresh.refresh)
  t.equal(rotated.statusCode, 200, `its new refresh token works ${errorOf(rotated)}`)
})

t.test('revoking a refresh token (RFC 7009) revokes its family, with or without token_type_hint', async (t) => {
  const client = await browserClient(ta, org)
  for (const hint of ['refresh_token', undefined]) {
    const label = hint ? `token_type_hint=${hint}` : 'no hint'
    const first = await grant(client)
    const second = (await refresh(client, first.refresh)).json()
    const res = await post('revoke', { token: second.refresh_token, token_type_hint: hint }, basic(client.id, client.secret!))
    t.equal(res.statusCode, 200, label)
    const after = await refresh(client, second.refresh_token)
    t.equal(after.statusCode, 400, `${label}: the revoked refresh token is refused`)
    t.match(after.json(), { error: 'invalid_grant', error_description: /revoked/ }, label)
    t.notOk((await introspect(client, second.access_token)).active, `${label}: the access token it came with is inactive`)
    t.notOk((await introspect(client, first.access)).active, `${label}: so is the family's first access token`)
    t.equal((await call(app, second.access_token, 'GET', '/api/v1/self')).statusCode, 401, `${label}: the REST API refuses it`)
  }
})

t.test('revocation touches only the client\'s own refresh tokens; a public client revokes by client_id', async (t) => {
  const owner = await browserClient(ta, org)
  const other = await browserClient(ta, org)
  const tokens = await grant(owner)
  const foreign = await post('revoke', { token: tokens.refresh, token_type_hint: 'refresh_token' }, basic(other.id, other.secret!))
  t.equal(foreign.statusCode, 200, 'another client\'s token: 200, as RFC 7009 answers')
  t.equal((await refresh(owner, tokens.refresh)).statusCode, 200, 'but it is not revoked')

  const pub = await browserClient(ta, org, { token_endpoint_auth_method: 'none' })
  const pubTokens = await grant(pub)
  const res = await post('revoke', { token: pubTokens.refresh, client_id: pub.id })
  t.equal(res.statusCode, 200)
  t.equal((await refresh(pub, pubTokens.refresh)).json().error, 'invalid_grant', 'the public client\'s refresh token is revoked')
  t.equal((await call(app, pubTokens.access, 'GET', '/api/v1/self')).statusCode, 401, 'with its access token')
})

t.test('refresh tokens are stored hashed only', async (t) => {
  const client = await browserClient(ta, org)
  const tokens = await grant(client)
  const rows = await app.ctx.db.selectFrom('refresh_tokens').selectAll().where('client_id', '=', client.id).execute()
  t.equal(rows.length, 1)
  t.notOk(JSON.stringify(rows).includes(tokens.refresh), 'the token string is in no column')
  t.equal(rows[0]!.token_hash, hashOpaque(tokens.refresh), 'its hash is the key')
})

t.test('a rotated token replayed with a wider scope still revokes its family', async (t) => {
  const client = await browserClient(ta, org)
  const first = await grant(client, 'self')
  const rotated = await refresh(client, first.refresh)
  t.equal(rotated.statusCode, 200)
  const newest = rotated.json().refresh_token as string
  const replay = await refresh(client, first.refresh, { scope: 'self user:all' })
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'invalid_grant', 'the replay is seen before the scope is judged')
  const after = await refresh(client, newest)
  t.equal(after.json().error, 'invalid_grant', 'the family is revoked')
})

t.test('two concurrent uses of one refresh token: at most one wins, and then the whole family is dead', async (t) => {
  const client = await browserClient(ta, org)
  const first = await grant(client)
  const [a, b] = await Promise.all([refresh(client, first.refresh), refresh(client, first.refresh)])
  const winners = [a, b].filter((r) => r.statusCode === 200)
  t.ok(winners.length <= 1, `at most one rotation succeeds (${a.statusCode}, ${b.statusCode})`)
  t.ok([a, b].some((r) => r.statusCode === 400 && r.json().error === 'invalid_grant'), 'the other is a replay')
  for (const w of winners) {
    const next = await refresh(client, w.json().refresh_token)
    t.equal(next.json().error, 'invalid_grant', 'the winner\'s new refresh token is revoked with its family')
    t.notOk((await introspect(client, w.json().access_token)).active, 'and so is its access token')
  }
  const again = await refresh(client, first.refresh)
  t.equal(again.json().error, 'invalid_grant')
})

t.test('a password set by an admin or changed by its user revokes the user\'s refresh tokens', async (t) => {
  const client = await browserClient(ta, org)
  const bob = await signedInUser(ta, org)
  const tokens = await grant(client, undefined, bob.jar)
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/users/${bob.user.id}`, { password: 'a brand new passphrase' })
  t.equal(put.statusCode, 204)
  const res = await refresh(client, tokens.refresh)
  t.equal(res.json().error, 'invalid_grant', 'the refresh token is revoked')
  t.notOk((await introspect(client, tokens.access)).active, 'and the access token it came with')
  const other = await grant(client)
  t.equal((await refresh(client, other.refresh)).statusCode, 200, 'another user\'s tokens are untouched')
})
