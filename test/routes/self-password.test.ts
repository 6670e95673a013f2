import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { hashPassword, verifyPassword } from '../../src/registry/passwords.js'
import { createUser, type PublicUser } from '../../src/registry/users.js'
import { buildLoggingTestApp, call, newOrg } from '../helpers/app.js'

// The app logs at trace level into this file's memory, so the last test can show that no password
// sent here reaches the log, whatever the level.
const ta = await buildLoggingTestApp(t, 'trace')
const { app, lines } = ta
const db = app.ctx.db
const org = await newOrg(ta)
/** Every password this file sends, to look for in the log at the end. */
const sent = new Set<string>()

/** A user with a password, a user:all token for it, and a browser session. */
async function userWithPassword (password: string | null): Promise<{ user: PublicUser, token: string, session: string }> {
  const email = `self-${randomBytes(4).toString('hex')}@example.com`
  const user = await createUser(db, org.orgId, { email }, password === null ? null : await hashPassword(password))
  const session = randomBytes(32).toString('hex')
  await db.insertInto('browser_sessions').values({
    id_hash: session,
    organization_id: org.orgId,
    user_id: user.id,
    expires_at: new Date(Date.now() + 3600_000),
    idle_expires_at: new Date(Date.now() + 600_000)
  }).execute()
  return { user, token: await org.tokenFor(user), session }
}

async function passwordHashOf (userId: string): Promise<string | null> {
  return (await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow()).password_hash
}

async function sessionsOf (userId: string): Promise<string[]> {
  return (await db.selectFrom('browser_sessions').select('id_hash').where('user_id', '=', userId).execute()).map((r) => r.id_hash)
}

async function change (token: string | undefined, body: unknown) {
  for (const v of Object.values(body as Record<string, unknown>)) if (typeof v === 'string') sent.add(v)
  return await call(app, token, 'PUT', '/api/v1/self/password', body)
}

function noPasswordIn (t: Test, body: string, label: string): void {
  t.notMatch(body, '$argon2', `${label}: no hash`)
  for (const password of sent) t.notMatch(body, password, `${label}: no password sent`)
}

t.test('the right current password changes it: 204, the new hash verifies, sessions end', async (t) => {
  const current = 'the current password'
  const next = 'the next password, longer'
  const { user, token, session } = await userWithPassword(current)
  const bystander = await userWithPassword('a bystander password')
  const res = await change(token, { current_password: current, new_password: next })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '', 'a 204 carries nothing')
  const hash = (await passwordHashOf(user.id))!
  t.match(hash, /^\$argon2id\$/)
  t.ok(await verifyPassword(hash, next), 'the stored hash verifies the new password')
  t.notOk(await verifyPassword(hash, current), 'and not the old one')
  t.notOk((await sessionsOf(user.id)).includes(session), 'the user\'s browser session is gone')
  t.same(await sessionsOf(bystander.user.id), [bystander.session], 'another user\'s session stays')
  const self = await call(app, token, 'GET', '/api/v1/self')
  t.equal(self.statusCode, 200, 'the bearer token still works: only browser sessions end')
  t.notMatch(self.body, /password/, 'GET /self shows no password field')
  noPasswordIn(t, self.body, 'GET /self')

  const stale = await change(token, { current_password: current, new_password: 'yet another password' })
  t.equal(stale.statusCode, 403, 'the old password is no longer the current one')
  const back = await change(token, { current_password: next, new_password: current })
  t.equal(back.statusCode, 204, 'the new one is')
})

t.test('a wrong current password: 403, nothing changes', async (t) => {
  const current = 'right current password'
  const { user, token, session } = await userWithPassword(current)
  const wrongs: Array<[string, string]> = [['wrong', 'wrong current password'], ['other case', current.toUpperCase()], ['empty', '']]
  for (const [label, wrong] of wrongs) {
    const res = await change(token, { current_password: wrong, new_password: 'would be the new one' })
    t.equal(res.statusCode, 403, label)
    t.match(res.json(), { code: 'forbidden', message: 'current_password is wrong', request_id: String }, label)
    noPasswordIn(t, res.body, label)
  }
  t.ok(await verifyPassword((await passwordHashOf(user.id))!, current), 'the password is unchanged')
  t.same(await sessionsOf(user.id), [session], 'no session ended')
})

t.test('a user without a password: 403 saying so, nothing set', async (t) => {
  const { user, token, session } = await userWithPassword(null)
  const res = await change(token, { current_password: 'anything at all', new_password: 'a first password' })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'forbidden', message: /has no password; an administrator must set one/ })
  t.equal(await passwordHashOf(user.id), null)
  t.same(await sessionsOf(user.id), [session])
})

t.test('missing or unknown fields: 422 naming the field', async (t) => {
  const { user, token } = await userWithPassword('untouched password')
  const cases: Array<[string, unknown, string, string]> = [
    ['no current_password', { new_password: 'a new password here' }, 'parameter_missing', 'current_password'],
    ['no new_password', { current_password: 'untouched password' }, 'parameter_missing', 'new_password'],
    ['empty object', {}, 'parameter_missing', 'current_password'],
    ['new_password not a string', { current_password: 'untouched password', new_password: 12345678 }, 'invalid_parameter', 'new_password'],
    ['new_password null', { current_password: 'untouched password', new_password: null }, 'invalid_parameter', 'new_password'],
    ['an unknown field', { current_password: 'untouched password', new_password: 'a new password here', password: 'x' }, 'invalid_parameter', 'password']
  ]
  for (const [label, body, code, param] of cases) {
    const res = await change(token, body)
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code, param }, label)
  }
  const noBody = await app.inject({ method: 'PUT', url: '/api/v1/self/password', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
  t.equal(noBody.statusCode, 422, 'no body at all')
  t.equal(noBody.json().code, 'parameter_missing')
  t.ok(await verifyPassword((await passwordHashOf(user.id))!, 'untouched password'), 'the password is unchanged')
})

t.test('each rule broken by new_password: 422 invalid_parameter, param new_password, the rule said', async (t) => {
  const current = 'rules test current'
  const { user, token, session } = await userWithPassword(current)
  const cases: Array<[string, string, RegExp]> = [
    ['7 characters', '1234567', /new_password must be at least 8 characters/],
    ['4 emoji: 8 UTF-16 units, 4 characters', '\u{1F600}'.repeat(4), /at least 8 characters/],
    ['257 characters', 'z'.repeat(257), /new_password must be at most 256 characters/],
    ['the e-mail, in another case', user.email.toUpperCase(), /new_password must not be the user's e-mail/]
  ]
  for (const [label, next, message] of cases) {
    const res = await change(token, { current_password: current, new_password: next })
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code: 'invalid_parameter', param: 'new_password', message }, label)
    noPasswordIn(t, res.body, label)
  }
  t.ok(await verifyPassword((await passwordHashOf(user.id))!, current), 'the password is unchanged')
  t.same(await sessionsOf(user.id), [session], 'no session ended')
  const longest = await change(token, { current_password: current, new_password: '\u{1F600}'.repeat(256) })
  t.equal(longest.statusCode, 204, '256 emoji (512 UTF-16 units) are 256 characters: accepted')
})

t.test('no token: 401; an admin changes its own the same way', async (t) => {
  const res = await change(undefined, { current_password: 'x', new_password: 'y' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'unauthorized')
  const admin = await userWithPassword('admin current password')
  await db.updateTable('users').set({ organization_admin: true }).where('id', '=', admin.user.id).execute()
  const adminToken = await org.tokenFor(admin.user, 'admin:all')
  t.equal((await change(adminToken, { current_password: 'not it at all', new_password: 'admin next password' })).statusCode, 403, 'an admin also needs its current password here')
  t.equal((await change(adminToken, { current_password: 'admin current password', new_password: 'admin next password' })).statusCode, 204)
})

t.test('wrong current passwords are throttled like sign-ins: 429 with Retry-After', async (t) => {
  const { user, token } = await userWithPassword('throttled current password')
  // The per-address count is shared with the tests above (all from 127.0.0.1): clear it, keep the account's.
  await db.deleteFrom('login_failures').where('key', 'like', 'address:%').execute()
  for (let i = 0; i < 5; i++) {
    t.equal((await change(token, { current_password: `wrong guess ${i}`, new_password: 'whatever it is 1' })).statusCode, 403)
  }
  const blocked = await change(token, { current_password: 'throttled current password', new_password: 'the next password' })
  t.equal(blocked.statusCode, 429, 'the sixth try, even right, waits for the window')
  t.equal(blocked.json().code, 'too_many_requests')
  t.ok(Number(blocked.headers['retry-after']) > 0)
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()
  t.ok(await verifyPassword(row.password_hash!, 'throttled current password'), 'nothing changed')
  await db.deleteFrom('login_failures').execute()
})

t.test('no password sent in this file reached the log', async (t) => {
  const log = lines.join('\n')
  t.match(log, '/api/v1/self/password', 'the requests were logged')
  t.ok(sent.size > 10)
  for (const password of sent) {
    // Too short to be told apart from other log text; they are covered by the longer ones.
    if ([...password].length < 8) continue
    t.notMatch(log, password, `not logged: ${[...password].length} characters`)
  }
  t.notMatch(log, '$argon2', 'nor any hash')
})
