import { generateKeyPairSync, randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { verifyPassword } from '../../src/registry/passwords.js'
import { buildTestApp, call, newOrg, pem, rsaPublicPem } from '../helpers/app.js'
import { checkBadInput, type BadInput } from '../helpers/rest.js'

const ta = await buildTestApp(t)
const { app } = ta
const org = await newOrg(ta)
const other = await newOrg(ta)

t.test('POST /users creates a user and answers 201 with the whole object', async (t) => {
  const key = rsaPublicPem()
  const res = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: 'Alice@Example.com', first_name: 'Alice', last_name: 'Liddell', public_key: key })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'no-store', 'API answers are never cached')
  const body = res.json()
  t.match(body, { email: 'Alice@Example.com', name: 'Alice Liddell', organization_id: org.orgId, organization_admin: false, deactivated: false })
  t.equal(body.public_key, key)
  t.match(body.id, /^[A-Za-z0-9_-]+$/)
  t.notOk('password_hash' in body)
  const got = await call(app, org.adminToken, 'GET', `/api/v1/users/${body.id}`)
  t.same(got.json(), body)
})

t.test('bad input gets a 422 naming the field', async (t) => {
  const cases: BadInput[] = [
    ['missing email', { name: 'x' }, 'parameter_missing', 'email'],
    ['bad email', { email: 'not-an-email' }, 'invalid_parameter', 'email'],
    ['unknown field', { email: 'u1@example.com', colour: 'blue' }, 'invalid_parameter', 'colour'],
    ['wrong type', { email: 'u2@example.com', organization_admin: 'yes' }, 'invalid_parameter', 'organization_admin'],
    ['short RSA key', { email: 'u3@example.com', public_key: rsaPublicPem(1024) }, 'invalid_parameter', 'public_key'],
    ['not a PEM', { email: 'u4@example.com', public_key: 'hello' }, 'invalid_parameter', 'public_key'],
    ['a private key', { email: 'u5@example.com', public_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }, 'invalid_parameter', 'public_key'],
    ['P-521 key', { email: 'u6@example.com', public_key: pem(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey) }, 'invalid_parameter', 'public_key']
  ]
  await checkBadInput(t, app, org.adminToken, '/api/v1/users', cases)
  const list = await call(app, org.adminToken, 'GET', '/api/v1/users?q=example.com&per_page=1000')
  t.notOk(list.json().some((u: { email: string }) => /^u\d@/.test(u.email)), 'nothing was created by bad input')
})

t.test('accepted key kinds: RSA SPKI and PKCS#1, P-256, P-384, Ed25519', async (t) => {
  const keys = [
    rsaPublicPem(2048, 'pkcs1'),
    pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
    pem(generateKeyPairSync('ed25519').publicKey)
  ]
  for (const [i, key] of keys.entries()) {
    const res = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: `k${i}@example.com`, public_key: key })
    t.equal(res.statusCode, 201, `key ${i}`)
  }
})

t.test('a duplicate e-mail, in any case, is a 409; another org may reuse it', async (t) => {
  const first = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: 'dup@example.com' })
  t.equal(first.statusCode, 201)
  const again = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: 'DUP@example.com' })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'conflict', param: 'email' })
  const elsewhere = await call(app, other.adminToken, 'POST', '/api/v1/users', { email: 'dup@example.com' })
  t.equal(elsewhere.statusCode, 201)
})

t.test('lists page, filter with q and answer X-Total-Count', async (t) => {
  for (let i = 0; i < 5; i++) await call(app, org.adminToken, 'POST', '/api/v1/users', { email: `pager${i}@example.com`, name: `Pager Person ${i}` })
  const all = await call(app, org.adminToken, 'GET', '/api/v1/users?q=PAGER')
  t.equal(all.statusCode, 200)
  t.equal(all.headers['x-total-count'], '5')
  t.equal(all.json().length, 5)
  const page2 = await call(app, org.adminToken, 'GET', '/api/v1/users?q=pager&per_page=2&page=2')
  t.equal(page2.headers['x-total-count'], '5')
  t.same(page2.json().map((u: { email: string }) => u.email), all.json().slice(2, 4).map((u: { email: string }) => u.email), 'stable order')
  const clamped = await call(app, org.adminToken, 'GET', '/api/v1/users?q=pager&per_page=100000&page=0')
  t.equal(clamped.statusCode, 200, 'per_page and page are clamped, not refused')
  t.equal(clamped.json().length, 5)
  const ascli = await call(app, org.adminToken, 'GET', '/api/v1/users?per_page=1000&page=1')
  t.equal(ascli.statusCode, 200)
  const wildcard = await call(app, org.adminToken, 'GET', '/api/v1/users?q=%25')
  t.equal(wildcard.headers['x-total-count'], '0', 'q takes % literally')
})

t.test('PUT /users/{id} answers 204; GET /self and own public_key for a plain user', async (t) => {
  const { user, token } = await org.newUser()
  const self = await call(app, token, 'GET', '/api/v1/self')
  t.equal(self.statusCode, 200)
  t.equal(self.json().id, user.id)
  const key = rsaPublicPem()
  const put = await call(app, token, 'PUT', `/api/v1/users/${user.id}`, { public_key: key })
  t.equal(put.statusCode, 204)
  t.equal((await call(app, token, 'GET', '/api/v1/self')).json().public_key, key)
  const promote = await call(app, token, 'PUT', `/api/v1/users/${user.id}`, { organization_admin: true })
  t.equal(promote.statusCode, 403, 'a user cannot make itself admin')
  t.equal(promote.json().code, 'forbidden')
  const otherUser = await org.newUser()
  const foreign = await call(app, token, 'PUT', `/api/v1/users/${otherUser.user.id}`, { public_key: key })
  t.equal(foreign.statusCode, 403, 'a user cannot change another user')
  const list = await call(app, token, 'GET', '/api/v1/users')
  t.equal(list.statusCode, 403, 'a user cannot list users')
  const byAdmin = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { first_name: 'Changed', public_key: '' })
  t.equal(byAdmin.statusCode, 204)
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/users/${user.id}`)).json(), { first_name: 'Changed', public_key: null })
})

t.test('a deactivated user\'s tokens stop working at once', async (t) => {
  const { user, token } = await org.newUser()
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 200)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { deactivated: true })).statusCode, 204)
  const res = await call(app, token, 'GET', '/api/v1/self')
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'unauthorized')
})

t.test('an admin flag without an admin scope, or an admin scope without the flag, is not admin', async (t) => {
  const userToken = await org.tokenFor(org.admin, 'user:all')
  t.equal((await call(app, userToken, 'GET', '/api/v1/users')).statusCode, 403)
  const { user } = await org.newUser()
  const forged = await org.tokenFor(user, 'admin:all')
  t.equal((await call(app, forged, 'GET', '/api/v1/users')).statusCode, 403)
})

t.test('DELETE /users/{id} answers 204, then the user is gone', async (t) => {
  const { user } = await org.newUser()
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/users/${user.id}`)).statusCode, 204)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/users/${user.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/users/${user.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/users/${org.admin.id}`)).statusCode, 403, 'not oneself')
})

t.test('another organization\'s users are a 404 and never listed', async (t) => {
  const { user } = await other.newUser()
  for (const [method, body] of [['GET', undefined], ['PUT', { name: 'x' }], ['DELETE', undefined]] as const) {
    const res = await call(app, org.adminToken, method, `/api/v1/users/${user.id}`, body)
    t.equal(res.statusCode, 404, method)
    t.equal(res.json().code, 'not_found')
  }
  const list = await call(app, org.adminToken, 'GET', `/api/v1/users?q=${encodeURIComponent(user.email)}`)
  t.equal(list.headers['x-total-count'], '0')
})

t.test('no token, a malformed token, a foreign-signed token: 401', async (t) => {
  t.equal((await call(app, undefined, 'GET', '/api/v1/self')).statusCode, 401)
  t.equal((await call(app, 'abc.def.ghi', 'GET', '/api/v1/self')).statusCode, 401)
  const res = await app.inject({ method: 'GET', url: '/api/v1/self', headers: { authorization: 'Basic Zm9vOmJhcg==' } })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { code: 'unauthorized', request_id: String })
})

t.test('a malformed JSON body is a 422, not a 500', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: `Bearer ${org.adminToken}`, 'content-type': 'application/json' }, payload: '{"email":' })
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'invalid_parameter', param: 'body' })
})

// Browser sign-in passwords, set by admins through the users routes.

const db = app.ctx.db

async function passwordHashOf (userId: string): Promise<string | null> {
  return (await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow()).password_hash
}

/** A browser session row, as the sign-in code would write it. */
async function openSession (orgId: string, userId: string): Promise<string> {
  const idHash = randomBytes(32).toString('hex')
  await db.insertInto('browser_sessions').values({
    id_hash: idHash,
    organization_id: orgId,
    user_id: userId,
    expires_at: new Date(Date.now() + 3600_000),
    idle_expires_at: new Date(Date.now() + 600_000)
  }).execute()
  return idHash
}

async function sessionsOf (userId: string): Promise<string[]> {
  return (await db.selectFrom('browser_sessions').select('id_hash').where('user_id', '=', userId).execute()).map((r) => r.id_hash)
}

async function cutOffOf (userId: string): Promise<number | undefined> {
  return (await db.selectFrom('users').select('tokens_valid_after').where('id', '=', userId).executeTakeFirstOrThrow()).tokens_valid_after?.getTime()
}

/** An answer that could carry a user must carry neither the password nor its hash. */
function noPasswordIn (t: Test, body: string, password: string, label: string): void {
  t.notMatch(body, /password/, `${label}: no password field`)
  t.notMatch(body, '$argon2', `${label}: no hash`)
  t.notMatch(body, password, `${label}: not the password`)
}

t.test('a deactivation ends that user\'s browser sessions and sets its token cut-off, once', async (t) => {
  const { user } = await org.newUser()
  const bystander = await org.newUser()
  const session = await openSession(org.orgId, user.id)
  const kept = await openSession(org.orgId, bystander.user.id)
  const setDeactivated = async (deactivated: boolean) =>
    (await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { deactivated })).statusCode

  t.equal(await setDeactivated(false), 204)
  t.same(await sessionsOf(user.id), [session], 'deactivated: false for an active user ends nothing')
  t.equal(await cutOffOf(user.id), undefined, 'and sets no cut-off')

  t.equal(await setDeactivated(true), 204)
  t.same(await sessionsOf(user.id), [], 'the user\'s session is gone')
  t.same(await sessionsOf(bystander.user.id), [kept], 'another user\'s session stays')
  const cutOff = await cutOffOf(user.id)
  t.ok(cutOff, 'the cut-off is set')
  t.equal(await cutOffOf(bystander.user.id), undefined, 'only for that user')

  t.equal(await setDeactivated(true), 204)
  t.equal(await cutOffOf(user.id), cutOff, 'deactivating a deactivated user leaves the cut-off')
  t.equal(await setDeactivated(false), 204)
  t.equal(await cutOffOf(user.id), cutOff, 'so does the reactivation')
  const got = await call(app, org.adminToken, 'GET', `/api/v1/users/${user.id}`)
  t.equal(got.json().deactivated, false)
  t.notOk('tokens_valid_after' in got.json(), 'the cut-off is not part of the user the API shows')
})

t.test('POST /users with a password stores its argon2id hash and answers neither', async (t) => {
  const password = 'Tr0ub4dor&3-create'
  const res = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: 'pw-create@example.com', password })
  t.equal(res.statusCode, 201)
  noPasswordIn(t, res.body, password, 'POST answer')
  const id = res.json().id
  const hash = await passwordHashOf(id)
  t.match(hash, /^\$argon2id\$/, 'hashed with argon2id')
  t.ok(await verifyPassword(hash!, password), 'the stored hash verifies the password')
  t.notOk(await verifyPassword(hash!, password + 'x'), 'and no other')
  noPasswordIn(t, (await call(app, org.adminToken, 'GET', `/api/v1/users/${id}`)).body, password, 'GET /users/{id}')
  noPasswordIn(t, (await call(app, org.adminToken, 'GET', '/api/v1/users?q=pw-create')).body, password, 'GET /users')
  noPasswordIn(t, (await call(app, await org.tokenFor(res.json()), 'GET', '/api/v1/self')).body, password, 'GET /self')

  const without = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: 'pw-none@example.com' })
  t.equal(await passwordHashOf(without.json().id), null, 'no password sent: none stored')
})

t.test('POST /users refuses a password that breaks a rule, and creates nothing', async (t) => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['7 characters', 'abcdefg', 'invalid_parameter', /at least 8 characters/],
    ['257 characters', 'x'.repeat(257), 'invalid_parameter', /at most 256 characters/],
    ['the e-mail, in another case', 'PW-BAD-2@EXAMPLE.COM', 'invalid_parameter', /must not be the user's e-mail/],
    ['not a string', 12345678, 'invalid_parameter', /password/],
    ['null (only PUT removes)', null, 'invalid_parameter', /password/]
  ]
  for (const [i, [label, password, code, message]] of cases.entries()) {
    const res = await call(app, org.adminToken, 'POST', '/api/v1/users', { email: `pw-bad-${i}@example.com`, password })
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code, param: 'password', message }, label)
  }
  const list = await call(app, org.adminToken, 'GET', '/api/v1/users?q=pw-bad-')
  t.equal(list.headers['x-total-count'], '0', 'nothing was created by a bad password')
})

t.test('PUT /users/{id} by an admin sets a password and ends that user\'s browser sessions only', async (t) => {
  const { user } = await org.newUser()
  const bystander = await org.newUser()
  const session = await openSession(org.orgId, user.id)
  const kept = await openSession(org.orgId, bystander.user.id)
  const password = 'first password, set by admin'
  const res = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { password })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '', 'a 204 carries nothing')
  t.ok(await verifyPassword((await passwordHashOf(user.id))!, password), 'the stored hash verifies the new password')
  t.notOk((await sessionsOf(user.id)).includes(session), 'the user\'s session is gone')
  t.same(await sessionsOf(bystander.user.id), [kept], 'another user\'s session stays')

  const second = 'second password, set by admin'
  const again = await openSession(org.orgId, user.id)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { password: second, first_name: 'Both' })).statusCode, 204)
  const hash = (await passwordHashOf(user.id))!
  t.ok(await verifyPassword(hash, second), 'a password with other fields is set too')
  t.notOk(await verifyPassword(hash, password), 'the old password no longer verifies')
  t.notOk((await sessionsOf(user.id)).includes(again), 'the session opened since is gone as well')
  const got = await call(app, org.adminToken, 'GET', `/api/v1/users/${user.id}`)
  t.equal(got.json().first_name, 'Both')
  noPasswordIn(t, got.body, second, 'GET after a set')
})

t.test('PUT /users/{id} with password null removes it and ends the sessions', async (t) => {
  const { user } = await org.newUser()
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { password: 'to be removed soon' })).statusCode, 204)
  await openSession(org.orgId, user.id)
  await openSession(org.orgId, user.id)
  const res = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { password: null })
  t.equal(res.statusCode, 204)
  t.equal(await passwordHashOf(user.id), null, 'no password: no browser sign-in')
  t.same(await sessionsOf(user.id), [], 'both sessions are gone')
})

t.test('PUT without password leaves the password and the sessions alone', async (t) => {
  const { user } = await org.newUser()
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { password: 'stays as it is' })).statusCode, 204)
  const hash = await passwordHashOf(user.id)
  const session = await openSession(org.orgId, user.id)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { last_name: 'Other' })).statusCode, 204)
  t.equal(await passwordHashOf(user.id), hash)
  t.same(await sessionsOf(user.id), [session])
})

t.test('PUT /users/{id} checks the rules against the e-mail the user will have', async (t) => {
  const { user } = await org.newUser()
  const session = await openSession(org.orgId, user.id)
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['too short', { password: 'short' }, /at least 8 characters/],
    ['too long', { password: 'y'.repeat(257) }, /at most 256 characters/],
    ['its current e-mail', { password: user.email.toUpperCase() }, /must not be the user's e-mail/],
    ['the e-mail it is given', { email: 'pw-renamed@example.com', password: 'PW-Renamed@example.com' }, /must not be the user's e-mail/],
    ['a number', { password: 123456789 }, /password/]
  ]
  for (const [label, body, message] of cases) {
    const res = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, body)
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code: 'invalid_parameter', param: 'password', message }, label)
  }
  t.equal(await passwordHashOf(user.id), null, 'no password was set')
  t.same(await sessionsOf(user.id), [session], 'a refused password ends no session')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/users/${user.id}`)).json().email, user.email, 'nor was the e-mail changed')
  const renamed = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { email: 'pw-renamed2@example.com', password: user.email })
  t.equal(renamed.statusCode, 204, 'the old e-mail is a fine password once the e-mail changes')
})

t.test('an update refused for its e-mail (409) sets no password and ends no session', async (t) => {
  const taken = await org.newUser()
  const { user } = await org.newUser()
  const session = await openSession(org.orgId, user.id)
  const res = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { email: taken.user.email, password: 'would be set on success' })
  t.equal(res.statusCode, 409)
  t.match(res.json(), { code: 'conflict', param: 'email' })
  t.equal(await passwordHashOf(user.id), null, 'no password was set')
  t.same(await sessionsOf(user.id), [session], 'no session was ended')
})

t.test('only an admin sets a password through /users', async (t) => {
  const { user, token } = await org.newUser()
  const session = await openSession(org.orgId, user.id)
  const own = await call(app, token, 'PUT', `/api/v1/users/${user.id}`, { password: 'my own new password' })
  t.equal(own.statusCode, 403, 'a user setting its own password here: 403')
  t.match(own.json(), { code: 'forbidden', message: /PUT \/api\/v1\/self\/password/ }, 'the message names the route to use')
  const ownNull = await call(app, token, 'PUT', `/api/v1/users/${user.id}`, { public_key: null, password: null })
  t.equal(ownNull.statusCode, 403, 'nor remove it, even alongside public_key')
  const victim = await org.newUser()
  const foreign = await call(app, token, 'PUT', `/api/v1/users/${victim.user.id}`, { password: 'taking over someone' })
  t.equal(foreign.statusCode, 403, 'another user\'s password: 403')
  t.equal(foreign.json().code, 'forbidden')
  const userScoped = await call(app, await org.tokenFor(org.admin, 'user:all'), 'PUT', `/api/v1/users/${user.id}`, { password: 'admin flag, user scope' })
  t.equal(userScoped.statusCode, 403, 'an admin\'s token without an admin scope: 403')
  const create = await call(app, token, 'POST', '/api/v1/users', { email: 'pw-by-user@example.com', password: 'created by a user' })
  t.equal(create.statusCode, 403, 'a user cannot create users with passwords')
  t.equal(await passwordHashOf(user.id), null, 'nothing was set')
  t.equal(await passwordHashOf(victim.user.id), null)
  t.same(await sessionsOf(user.id), [session], 'no session was ended')
})

t.test('a password for a user that is not there, or in another org: 404', async (t) => {
  const { user } = await other.newUser()
  const foreign = await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { password: 'cross-org attempt' })
  t.equal(foreign.statusCode, 404)
  t.equal(foreign.json().code, 'not_found')
  t.equal(await passwordHashOf(user.id), null)
  const gone = await call(app, org.adminToken, 'PUT', '/api/v1/users/no-such-user', { password: null })
  t.equal(gone.statusCode, 404)
})
