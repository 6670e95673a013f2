// GET/POST <oauth base>/authorize over inject: pages against redirects, sign-in, consent, the code.
import t from 'tap'
import { hashOpaque } from '../../src/oauth/opaque.js'
import { buildTestApp, newOrg } from '../helpers/app.js'
import { defined, FORM, type Form } from '../helpers/oauth.js'
import { authorize, browse, browserClient, hiddenValue, Jar, pathOf, pkcePair, setPassword, signedInUser, signIn } from '../helpers/signin.js'

const ta = await buildTestApp(t, { LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' })
const { app } = ta
const org = await newOrg(ta)
const PASSWORD = 'correct horse battery'
const base = `/api/v1/oauth2/${org.orgName}`
const issuer = `http://localhost:3000${base}`

const signedIn = async (fields: Parameters<typeof org.newUser>[0] = {}) => await signedInUser(ta, org, { fields, password: PASSWORD, t })
const query = (p: Form) => new URLSearchParams(defined(p)).toString()

t.test('an anonymous browser is sent to sign in, and comes back to the same request', async (t) => {
  const client = await browserClient(ta, org, { explicit_authorization_required: false })
  const { challenge } = pkcePair()
  const params = { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 's 1', scope: 'user:all', code_challenge: challenge, code_challenge_method: 'S256' }
  const jar = new Jar()
  const first = await browse(app, jar, 'GET', `${base}/authorize?${query(params)}`)
  t.equal(first.statusCode, 302)
  const login = new URL(first.headers.location as string, 'http://localhost')
  t.equal(login.pathname, `${base}/login`)
  const returnTo = login.searchParams.get('return_to')!
  t.same(Object.fromEntries(new URLSearchParams(returnTo)), params, 'every parameter is carried')

  const { user } = await org.newUser()
  await setPassword(ta, user.id, PASSWORD)
  const signed = await signIn(app, jar, org.orgName, user.email, PASSWORD, returnTo)
  t.equal(signed.statusCode, 303)
  const back = await browse(app, jar, 'GET', pathOf(signed.headers.location as string))
  t.equal(back.statusCode, 303)
  const url = new URL(back.headers.location as string)
  t.equal(url.origin + url.pathname, client.redirectUri)
  t.equal(url.searchParams.get('state'), 's 1')
  t.equal(url.searchParams.get('iss'), issuer, 'RFC 9207 iss')
  const code = url.searchParams.get('code')!
  t.match(code, /^[A-Za-z0-9_-]{43}$/)
  const row = await app.ctx.db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', hashOpaque(code)).executeTakeFirstOrThrow()
  t.equal(row.client_id, client.id, 'bound to the client')
  t.equal(row.user_id, user.id, 'to the user')
  t.equal(row.redirect_uri, client.redirectUri, 'to the redirect URI')
  t.equal(row.scope, 'user:all', 'to the scopes')
  t.equal(row.code_challenge, challenge, 'to the PKCE challenge')
  const lifetime = (row.expires_at.getTime() - row.created_at.getTime()) / 1000
  t.ok(lifetime > 55 && lifetime <= 61, `valid 60 s (${lifetime})`)
  t.equal(row.used_at, null)
})

t.test('an unknown client or a foreign redirect URI is a page, never a redirect', async (t) => {
  const client = await browserClient(ta, org)
  const { jar } = await signedIn()
  const cases: Array<[string, string, number, RegExp]> = [
    ['unknown client', query({ response_type: 'code', client_id: 'nope', redirect_uri: client.redirectUri, state: 'x' }), 400, /Unknown client/],
    ['no client_id', query({ response_type: 'code', redirect_uri: client.redirectUri }), 400, /client_id is missing/],
    ['redirect URI not registered', query({ response_type: 'code', client_id: client.id, redirect_uri: 'https://evil.example.com/cb', state: 'x' }), 400, /redirect uri doesn&#39;t match authorized redirect uri/],
    ['redirect URI with another path', query({ response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri + '/x' }), 400, /Invalid redirect URI/]
  ]
  for (const [name, q, status, body] of cases) {
    for (const who of [new Jar(), jar]) {
      const res = await browse(app, who, 'GET', `${base}/authorize?${q}`)
      t.equal(res.statusCode, status, name)
      t.notOk(res.headers.location, `${name}: no Location`)
      t.match(res.headers['content-type'], /^text\/html/)
      t.match(res.body, body, name)
    }
  }
  const otherOrg = await newOrg(ta)
  const foreign = await browse(app, jar, 'GET', `/api/v1/oauth2/${otherOrg.orgName}/authorize?${query({ response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri })}`)
  t.equal(foreign.statusCode, 400, 'another org\'s client is unknown here')
  const noOrg = await browse(app, jar, 'GET', `/api/v1/oauth2/no-such-org/authorize?${query({ response_type: 'code', client_id: client.id })}`)
  t.equal(noOrg.statusCode, 404)
})

t.test('other errors go back to the client with state and iss', async (t) => {
  const client = await browserClient(ta, org)
  const { jar } = await signedIn()
  const ok = { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 'st' }
  const cases: Array<[string, Record<string, string | undefined>, string]> = [
    ['response_type token', { ...ok, response_type: 'token' }, 'unsupported_response_type'],
    ['PKCE plain', { ...ok, code_challenge: pkcePair().challenge, code_challenge_method: 'plain' }, 'invalid_request'],
    ['unknown scope', { ...ok, scope: 'everything' }, 'invalid_scope'],
    ['admin scope for a non-admin', { ...ok, scope: 'admin:all' }, 'invalid_scope'],
    ['admin node scope (owner_access is a JWT-grant parameter)', { ...ok, scope: 'node.ak:admin:all' }, 'invalid_scope']
  ]
  for (const [name, params, error] of cases) {
    for (const [who, label] of [[new Jar(), 'anonymous'], [jar, 'signed in']] as const) {
      const res = await browse(app, who, 'GET', `${base}/authorize?${query(params)}`)
      if (label === 'anonymous' && (name.startsWith('unknown scope') || name.startsWith('admin'))) {
        t.equal(res.statusCode, 302, `${name}: scopes are judged once the user is known`)
        continue
      }
      t.equal(res.statusCode, 303, `${name} (${label})`)
      const url = new URL(res.headers.location as string)
      t.equal(url.origin + url.pathname, client.redirectUri)
      t.equal(url.searchParams.get('error'), error, `${name} (${label})`)
      t.ok(url.searchParams.get('error_description'), 'with a description')
      t.equal(url.searchParams.get('state'), 'st', 'with state')
      t.equal(url.searchParams.get('iss'), issuer, 'with iss')
      t.notOk(url.searchParams.has('code'))
    }
  }
  const pub = await browserClient(ta, org, { token_endpoint_auth_method: 'none' })
  const res = await browse(app, jar, 'GET', `${base}/authorize?${query({ response_type: 'code', client_id: pub.id, redirect_uri: pub.redirectUri, state: 'p' })}`)
  t.equal(new URL(res.headers.location as string).searchParams.get('error'), 'invalid_request', 'a public client must use PKCE')
})

t.test('consent: asked, allowed, remembered; asked again for more scopes', async (t) => {
  const client = await browserClient(ta, org)
  const { user, jar } = await signedIn()
  const params = { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 'c1' }
  const page = await browse(app, jar, 'GET', `${base}/authorize?${query(params)}`)
  t.equal(page.statusCode, 200)
  t.match(page.body, /<h1>Allow browser [0-9a-f]+\?<\/h1>/, 'names the client')
  t.match(page.body, /<code>user:all<\/code>/, 'names the scopes (the default here)')
  t.match(page.body, new RegExp(user.email.replace(/[.]/g, '\\.')), 'names the account')
  t.match(page.body, /<button type="submit" name="decision" value="allow">Allow<\/button>/)
  t.match(page.body, /<button type="submit" name="decision" value="deny" class="secondary">Deny<\/button>/)
  t.match(page.headers['content-security-policy'], /form-action 'self' https:\/\/app\.example\.com(;|$)/)
  t.equal(hiddenValue(page.body, 'client_id'), client.id)
  t.equal(await app.ctx.db.selectFrom('authorization_codes').select('code_hash').where('client_id', '=', client.id).executeTakeFirst(), undefined, 'no code before the answer')

  const withoutCsrf = await browse(app, jar, 'POST', `${base}/authorize`, { ...params, decision: 'allow' })
  t.equal(withoutCsrf.statusCode, 403, 'the decision needs the CSRF token')

  const first = await authorize(app, jar, org.orgName, params)
  t.ok(first.consentAsked)
  t.ok(first.url.searchParams.get('code'))
  const second = await authorize(app, jar, org.orgName, params)
  t.notOk(second.consentAsked, 'remembered')
  t.ok(second.url.searchParams.get('code'))
  const wider = await authorize(app, jar, org.orgName, { ...params, scope: 'user:all self' })
  t.ok(wider.consentAsked, 'a scope not allowed before is asked for')
  const narrower = await authorize(app, jar, org.orgName, { ...params, scope: 'self' })
  t.notOk(narrower.consentAsked, 'a subset of what was allowed is not')
  const row = await app.ctx.db.selectFrom('consents').select('scopes').where('user_id', '=', user.id).where('client_id', '=', client.id).executeTakeFirstOrThrow()
  t.same(row.scopes, ['self', 'user:all'])

  const { jar: other } = await signedIn()
  t.ok((await authorize(app, other, org.orgName, params)).consentAsked, 'per user')
})

t.test('deny returns access_denied with state, and remembers nothing', async (t) => {
  const client = await browserClient(ta, org)
  const { user, jar } = await signedIn()
  const params = { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 'd1' }
  const denied = await authorize(app, jar, org.orgName, params, 'deny')
  t.ok(denied.consentAsked)
  t.equal(denied.url.searchParams.get('error'), 'access_denied')
  t.equal(denied.url.searchParams.get('state'), 'd1')
  t.equal(denied.url.searchParams.get('iss'), issuer)
  t.notOk(denied.url.searchParams.has('code'))
  t.equal(await app.ctx.db.selectFrom('consents').select('id').where('user_id', '=', user.id).executeTakeFirst(), undefined)
  t.ok((await authorize(app, jar, org.orgName, params, 'deny')).consentAsked, 'asked again next time')

  // Any page of this browser carries a valid token (the secret is in its cookie).
  const page = await browse(app, jar, 'GET', `${base}/login`)
  const bogus = await browse(app, jar, 'POST', `${base}/authorize`, { ...params, _csrf: hiddenValue(page.body, '_csrf')!, decision: 'maybe' })
  t.equal(bogus.statusCode, 400, 'a decision other than allow or deny is a page')
  const tampered = await browse(app, jar, 'POST', `${base}/authorize`, { ...params, redirect_uri: 'https://evil.example.com/cb', _csrf: hiddenValue(page.body, '_csrf')!, decision: 'allow' })
  t.equal(tampered.statusCode, 400, 'a redirect URI changed in the form is checked again')
  t.notOk(tampered.headers.location)
  const anonymous = new Jar()
  const anonPage = await browse(app, anonymous, 'GET', `${base}/login`)
  const noSession = await browse(app, anonymous, 'POST', `${base}/authorize`, { ...params, _csrf: hiddenValue(anonPage.body, '_csrf')!, decision: 'allow' })
  t.equal(noSession.statusCode, 302, 'a decision without a session goes to sign in')
  t.match(noSession.headers.location, /\/login\?return_to=/)
})

t.test('a client that needs no consent gets its code at once', async (t) => {
  const client = await browserClient(ta, org, { explicit_authorization_required: false })
  const { jar } = await signedIn()
  const r = await authorize(app, jar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 'n' })
  t.notOk(r.consentAsked)
  t.ok(r.url.searchParams.get('code'))
})

t.test('the policy applies: admin scopes for admins, listed users only on a whitelist client', async (t) => {
  const client = await browserClient(ta, org, { explicit_authorization_required: false })
  const { jar: adminJar } = await signedIn({ organization_admin: true })
  const admin = await authorize(app, adminJar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, scope: 'admin:all' })
  t.ok(admin.url.searchParams.get('code'), 'an admin may ask admin:all')

  const listed = await browserClient(ta, org, { explicit_authorization_required: false, whitelist_enabled: true })
  const { user, jar } = await signedIn()
  const params = { response_type: 'code', client_id: listed.id, redirect_uri: listed.redirectUri, state: 'w' }
  const refused = await authorize(app, jar, org.orgName, params)
  t.equal(refused.url.searchParams.get('error'), 'access_denied', 'an unlisted user')
  t.equal(refused.url.searchParams.get('state'), 'w')
  t.notMatch(refused.url.searchParams.get('error_description'), /list/, 'the description does not explain the list')
  const g = await app.inject({ method: 'POST', url: '/api/v1/groups', headers: { authorization: `Bearer ${org.adminToken}` }, payload: { name: 'g-' + listed.id } })
  const groupId = (g.json() as { id: string }).id
  await app.inject({ method: 'POST', url: '/api/v1/group_memberships', headers: { authorization: `Bearer ${org.adminToken}` }, payload: { group_id: groupId, member_type: 'user', member_id: user.id } })
  const ca = await app.inject({ method: 'POST', url: '/api/v1/client_authorizations', headers: { authorization: `Bearer ${org.adminToken}` }, payload: { client_id: listed.id, entity_type: 'group', entity_id: groupId } })
  t.equal(ca.statusCode, 201)
  const allowed = await authorize(app, jar, org.orgName, params)
  t.ok(allowed.url.searchParams.get('code'), 'listed through a group')
})

t.test('odd input gets a page or an OAuth error, never a 500', async (t) => {
  const { jar } = await signedIn()
  const nulClient = await browse(app, jar, 'GET', `${base}/authorize?response_type=code&client_id=%00`)
  t.equal(nulClient.statusCode, 400, 'a NUL byte in client_id')
  const nulOrg = await browse(app, jar, 'GET', '/api/v1/oauth2/%00/authorize?response_type=code&client_id=x')
  t.equal(nulOrg.statusCode, 404)
  const token = await app.inject({
    method: 'POST',
    url: `${base}/token`,
    headers: FORM,
    payload: 'grant_type=authorization_code&client_id=%00&code=x'
  })
  t.equal(token.statusCode, 400, 'a NUL byte at the token endpoint')
  t.equal(token.json().error, 'invalid_request')
})

t.test('two first-time allows for different scopes both count', async (t) => {
  const { rememberConsent, consentCovers } = await import('../../src/registry/consents.js')
  const client = await browserClient(ta, org)
  const { user } = await org.newUser()
  await Promise.all([
    rememberConsent(app.ctx.db, org.orgId, user.id, client.id, ['user:all']),
    rememberConsent(app.ctx.db, org.orgId, user.id, client.id, ['self'])
  ])
  t.ok(await consentCovers(app.ctx.db, user.id, client.id, ['user:all', 'self']))
})
