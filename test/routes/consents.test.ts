// GET/DELETE /api/v1/self/consents: what a user allowed clients in the browser flow, and taking it back.
import t from 'tap'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { basic, oauthPoster } from '../helpers/oauth.js'
import { authorize, browserClient, codeGrant, signedInUser, type BrowserClient, type Jar } from '../helpers/signin.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0', LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' })
const { app } = ta
const org = await newOrg(ta)
const post = oauthPoster(app, org.orgName)

interface ConsentItem { id: string, client_id: string, client_name: string, scopes: string[], created_at: string, updated_at: string }

const alice = await signedInUser(ta, org)
const bob = await signedInUser(ta, org)

/** Authorize (allowing consent when asked) and exchange the code: the tokens and whether consent was asked. */
const grant = async (client: BrowserClient, jar: Jar, scope = 'user:all') => await codeGrant(app, org.orgName, jar, client, scope)

const refresh = async (client: BrowserClient, token: string) =>
  await post('token', { grant_type: 'refresh_token', refresh_token: token }, basic(client.id, client.secret!))

const active = async (client: BrowserClient, token: string): Promise<boolean> =>
  (await post('introspect', { token }, basic(client.id, client.secret!))).json().active

async function consentsOf (token: string): Promise<{ total: string | undefined, items: ConsentItem[] }> {
  const res = await call(app, token, 'GET', '/api/v1/self/consents')
  if (res.statusCode !== 200) throw new Error(`GET /self/consents answered ${res.statusCode}`)
  return { total: res.headers['x-total-count'] as string | undefined, items: res.json() }
}

t.test('GET /self/consents lists the clients the caller allowed, with their names and scopes', async (t) => {
  const user = await signedInUser(ta, org)
  t.same(await consentsOf(user.token), { total: '0', items: [] }, 'nothing before any consent')

  const photos = await browserClient(ta, org, { name: 'Photo Viewer' })
  const backup = await browserClient(ta, org, { name: 'Backup Tool' })
  const silent = await browserClient(ta, org, { name: 'Trusted Portal', explicit_authorization_required: false })
  t.ok((await grant(photos, user.jar, 'user:all')).consentAsked, 'consent asked for the first client')
  t.ok((await grant(backup, user.jar, 'self')).consentAsked, 'and for the second')
  t.notOk((await grant(silent, user.jar)).consentAsked, 'not for a client that does not require it')

  const { total, items } = await consentsOf(user.token)
  t.equal(total, '3', 'X-Total-Count: every client the user let in, the one that did not ask included')
  t.equal(items.length, 3)
  const byClient = new Map(items.map((c) => [c.client_id, c]))
  t.match(byClient.get(photos.id), { id: String, client_name: 'Photo Viewer', scopes: ['user:all'], created_at: String, updated_at: String })
  t.match(byClient.get(backup.id), { client_name: 'Backup Tool', scopes: ['self'] })
  t.match(byClient.get(silent.id), { client_name: 'Trusted Portal', scopes: ['user:all'] }, 'assumed consent is listed, so it can be withdrawn')

  t.ok((await grant(photos, user.jar, 'self')).consentAsked, 'a scope not allowed before asks again')
  t.notOk((await grant(photos, user.jar, 'user:all self')).consentAsked, 'both allowed now: no page')
  const after = (await consentsOf(user.token)).items.find((c) => c.client_id === photos.id)
  t.same(after?.scopes, ['self', 'user:all'], 'the scopes allowed add up')

  t.same(await consentsOf(bob.token), { total: '0', items: [] }, 'another user sees none of them')
})

t.test('DELETE withdraws: the client asks again, and its refresh and access tokens for the user stop working', async (t) => {
  const client = await browserClient(ta, org, { name: 'Withdrawn App' })
  const first = await grant(client, alice.jar)
  t.ok(first.consentAsked)
  const second = await grant(client, alice.jar)
  t.notOk(second.consentAsked, 'consent remembered')
  const rotated = (await refresh(client, second.refresh!)).json()
  t.ok(rotated.refresh_token, 'a rotated family too')
  const bobs = await grant(client, bob.jar)

  const mine = (await consentsOf(alice.token)).items.find((c) => c.client_id === client.id)
  t.ok(mine, 'listed')
  const del = await call(app, alice.token, 'DELETE', `/api/v1/self/consents/${mine!.id}`)
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.notOk((await consentsOf(alice.token)).items.some((c) => c.client_id === client.id), 'no longer listed')

  for (const [label, token] of [['first family', first.refresh], ['rotated family', rotated.refresh_token]]) {
    const res = await refresh(client, token!)
    t.equal(res.statusCode, 400, `${label}: refresh token refused`)
    t.equal(res.json().error, 'invalid_grant', label)
  }
  for (const [label, token] of [['first', first.access], ['second', second.access], ['rotated', rotated.access_token]]) {
    t.notOk(await active(client, token!), `${label} access token inactive at introspection`)
  }
  t.equal((await call(app, rotated.access_token, 'GET', '/api/v1/self')).statusCode, 401, 'and refused by the REST API')
  t.equal((await call(app, alice.token, 'GET', '/api/v1/self')).statusCode, 200, 'the token of another client is untouched')

  t.equal((await refresh(client, bobs.refresh!)).statusCode, 200, 'another user\'s tokens for the same client are untouched')
  t.ok(await active(client, bobs.access))

  const again = await grant(client, alice.jar)
  t.ok(again.consentAsked, 'the next authorization asks for consent again')
  t.equal((await refresh(client, again.refresh!)).statusCode, 200, 'and its tokens work')
})

t.test('DELETE of a consent that is not the caller\'s, or of none: 404', async (t) => {
  const client = await browserClient(ta, org)
  await grant(client, bob.jar)
  const bobs = (await consentsOf(bob.token)).items.find((c) => c.client_id === client.id)!
  const theirs = await call(app, alice.token, 'DELETE', `/api/v1/self/consents/${bobs.id}`)
  t.equal(theirs.statusCode, 404, 'another user\'s consent id')
  t.match(theirs.json(), { code: 'not_found', request_id: String })
  t.ok((await consentsOf(bob.token)).items.some((c) => c.id === bobs.id), 'it is still there')

  const unknown = await call(app, alice.token, 'DELETE', '/api/v1/self/consents/no-such-consent')
  t.equal(unknown.statusCode, 404, 'an unknown id')
  t.equal(unknown.json().code, 'not_found')

  const other = await newOrg(ta)
  const admin = await call(app, other.adminToken, 'DELETE', `/api/v1/self/consents/${bobs.id}`)
  t.equal(admin.statusCode, 404, 'an admin of another org')
})

t.test('no token: 401', async (t) => {
  for (const [method, url] of [['GET', '/api/v1/self/consents'], ['DELETE', '/api/v1/self/consents/anything']] as const) {
    const res = await call(app, undefined, method, url)
    t.equal(res.statusCode, 401, `${method} ${url}`)
    t.equal(res.json().code, 'unauthorized')
  }
})

t.test('withdrawing a consent also voids a code issued just before', async (t) => {
  const client = await browserClient(ta, org, { name: 'Pending Code App' })
  await grant(client, alice.jar)
  const { url } = await authorize(app, alice.jar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri })
  const code = url.searchParams.get('code')!
  t.ok(code, 'a code, not yet exchanged')
  const mine = (await consentsOf(alice.token)).items.find((c) => c.client_id === client.id)!
  t.equal((await call(app, alice.token, 'DELETE', `/api/v1/self/consents/${mine.id}`)).statusCode, 204)
  const res = await post('token', { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri }, basic(client.id, client.secret!))
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_grant')
})
