// Issue 9, findings 4 and 5: a refused /authorize request logs at most one info line, never an
// error with a stack; credentials sent in a URL query are refused at the OAuth endpoints, and the
// query of an OAuth path never reaches the log.
import t from 'tap'
import { buildLoggingTestApp, newOrg } from '../helpers/app.js'
import { FORM } from '../helpers/oauth.js'
import { browserClient } from '../helpers/signin.js'

interface Line { level: number, msg?: string, reqId?: string, err?: unknown }
const ta = await buildLoggingTestApp(t, 'debug', { TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app, lines } = ta
const org = await newOrg(ta)
const client = await browserClient(ta, org)
const base = `/api/v1/oauth2/${org.orgName}`

/** The lines one request logged, besides its "request completed". */
async function ownLines (url: string): Promise<{ status: number, own: Line[], all: Line[] }> {
  const before = lines.length
  const res = await app.inject({ method: 'GET', url })
  const all = lines.slice(before).map((l) => JSON.parse(l) as Line)
  return { status: res.statusCode, own: all.filter((l) => l.msg !== 'request completed'), all }
}

t.test('a refused authorization request logs at most one info line, and no error', async (t) => {
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString()
  const cases: Array<[string, string, number]> = [
    ['an unknown org', `/api/v1/oauth2/no-such-org/authorize?${q({ response_type: 'code', client_id: client.id })}`, 404],
    ['an unknown client', `${base}/authorize?${q({ response_type: 'code', client_id: 'no-such-client', redirect_uri: client.redirectUri })}`, 400],
    ['a foreign redirect_uri', `${base}/authorize?${q({ response_type: 'code', client_id: client.id, redirect_uri: 'https://evil.example/cb' })}`, 400],
    ['an error redirect (bad response_type)', `${base}/authorize?${q({ response_type: 'token', client_id: client.id, redirect_uri: client.redirectUri })}`, 303]
  ]
  for (const [name, url, status] of cases) {
    const { status: got, own, all } = await ownLines(url)
    t.equal(got, status, `${name}: answered ${status}`)
    t.same(all.filter((l) => l.level >= 40), [], `${name}: nothing at warn or above`)
    t.ok(own.length <= 1 && own.every((l) => l.level === 30), `${name}: at most one info line (${own.map((l) => l.msg).join(', ')})`)
  }
})

t.test('credentials in the query string are refused at the OAuth endpoints, and never logged', async (t) => {
  const secret = 'query-secret-5e1f'
  const assertion = 'eyJhbGciOiJSUzI1NiJ9.query-assertion-77c.sig'
  const before = lines.length
  for (const endpoint of ['token', 'introspect', 'revoke']) {
    for (const [name, value] of [['client_secret', secret], ['assertion', assertion], ['code', 'query-code-3d'], ['refresh_token', 'query-refresh-9a'], ['token', 'query-token-2b'], ['code_verifier', 'query-verifier-4c']]) {
      const res = await app.inject({
        method: 'POST',
        url: `${base}/${endpoint}?${name}=${value}`,
        headers: FORM,
        payload: new URLSearchParams({ client_id: org.clientId, client_secret: org.clientSecret, grant_type: 'refresh_token', refresh_token: 'x', token: 'x' }).toString()
      })
      t.equal(res.statusCode, 400, `${endpoint}?${name}=…: 400`)
      t.match(res.json(), { error: 'invalid_request', error_description: /query/ })
    }
  }
  const out = lines.slice(before).join('\n')
  t.match(out, 'request completed', 'the requests were logged')
  for (const value of [secret, assertion, 'query-code-3d', 'query-refresh-9a', 'query-token-2b', 'query-verifier-4c']) t.notMatch(out, value, `${value} is in no log line`)
})

t.test('the query of an OAuth path is redacted in the log; elsewhere credential parameters are', async (t) => {
  const before = lines.length
  await app.inject({ method: 'GET', url: `${base}/authorize?response_type=code&client_id=${client.id}&state=state-value-81&code_challenge=challenge-value-62` })
  await app.inject({ method: 'GET', url: `${base}/login?return_to=${encodeURIComponent('client_id=x&state=state-in-return-44')}` })
  await app.inject({ method: 'GET', url: '/api/v1/self?access_token=rest-query-token-19&page=2', headers: { authorization: `Bearer ${org.adminToken}` } })
  const out = lines.slice(before).join('\n')
  t.match(out, `${base}/authorize?`, 'the path is kept')
  for (const value of ['state-value-81', 'challenge-value-62', 'state-in-return-44', 'rest-query-token-19']) t.notMatch(out, value, `${value} is not logged`)
  t.match(out, 'page=2', 'harmless REST parameters are kept')
})
