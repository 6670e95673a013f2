// The sign-in page, its form, the session behind the cookie, throttling and logout (over inject).
import t from 'tap'
import { sessionCookieOptions } from '../../src/browser/page-reply.js'
import { hashOpaque } from '../../src/oauth/opaque.js'
import { buildTestApp, newOrg, testConfig } from '../helpers/app.js'
import { FORM } from '../helpers/oauth.js'
import { browse, browserClient, hiddenValue, Jar, setPassword, signIn } from '../helpers/signin.js'

const ta = await buildTestApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '6' })
const { app } = ta
const org = await newOrg(ta)
const PASSWORD = 'correct horse battery'
const base = `/api/v1/oauth2/${org.orgName}`
let addresses = 0
/** A browser at its own address, so that one test's failures do not throttle another's. */
const newJar = () => new Jar(`10.0.0.${++addresses}`)
const newUser = async () => {
  const { user } = await org.newUser()
  await setPassword(ta, user.id, PASSWORD)
  return user
}
const setCookieOf = (res: { headers: Record<string, unknown> }, name: string): string | undefined => {
  const raw = res.headers['set-cookie']
  const all = Array.isArray(raw) ? raw as string[] : typeof raw === 'string' ? [raw] : []
  return all.find((c) => c.startsWith(name + '='))
}

t.test('the page: form, CSRF cookie, headers', async (t) => {
  const res = await browse(app, newJar(), 'GET', `${base}/login`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<input id="email" name="email" type="email" autocomplete="username"/)
  t.match(res.body, /<input id="password" name="password" type="password" autocomplete="current-password"/)
  t.match(res.body, /<label for="email">/, 'inputs have labels')
  t.match(res.body, /<html lang="en">/)
  t.match(res.body, /name="viewport"/, 'readable on a phone')
  t.notMatch(res.body, /<script|https?:\/\/(?!localhost)/, 'no script, nothing fetched from elsewhere')
  t.ok(hiddenValue(res.body, '_csrf'), 'the form carries a CSRF token')
  const csrfCookie = setCookieOf(res, 'aoc_csrf')
  t.match(csrfCookie, /HttpOnly/)
  t.match(csrfCookie, /SameSite=Lax/)
  t.match(csrfCookie, /Path=\/api\/v1\/oauth2;/)
  const csp = res.headers['content-security-policy'] as string
  t.match(csp, /default-src 'none'/)
  t.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/, 'only the page\'s own stylesheet')
  t.match(csp, /form-action 'self'(;|$)/)
  t.match(csp, /frame-ancestors 'none'/)
  t.notMatch(csp, /unsafe-inline|script-src/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['x-content-type-options'], 'nosniff', 'helmet')
  t.equal(res.headers['referrer-policy'], 'no-referrer', 'helmet: codes in URLs are not leaked by Referer')
  t.ok(res.headers['x-frame-options'], 'helmet')
})

t.test('an anonymous GET answers 2xx, as org discovery needs; an unknown org is a 404 page', async (t) => {
  const discovery = await browse(app, newJar(), 'GET', `${base}/login?from=%2Fauth%2Fping`)
  t.equal(discovery.statusCode, 200)
  const unknown = await browse(app, newJar(), 'GET', '/api/v1/oauth2/no-such-org/login')
  t.equal(unknown.statusCode, 404)
  t.match(unknown.headers['content-type'], /^text\/html/)
  t.match(unknown.body, /Unknown organization/)
})

t.test('CSRF: a form without its token, or with another browser\'s, is a 403 page and signs no one in', async (t) => {
  const user = await newUser()
  const jar = newJar()
  await browse(app, jar, 'GET', `${base}/login`)
  const without = await browse(app, jar, 'POST', `${base}/login`, { email: user.email, password: PASSWORD })
  t.equal(without.statusCode, 403)
  t.match(without.headers['content-type'], /^text\/html/)
  t.match(without.body, /This form has expired/)
  t.notOk(setCookieOf(without, 'aoc_session'))

  const other = newJar()
  const otherPage = await browse(app, other, 'GET', `${base}/login`)
  const foreign = await browse(app, jar, 'POST', `${base}/login`, { _csrf: hiddenValue(otherPage.body, '_csrf')!, email: user.email, password: PASSWORD })
  t.equal(foreign.statusCode, 403, 'a token made for another browser\'s secret')

  const noCookie = new Jar(jar.address)
  const stale = await browse(app, noCookie, 'POST', `${base}/login`, { _csrf: hiddenValue(otherPage.body, '_csrf')!, email: user.email, password: PASSWORD })
  t.equal(stale.statusCode, 403, 'a token without the cookie')
})

t.test('a refused sign-in reads the same whatever the cause, and starts no session', async (t) => {
  const user = await newUser()
  const { user: noPassword } = await org.newUser()
  const { user: deactivated } = await org.newUser({ deactivated: true })
  await setPassword(ta, deactivated.id, PASSWORD)
  const cases: Array<[string, string, string]> = [
    ['wrong password', user.email, 'wrong password here'],
    ['unknown e-mail', `nobody@${org.orgName}.example.com`, PASSWORD],
    ['user without a password', noPassword.email, PASSWORD],
    ['deactivated user', deactivated.email, PASSWORD]
  ]
  const messages = new Set<string>()
  for (const [name, email, password] of cases) {
    const res = await signIn(app, newJar(), org.orgName, email, password)
    t.equal(res.statusCode, 400, name)
    t.notOk(setCookieOf(res, 'aoc_session'), `${name}: no session`)
    const alert = /<p class="error" role="alert" id="login-error">([^<]*)<\/p>/.exec(res.body)?.[1]
    t.equal(alert, 'Wrong e-mail or password.', `${name}: the generic message`)
    messages.add(alert ?? '')
    t.match(res.body, new RegExp(`value="${email.replace(/[.]/g, '\\.')}"`), `${name}: the e-mail is kept in the form`)
  }
  t.equal(messages.size, 1)
  const empty = await signIn(app, newJar(), org.orgName, '', '')
  t.equal(empty.statusCode, 400)
  t.match(empty.body, /Enter your e-mail and password/)
})

t.test('failed sign-ins are throttled per account and per address', async (t) => {
  const user = await newUser()
  const attacker = newJar()
  for (let i = 0; i < 3; i++) t.equal((await signIn(app, attacker, org.orgName, user.email, 'guess ' + i)).statusCode, 400)
  const blocked = await signIn(app, newJar(), org.orgName, user.email.toUpperCase(), PASSWORD)
  t.equal(blocked.statusCode, 429, 'the account is locked for the window, from any address, even with the right password')
  t.match(blocked.body, /Too many failed sign-ins/)
  t.ok(Number(blocked.headers['retry-after']) > 0, 'Retry-After')
  t.notOk(setCookieOf(blocked, 'aoc_session'))

  const ghost = `ghost@${org.orgName}.example.com`
  const g = newJar()
  for (let i = 0; i < 3; i++) await signIn(app, g, org.orgName, ghost, 'guess ' + i)
  const ghostBlocked = await signIn(app, newJar(), org.orgName, ghost, 'guess')
  t.equal(ghostBlocked.statusCode, 429, 'an unknown e-mail is throttled the same way, so the throttle tells nothing')

  const other = await newUser()
  const address = newJar()
  for (let i = 0; i < 6; i++) await signIn(app, address, org.orgName, `spray${i}@${org.orgName}.example.com`, 'guess')
  const fromThere = await signIn(app, address, org.orgName, other.email, PASSWORD)
  t.equal(fromThere.statusCode, 429, 'the address is blocked after its failures, whatever the account')
  const elsewhere = await signIn(app, newJar(), org.orgName, other.email, PASSWORD)
  t.equal(elsewhere.statusCode, 303, 'the same account signs in from another address')

  await app.ctx.db.updateTable('login_failures').set({ expires_at: new Date(Date.now() - 1000) }).execute()
  const afterWindow = await signIn(app, newJar(), org.orgName, user.email, PASSWORD)
  t.equal(afterWindow.statusCode, 303, 'the window ends')
  const rows = await app.ctx.db.selectFrom('login_failures').select('key').where('key', 'like', `account:${org.orgId}:${user.email.toLowerCase()}`).execute()
  t.equal(rows.length, 0, 'a success clears the account\'s count')
})

t.test('a sign-in starts a server-side session behind an HttpOnly, SameSite=Lax cookie', async (t) => {
  const user = await newUser()
  const jar = newJar()
  jar.cookies.set('aoc_session', 'planted-by-an-attacker-0000000000000000000000'.slice(0, 43))
  const res = await signIn(app, jar, org.orgName, user.email, PASSWORD)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, `${base}/login`)
  const cookie = setCookieOf(res, 'aoc_session')!
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /SameSite=Lax/)
  t.match(cookie, new RegExp(`Path=${base}(;|$)`), 'scoped to the org')
  t.notMatch(cookie, /Secure/, 'not Secure on an http PUBLIC_URL')
  const value = jar.cookies.get('aoc_session')!
  t.not(value, 'planted-by-an-attacker-0000000000000000000000'.slice(0, 43), 'a new id at sign-in (no fixation)')
  const rows = await app.ctx.db.selectFrom('browser_sessions').selectAll().where('user_id', '=', user.id).execute()
  t.equal(rows.length, 1)
  t.equal(rows[0]!.id_hash, hashOpaque(value), 'only the hash is stored')

  const page = await browse(app, jar, 'GET', `${base}/login`)
  t.equal(page.statusCode, 200)
  t.match(page.body, /You are signed in as/)
  t.match(page.body, new RegExp(user.email.replace(/[.]/g, '\\.')))

  t.equal(sessionCookieOptions(testConfig({ PUBLIC_URL: 'https://auth.example.com' }), 'acme').secure, true, 'Secure on an https PUBLIC_URL')
  t.equal(sessionCookieOptions(testConfig({ PUBLIC_URL: 'https://auth.example.com/prefix' }), 'acme').path, '/prefix/api/v1/oauth2/acme', 'under a PUBLIC_URL prefix')
})

t.test('a session belongs to its org', async (t) => {
  const user = await newUser()
  const jar = newJar()
  await signIn(app, jar, org.orgName, user.email, PASSWORD)
  const other = await newOrg(ta)
  const page = await browse(app, jar, 'GET', `/api/v1/oauth2/${other.orgName}/login`)
  t.notMatch(page.body, /You are signed in/, 'another org\'s login page shows the form')
})

t.test('a session ends: logout, expiry, idleness, deactivation', async (t) => {
  const signedInJar = async () => {
    const user = await newUser()
    const jar = newJar()
    t.equal((await signIn(app, jar, org.orgName, user.email, PASSWORD)).statusCode, 303)
    return { user, jar }
  }
  const signedIn = async (jar: Jar) => /You are signed in/.test((await browse(app, jar, 'GET', `${base}/login`)).body)

  const a = await signedInJar()
  const idleBefore = (await app.ctx.db.selectFrom('browser_sessions').select('idle_expires_at').where('user_id', '=', a.user.id).executeTakeFirstOrThrow()).idle_expires_at
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.ok(await signedIn(a.jar))
  const idleAfter = (await app.ctx.db.selectFrom('browser_sessions').select('idle_expires_at').where('user_id', '=', a.user.id).executeTakeFirstOrThrow()).idle_expires_at
  t.ok(idleAfter.getTime() > idleBefore.getTime(), 'use moves the idle deadline forward')
  const page = await browse(app, a.jar, 'GET', `${base}/login`)
  const cookieBefore = a.jar.cookies.get('aoc_session')!
  const out = await browse(app, a.jar, 'POST', `${base}/logout`, { _csrf: hiddenValue(page.body, '_csrf')! })
  t.equal(out.statusCode, 200)
  t.match(out.body, /Signed out/)
  t.match(setCookieOf(out, 'aoc_session'), /Expires=Thu, 01 Jan 1970/, 'the cookie is cleared')
  const replayed = new Jar(a.jar.address)
  replayed.cookies.set('aoc_session', cookieBefore)
  t.notOk(await signedIn(replayed), 'the old cookie no longer works')
  t.equal((await app.ctx.db.selectFrom('browser_sessions').select('id_hash').where('user_id', '=', a.user.id).execute()).length, 0)

  const noCsrf = await signedInJar()
  const refused = await browse(app, noCsrf.jar, 'POST', `${base}/logout`, {})
  t.equal(refused.statusCode, 403, 'logout needs the CSRF token too')
  t.ok(await signedIn(noCsrf.jar), 'and the session lives on')

  const b = await signedInJar()
  await app.ctx.db.updateTable('browser_sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', b.user.id).execute()
  t.notOk(await signedIn(b.jar), 'past its absolute lifetime')

  const c = await signedInJar()
  await app.ctx.db.updateTable('browser_sessions').set({ idle_expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', c.user.id).execute()
  t.notOk(await signedIn(c.jar), 'idle too long')

  const d = await signedInJar()
  await app.ctx.db.updateTable('users').set({ deactivated: true }).where('id', '=', d.user.id).execute()
  t.notOk(await signedIn(d.jar), 'a deactivated user is signed out')
})

t.test('return_to resumes an authorization request on this org\'s authorize path only', async (t) => {
  const user = await newUser()
  const client = await browserClient(ta, org)
  const request = new URLSearchParams({ response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, state: 's' }).toString()
  const page = await browse(app, newJar(), 'GET', `${base}/login?return_to=${encodeURIComponent(request)}`)
  t.match(page.headers['content-security-policy'], /form-action 'self' https:\/\/app\.example\.com(;|$)/, 'the form may end at the client\'s redirect URI')
  t.equal(hiddenValue(page.body, 'return_to'), request)

  const res = await signIn(app, newJar(), org.orgName, user.email, PASSWORD, request)
  t.equal(res.headers.location, `${base}/authorize?${request}`)
  const sneaky = await signIn(app, newJar(), org.orgName, user.email, PASSWORD, 'https://evil.example.com/')
  t.ok((sneaky.headers.location as string).startsWith(`${base}/authorize?`), 'an absolute URL becomes a query on our own path')
})

t.test('concurrent guesses cannot slip past the throttle: each is counted before its password is checked', async (t) => {
  const user = await newUser()
  const jars = Array.from({ length: 8 }, () => newJar())
  const pages = await Promise.all(jars.map(async (jar) => await browse(app, jar, 'GET', `${base}/login`)))
  const answers = await Promise.all(jars.map(async (jar, i) => await browse(app, jar, 'POST', `${base}/login`, {
    _csrf: hiddenValue(pages[i]!.body, '_csrf')!, email: user.email, password: `guess ${i}`
  })))
  const tried = answers.filter((r) => r.statusCode === 400).length
  const refused = answers.filter((r) => r.statusCode === 429).length
  t.equal(tried, 3, 'exactly the account\'s limit of passwords was checked')
  t.equal(refused, 5)
})

t.test('odd input gets a page, never a 500', async (t) => {
  const jar = newJar()
  const page = await browse(app, jar, 'GET', `${base}/login`)
  const csrf = hiddenValue(page.body, '_csrf')!
  const nulEmail = await browse(app, jar, 'POST', `${base}/login`, { _csrf: csrf, email: 'a\u0000@example.com', password: 'x' })
  t.equal(nulEmail.statusCode, 400, 'a NUL byte in the e-mail')
  t.match(nulEmail.body, /Enter your e-mail and password/)
  const nulReturn = await browse(app, jar, 'GET', `${base}/login?return_to=client_id%3D%2500`)
  t.equal(nulReturn.statusCode, 200, 'a NUL byte in return_to')
  for (const path of ['/api/v1/oauth2/%00/login', '/api/v1/oauth2/A%3Bb/login', '/api/v1/oauth2/caf%C3%A9/login']) {
    const res = await browse(app, jar, 'GET', path)
    t.equal(res.statusCode, 404, `${path}: no such org`)
    t.match(res.headers['content-type'], /^text\/html/)
  }
  const oddLogout = await browse(app, jar, 'POST', '/api/v1/oauth2/a%3Bb/logout', { _csrf: csrf })
  t.equal(oddLogout.statusCode, 404, 'logout with an org name no org can have')
  const noBody = await app.inject({ method: 'POST', url: `${base}/login`, headers: { ...jar.header(), 'x-csrf-token': csrf } })
  t.equal(noBody.statusCode, 400, 'no body at all')
  t.match(noBody.headers['content-type'], /^text\/html/)
  const json = await app.inject({ method: 'POST', url: `${base}/login`, headers: { ...jar.header(), 'x-csrf-token': csrf, 'content-type': 'application/json' }, payload: 'null' })
  t.equal(json.statusCode, 400, 'a JSON null body')
  const repeated = await app.inject({
    method: 'POST',
    url: `${base}/login`,
    headers: { ...jar.header(), ...FORM },
    payload: `_csrf=${encodeURIComponent(csrf)}&email=a@example.com&email=b@example.com&password=x`
  })
  t.equal(repeated.statusCode, 400, 'a repeated field')
  const big = await app.inject({
    method: 'POST',
    url: `${base}/login`,
    headers: { ...jar.header(), ...FORM },
    payload: 'email=' + 'a'.repeat(200_000)
  })
  t.equal(big.statusCode, 413, 'an oversized body')
  t.match(big.headers['content-type'], /^text\/html/)
})
