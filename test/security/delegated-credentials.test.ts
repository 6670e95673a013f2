// Issue 9, finding 1: a token that a user gave a third-party client through the consent page must
// not change credentials (a user's public key or password, a client's global key), and neither may a
// `self` token; so such a token can never be turned into an admin:all token. The rule: docs/security.md.
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { basic, oauthPoster } from '../helpers/oauth.js'
import { browserClient, codeGrant, signInWithPassword, type BrowserClient } from '../helpers/signin.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0', LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' })
const { app } = ta
const org = await newOrg(ta)
const post = oauthPoster(app, org.orgName)
const PASSWORD = 'the admin passphrase'

// The org's own client (setUpOrganization): JWT grant on, consent asked (the API's default).
const jwtClient = await app.ctx.db.selectFrom('clients').select(['id', 'jwt_grant_enabled', 'explicit_authorization_required'])
  .where('id', '=', org.clientId).executeTakeFirstOrThrow()
if (!jwtClient.jwt_grant_enabled || !jwtClient.explicit_authorization_required) throw new Error('the org\'s JWT client should ask for consent, as the API\'s default does')

const adminKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
await app.ctx.db.updateTable('users').set({ public_key: pem(adminKey.publicKey) }).where('id', '=', org.admin.id).execute()

const adminJar = await signInWithPassword(ta, org, org.admin, { password: PASSWORD })

const thirdParty = await browserClient(ta, org) // explicit_authorization_required: true (the default)
const firstParty = await browserClient(ta, org, { explicit_authorization_required: false })

/** The browser flow through a client, consent allowed when asked: the access token. */
const browserToken = async (client: BrowserClient, scope: string) => await codeGrant(app, org.orgName, adminJar, client, scope)

/** A JWT-bearer token for the admin, through the org's JWT client identified by client_id alone (as ascli). */
async function jwtBearer (key: typeof adminKey, scope: string) {
  const assertion = await ascliAssertion(key.privateKey, org.clientId, org.admin.email, org.orgName)
  return await post('token', ascliForm(org.clientId, assertion, scope))
}

const storedKey = async () => (await app.ctx.db.selectFrom('users').select('public_key').where('id', '=', org.admin.id).executeTakeFirstOrThrow()).public_key

for (const scope of ['user:all', 'self']) {
  t.test(`the whole chain fails at its second step: a consented ${scope} token cannot set the admin's key`, async (t) => {
    const { access: token, consentAsked } = await browserToken(thirdParty, scope)
    t.ok(consentAsked, 'the admin was asked, and allowed the third-party client')
    t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 200, 'the token does what it was given for')

    const put = await call(app, token, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(attackerKey.publicKey) })
    t.equal(put.statusCode, 403, 'step 2 is refused')
    t.match(put.json(), { code: 'forbidden', message: /credential/ })
    t.equal(await storedKey(), pem(adminKey.publicKey), 'the admin\'s key is unchanged')

    const minted = await jwtBearer(attackerKey, 'admin:all')
    t.equal(minted.statusCode, 400, 'step 3: the attacker\'s key mints nothing')
    t.equal(minted.json().error, 'invalid_grant')
  })
}

t.test('a token refreshed from a consented one is delegated too', async (t) => {
  const { refresh } = await browserToken(thirdParty, 'user:all')
  const res = await post('token', { grant_type: 'refresh_token', refresh_token: refresh! }, basic(thirdParty.id, thirdParty.secret!))
  t.equal(res.statusCode, 200, 'refreshed')
  const put = await call(app, res.json().access_token, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(attackerKey.publicKey) })
  t.equal(put.statusCode, 403)
  t.equal(await storedKey(), pem(adminKey.publicKey))
})

t.test('a consented token cannot set a password', async (t) => {
  const { access: token } = await browserToken(thirdParty, 'user:all')
  const change = await call(app, token, 'PUT', '/api/v1/self/password', { current_password: PASSWORD, new_password: 'another long passphrase' })
  t.equal(change.statusCode, 403, 'even knowing the current password')
  t.match(change.json(), { code: 'forbidden', message: /credential/ })
})

t.test('a consented admin:all token cannot set credentials: user keys and passwords, client global keys', async (t) => {
  const { access: token, consentAsked } = await browserToken(thirdParty, 'admin:all')
  t.ok(consentAsked)
  t.equal((await call(app, token, 'GET', '/api/v1/users')).statusCode, 200, 'it administers, as allowed')
  const cases: Array<[string, string, string, unknown]> = [
    ['a user\'s key', 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(attackerKey.publicKey) }],
    ['a user\'s password', 'PUT', `/api/v1/users/${org.admin.id}`, { password: 'attacker chosen phrase' }],
    ['a new admin with a key', 'POST', '/api/v1/users', { email: 'sleeper@evil.example', organization_admin: true, public_key: pem(attackerKey.publicKey) }],
    ['a new user with a password', 'POST', '/api/v1/users', { email: 'sleeper2@evil.example', password: 'attacker chosen phrase' }],
    ['a client\'s global key', 'PUT', `/api/v1/clients/${org.clientId}`, { public_key: pem(attackerKey.publicKey) }],
    ['a new client with a global key', 'POST', '/api/v1/clients', { name: 'sleeper', jwt_grant_enabled: true, public_key: pem(attackerKey.publicKey) }]
  ]
  for (const [what, method, url, body] of cases) {
    const res = await call(app, token, method as 'PUT', url, body)
    t.equal(res.statusCode, 403, what)
  }
  t.equal(await storedKey(), pem(adminKey.publicKey))
  const client = await app.ctx.db.selectFrom('clients').select('public_key').where('id', '=', org.clientId).executeTakeFirstOrThrow()
  t.equal(client.public_key, null, 'the JWT client has no global key')
  const sleepers = await app.ctx.db.selectFrom('users').select('id').where('email', 'like', 'sleeper%').execute()
  t.same(sleepers, [], 'no user was created')
  const other = await call(app, token, 'PUT', `/api/v1/clients/${org.clientId}`, { name: 'renamed by a delegated admin' })
  t.equal(other.statusCode, 204, 'fields other than credentials stay open to it')
})

t.test('what real clients do keeps working', async (t) => {
  await t.test('ascli: a JWT-bearer user:all token (through a client that asks for consent) sets its own key', async (t) => {
    const res = await jwtBearer(adminKey, 'user:all')
    t.equal(res.statusCode, 200, 'a token')
    const token = res.json().access_token
    const self = await call(app, token, 'GET', '/api/v1/self')
    const newKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const put = await call(app, token, 'PUT', `/api/v1/users/${self.json().id}`, { public_key: pem(newKey.publicKey) })
    t.equal(put.statusCode, 204, put.body)
    t.equal(await storedKey(), pem(newKey.publicKey))
    // Back to the key the other tests sign with, through the same route.
    const again = await jwtBearer(newKey, 'user:all')
    t.equal((await call(app, again.json().access_token, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(adminKey.publicKey) })).statusCode, 204)
  })

  await t.test('ascli --auth=web through a client registered without a consent prompt sets its own key', async (t) => {
    const { access: token, consentAsked } = await browserToken(firstParty, 'user:all')
    t.notOk(consentAsked)
    const put = await call(app, token, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(adminKey.publicKey) })
    t.equal(put.statusCode, 204, put.body)
  })

  await t.test('a self token may still read the profile, and a first-party self token may not set a key either', async (t) => {
    const { access: token } = await browserToken(firstParty, 'self')
    t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 200)
    const put = await call(app, token, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(attackerKey.publicKey) })
    t.equal(put.statusCode, 403, 'self means the profile, not the keys')
  })

  await t.test('once an admin marks the client as asking for consent, its earlier browser tokens lose the power', async (t) => {
    const client = await browserClient(ta, org, { explicit_authorization_required: false })
    const { access: token } = await browserToken(client, 'user:all')
    await app.ctx.db.updateTable('clients').set({ explicit_authorization_required: true }).where('id', '=', client.id).execute()
    const put = await call(app, token, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(attackerKey.publicKey) })
    t.equal(put.statusCode, 403)
  })
})
