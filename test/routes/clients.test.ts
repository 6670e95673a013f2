import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { clientSecretMatches } from '../../src/registry/clients.js'
import { findClientRow } from '../../src/store/clients.js'
import { buildTestApp, call, newOrg, pem, rsaPublicPem } from '../helpers/app.js'
import { checkAdminOnly, checkBadInput, type BadInput } from '../helpers/rest.js'

const ta = await buildTestApp(t)
const { app } = ta
const org = await newOrg(ta)
const other = await newOrg(ta)

let n = 0
/** A client of `who`'s org, made through the API; never the org's test client, whose tokens the tests use. */
async function newClient (who = org, fields: Record<string, unknown> = {}) {
  const res = await call(app, who.adminToken, 'POST', '/api/v1/clients', { name: `client ${++n}`, ...fields })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.body}`)
  return res.json()
}

t.test('POST /clients answers 201 with the whole object, secret included, and the defaults', async (t) => {
  const res = await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'My App' })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.match(body, {
    name: 'My App',
    organization_id: org.orgId,
    creator_id: org.admin.id,
    redirect_uris: [],
    origins: [],
    explicit_authorization_required: true,
    jwt_grant_enabled: false,
    admin_node_token_retrieval_enabled: false,
    public_key: null,
    whitelist_enabled: false,
    token_endpoint_auth_method: 'client_secret_basic'
  })
  t.match(body.id, /^[A-Za-z0-9_-]+$/)
  t.match(body.secret, /^[A-Za-z0-9_-]{43,}$/, 'secret is base64url with at least 43 characters')
  t.ok(!Number.isNaN(Date.parse(body.created_at)) && !Number.isNaN(Date.parse(body.updated_at)))
  t.notOk('secret_hash' in body || 'secret_encrypted' in body || 'client_id' in body)
  t.same(Object.keys(body).sort(), ['admin_node_token_retrieval_enabled', 'created_at', 'creator_id', 'explicit_authorization_required',
    'id', 'jwt_grant_enabled', 'name', 'organization_id', 'origins', 'public_key', 'redirect_uris', 'secret', 'token_endpoint_auth_method',
    'updated_at', 'whitelist_enabled'])

  const got = await call(app, org.adminToken, 'GET', `/api/v1/clients/${body.id}`)
  t.equal(got.statusCode, 200)
  t.same(got.json(), body, 'GET by id shows the same object and the same secret')
})

t.test('POST /clients stores every writable field', async (t) => {
  const key = rsaPublicPem()
  const fields = {
    name: 'Full',
    redirect_uris: ['https://app.example.com/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]/cb', 'http://localhost:3000/cb?x=1'],
    origins: ['https://app.example.com', 'http://localhost:3000', 'https://app.example.com:8443'],
    explicit_authorization_required: false,
    jwt_grant_enabled: true,
    admin_node_token_retrieval_enabled: true,
    public_key: key,
    whitelist_enabled: true
  }
  const res = await call(app, org.adminToken, 'POST', '/api/v1/clients', fields)
  t.equal(res.statusCode, 201)
  t.match(res.json(), fields)
  t.same((await call(app, org.adminToken, 'GET', `/api/v1/clients/${res.json().id}`)).json().redirect_uris, fields.redirect_uris)
})

t.test('bad input on create gets a 422 naming the field, and creates nothing', async (t) => {
  const cases: BadInput[] = [
    ['missing name', { jwt_grant_enabled: true }, 'parameter_missing', 'name'],
    ['empty name', { name: '' }, 'invalid_parameter', 'name'],
    ['blank name', { name: '   ' }, 'invalid_parameter', 'name'],
    ['name not a string', { name: 5 }, 'invalid_parameter', 'name'],
    ['unknown field', { name: 'bad1', colour: 'blue' }, 'invalid_parameter', 'colour'],
    ['server-set field secret', { name: 'bad2', secret: 'mine' }, 'invalid_parameter', 'secret'],
    ['server-set field id', { name: 'bad3', id: 'mine' }, 'invalid_parameter', 'id'],
    ['boolean as a string', { name: 'bad4', jwt_grant_enabled: 'true' }, 'invalid_parameter', 'jwt_grant_enabled'],
    ['redirect_uris not an array', { name: 'bad5', redirect_uris: 'https://a.example.com/cb' }, 'invalid_parameter', 'redirect_uris'],
    ['redirect URI not a string', { name: 'bad6', redirect_uris: [7] }, 'invalid_parameter', 'redirect_uris.0'],
    ['relative redirect URI', { name: 'bad7', redirect_uris: ['/cb'] }, 'invalid_parameter', 'redirect_uris.0'],
    ['redirect URI without //', { name: 'bad8', redirect_uris: ['https:app.example.com/cb'] }, 'invalid_parameter', 'redirect_uris.0'],
    ['redirect URI with spaces around', { name: 'bad9', redirect_uris: [' https://a.example.com/cb'] }, 'invalid_parameter', 'redirect_uris.0'],
    ['http redirect URI off loopback', { name: 'bad10', redirect_uris: ['https://ok.example.com/cb', 'http://app.example.com/cb'] }, 'invalid_parameter', 'redirect_uris.1'],
    ['redirect URI with a fragment', { name: 'bad11', redirect_uris: ['https://app.example.com/cb#frag'] }, 'invalid_parameter', 'redirect_uris.0'],
    ['redirect URI with credentials', { name: 'bad12', redirect_uris: ['https://u:p@app.example.com/cb'] }, 'invalid_parameter', 'redirect_uris.0'],
    ['custom-scheme redirect URI', { name: 'bad13', redirect_uris: ['com.example.app://cb'] }, 'invalid_parameter', 'redirect_uris.0'],
    ['origin with a path', { name: 'bad14', origins: ['https://app.example.com/path'] }, 'invalid_parameter', 'origins.0'],
    ['origin with a trailing slash', { name: 'bad15', origins: ['https://app.example.com/'] }, 'invalid_parameter', 'origins.0'],
    ['origin with a query', { name: 'bad16', origins: ['https://ok.example.com', 'https://app.example.com?x=1'] }, 'invalid_parameter', 'origins.1'],
    ['http origin off loopback', { name: 'bad17', origins: ['http://app.example.com'] }, 'invalid_parameter', 'origins.0'],
    ['origin not a URL', { name: 'bad18', origins: ['app.example.com'] }, 'invalid_parameter', 'origins.0'],
    ['public_key not a PEM', { name: 'bad19', public_key: 'hello' }, 'invalid_parameter', 'public_key'],
    ['public_key RSA 1024', { name: 'bad20', public_key: rsaPublicPem(1024) }, 'invalid_parameter', 'public_key'],
    ['public_key a private key', { name: 'bad21', public_key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, 'invalid_parameter', 'public_key'],
    ['public_key P-521', { name: 'bad22', public_key: pem(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey) }, 'invalid_parameter', 'public_key'],
    ['public_key a number', { name: 'bad23', public_key: 42 }, 'invalid_parameter', 'public_key'],
    ['token_endpoint_auth_method outside the enum', { name: 'bad24', token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_parameter', 'token_endpoint_auth_method'],
    ['token_endpoint_auth_method in another case', { name: 'bad25', token_endpoint_auth_method: 'NONE' }, 'invalid_parameter', 'token_endpoint_auth_method'],
    ['token_endpoint_auth_method null', { name: 'bad26', token_endpoint_auth_method: null }, 'invalid_parameter', 'token_endpoint_auth_method']
  ]
  await checkBadInput(t, app, org.adminToken, '/api/v1/clients', cases)
  const list = await call(app, org.adminToken, 'GET', '/api/v1/clients?q=bad')
  t.equal(list.headers['x-total-count'], '0', 'nothing was created by bad input')
})

t.test('a duplicate name in the org, in any case, is a 409; another org may reuse it', async (t) => {
  t.equal((await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'Dup Client' })).statusCode, 201)
  const again = await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'DUP client' })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'conflict', param: 'name' })
  t.equal((await call(app, other.adminToken, 'POST', '/api/v1/clients', { name: 'Dup Client' })).statusCode, 201)
  const c = await newClient()
  const rename = await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { name: 'dup CLIENT' })
  t.equal(rename.statusCode, 409, 'renaming onto another client\'s name is a 409 too')
  t.match(rename.json(), { code: 'conflict', param: 'name' })
})

t.test('GET /clients pages, filters with q, answers X-Total-Count, and never shows a secret', async (t) => {
  for (let i = 0; i < 5; i++) await newClient(org, { name: `Pager App ${i}` })
  const all = await call(app, org.adminToken, 'GET', '/api/v1/clients?q=pager%20APP')
  t.equal(all.statusCode, 200)
  t.equal(all.headers['x-total-count'], '5')
  t.equal(all.json().length, 5)
  const page2 = await call(app, org.adminToken, 'GET', '/api/v1/clients?q=pager&per_page=2&page=2')
  t.equal(page2.headers['x-total-count'], '5')
  t.same(page2.json().map((c: { name: string }) => c.name), all.json().slice(2, 4).map((c: { name: string }) => c.name), 'stable order')
  const ascli = await call(app, org.adminToken, 'GET', '/api/v1/clients?per_page=1000&page=1')
  t.equal(ascli.statusCode, 200)
  t.ok(ascli.json().length >= 6, 'the org\'s test client and the pager clients')
  for (const c of ascli.json()) {
    t.notOk('secret' in c, `${c.name}: no secret in a list`)
    t.notOk('secret_hash' in c || 'secret_encrypted' in c)
  }
  t.notOk(ascli.body.includes(org.clientSecret), 'the test client\'s secret is nowhere in the list')
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/clients?q=%25')).headers['x-total-count'], '0', 'q takes % literally')
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/clients?page=abc')).statusCode, 422, 'a page that is not a number is a 422')
})

t.test('PUT /clients/{id} answers 204 and changes only the fields sent (ascli\'s global key change)', async (t) => {
  const c = await newClient(org, { redirect_uris: ['https://app.example.com/cb'] })
  const key = rsaPublicPem()
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { jwt_grant_enabled: true, public_key: key })
  t.equal(put.statusCode, 204)
  t.equal(put.body, '')
  const got = (await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json()
  t.match(got, { jwt_grant_enabled: true, public_key: key, name: c.name, redirect_uris: ['https://app.example.com/cb'], secret: c.secret })
  t.ok(Date.parse(got.updated_at) >= Date.parse(c.updated_at))

  const key2 = pem(generateKeyPairSync('ed25519').publicKey)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { public_key: key2, redirect_uris: [], whitelist_enabled: true })).statusCode, 204)
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json(), { public_key: key2, redirect_uris: [], whitelist_enabled: true }, 'the new key replaces the old one at once')
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { public_key: null })).statusCode, 204)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json().public_key, null, 'null removes the global key')
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { public_key: key })).statusCode, 204)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { public_key: '' })).statusCode, 204)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json().public_key, null, '"" removes it too')
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, {})).statusCode, 204, 'an empty body changes nothing')
})

t.test('bad input on update gets a 422 naming the field, and changes nothing', async (t) => {
  const c = await newClient(org, { origins: ['https://keep.example.com'] })
  const cases: Array<[string, unknown, string]> = [
    ['unknown field', { colour: 'blue' }, 'colour'],
    ['server-set field', { organization_id: other.orgId }, 'organization_id'],
    ['wrong type', { whitelist_enabled: 1 }, 'whitelist_enabled'],
    ['null name', { name: null }, 'name'],
    ['bad redirect URI', { redirect_uris: ['http://evil.example.com/cb'] }, 'redirect_uris.0'],
    ['bad origin', { origins: ['https://a.example.com/x'] }, 'origins.0'],
    ['bad public_key', { jwt_grant_enabled: true, public_key: rsaPublicPem(1024) }, 'public_key']
  ]
  for (const [label, body, param] of cases) {
    const res = await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, body)
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code: 'invalid_parameter', param }, label)
  }
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json(), { origins: ['https://keep.example.com'], jwt_grant_enabled: false, organization_id: org.orgId })
})

t.test('POST /clients/{id}/secret answers the new secret; the old one stops matching at once', async (t) => {
  const c = await newClient()
  const before = await findClientRow(app.ctx.db, org.orgId, c.id)
  t.ok(before && clientSecretMatches(app.ctx.box, before, c.secret), 'the first secret matches the stored row')
  const res = await call(app, org.adminToken, 'POST', `/api/v1/clients/${c.id}/secret`)
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()), ['secret'])
  const fresh = res.json().secret
  t.match(fresh, /^[A-Za-z0-9_-]{43,}$/)
  t.not(fresh, c.secret)
  const row = await findClientRow(app.ctx.db, org.orgId, c.id)
  t.ok(row)
  t.notOk(clientSecretMatches(app.ctx.box, row!, c.secret), 'the old secret no longer matches')
  t.ok(clientSecretMatches(app.ctx.box, row!, fresh), 'the new secret matches')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json().secret, fresh, 'GET by id shows the new secret')
  t.equal((await call(app, other.adminToken, 'POST', `/api/v1/clients/${c.id}/secret`)).statusCode, 404, 'another org cannot rotate it')
  t.ok(clientSecretMatches(app.ctx.box, (await findClientRow(app.ctx.db, org.orgId, c.id))!, fresh), 'and the secret is unchanged by that attempt')
})

t.test('a public client (token_endpoint_auth_method none) has no secret, in the answers or in the database', async (t) => {
  const res = await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'Browser App', token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example.com/cb'] })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  t.match(body, { name: 'Browser App', token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example.com/cb'] })
  t.equal(body.secret, null, 'secret is null in the create answer')
  const got = await call(app, org.adminToken, 'GET', `/api/v1/clients/${body.id}`)
  t.equal(got.statusCode, 200)
  t.same(got.json(), body, 'GET by id answers the same, secret null')
  const row = await app.ctx.db.selectFrom('clients').select(['secret_encrypted', 'secret_hash', 'token_endpoint_auth_method']).where('id', '=', body.id).executeTakeFirstOrThrow()
  t.same(row, { secret_encrypted: null, secret_hash: null, token_endpoint_auth_method: 'none' }, 'both secret columns are null')
  const listed = (await call(app, org.adminToken, 'GET', '/api/v1/clients?q=browser%20app')).json()
  t.match(listed, [{ id: body.id, token_endpoint_auth_method: 'none' }], 'lists show the method too')
  t.notOk(clientSecretMatches(app.ctx.box, (await findClientRow(app.ctx.db, org.orgId, body.id))!, ''), 'no presented secret matches a public client, not even an empty one')
})

t.test('client_secret_post is a confidential client with a secret, like the default', async (t) => {
  const c = await newClient(org, { token_endpoint_auth_method: 'client_secret_post' })
  t.equal(c.token_endpoint_auth_method, 'client_secret_post')
  t.match(c.secret, /^[A-Za-z0-9_-]{43,}$/)
  t.ok(clientSecretMatches(app.ctx.box, (await findClientRow(app.ctx.db, org.orgId, c.id))!, c.secret))
})

t.test('token_endpoint_auth_method is fixed at creation: PUT with another value is a 422 and changes nothing; the same value is a 204', async (t) => {
  const pub = await newClient(org, { token_endpoint_auth_method: 'none' })
  const conf = await newClient(org)
  for (const [c, to] of [[pub, 'client_secret_basic'], [pub, 'client_secret_post'], [conf, 'none'], [conf, 'client_secret_post']] as const) {
    const res = await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { token_endpoint_auth_method: to, jwt_grant_enabled: true })
    t.equal(res.statusCode, 422, `${c.token_endpoint_auth_method} to ${to}`)
    t.match(res.json(), { code: 'invalid_parameter', param: 'token_endpoint_auth_method', message: /fixed at creation/ })
    t.match((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json(),
      { token_endpoint_auth_method: c.token_endpoint_auth_method, jwt_grant_enabled: false, secret: c.secret }, 'the other fields of the refused PUT are not applied either')
  }
  for (const c of [pub, conf]) {
    const same = await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { token_endpoint_auth_method: c.token_endpoint_auth_method, jwt_grant_enabled: true })
    t.equal(same.statusCode, 204, `the same value ${c.token_endpoint_auth_method} is accepted`)
    t.match((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json(), { token_endpoint_auth_method: c.token_endpoint_auth_method, jwt_grant_enabled: true, secret: c.secret })
  }
  const bad = await call(app, org.adminToken, 'PUT', `/api/v1/clients/${conf.id}`, { token_endpoint_auth_method: 'secret' })
  t.equal(bad.statusCode, 422, 'a value outside the enum on update')
  t.match(bad.json(), { code: 'invalid_parameter', param: 'token_endpoint_auth_method' })
  t.equal((await call(app, org.adminToken, 'PUT', '/api/v1/clients/no-such-client', { token_endpoint_auth_method: 'none' })).statusCode, 404, 'an unknown client is still a 404')
  const foreign = await call(app, other.adminToken, 'PUT', `/api/v1/clients/${pub.id}`, { token_endpoint_auth_method: 'client_secret_basic' })
  t.equal(foreign.statusCode, 404, 'another org\'s client is a 404, not a 422 that would reveal it')
})

t.test('POST /clients/{id}/secret on a public client is a 409 and gives it no secret', async (t) => {
  const pub = await newClient(org, { token_endpoint_auth_method: 'none' })
  const res = await call(app, org.adminToken, 'POST', `/api/v1/clients/${pub.id}/secret`)
  t.equal(res.statusCode, 409)
  t.match(res.json(), { code: 'conflict', message: 'a public client has no secret' })
  const row = await app.ctx.db.selectFrom('clients').select(['secret_encrypted', 'secret_hash']).where('id', '=', pub.id).executeTakeFirstOrThrow()
  t.same(row, { secret_encrypted: null, secret_hash: null }, 'still no secret stored')
  t.equal((await call(app, other.adminToken, 'POST', `/api/v1/clients/${pub.id}/secret`)).statusCode, 404, 'another org gets a 404, not the 409')
})

t.test('DELETE /clients/{id} answers 204, then the client is gone', async (t) => {
  const c = await newClient()
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/clients/${c.id}`)).statusCode, 204)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/clients/${c.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${c.id}`, { name: 'x' })).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'POST', `/api/v1/clients/${c.id}/secret`)).statusCode, 404)
  t.equal(await findClientRow(app.ctx.db, org.orgId, c.id), undefined)
})

t.test('another organization\'s clients are a 404, never listed, and left unchanged', async (t) => {
  const foreign = await newClient(other, { name: 'Foreign App' })
  for (const [method, url, body] of [
    ['GET', `/api/v1/clients/${foreign.id}`, undefined],
    ['PUT', `/api/v1/clients/${foreign.id}`, { name: 'taken over' }],
    ['DELETE', `/api/v1/clients/${foreign.id}`, undefined],
    ['POST', `/api/v1/clients/${foreign.id}/secret`, undefined]
  ] as const) {
    const res = await call(app, org.adminToken, method, url, body)
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.match(res.json(), { code: 'not_found' })
  }
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/clients?q=foreign')).headers['x-total-count'], '0')
  t.match((await call(app, other.adminToken, 'GET', `/api/v1/clients/${foreign.id}`)).json(), { name: 'Foreign App', secret: foreign.secret })
})

t.test('a non-admin gets 403 and no token gets 401 on every endpoint', async (t) => {
  const c = await newClient()
  const { token } = await org.newUser()
  const adminWithUserScope = await org.tokenFor(org.admin, 'user:all')
  await checkAdminOnly(t, app, [
    ['GET', '/api/v1/clients', undefined],
    ['POST', '/api/v1/clients', { name: 'nope' }],
    ['GET', `/api/v1/clients/${c.id}`, undefined],
    ['PUT', `/api/v1/clients/${c.id}`, { name: 'nope' }],
    ['DELETE', `/api/v1/clients/${c.id}`, undefined],
    ['POST', `/api/v1/clients/${c.id}/secret`, undefined]
  ], { user: token, adminWithUserScope })
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/clients/${c.id}`)).json(), { name: c.name, secret: c.secret }, 'nothing changed')
})

t.test('a path id with characters outside base64url is a 422, not a 500', async (t) => {
  const res = await call(app, org.adminToken, 'GET', '/api/v1/clients/a.b')
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'invalid_parameter', param: 'id' })
})
