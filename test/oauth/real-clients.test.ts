import { generateKeyPairSync } from 'node:crypto'
import * as oauth from 'oauth4webapi'
import { decodeJwt } from 'jose'
import t from 'tap'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm, jsSdkAssertion, pythonAssertion, tutorialAssertion } from '../helpers/assertions.js'
import { basic, FORM } from '../helpers/oauth.js'
import { freePort } from '../helpers/process.js'

// The app on a real port, so clients see real HTTP: headers, content types, status lines.
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const ta = await buildTestApp(t, { PUBLIC_URL: base, TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app, config } = ta
await app.listen({ port, host: '127.0.0.1' })
const org = await newOrg(ta)
const issuerUrl = new URL(`${base}/api/v1/oauth2/${org.orgName}`)
const tokenUrl = `${issuerUrl.href}/token`

const alice = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(alice.publicKey) })
await app.ctx.db.updateTable('clients').set({ jwt_grant_enabled: true }).where('id', '=', org.clientId).execute()

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
// oauth4webapi refuses plain http unless told; the test server has no TLS.
const insecure = { [oauth.allowInsecureRequests]: true }
const client: oauth.Client = { client_id: org.clientId }

/** Discovery as oauth4webapi does it; it checks that `issuer` equals issuerUrl exactly. */
async function discover (): Promise<oauth.AuthorizationServer> {
  const res = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', ...insecure })
  return await oauth.processDiscoveryResponse(issuerUrl, res)
}

/** A token from the JWT bearer grant, the response checked by oauth4webapi. */
async function grant (as: oauth.AuthorizationServer, auth: oauth.ClientAuth): Promise<oauth.TokenEndpointResponse> {
  const assertion = await ascliAssertion(alice.privateKey, org.clientId, user.email, org.orgName)
  const res = await oauth.genericTokenEndpointRequest(as, client, auth, JWT_BEARER, new URLSearchParams({ assertion, scope: 'user:all' }), insecure)
  return await oauth.processGenericTokenEndpointResponse(as, client, res)
}

t.test('oauth4webapi: discovery, grant (Basic and none), introspection, revocation', async (t) => {
  const as = await discover()
  t.equal(as.issuer, issuerUrl.href)
  t.equal(as.token_endpoint, tokenUrl)
  t.equal(as.jwks_uri, `${issuerUrl.href}/jwks`)
  const jwks = await fetch(as.jwks_uri!)
  t.equal(jwks.status, 200, 'jwks_uri answers')
  t.ok(Array.isArray(((await jwks.json()) as { keys: unknown }).keys))

  const viaBasic = await grant(as, oauth.ClientSecretBasic(org.clientSecret))
  // oauth4webapi lower-cases token_type; our server sends "bearer" (AoC's spelling, RFC 6749 §7.1 is case-insensitive).
  t.equal(viaBasic.token_type, 'bearer')
  t.equal(viaBasic.scope, 'user:all')
  t.equal(viaBasic.expires_in, config.userTokenTtl)
  t.match(decodeJwt(viaBasic.access_token), { iss: issuerUrl.href, sub: user.email, client_id: org.clientId })
  t.equal((await call(app, viaBasic.access_token, 'GET', '/api/v1/self')).statusCode, 200, 'the REST API accepts it')

  // ascli style: client_id in the body only, no secret; the assertion is the proof.
  const viaNone = await grant(as, oauth.None())
  t.equal(viaNone.token_type, 'bearer')
  t.not(viaNone.access_token, viaBasic.access_token)

  const secretBasic = oauth.ClientSecretBasic(org.clientSecret)
  const active = await oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, secretBasic, viaNone.access_token, insecure))
  t.match(active, { active: true, client_id: org.clientId, sub: user.email, scope: 'user:all' })

  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, secretBasic, viaNone.access_token, insecure))
  const after = await oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, secretBasic, viaNone.access_token, insecure))
  t.equal(after.active, false, 'revoked')
  t.equal((await call(app, viaNone.access_token, 'GET', '/api/v1/self')).statusCode, 401)

  // client_secret_post for introspection too.
  const post = await oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, oauth.ClientSecretPost(org.clientSecret), viaBasic.access_token, insecure))
  t.equal(post.active, true, 'the other token is untouched')
})

t.test('oauth4webapi sees our errors as OAuth errors', async (t) => {
  const as = await discover()
  const res = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic('wrong'), JWT_BEARER,
    new URLSearchParams({ assertion: await ascliAssertion(alice.privateKey, org.clientId, user.email) }), insecure)
  // A wrong secret with Basic: 401 with a Basic challenge, as RFC 6749 §5.2 requires. oauth4webapi
  // reports a WWW-Authenticate challenge ahead of the body, so the body is read from the response.
  const err = await oauth.processGenericTokenEndpointResponse(as, client, res).catch((e: unknown) => e)
  t.ok(err instanceof oauth.WWWAuthenticateChallengeError, String(err))
  const challenge = err as oauth.WWWAuthenticateChallengeError
  t.equal(challenge.status, 401)
  t.match(challenge.cause, [{ scheme: 'basic', parameters: { realm: 'oauth' } }])
  t.match(await challenge.response.json(), { error: 'invalid_client', error_description: String })
  // Without Basic there is no challenge, and oauth4webapi parses the OAuth error body itself.
  const noBasic = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), JWT_BEARER,
    new URLSearchParams({ assertion: await ascliAssertion(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, org.clientId, user.email) }), insecure)
  const err1 = await oauth.processGenericTokenEndpointResponse(as, client, noBasic).catch((e: unknown) => e)
  t.ok(err1 instanceof oauth.ResponseBodyError, String(err1))
  t.match(err1, { error: 'invalid_grant', status: 400 }, 'a wrong key is invalid_grant')
  const introspectNoSecret = await oauth.introspectionRequest(as, client, oauth.None(), 'x', insecure)
  const err2 = await oauth.processIntrospectionResponse(as, client, introspectNoSecret).catch((e: unknown) => e)
  t.match(err2, { error: 'invalid_client', status: 401 }, 'introspection without the secret')
})

const postForm = (body: string, headers: Record<string, string> = {}) => fetch(tokenUrl, { method: 'POST', headers: { ...FORM, ...headers }, body })
const grantPrefix = 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer'

t.test('plain fetch: every client shape gets a token over real HTTP', async (t) => {
  const check = async (label: string, res: Response) => {
    t.equal(res.status, 200, label)
    t.match(res.headers.get('content-type'), /^application\/json/, `${label}: JSON`)
    t.equal(res.headers.get('cache-control'), 'no-store', `${label}: no-store`)
    t.match(await res.json() as unknown, { token_type: 'bearer', access_token: String }, label)
  }
  await check('ascli', await postForm(ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email, org.orgName))))
  await check('tutorial via Basic', await postForm(`${grantPrefix}&assertion=${await tutorialAssertion(alice.privateKey, org.clientId, user.email)}`, basic(org.clientId, org.clientSecret)))
  await check('python, secret in body', await postForm(`client_id=${org.clientId}&client_secret=${encodeURIComponent(org.clientSecret)}&${grantPrefix}&assertion=${await pythonAssertion(alice.privateKey, org.clientId, user.email, org.orgName)}`))
  await check('JS SDK', await postForm(ascliForm(org.clientId, await jsSdkAssertion(alice.privateKey, org.clientId, user.email))))
})

t.test('plain fetch: a Basic header of form-encoded id and secret (RFC 6749 §2.3.1)', async (t) => {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  const ok = await postForm(`${grantPrefix}&assertion=${await tutorialAssertion(alice.privateKey, org.clientId, user.email)}`, basic(enc(org.clientId), enc(org.clientSecret)))
  t.equal(ok.status, 200, 'accepted')
  // A secret with reserved characters only matches when decoded: a wrong secret with '%' and '+' is still a plain 401.
  const bad = await postForm(`${grantPrefix}&assertion=${await tutorialAssertion(alice.privateKey, org.clientId, user.email)}`, basic(enc(org.clientId), enc('a+b%c d')))
  t.equal(bad.status, 401, 'a wrong (encoded) secret is invalid_client')
  t.equal(((await bad.json()) as { error: string }).error, 'invalid_client')
  t.match(bad.headers.get('www-authenticate'), /^Basic/)
})
