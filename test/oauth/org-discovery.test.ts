import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { FORM } from '../helpers/oauth.js'

// AoC's org discovery (docs/aoc-compatibility.md §1, §9): ascli GETs https://<org>.<domain>/ and reads the org
// from the redirect. Only GET and HEAD on an org's host are redirected; the API host never is.
const { app } = await buildTestApp(t, { BASE_DOMAIN: 'example.test', PUBLIC_URL: 'https://api.example.test', TOKEN_RATE_LIMIT_PER_MINUTE: '0' })

t.test('GET on <org>.<BASE_DOMAIN> redirects to the org login page, whatever the path', async (t) => {
  for (const url of ['/', '/auth/ping', '/anything?x=1']) {
    const res = await app.inject({ method: 'GET', url, headers: { host: 'acme.example.test' } })
    t.ok(res.statusCode >= 300 && res.statusCode < 400, `${url}: 3xx (${res.statusCode})`)
    const location = res.headers.location as string
    t.match(location, /^https:\/\//, `${url}: Location is absolute`)
    const loc = new URL(location)
    t.equal(loc.host, 'api.example.test', `${url}: to the API host`)
    t.match(loc.pathname, /oauth2\/acme\/login$/, `${url}: path ends in oauth2/acme/login`)
    t.ok(loc.search.length > 1, `${url}: query not empty`)
    t.notMatch(loc.search, /token=/, `${url}: no token= in the query`)
  }
  const withToken = await app.inject({ method: 'GET', url: '/?token=abc', headers: { host: 'acme.example.test' } })
  t.notMatch(new URL(withToken.headers.location as string).search, /token=/, 'even when the original query had one')
  const withPort = await app.inject({ method: 'GET', url: '/', headers: { host: 'acme.example.test:443' } })
  t.match(new URL(withPort.headers.location as string).pathname, /oauth2\/acme\/login$/, 'a port in Host is ignored')
  const upper = await app.inject({ method: 'GET', url: '/', headers: { host: 'ACME.Example.Test' } })
  t.match(new URL(upper.headers.location as string).pathname, /oauth2\/acme\/login$/, 'Host is matched without case')
})

t.test('HEAD is redirected too', async (t) => {
  const res = await app.inject({ method: 'HEAD', url: '/', headers: { host: 'acme.example.test' } })
  t.ok(res.statusCode >= 300 && res.statusCode < 400, `3xx (${res.statusCode})`)
  t.match(new URL(res.headers.location as string).pathname, /oauth2\/acme\/login$/)
})

t.test('not redirected: POST, the API host, an invalid label, another domain', async (t) => {
  const post = await app.inject({ method: 'POST', url: '/api/v1/oauth2/acme/token', headers: { host: 'acme.example.test', ...FORM }, payload: 'grant_type=x' })
  t.notOk(post.headers.location, 'POST to an org host: no redirect')
  t.ok(post.statusCode < 300 || post.statusCode >= 400, `POST answered by the endpoint (${post.statusCode})`)
  t.equal(post.json().error, 'invalid_client', 'the token endpoint answered: acme does not exist, so invalid_client')

  const api = await app.inject({ method: 'GET', url: '/health/live', headers: { host: 'api.example.test' } })
  t.equal(api.statusCode, 200, 'the API host is served, not redirected')
  t.notOk(api.headers.location)

  const bad = await app.inject({ method: 'GET', url: '/health/live', headers: { host: 'bad_name.example.test' } })
  t.equal(bad.statusCode, 200, 'a label that is not an org name (underscore) is not redirected')
  t.notOk(bad.headers.location)

  const dash = await app.inject({ method: 'GET', url: '/health/live', headers: { host: '-acme.example.test' } })
  t.notOk(dash.headers.location, 'a label starting with a dash is not redirected')

  const nested = await app.inject({ method: 'GET', url: '/health/live', headers: { host: 'a.b.example.test' } })
  t.notOk(nested.headers.location, 'two labels deep is not an org host')

  const other = await app.inject({ method: 'GET', url: '/health/live', headers: { host: 'acme.other.test' } })
  t.notOk(other.headers.location, 'another domain is not redirected')

  const bare = await app.inject({ method: 'GET', url: '/health/live', headers: { host: 'example.test' } })
  t.notOk(bare.headers.location, 'the base domain itself is not redirected')
})
