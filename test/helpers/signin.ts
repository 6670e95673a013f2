// Browser sign-in over app.inject: a cookie jar, the CSRF token of a page, and the flow's steps.
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { createClient, type ClientFields } from '../../src/registry/clients.js'
import type { PublicUser, UserFields } from '../../src/registry/users.js'
import argon2 from 'argon2'
import { basic, FORM, oauthPoster } from './oauth.js'
import type { TestApp, TestOrg } from './app.js'
import { recordValue } from './log-capture.js'

/** Cookies as a browser keeps them for one site (paths ignored: tests stay within one org). */
export class Jar {
  readonly cookies = new Map<string, string>()
  /** the browser's source address, for the per-address throttle */
  constructor (readonly address = '127.0.0.1') {}
  header (): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}
  }

  store (res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string, value: string, maxAge?: number, expires?: Date }>) {
      const gone = c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() < Date.now())
      if (gone) this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
  }
}

/** A GET or a form POST with the jar's cookies; stores what comes back. */
export async function browse (app: FastifyInstance, jar: Jar, method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    remoteAddress: jar.address,
    headers: { ...jar.header(), ...(form ? FORM : {}) },
    ...(form ? { payload: new URLSearchParams(form).toString() } : {})
  })
  jar.store(res)
  return res
}

/** The value of a hidden input in a page. */
export function hiddenValue (html: string, name: string): string | undefined {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html)
  return m?.[1]?.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
}

/** A path and query of a Location header, for the next inject. */
export function pathOf (location: string): string {
  const u = new URL(location, 'http://localhost')
  return u.pathname + u.search
}

/**
 * Gives a user a password directly in the database. The hash is argon2id like the server's, but
 * with the smallest cost (1 MiB, one pass): the server verifies with the cost written in the hash,
 * so each sign-in in a test takes milliseconds, not the 0.2 s of the production cost.
 */
export async function setPassword (ta: TestApp, userId: string, password: string): Promise<void> {
  recordValue('password', password)
  const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 })
  await ta.app.ctx.db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute()
}

/** A client registered for the browser flow, as browserClient answers it. */
export interface BrowserClient { id: string, secret: string | null, redirectUri: string }

/** A client for the browser flow; answers its id and secret (null for a public one). */
export async function browserClient (ta: TestApp, org: TestOrg, fields: ClientFields = {}): Promise<BrowserClient> {
  const redirectUri = fields.redirect_uris?.[0] ?? 'https://app.example.com/callback'
  const c = await createClient(ta.app.ctx.db, ta.app.ctx.box, org.orgId, {
    name: 'browser ' + randomBytes(4).toString('hex'),
    redirect_uris: [redirectUri],
    ...fields
  }, null)
  recordValue('client_secret', c.secret)
  return { id: c.id, secret: c.secret, redirectUri }
}

/** A PKCE pair (RFC 7636, S256). */
export function pkcePair (): { verifier: string, challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  recordValue('code_verifier', verifier)
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Signs in through the login form; answers the POST's response. */
export async function signIn (app: FastifyInstance, jar: Jar, orgName: string, email: string, password: string, returnTo?: string): Promise<LightMyRequestResponse> {
  const page = await browse(app, jar, 'GET', `/api/v1/oauth2/${orgName}/login${returnTo ? '?return_to=' + encodeURIComponent(returnTo) : ''}`)
  const csrf = hiddenValue(page.body, '_csrf')
  if (!csrf) throw new Error(`no CSRF token on the login page (status ${page.statusCode})`)
  return await browse(app, jar, 'POST', `/api/v1/oauth2/${orgName}/login`, { _csrf: csrf, email, password, ...(returnTo ? { return_to: returnTo } : {}) })
}

/** The password test users sign in with, unless a test gives another. */
export const TEST_PASSWORD = 'a long enough password'

/**
 * Gives an existing user `password` and signs it in through the login form in a new jar (at the
 * default address). A refused sign-in fails `t` when one is given (as an assertion), else throws.
 */
export async function signInWithPassword (ta: TestApp, org: TestOrg, user: Pick<PublicUser, 'id' | 'email'>, opts: { password?: string, t?: Test } = {}): Promise<Jar> {
  const password = opts.password ?? TEST_PASSWORD
  await setPassword(ta, user.id, password)
  const jar = new Jar()
  const res = await signIn(ta.app, jar, org.orgName, user.email, password)
  if (opts.t) opts.t.equal(res.statusCode, 303)
  else if (res.statusCode !== 303) throw new Error(`sign-in answered ${res.statusCode}`)
  return jar
}

/**
 * A new user of the org (with `fields`) with a password, signed in through the login form in its own
 * jar, as signInWithPassword does; with a user:all REST token for it (issued to the org's own client).
 */
export async function signedInUser (ta: TestApp, org: TestOrg, opts: { fields?: UserFields, password?: string, t?: Test } = {}): Promise<{ user: PublicUser, token: string, jar: Jar }> {
  const { user, token } = await org.newUser(opts.fields)
  const jar = await signInWithPassword(ta, org, user, opts)
  return { user, token, jar }
}

/**
 * Runs authorize with a signed-in jar up to the code: allows consent when the page asks. Answers the
 * final redirect's URL (code or error) and whether consent was asked.
 */
export async function authorize (app: FastifyInstance, jar: Jar, orgName: string, params: Record<string, string>, decision: 'allow' | 'deny' = 'allow'): Promise<{ url: URL, consentAsked: boolean, res: LightMyRequestResponse }> {
  let res = await browse(app, jar, 'GET', `/api/v1/oauth2/${orgName}/authorize?${new URLSearchParams(params).toString()}`)
  let consentAsked = false
  if (res.statusCode === 200 && res.body.includes('name="decision"')) {
    consentAsked = true
    const fields: Record<string, string> = { decision }
    for (const name of ['_csrf', 'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method']) {
      const v = hiddenValue(res.body, name)
      if (v !== undefined) fields[name] = v
    }
    res = await browse(app, jar, 'POST', `/api/v1/oauth2/${orgName}/authorize`, fields)
  }
  if (res.statusCode < 300 || res.statusCode >= 400) throw new Error(`authorize answered ${res.statusCode}: ${res.body.slice(0, 300)}`)
  return { url: new URL(res.headers.location as string), consentAsked, res }
}

/**
 * The code flow of a confidential client, without PKCE: authorize with a signed-in jar (consent
 * allowed when asked), then the code exchanged with the client's secret by Basic. Answers the tokens
 * and whether consent was asked; throws if either step fails.
 */
export async function codeGrant (app: FastifyInstance, orgName: string, jar: Jar, client: BrowserClient, scope: string): Promise<{ access: string, refresh: string | undefined, consentAsked: boolean }> {
  const { url, consentAsked } = await authorize(app, jar, orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, scope })
  const code = url.searchParams.get('code')
  if (!code) throw new Error(`authorize gave no code: ${url.searchParams.get('error') ?? ''} ${url.searchParams.get('error_description') ?? ''}`)
  const res = await oauthPoster(app, orgName)('token', { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri }, basic(client.id, client.secret!))
  if (res.statusCode !== 200) throw new Error(`code exchange answered ${res.statusCode}: ${res.body.slice(0, 300)}`)
  return { access: res.json().access_token, refresh: res.json().refresh_token, consentAsked }
}
