// The authorization request's pure rules: redirect URI matching, PKCE, and which failure is a page
// and which goes back to the client.
import { createHash } from 'node:crypto'
import t from 'tap'
import { checkAuthorizeRequest, readAuthorizeParams, redirectWith, type AuthorizeClient } from '../../src/oauth/authorize-request.js'
import { CODE_VERIFIER, verifierMatches } from '../../src/oauth/pkce.js'
import { matchRedirectUri } from '../../src/oauth/redirect-uri.js'

t.test('redirect URI matching (RFC 6749 §3.1.2, RFC 8252 §7.3)', async (t) => {
  const rows: Array<[string, string[], string | undefined, string | undefined]> = [
    ['exact match', ['https://app.example.com/cb'], 'https://app.example.com/cb', 'https://app.example.com/cb'],
    ['another path', ['https://app.example.com/cb'], 'https://app.example.com/cb2', undefined],
    ['a trailing slash is another URI', ['https://app.example.com/cb'], 'https://app.example.com/cb/', undefined],
    ['an added query', ['https://app.example.com/cb'], 'https://app.example.com/cb?x=1', undefined],
    ['case of the host', ['https://app.example.com/cb'], 'https://APP.example.com/cb', undefined],
    ['https: another port is not allowed', ['https://app.example.com/cb'], 'https://app.example.com:8443/cb', undefined],
    ['a fragment is never allowed', ['https://app.example.com/cb#x'], 'https://app.example.com/cb#x', undefined],
    ['left out with exactly one registered', ['https://app.example.com/cb'], undefined, 'https://app.example.com/cb'],
    ['left out with two registered', ['https://a.example.com/cb', 'https://b.example.com/cb'], undefined, undefined],
    ['left out with none registered', [], undefined, undefined],
    ['loopback 127.0.0.1: another port', ['http://127.0.0.1:8080/cb'], 'http://127.0.0.1:51234/cb', 'http://127.0.0.1:51234/cb'],
    ['loopback [::1]: another port', ['http://[::1]/cb'], 'http://[::1]:4000/cb', 'http://[::1]:4000/cb'],
    ['loopback localhost (ascli): another port', ['http://localhost:12345'], 'http://localhost:54321', 'http://localhost:54321'],
    ['loopback: another path', ['http://127.0.0.1:8080/cb'], 'http://127.0.0.1:9090/other', undefined],
    ['loopback: another host', ['http://127.0.0.1:8080/cb'], 'http://localhost:8080/cb', undefined],
    ['loopback: https is not a loopback exception', ['https://127.0.0.1:8080/cb'], 'https://127.0.0.1:9090/cb', undefined],
    ['not loopback: a look-alike host', ['http://127.0.0.1:8080/cb'], 'http://127.0.0.1.evil.com:8080/cb', undefined],
    ['loopback: credentials in the URI', ['http://127.0.0.1:8080/cb'], 'http://user@127.0.0.1:8080/cb', undefined],
    ['not a URI', ['http://127.0.0.1:8080/cb'], 'not a uri', undefined]
  ]
  for (const [name, registered, given, expected] of rows) t.equal(matchRedirectUri(registered, given), expected, name)
})

t.test('PKCE S256 (RFC 7636)', async (t) => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
  // RFC 7636 Appendix B
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
  t.equal(createHash('sha256').update(verifier).digest('base64url'), challenge)
  t.ok(verifierMatches(challenge, verifier), 'the RFC example verifies')
  t.notOk(verifierMatches(challenge, verifier.slice(0, -1) + 'j'), 'another verifier fails')
  t.notOk(verifierMatches(challenge, challenge), 'the challenge itself (plain) fails')
  t.notOk(verifierMatches(challenge, 'short'), 'a verifier under 43 characters fails')
  t.notOk(verifierMatches(challenge, 'a'.repeat(129)), 'a verifier over 128 characters fails')
  t.notOk(CODE_VERIFIER.test(verifier + '+'), 'a character outside the unreserved set is refused')
})

t.test('the authorization request: pages and redirects', async (t) => {
  const client: AuthorizeClient = { id: 'c1', redirectUris: ['https://app.example.com/cb'], isPublic: false }
  const pub: AuthorizeClient = { ...client, isPublic: true }
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
  const base = { response_type: 'code', client_id: 'c1', redirect_uri: 'https://app.example.com/cb', state: 's1' }
  // null stands for 'no such client' (undefined would take the default)
  const check = (raw: Record<string, unknown>, c: AuthorizeClient | null = client) => checkAuthorizeRequest(readAuthorizeParams(raw), c ?? undefined)

  t.test('shown as a page, never redirected', async (t) => {
    const pages: Array<[string, Record<string, unknown>, AuthorizeClient | null, string]> = [
      ['no client_id', { ...base, client_id: undefined }, client, 'Invalid request'],
      ['unknown client', base, null, 'Unknown client'],
      ['redirect_uri not registered', { ...base, redirect_uri: 'https://evil.example.com/cb' }, client, 'Invalid redirect URI'],
      ['redirect_uri repeated', { ...base, redirect_uri: ['https://app.example.com/cb', 'https://evil.example.com/cb'] }, client, 'Invalid request'],
      ['client_id repeated', { ...base, client_id: ['c1', 'c2'] }, client, 'Invalid request'],
      ['redirect_uri left out with two registered', { ...base, redirect_uri: undefined }, { ...client, redirectUris: ['https://a.example.com/1', 'https://a.example.com/2'] }, 'Invalid redirect URI']
    ]
    for (const [name, raw, c, title] of pages) {
      const r = check(raw, c)
      t.equal(r.kind, 'page', name)
      if (r.kind === 'page') {
        t.equal(r.status, 400, `${name}: 400`)
        t.equal(r.title, title, `${name}: title`)
      }
    }
    const mismatch = check({ ...base, redirect_uri: 'https://evil.example.com/cb' })
    t.match(mismatch.kind === 'page' && mismatch.message, /redirect uri doesn't match authorized redirect uri/, 'AoC\'s wording')
  })

  t.test('sent back to the redirect URI with state', async (t) => {
    const redirects: Array<[string, Record<string, unknown>, AuthorizeClient, string, RegExp]> = [
      ['no response_type', { ...base, response_type: undefined }, client, 'invalid_request', /response_type/],
      ['response_type token', { ...base, response_type: 'token' }, client, 'unsupported_response_type', /code/],
      ['PKCE plain', { ...base, code_challenge: challenge, code_challenge_method: 'plain' }, client, 'invalid_request', /S256/],
      ['PKCE without a method (plain by default)', { ...base, code_challenge: challenge }, client, 'invalid_request', /S256/],
      ['PKCE unknown method', { ...base, code_challenge: challenge, code_challenge_method: 'S512' }, client, 'invalid_request', /S256/],
      ['PKCE challenge of the wrong shape', { ...base, code_challenge: 'abc', code_challenge_method: 'S256' }, client, 'invalid_request', /43/],
      ['PKCE method without a challenge', { ...base, code_challenge_method: 'S256' }, client, 'invalid_request', /without code_challenge/],
      ['public client without PKCE', base, pub, 'invalid_request', /PKCE/],
      ['state repeated', { ...base, state: ['a', 'b'] }, client, 'invalid_request', /state/],
      ['scope repeated', { ...base, scope: ['user:all', 'self'] }, client, 'invalid_request', /scope/],
      ['state too long', { ...base, state: 'x'.repeat(2049) }, client, 'invalid_request', /state/],
      ['too many scopes', { ...base, scope: Array.from({ length: 21 }, (_, i) => `s${i}`).join(' ') }, client, 'invalid_scope', /20/],
      ['scope too long', { ...base, scope: 'x'.repeat(1025) }, client, 'invalid_scope', /1024/]
    ]
    for (const [name, raw, c, error, description] of redirects) {
      const r = check(raw, c)
      t.equal(r.kind, 'redirect', name)
      if (r.kind === 'redirect') {
        t.equal(r.error, error, `${name}: error`)
        t.match(r.description, description, `${name}: description`)
        t.equal(r.redirectUri, 'https://app.example.com/cb', `${name}: to the client's URI`)
        t.equal(r.state, Array.isArray(raw.state) ? undefined : raw.state, `${name}: state`)
      }
    }
  })

  t.test('accepted', async (t) => {
    const ascli = check({ client_id: 'c1', response_type: 'code', redirect_uri: 'http://localhost:54321', state: 'abc', scope: 'user:all' },
      { ...client, redirectUris: ['http://localhost:12345'] })
    t.equal(ascli.kind, 'ok', 'what ascli --auth=web sends: loopback port of the moment, no PKCE')
    if (ascli.kind === 'ok') {
      t.equal(ascli.request.redirectUri, 'http://localhost:54321')
      t.equal(ascli.request.codeChallenge, undefined)
      t.equal(ascli.request.redirectUriGiven, true)
    }
    const pkce = check({ ...base, code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:all node.ak1:user:all' }, pub)
    t.equal(pkce.kind, 'ok', 'a public client with S256')
    if (pkce.kind === 'ok') t.equal(pkce.request.codeChallenge, challenge)
    const implied = check({ ...base, redirect_uri: undefined, scope: '' })
    t.equal(implied.kind, 'ok', 'the one registered URI is implied')
    if (implied.kind === 'ok') {
      t.equal(implied.request.redirectUriGiven, false)
      t.equal(implied.request.scope, undefined, 'an empty scope means the default')
    }
    t.equal(check({ ...base, extra: 'ignored', prompt: 'login' }).kind, 'ok', 'unknown parameters are ignored (RFC 6749 §3.1)')
  })

  t.test('response parameters are added to the redirect URI\'s own query', async (t) => {
    const url = new URL(redirectWith('https://app.example.com/cb?tenant=1', { code: 'abc', state: 'x y', iss: undefined }))
    t.equal(url.searchParams.get('tenant'), '1')
    t.equal(url.searchParams.get('code'), 'abc')
    t.equal(url.searchParams.get('state'), 'x y')
    t.notOk(url.searchParams.has('iss'), 'undefined values are left out')
  })
})
