import { generateKeyPair, SignJWT, UnsecuredJWT, decodeJwt } from 'jose'
import t from 'tap'
import { ensureSigningKey, KeyStore } from '../../src/keys/signing-keys.js'
import { SecretBox } from '../../src/keys/secret-box.js'
import { issueAccessToken, verifyAccessToken } from '../../src/oauth/tokens.js'
import { testDb } from '../helpers/db.js'

const handle = await testDb()
t.teardown(() => handle.close())
const box = new SecretBox(Buffer.alloc(32, 5))
await ensureSigningKey(handle.db, box, 'ES256')
const keys = new KeyStore(handle.db, box)
const AUD = 'http://localhost:3000/api/v1'
const base = { issuer: 'http://localhost:3000/api/v1/oauth2/demo', audience: AUD, email: 'a@example.com', userId: 'u1', organizationId: 'o1', clientId: 'c1', scope: 'user:all', ttl: 1800, grantType: 'authorization_code' as const }

t.test('claims of an issued token (RFC 9068 and AoC)', async (t) => {
  const issued = await issueAccessToken(keys, base)
  const claims = decodeJwt(issued.token)
  t.match(claims, { iss: base.issuer, sub: 'a@example.com', aud: AUD, client_id: 'c1', scope: 'user:all', user_id: 'u1', organization_id: 'o1', jti: issued.jti, gty: 'authorization_code' })
  t.equal(claims.exp! - claims.iat!, 1800, 'exp - iat equals expires_in')
  t.equal(issued.expiresIn, 1800)
})

t.test('verification refuses what it must', async (t) => {
  const good = (await issueAccessToken(keys, base)).token
  const signer = await keys.signer()
  const now = Math.floor(Date.now() / 1000)
  const forge = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({
      iss: base.issuer,
      sub: 'a@example.com',
      aud: AUD,
      iat: now,
      exp: now + 600,
      jti: 'j1',
      client_id: 'c1',
      scope: 'user:all',
      user_id: 'u1',
      organization_id: 'o1',
      ...claims
    }).setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', ...header } as never).sign(signer.keyObject)
  const other = await generateKeyPair('ES256')
  const cases: Array<[string, string, string | RegExp]> = [
    ['a different audience', await forge({ aud: 'https://elsewhere' }), /aud|claim/i],
    ['expired', await forge({ exp: Math.floor(Date.now() / 1000) - 60 }), /expired/i],
    ['typ JWT instead of at+jwt', await forge({}, { typ: 'JWT' }), /typ|claim/i],
    ['signed by an unknown key under a known kid', await new SignJWT({ client_id: 'c1', scope: 'user:all', user_id: 'u1', organization_id: 'o1' }).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'at+jwt' }).setIssuer(base.issuer).setSubject('x').setAudience(AUD).setIssuedAt().setExpirationTime('10m').setJti('j').sign(other.privateKey), /signature/i],
    ['alg none', new UnsecuredJWT({ sub: 'x' }).setAudience(AUD).encode(), /kid|alg/i],
    ['an unknown kid', await forge({}, { kid: 'nope' }), 'unknown kid'],
    ['no user_id claim', await forge({ user_id: undefined }), /user_id|claim|missing/i],
    ['not a JWS', 'hello', 'not a JWS'],
    ['an oversized token', 'a'.repeat(9000), 'token too long']
  ]
  for (const [label, token, reason] of cases) {
    await t.rejects(verifyAccessToken(keys, token, AUD), { code: 'ERR_TOKEN_INVALID' }, label)
    try { await verifyAccessToken(keys, token, AUD) } catch (err) { t.match((err as { reason: string }).reason, reason, label) }
  }
  t.equal((await verifyAccessToken(keys, good, AUD)).sub, 'a@example.com', 'a good token verifies')
})
