// The browser sign-in in a real Chromium: authorization code with PKCE, the login and consent
// pages, refresh tokens. The client side is oauth4webapi, as a real application would use it, and
// the redirect URI is a small HTTP server of this file, so the browser lands on a real page.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as oauth from 'oauth4webapi'
import t, { type Test } from 'tap'
import type { Page, Response as PwResponse } from 'playwright-core'
import type { PublicUser } from '../../src/registry/users.js'
import { browserTest, cspViolations, screenshot, startBrowserTestApp, type BrowserTestApp, type ConsoleEntry } from '../helpers/browser.js'
import { browserClient, pkcePair, setPassword } from '../helpers/signin.js'

const PASSWORD = 'correct horse battery staple'
const WRONG_LOGIN = 'Wrong e-mail or password.'
// oauth4webapi refuses plain http unless told; the test servers have no TLS.
const insecure = { [oauth.allowInsecureRequests]: true }

/** What the callback server saw: every request, its path and query, in order. */
interface Hit { path: string, query: URLSearchParams }

/** The client application's side: a page at /callback that records each visit. */
interface CallbackServer {
  /** `http://127.0.0.1:<port>/callback`, the redirect URI the clients register. */
  redirectUri: string
  origin: string
  hits: Hit[]
}

/**
 * Listens on a free loopback port and answers every request with a small HTML page (an inline
 * empty icon, so Chromium asks for no favicon). Closed when the file's tests end.
 */
async function startCallbackServer (): Promise<CallbackServer> {
  const hits: Hit[] = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    hits.push({ path: url.pathname, query: url.searchParams })
    res.writeHead(url.pathname === '/callback' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Callback</title></head><body><h1>Back at the application</h1></body></html>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    // Chromium keeps its connections alive; close() alone would wait for them.
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { redirectUri: `${origin}/callback`, origin, hits }
}

/** A client as both sides know it: the server's id and secret, oauth4webapi's client and auth. */
interface AppClient {
  id: string
  name: string
  client: oauth.Client
  auth: oauth.ClientAuth
}

/** The file's one app, organization, callback server and clients, made on first use. */
interface Setup {
  ta: BrowserTestApp
  cb: CallbackServer
  as: oauth.AuthorizationServer
  /** Confidential (client_secret_basic), asks for consent. */
  consentClient: AppClient
  /** Public (token_endpoint_auth_method none, PKCE only), consent assumed. */
  quickClient: AppClient
  /** A new user of the org with password PASSWORD, so no test shares sessions, consents or throttling with another. */
  newUser: () => Promise<PublicUser>
}

let setupOnce: Promise<Setup> | undefined

/** Made lazily so that, without a browser, the skipped file starts nothing. */
const setup = (): Promise<Setup> => (setupOnce ??= makeSetup())

async function makeSetup (): Promise<Setup> {
  // Every request comes from 127.0.0.1: the per-address throttle would otherwise count all the
  // file's deliberate failures together.
  const ta = await startBrowserTestApp(t, { LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' })
  const cb = await startCallbackServer()
  const issuerUrl = new URL(ta.issuer)
  const as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure }))

  const confidential = await browserClient(ta, ta.org, { name: 'Consent App', redirect_uris: [cb.redirectUri] })
  const pub = await browserClient(ta, ta.org, { name: 'Quick App', redirect_uris: [cb.redirectUri], explicit_authorization_required: false, token_endpoint_auth_method: 'none' })
  const consentClient = { id: confidential.id, name: 'Consent App', client: { client_id: confidential.id }, auth: oauth.ClientSecretBasic(confidential.secret!) }
  const quickClient = { id: pub.id, name: 'Quick App', client: { client_id: pub.id }, auth: oauth.None() }

  const newUser = async () => {
    const { user } = await ta.org.newUser()
    await setPassword(ta, user.id, PASSWORD)
    return user
  }
  return { ta, cb, as, consentClient, quickClient, newUser }
}

/** A fresh authorization request for `c`: its URL, and the state and PKCE verifier to check and redeem it with. */
function authorizeRequest (s: Setup, c: AppClient, redirectUri = s.cb.redirectUri): { url: string, state: string, verifier: string } {
  const state = oauth.generateRandomState()
  const { verifier, challenge } = pkcePair()
  const url = new URL(s.as.authorization_endpoint!)
  url.search = new URLSearchParams({
    response_type: 'code', client_id: c.id, redirect_uri: redirectUri, scope: 'user:all', state, code_challenge: challenge, code_challenge_method: 'S256'
  }).toString()
  return { url: url.href, state, verifier }
}

/** Asserts that the page's console has no Content-Security-Policy refusal so far. */
function noCspViolation (t: Test, console: readonly ConsoleEntry[], where: string): void {
  t.same(cspViolations(console), [], `${where}: no Content-Security-Policy violation`)
}

/** The URLs a navigation went through, its redirects first. */
function redirectChain (res: PwResponse): string[] {
  const urls: string[] = []
  for (let r: ReturnType<PwResponse['request']> | null = res.request(); r; r = r.redirectedFrom()) urls.unshift(r.url())
  return urls
}

/** The path of a URL, for assertions that do not care about its query. */
const pathOf = (url: string) => new URL(url).pathname

/**
 * Runs `action` (a click) and waits for the navigation it starts to load; answers the final
 * response, after any redirects. Waiting for the load, not only the response, keeps the next
 * assertions off the page that was left.
 */
async function navigateBy (page: Page, action: () => Promise<void>): Promise<PwResponse> {
  const [res] = await Promise.all([
    page.waitForEvent('response', { predicate: (r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame() && (r.status() < 300 || r.status() >= 400) }),
    page.waitForEvent('load'),
    action()
  ])
  return res
}

/** Fills the login form and submits it; answers where the post ended (see navigateBy). */
async function submitLogin (page: Page, email: string, password: string): Promise<PwResponse> {
  await page.getByLabel('E-mail').fill(email)
  await page.getByLabel('Password').fill(password)
  return await navigateBy(page, () => page.getByRole('button', { name: 'Sign in' }).click())
}

/** Clicks a consent button (Allow or Deny); answers where the post ended. */
async function clickConsent (page: Page, button: 'Allow' | 'Deny'): Promise<PwResponse> {
  return await navigateBy(page, () => page.getByRole('button', { name: button }).click())
}

/**
 * A whole sign-in in `page` up to the callback (consent allowed when `consent`); answers the
 * callback's parameters as oauth4webapi validated them (state and iss checked) and the verifier.
 */
async function codeThroughBrowser (s: Setup, page: Page, c: AppClient, user: PublicUser, consent: boolean): Promise<{ params: URLSearchParams, verifier: string }> {
  const req = authorizeRequest(s, c)
  await page.goto(req.url)
  await submitLogin(page, user.email, PASSWORD)
  if (consent) await clickConsent(page, 'Allow')
  if (!page.url().startsWith(s.cb.redirectUri)) throw new Error(`the sign-in ended at ${pathOf(page.url())}, not at the callback`)
  return { params: oauth.validateAuthResponse(s.as, c.client, new URL(page.url()), req.state), verifier: req.verifier }
}

/** Exchanges a validated callback's code with oauth4webapi (PKCE verifier, same redirect URI). */
async function exchange (s: Setup, c: AppClient, params: URLSearchParams, verifier: string): Promise<oauth.TokenEndpointResponse> {
  const res = await oauth.authorizationCodeGrantRequest(s.as, c.client, c.auth, params, s.cb.redirectUri, verifier, insecure)
  return await oauth.processAuthorizationCodeResponse(s.as, c.client, res)
}

/** GET /api/v1/self with `token` over real HTTP. */
async function self (s: Setup, token: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${s.ta.baseUrl}/api/v1/self`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

/** The error `p` rejects with (oauth4webapi throws on an OAuth error response), or the string "no error". */
async function refusal (p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => 'no error', (e: unknown) => e)
}

browserTest(t, 'full flow with consent: login, Allow, code exchanged by oauth4webapi with PKCE and state; a second time no login and no consent', async (t, { page, context, console }) => {
  const s = await setup()
  const user = await s.newUser()
  const c = s.consentClient

  const first = authorizeRequest(s, c)
  const loginRes = await page.goto(first.url)
  t.equal(loginRes?.status(), 200, 'an anonymous authorize request ends at a 200 page')
  t.equal(pathOf(page.url()), `${new URL(s.ta.issuer).pathname}/login`, 'the login page, with the request to resume')
  t.ok(await page.getByRole('heading', { name: `Sign in to ${s.ta.org.orgName}` }).isVisible(), 'its heading names the organization')
  t.ok(await page.getByLabel('E-mail').isVisible(), 'an e-mail field')
  t.ok(await page.getByLabel('Password').isVisible(), 'a password field')
  t.comment(`screenshot: ${await screenshot(page, 'login')}`)
  noCspViolation(t, console, 'login page')

  const consentRes = await submitLogin(page, user.email, PASSWORD)
  t.equal(consentRes.status(), 200, 'the sign-in resumes the request: the consent page answers 200')
  t.same(redirectChain(consentRes).map(pathOf), [`${new URL(s.ta.issuer).pathname}/login`, `${new URL(s.ta.issuer).pathname}/authorize`], 'login post, then authorize')
  t.ok(await page.getByRole('heading', { name: `Allow ${c.name}?` }).isVisible(), 'the consent page names the client')
  t.match(await page.locator('main').textContent(), user.email, 'and the signed-in user')
  t.match(await page.locator('main').textContent(), 'user:all', 'and the scope asked')
  t.ok(await page.getByRole('button', { name: 'Allow' }).isVisible(), 'an Allow button')
  t.ok(await page.getByRole('button', { name: 'Deny' }).isVisible(), 'a Deny button')
  t.comment(`screenshot: ${await screenshot(page, 'consent')}`)
  noCspViolation(t, console, 'consent page')

  const cbRes = await clickConsent(page, 'Allow')
  t.equal(cbRes.status(), 200, 'Allow lands on the callback page')
  t.ok(page.url().startsWith(s.cb.redirectUri), 'the browser is at the redirect URI')
  noCspViolation(t, console, 'the redirect after the consent form (form-action)')
  const raw = new URL(page.url()).searchParams
  t.equal(raw.get('state'), first.state, 'the callback carries the state sent')
  t.equal(raw.get('iss'), s.ta.issuer, 'and iss, the issuer (RFC 9207)')
  t.equal(s.as.authorization_response_iss_parameter_supported, true, 'the metadata says iss is sent')

  const params = oauth.validateAuthResponse(s.as, c.client, new URL(page.url()), first.state)
  t.match(params.get('code'), /\S{20,}/, 'oauth4webapi accepts the response (state and iss) and finds a code')
  const tokens = await exchange(s, c, params, first.verifier)
  t.equal(tokens.token_type, 'bearer', 'the code is exchanged with the secret and the PKCE verifier')
  t.equal(tokens.scope, 'user:all', 'for the scope asked')
  t.type(tokens.refresh_token, 'string', 'with a refresh token')
  const me = await self(s, tokens.access_token)
  t.equal(me.status, 200, 'the access token works on GET /api/v1/self')
  t.match(me.body, { id: user.id, email: user.email }, 'as the user who signed in')

  const cookies = await context.cookies(s.ta.baseUrl + new URL(s.ta.issuer).pathname)
  t.match(cookies.find((k) => k.name === 'aoc_session'), { httpOnly: true, sameSite: 'Lax' }, 'the session cookie is kept, HttpOnly and SameSite=Lax')

  const second = authorizeRequest(s, c)
  const againRes = await page.goto(second.url)
  t.equal(againRes?.status(), 200, 'the second authorize request lands on the callback page')
  t.same(redirectChain(againRes!).map(pathOf), [`${new URL(s.ta.issuer).pathname}/authorize`, '/callback'], 'straight from authorize to the callback: no login page, no consent page')
  noCspViolation(t, console, 'second request')
  const params2 = oauth.validateAuthResponse(s.as, c.client, new URL(page.url()), second.state)
  t.not(params2.get('code'), params.get('code'), 'a new code')
  const tokens2 = await exchange(s, c, params2, second.verifier)
  t.equal((await self(s, tokens2.access_token)).status, 200, 'whose access token works too')
})

browserTest(t, 'a client that needs no consent: sign-in lands directly on the callback with a code (public client, PKCE only)', async (t, { page, console }) => {
  const s = await setup()
  const user = await s.newUser()
  const c = s.quickClient
  const req = authorizeRequest(s, c)

  await page.goto(req.url)
  t.ok(await page.getByRole('heading', { name: `Sign in to ${s.ta.org.orgName}` }).isVisible(), 'the login page first')
  noCspViolation(t, console, 'login page')
  const res = await submitLogin(page, user.email, PASSWORD)
  t.equal(res.status(), 200, 'the sign-in ends on the callback page')
  const base = new URL(s.ta.issuer).pathname
  t.same(redirectChain(res).map(pathOf), [`${base}/login`, `${base}/authorize`, '/callback'], 'login post, authorize, callback: no consent page')
  t.ok(page.url().startsWith(s.cb.redirectUri), 'the browser is at the redirect URI')
  noCspViolation(t, console, 'the redirects after the login form (form-action)')

  const params = oauth.validateAuthResponse(s.as, c.client, new URL(page.url()), req.state)
  t.ok(params.get('code'), 'a code, state and iss as expected')
  const tokens = await exchange(s, c, params, req.verifier)
  t.equal(tokens.scope, 'user:all', 'exchanged with the verifier alone, no secret')
  t.match(await self(s, tokens.access_token), { status: 200, body: { id: user.id } }, 'the access token works on GET /api/v1/self')
})

browserTest(t, 'Deny on the consent page: the callback gets error=access_denied with the state, and no code', async (t, { page, console }) => {
  const s = await setup()
  const user = await s.newUser()
  const c = s.consentClient
  const req = authorizeRequest(s, c)

  await page.goto(req.url)
  await submitLogin(page, user.email, PASSWORD)
  t.ok(await page.getByRole('heading', { name: `Allow ${c.name}?` }).isVisible(), 'the consent page')
  const res = await clickConsent(page, 'Deny')
  t.equal(res.status(), 200, 'Deny lands on the callback page')
  t.ok(page.url().startsWith(s.cb.redirectUri), 'the browser is at the redirect URI')
  noCspViolation(t, console, 'consent and its redirect')
  const q = new URL(page.url()).searchParams
  t.equal(q.get('error'), 'access_denied', 'error=access_denied')
  t.equal(q.get('state'), req.state, 'with the state sent')
  t.equal(q.get('iss'), s.ta.issuer, 'and iss')
  t.equal(q.get('code'), null, 'no code')
  const err = (() => { try { return oauth.validateAuthResponse(s.as, c.client, new URL(page.url()), req.state) } catch (e) { return e } })()
  t.ok(err instanceof oauth.AuthorizationResponseError, 'oauth4webapi reads it as an authorization error response')
  t.match(err, { error: 'access_denied' })

  // A denial is not remembered: the next request asks again.
  await page.goto(authorizeRequest(s, c).url)
  t.ok(await page.getByRole('heading', { name: `Allow ${c.name}?` }).isVisible(), 'the next request shows the consent page again')
})

browserTest(t, 'a wrong password and an unknown e-mail: the same generic error (role=alert), status 400, still on the login page', async (t, { page, console }) => {
  const s = await setup()
  const user = await s.newUser()
  const req = authorizeRequest(s, s.consentClient)
  const hitsBefore = s.cb.hits.length
  const loginPath = `${new URL(s.ta.issuer).pathname}/login`

  await page.goto(req.url)
  const wrong = await submitLogin(page, user.email, 'not the password')
  t.equal(wrong.status(), 400, 'a wrong password answers 400')
  t.equal(pathOf(page.url()), loginPath, 'the browser stays on the login page')
  const alert = page.getByRole('alert')
  t.equal((await alert.textContent())?.trim(), WRONG_LOGIN, 'the generic message, in an alert')
  t.equal(await page.getByLabel('E-mail').inputValue(), user.email, 'the e-mail is kept')
  t.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not')
  t.ok(await page.getByRole('button', { name: 'Sign in' }).isVisible(), 'the form is there to try again')
  t.comment(`screenshot: ${await screenshot(page, 'login-error')}`)
  noCspViolation(t, console, 'login page with the error')

  const unknown = await submitLogin(page, `nobody-${user.id}@${s.ta.org.orgName}.example.com`, 'not the password')
  t.equal(unknown.status(), 400, 'an unknown e-mail answers 400 too')
  t.equal(pathOf(page.url()), loginPath, 'still the login page')
  t.equal((await page.getByRole('alert').textContent())?.trim(), WRONG_LOGIN, 'with the very same message: nothing tells whether the e-mail exists')
  noCspViolation(t, console, 'second error page')

  // The failed attempts kept the authorization request: the right password still resumes it.
  const ok = await submitLogin(page, user.email, PASSWORD)
  t.ok(await page.getByRole('heading', { name: `Allow ${s.consentClient.name}?` }).isVisible(), `after the failures, the right password resumes the request (status ${ok.status()})`)
  t.equal(s.cb.hits.length, hitsBefore, 'the callback server was never reached')
})

browserTest(t, 'a form posted without its CSRF token: 403 "This form has expired", nothing signed in or granted', async (t, { page, console }) => {
  const s = await setup()
  const user = await s.newUser()
  const c = s.consentClient
  const hitsBefore = s.cb.hits.length

  await page.goto(authorizeRequest(s, c).url)
  await page.locator('input[name="_csrf"]').evaluate((el) => { el.remove() })
  t.equal(await page.locator('input[name="_csrf"]').count(), 0, 'the login form lost its CSRF token')
  const res = await submitLogin(page, user.email, PASSWORD)
  t.equal(res.status(), 403, 'the login post without the token answers 403')
  t.ok(await page.getByRole('heading', { name: 'This form has expired' }).isVisible(), 'a page headed "This form has expired"')
  t.match(await page.title(), /This form has expired/, 'and so titled')
  noCspViolation(t, console, 'the 403 page')

  // The refused post signed no one in: the same request shows the login page again.
  await page.goto(authorizeRequest(s, c).url)
  t.ok(await page.getByRole('heading', { name: `Sign in to ${s.ta.org.orgName}` }).isVisible(), 'the next request still asks to sign in')

  // The consent form too: signed in properly, then the token removed from the consent form.
  await submitLogin(page, user.email, PASSWORD)
  t.ok(await page.getByRole('heading', { name: `Allow ${c.name}?` }).isVisible(), 'signed in, the consent page')
  await page.locator('input[name="_csrf"]').evaluate((el) => { el.remove() })
  const consentRes = await clickConsent(page, 'Allow')
  t.equal(consentRes.status(), 403, 'Allow without the token answers 403')
  t.ok(await page.getByRole('heading', { name: 'This form has expired' }).isVisible(), 'the same "This form has expired" page')
  t.equal(s.cb.hits.length, hitsBefore, 'no redirect to the callback: no code, no error sent to the client')
  noCspViolation(t, console, 'the second 403 page')
})

browserTest(t, 'a redirect URI the client did not register: a 400 error page, and the browser never reaches it', async (t, { page, console }) => {
  const s = await setup()
  const hitsBefore = s.cb.hits.length
  // Same host and port as the registered one, another path: not even the loopback port rule lets it through.
  const req = authorizeRequest(s, s.consentClient, `${s.cb.origin}/elsewhere`)

  const res = await page.goto(req.url)
  t.equal(res?.status(), 400, 'the authorize request answers 400')
  t.equal(pathOf(page.url()), `${new URL(s.ta.issuer).pathname}/authorize`, 'the browser stays on the server')
  t.ok(await page.getByRole('heading', { name: 'Invalid redirect URI' }).isVisible(), 'a page headed "Invalid redirect URI"')
  t.match(await page.getByRole('alert').textContent(), /redirect uri doesn't match/, 'saying why')
  t.comment(`screenshot: ${await screenshot(page, 'error-redirect-mismatch')}`)
  noCspViolation(t, console, 'the error page')
  t.same(s.cb.hits.slice(hitsBefore).map((h) => h.path), [], 'the callback server saw no request at all')
})

browserTest(t, 'a code used twice: the second exchange is invalid_grant, and the first exchange\'s tokens are then refused', async (t, { page }) => {
  const s = await setup()
  const user = await s.newUser()
  const c = s.quickClient
  const { params, verifier } = await codeThroughBrowser(s, page, c, user, false)

  const first = await exchange(s, c, params, verifier)
  t.equal((await self(s, first.access_token)).status, 200, 'the first exchange gives a working access token')
  const again = await refusal(exchange(s, c, params, verifier))
  t.ok(again instanceof oauth.ResponseBodyError, `oauth4webapi reports an OAuth error body (${String(again)})`)
  t.match(again, { error: 'invalid_grant', status: 400 }, 'the second exchange of the same code: 400 invalid_grant')
  t.equal((await self(s, first.access_token)).status, 401, 'the access token of the first exchange is then refused (401)')
  const refreshed = await refusal(oauth.processRefreshTokenResponse(s.as, c.client, await oauth.refreshTokenGrantRequest(s.as, c.client, c.auth, first.refresh_token!, insecure)))
  t.match(refreshed, { error: 'invalid_grant', status: 400 }, 'and so is its refresh token: invalid_grant')
})

browserTest(t, 'refresh tokens rotate; reusing an old one is invalid_grant and ends the newest one too', async (t, { page }) => {
  const s = await setup()
  const user = await s.newUser()
  const c = s.consentClient
  const { params, verifier } = await codeThroughBrowser(s, page, c, user, true)
  const tokens = await exchange(s, c, params, verifier)
  const refresh = async (rt: string) => await oauth.processRefreshTokenResponse(s.as, c.client, await oauth.refreshTokenGrantRequest(s.as, c.client, c.auth, rt, insecure))

  const rt1 = tokens.refresh_token!
  const r2 = await refresh(rt1)
  t.type(r2.refresh_token, 'string', 'a refresh answers a new refresh token')
  t.not(r2.refresh_token, rt1, 'a different one (rotation)')
  t.equal(r2.scope, 'user:all', 'for the same scope')
  t.match(await self(s, r2.access_token), { status: 200, body: { id: user.id } }, 'its access token works on GET /api/v1/self')

  const r3 = await refresh(r2.refresh_token!)
  t.not(r3.refresh_token, r2.refresh_token, 'the new one rotates in turn')

  const reused = await refusal(refresh(rt1))
  t.ok(reused instanceof oauth.ResponseBodyError, `oauth4webapi reports an OAuth error body (${String(reused)})`)
  t.match(reused, { error: 'invalid_grant', status: 400 }, 'reusing the first, already used refresh token: 400 invalid_grant')
  const newest = await refusal(refresh(r3.refresh_token!))
  t.match(newest, { error: 'invalid_grant', status: 400 }, 'then the newest refresh token is refused too (the family is revoked): invalid_grant')
  t.equal((await self(s, r3.access_token)).status, 401, 'and the access token issued with it no longer works (401)')
})

browserTest(t, 'on a phone-sized screen (375x667) the login form fits without horizontal scrolling', async (t, { page, console }) => {
  const s = await setup()
  await page.goto(authorizeRequest(s, s.consentClient).url)
  const width = 375
  for (const [label, locator] of [
    ['e-mail field', page.getByLabel('E-mail')],
    ['password field', page.getByLabel('Password')],
    ['Sign in button', page.getByRole('button', { name: 'Sign in' })]
  ] as const) {
    const box = await locator.boundingBox()
    t.ok(box && box.x >= 0 && box.x + box.width <= width, `the ${label} lies within the screen (${box ? `${Math.round(box.x)}..${Math.round(box.x + box.width)}` : 'not shown'})`)
  }
  const scrollWidth = await page.evaluate('document.documentElement.scrollWidth') as number
  t.ok(scrollWidth <= width, `no horizontal scroll: scrollWidth ${scrollWidth} <= ${width}`)
  t.comment(`screenshot: ${await screenshot(page, 'login-phone')}`)
  noCspViolation(t, console, 'login page on a phone')
}, { viewport: { width: 375, height: 667 } })
