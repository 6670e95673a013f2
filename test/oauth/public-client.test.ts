import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { grantTable } from '../../src/oauth/grants/index.js'
import type { GrantContext } from '../../src/oauth/grants/types.js'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { basic, oauthPoster } from '../helpers/oauth.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app } = ta
const org = await newOrg(ta)
const post = oauthPoster(app, org.orgName)

const alice = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(alice.publicKey) })

const created = await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'public app', token_endpoint_auth_method: 'none', jwt_grant_enabled: true })
if (created.statusCode !== 201) throw new Error(`create failed: ${created.body}`)
const pub: { id: string, secret: null } = created.json()
await app.ctx.db.updateTable('clients').set({ jwt_grant_enabled: true }).where('id', '=', org.clientId).execute()

/** A token for alice through the public client, by client_id alone. */
async function publicToken (): Promise<string> {
  const res = await post('token', ascliForm(pub.id, await ascliAssertion(alice.privateKey, pub.id, user.email)))
  if (res.statusCode !== 200) throw new Error(`token failed: ${res.body}`)
  return res.json().access_token
}

/** Whether introspection by `clientId` reads the token as active (it does only for that client's own live tokens). */
async function activeFor (token: string, clientId: string, secret: string): Promise<boolean> {
  return (await post('introspect', `token=${token}`, basic(clientId, secret))).json().active
}

t.test('a public client gets a token by the JWT bearer grant with client_id alone', async (t) => {
  const res = await post('token', ascliForm(pub.id, await ascliAssertion(alice.privateKey, pub.id, user.email, org.orgName)))
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { token_type: 'bearer', scope: 'user:all', access_token: String })
  const self = await call(app, res.json().access_token, 'GET', '/api/v1/self')
  t.equal(self.statusCode, 200, 'the REST API accepts it')
  t.equal(self.json().id, user.id)
})

t.test('a public client that sends any secret gets 401 invalid_client at the token endpoint', async (t) => {
  const cases: Array<[string, string, Record<string, string>]> = [
    ['a secret in the body', `&client_secret=${org.clientSecret}`, {}],
    ['an empty secret in the body', '&client_secret=', {}],
    ['HTTP Basic with a secret', '', basic(pub.id, 'anything')],
    ['HTTP Basic with an empty secret', '', basic(pub.id, '')]
  ]
  for (const [label, extra, headers] of cases) {
    const assertion = await ascliAssertion(alice.privateKey, pub.id, user.email)
    const form = Object.keys(headers).length ? `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${assertion}` : ascliForm(pub.id, assertion) + extra
    const res = await post('token', form, headers)
    t.equal(res.statusCode, 401, label)
    t.match(res.json(), { error: 'invalid_client', error_description: /public/ }, label)
    t.notOk('access_token' in res.json(), label)
    if (headers.authorization) t.match(res.headers['www-authenticate'], /^Basic/, `${label}: WWW-Authenticate, as Basic was used`)
  }
})

t.test('a public client cannot introspect: 401 invalid_client, with or without a secret', async (t) => {
  const token = await publicToken()
  const byId = await post('introspect', `token=${token}&client_id=${pub.id}`)
  t.equal(byId.statusCode, 401, 'client_id alone')
  t.match(byId.json(), { error: 'invalid_client' })
  t.notOk('active' in byId.json())
  const withSecret = await post('introspect', `token=${token}&client_id=${pub.id}&client_secret=guess`)
  t.equal(withSecret.statusCode, 401, 'with a made-up secret')
  t.equal(withSecret.json().error, 'invalid_client')
})

t.test('a public client revokes its own token with client_id alone, and nothing else', async (t) => {
  const mine = await publicToken()
  const theirs = (await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email)))).json().access_token
  t.equal((await call(app, mine, 'GET', '/api/v1/self')).statusCode, 200, 'the token works before')

  const foreign = await post('revoke', `token=${theirs}&client_id=${pub.id}`)
  t.equal(foreign.statusCode, 200, 'another client\'s token: 200, as RFC 7009 answers')
  t.ok(await activeFor(theirs, org.clientId, org.clientSecret), 'but that token is not revoked')

  const res = await post('revoke', `token=${mine}&token_type_hint=access_token&client_id=${pub.id}`)
  t.equal(res.statusCode, 200, res.body)
  t.equal((await call(app, mine, 'GET', '/api/v1/self')).statusCode, 401, 'the REST API refuses the revoked token')

  const withSecret = await post('revoke', `token=${await publicToken()}&client_id=${pub.id}&client_secret=guess`)
  t.equal(withSecret.statusCode, 401, 'a public client that sends a secret is refused here too')
  t.equal(withSecret.json().error, 'invalid_client')
})

t.test('a confidential client still needs its secret to revoke', async (t) => {
  const token = (await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email)))).json().access_token
  const res = await post('revoke', `token=${token}&client_id=${org.clientId}`)
  t.equal(res.statusCode, 401, 'client_id alone is not enough for a client that has a secret')
  t.equal(res.json().error, 'invalid_client')
  t.ok(await activeFor(token, org.clientId, org.clientSecret), 'and the token is not revoked')
})

t.test('grants learn whether the client proved itself with its secret', async (t) => {
  const seen: boolean[] = []
  grantTable.set('urn:test:capture', {
    grantType: 'urn:test:capture',
    description: 'a grant of this test',
    params: {},
    example: { grant_type: 'urn:test:capture' },
    handle: async (g: GrantContext) => {
      seen.push(g.secretVerified)
      return { access_token: 'x', token_type: 'bearer', expires_in: 1, scope: '' }
    },
    requireSecret: 'optional'
  })
  t.teardown(() => { grantTable.delete('urn:test:capture') })
  const grant = 'grant_type=urn%3Atest%3Acapture'
  t.equal((await post('token', grant, basic(org.clientId, org.clientSecret))).statusCode, 200)
  t.equal((await post('token', `${grant}&client_id=${org.clientId}&client_secret=${org.clientSecret}`)).statusCode, 200)
  t.equal((await post('token', `${grant}&client_id=${org.clientId}`)).statusCode, 200)
  t.equal((await post('token', `${grant}&client_id=${pub.id}`)).statusCode, 200)
  t.same(seen, [true, true, false, false], 'Basic, secret in the body: verified; client_id alone, confidential or public: not')
})
