// CORS on the token and revocation endpoints, for each client's registered origins.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { buildTestApp, newOrg } from '../helpers/app.js'
import { FORM } from '../helpers/oauth.js'
import { browserClient } from '../helpers/signin.js'

// A well-formed refresh token nobody issued: random, so that the suite's log scan cannot find it inside another
// test's long filler (a run of one letter would be).
const UNKNOWN_REFRESH_TOKEN = randomBytes(32).toString('base64url')

const ta = await buildTestApp(t)
const { app } = ta
const org = await newOrg(ta)
const base = `/api/v1/oauth2/${org.orgName}`
const SPA = 'https://spa.example.com'
const spa = await browserClient(ta, org, { origins: [SPA], token_endpoint_auth_method: 'none' })
const other = await browserClient(ta, org, { origins: ['https://other.example.com'] })

const preflight = async (path: string, origin: string) => await app.inject({
  method: 'OPTIONS',
  url: path,
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
})
const post = async (path: string, origin: string | undefined, form: Record<string, string>) => await app.inject({
  method: 'POST',
  url: path,
  headers: { ...FORM, ...(origin ? { origin } : {}) },
  payload: new URLSearchParams(form).toString()
})

t.test('a preflight is allowed for an origin some client of the org registered', async (t) => {
  for (const endpoint of ['token', 'revoke']) {
    const ok = await preflight(`${base}/${endpoint}`, SPA)
    t.equal(ok.statusCode, 204, endpoint)
    t.equal(ok.headers['access-control-allow-origin'], SPA, `${endpoint}: the origin, never *`)
    t.match(ok.headers['access-control-allow-methods'], /POST/)
    t.match(ok.headers['access-control-allow-headers'], /Content-Type/i)
    t.notOk(ok.headers['access-control-allow-credentials'], 'no cookies on these endpoints')
  }
  const stranger = await preflight(`${base}/token`, 'https://evil.example.com')
  t.notOk(stranger.headers['access-control-allow-origin'], 'an origin no client registered')
  const otherOrg = await newOrg(ta)
  const elsewhere = await preflight(`/api/v1/oauth2/${otherOrg.orgName}/token`, SPA)
  t.notOk(elsewhere.headers['access-control-allow-origin'], 'another org\'s clients do not lend their origins')
  const introspect = await preflight(`${base}/introspect`, SPA)
  t.notOk(introspect.headers['access-control-allow-origin'], 'introspection takes a secret: not for browsers')
})

t.test('the request itself is allowed only for the origins of the client it names', async (t) => {
  const mine = await post(`${base}/token`, SPA, { grant_type: 'refresh_token', refresh_token: UNKNOWN_REFRESH_TOKEN, client_id: spa.id })
  t.equal(mine.statusCode, 400, 'the grant still judges the request')
  t.equal(mine.headers['access-control-allow-origin'], SPA, 'so that the app can read the error')
  t.match(mine.headers.vary, /Origin/)
  const notMine = await post(`${base}/token`, SPA, { grant_type: 'refresh_token', refresh_token: UNKNOWN_REFRESH_TOKEN, client_id: other.id, client_secret: other.secret! })
  t.notOk(notMine.headers['access-control-allow-origin'], 'another client\'s request from this origin')
  const revoke = await post(`${base}/revoke`, SPA, { token: 'x', client_id: spa.id })
  t.equal(revoke.statusCode, 200)
  t.equal(revoke.headers['access-control-allow-origin'], SPA)
  const noOrigin = await post(`${base}/token`, undefined, { grant_type: 'refresh_token', refresh_token: UNKNOWN_REFRESH_TOKEN, client_id: spa.id })
  t.notOk(noOrigin.headers['access-control-allow-origin'], 'no Origin, no CORS headers')
})
