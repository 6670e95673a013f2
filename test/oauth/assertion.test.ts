import { createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import t, { type Test } from 'tap'
import {
  checkAssertionClaims, DEFAULT_AOC_AUDIENCES, DEFAULT_ASSERTION_RULES, readAssertion, verifyAssertionSignature,
  type AssertionRules
} from '../../src/oauth/assertion.js'
import { InvalidGrant, InvalidRequest } from '../../src/oauth/errors.js'

const LOCAL_AUD = 'http://localhost:3000/api/v1/oauth2/demo/token'
const rules: AssertionRules = { ...DEFAULT_ASSERTION_RULES, audiences: [...DEFAULT_AOC_AUDIENCES, LOCAL_AUD] }
const CLIENT = 'aBcD1234'
const ORG = 'demo'
const NOW = Math.floor(Date.now() / 1000)
const ctx = { clientId: CLIENT, orgName: ORG, now: NOW }
const ASPERAFILES = 'https://api.asperafiles.com/api/v1/oauth2/token'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 })
const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
/** A JWS built by hand (jose refuses to build these), signed RS256 with `rsa` unless told. */
function handBuilt (header: Record<string, unknown>, claims: Record<string, unknown>, signature?: (input: string) => string): string {
  const input = `${b64(header)}.${b64(claims)}`
  const sig = signature ? signature(input) : cryptoSign('sha256', Buffer.from(input), rsa.privateKey).toString('base64url')
  return `${input}.${sig}`
}
const baseClaims = () => ({ iss: CLIENT, sub: 'jane@example.com', aud: ASPERAFILES, exp: NOW + 3600, nbf: NOW - 300, iat: NOW - 299, jti: randomUUID(), org: ORG })
const rs256 = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256' }, key: KeyObject = rsa.privateKey) =>
  new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key)

/** Runs steps 1 and 2 as the grant does. */
const accept = (jws: string, r: AssertionRules = rules) => {
  const read = readAssertion(jws, r)
  checkAssertionClaims(read, ctx, r)
  return read
}

function refused (t: Test, fn: () => unknown, cls: typeof InvalidGrant | typeof InvalidRequest, label: string) {
  const code = cls === InvalidRequest ? 'invalid_request' : 'invalid_grant'
  let caught: unknown
  try { fn() } catch (err) { caught = err }
  t.ok(caught instanceof cls, `${label}: ${cls.name}`)
  t.equal((caught as InvalidGrant | undefined)?.error, code, `${label}: error ${code}`)
  t.ok((caught as InvalidGrant | undefined)?.description, `${label}: has a description for the caller`)
}

t.test('what real clients send is accepted with the default rules', async (t) => {
  const ascliKey = generateKeyPairSync('rsa', { modulusLength: 4096 })
  const ascli = await rs256(baseClaims(), { alg: 'RS256' }, ascliKey.privateKey)
  t.same(JSON.parse(Buffer.from(ascli.split('.')[0]!, 'base64url').toString()), { alg: 'RS256' }, 'ascli header has no typ')
  const read = accept(ascli)
  t.same(read.header, { alg: 'RS256' })
  t.equal(read.claims.sub, 'jane@example.com')
  t.equal(await verifyAssertionSignature(ascli, read.header.alg, [{ kind: 'user', pem: spki(ascliKey.publicKey) }]), 'user', 'ascli 4096-bit key verifies')

  const ibm = await rs256({ iss: CLIENT, sub: 'jane@example.com', aud: ASPERAFILES, nbf: NOW - 3600, exp: NOW + 3600 }, { typ: 'JWT', alg: 'RS256' })
  const ibmRead = accept(ibm)
  t.same(ibmRead.header, { alg: 'RS256', typ: 'JWT' }, 'IBM tutorial: typ JWT kept')
  t.equal(ibmRead.claims.iat, undefined, 'IBM tutorial: no iat')
  t.equal(ibmRead.claims.jti, undefined, 'IBM tutorial: no jti')

  const python = await rs256({ iss: CLIENT, sub: 'jane@example.com', aud: ASPERAFILES, iat: NOW - 60, nbf: NOW - 60, exp: NOW + 600, jti: randomUUID(), org: ORG })
  t.ok(accept(python), 'Python examples')

  const jsSdk = await new SignJWT({ org: ORG })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(CLIENT).setSubject('jane@example.com').setAudience('https://api.ibmaspera.com/api/v1/oauth2/token')
    .setIssuedAt(NOW).setNotBefore(NOW).setExpirationTime(NOW + 3600).setJti(randomUUID())
    .sign(rsa.privateKey)
  t.ok(accept(jsSdk), 'JS SDK with the ibmaspera.com audience')

  const local = await rs256({ ...baseClaims(), aud: LOCAL_AUD })
  t.ok(accept(local), "this server's own token URL, when configured")
})

t.test('shape: refused with invalid_request', async (t) => {
  const good = await rs256(baseClaims())
  refused(t, () => readAssertion(undefined, rules), InvalidRequest, 'missing')
  refused(t, () => readAssertion('', rules), InvalidRequest, 'empty')
  refused(t, () => readAssertion(good, { ...rules, maxLength: good.length - 1 }), InvalidRequest, 'one byte over maxLength')
  t.ok(readAssertion(good, { ...rules, maxLength: good.length }), 'exactly maxLength is accepted')
  refused(t, () => readAssertion(handBuilt({ alg: 'RS256' }, { ...baseClaims(), pad: 'x'.repeat(9000) }), rules), InvalidRequest, 'longer than the default 8192')
  const [h, p, s] = good.split('.')
  refused(t, () => readAssertion(`${h}.${p}`, rules), InvalidRequest, 'two parts')
  refused(t, () => readAssertion(`${h}.${p}.${s}.${s}`, rules), InvalidRequest, 'four parts')
  refused(t, () => readAssertion(`${h}.${p}.${s}.${s}.${s}`, rules), InvalidRequest, 'five parts (a JWE)')
  refused(t, () => readAssertion(`${h}..${s}`, rules), InvalidRequest, 'empty payload')
  refused(t, () => readAssertion(`${h}+/.${p}.${s}`, rules), InvalidRequest, 'bad base64url in the header (+ and /)')
  refused(t, () => readAssertion(`${h}.${p}!.${s}`, rules), InvalidRequest, 'bad base64url in the payload')
  refused(t, () => readAssertion(`${h}.${p}.${s}=`, rules), InvalidRequest, 'padding in the signature')
  refused(t, () => readAssertion(`${b64('not json')}.${p}.${s}`, rules), InvalidRequest, 'header not JSON')
  refused(t, () => readAssertion(`${b64('["RS256"]')}.${p}.${s}`, rules), InvalidRequest, 'header a JSON array')
  refused(t, () => readAssertion(`${h}.${b64('not json')}.${s}`, rules), InvalidRequest, 'payload not JSON')
  refused(t, () => readAssertion(`${h}.${b64('[1,2]')}.${s}`, rules), InvalidRequest, 'payload a JSON array')
})

t.test('alg: only asymmetric algorithms, refused with invalid_grant', async (t) => {
  const claims = baseClaims()
  refused(t, () => readAssertion(handBuilt({ alg: 'none' }, claims, () => ''), rules), InvalidGrant, 'alg none (empty signature)')
  refused(t, () => readAssertion(handBuilt({ alg: 'none', typ: 'JWT' }, claims), rules), InvalidGrant, 'alg none (with a signature)')
  const secret = 'the client secret'
  const hs = (alg: string, hash: string) => handBuilt({ alg, typ: 'JWT' }, claims, (input) => createHmac(hash, secret).update(input).digest('base64url'))
  refused(t, () => readAssertion(hs('HS256', 'sha256'), rules), InvalidGrant, 'HS256')
  refused(t, () => readAssertion(hs('HS384', 'sha384'), rules), InvalidGrant, 'HS384')
  refused(t, () => readAssertion(hs('HS512', 'sha512'), rules), InvalidGrant, 'HS512')
  refused(t, () => readAssertion(handBuilt({ alg: 'ES512' }, claims), rules), InvalidGrant, 'ES512, not in the allow-list')
  refused(t, () => readAssertion(handBuilt({ alg: 'RSA-OAEP' }, claims), rules), InvalidGrant, 'unknown alg')
  refused(t, () => readAssertion(handBuilt({ alg: 'rs256' }, claims), rules), InvalidGrant, 'alg in the wrong case')
  refused(t, () => readAssertion(handBuilt({ typ: 'JWT' }, claims), rules), InvalidGrant, 'no alg')
  refused(t, () => readAssertion(handBuilt({ alg: 256 }, claims), rules), InvalidGrant, 'alg not a string')
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA']) {
    t.equal(readAssertion(handBuilt({ alg }, claims), rules).header.alg, alg, `${alg} passes step 1`)
  }
})

t.test('headers that point at or embed a key are refused with invalid_grant', async (t) => {
  const claims = baseClaims()
  const jwk = rsa.publicKey.export({ format: 'jwk' })
  const cases: Array<[string, unknown]> = [
    ['jku', 'https://attacker.example/jwks.json'],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['jwk', jwk],
    ['x5c', ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA']],
    ['crit', ['exp']]
  ]
  for (const [name, value] of cases) {
    refused(t, () => readAssertion(handBuilt({ alg: 'RS256', [name]: value }, claims), rules), InvalidGrant, `${name} header`)
  }
  refused(t, () => readAssertion(handBuilt({ alg: 'RS256', kid: 7 }, claims), rules), InvalidGrant, 'kid not a string')
  t.same(readAssertion(handBuilt({ alg: 'RS256', kid: 'k1' }, claims), rules).header, { alg: 'RS256', kid: 'k1' }, 'a kid is kept')
})

t.test('claim types are checked in step 1 (invalid_grant)', async (t) => {
  const without = (name: string) => { const c: Record<string, unknown> = baseClaims(); delete c[name]; return c }
  const cases: Array<[string, Record<string, unknown>]> = [
    ['missing iss', without('iss')],
    ['empty iss', { ...baseClaims(), iss: '' }],
    ['numeric iss', { ...baseClaims(), iss: 12 }],
    ['missing sub', without('sub')],
    ['empty sub', { ...baseClaims(), sub: '' }],
    ['missing exp', without('exp')],
    ['exp a string', { ...baseClaims(), exp: String(NOW + 600) }],
    ['missing aud', without('aud')],
    ['aud a number', { ...baseClaims(), aud: 1 }],
    ['aud an empty array', { ...baseClaims(), aud: [] }],
    ['aud an array with a number', { ...baseClaims(), aud: [ASPERAFILES, 1] }],
    ['nbf a string', { ...baseClaims(), nbf: 'yesterday' }],
    ['iat null', { ...baseClaims(), iat: null }],
    ['jti a number', { ...baseClaims(), jti: 42 }],
    ['org an object', { ...baseClaims(), org: { name: ORG } }]
  ]
  for (const [label, claims] of cases) {
    refused(t, () => readAssertion(handBuilt({ alg: 'RS256' }, claims), rules), InvalidGrant, label)
  }
})

t.test('claim checks (step 2), each refused with invalid_grant', async (t) => {
  const read = (claims: Record<string, unknown>) => readAssertion(handBuilt({ alg: 'RS256' }, claims), rules)
  const check = (claims: Record<string, unknown>, r: AssertionRules = rules) => () => checkAssertionClaims(read(claims), ctx, r)
  const { leeway, maxFutureExp } = rules

  t.doesNotThrow(check(baseClaims()), 'the base claims pass')
  refused(t, check({ ...baseClaims(), iss: 'another-client' }), InvalidGrant, 'iss is not the client id')
  refused(t, check({ ...baseClaims(), aud: 'https://elsewhere.example/token' }), InvalidGrant, 'wrong aud')
  refused(t, check({ ...baseClaims(), aud: ['https://a.example', 'https://b.example'] }), InvalidGrant, 'aud array without an accepted entry')
  t.doesNotThrow(check({ ...baseClaims(), aud: ['https://elsewhere.example', LOCAL_AUD] }), 'aud array with one accepted entry')

  refused(t, check({ ...baseClaims(), exp: NOW - leeway - 1 }), InvalidGrant, 'expired beyond the leeway')
  t.doesNotThrow(check({ ...baseClaims(), exp: NOW - leeway }), 'expired within the leeway')
  refused(t, check({ ...baseClaims(), exp: NOW - 1 }, { ...rules, leeway: 0 }), InvalidGrant, 'expired a second ago with no leeway')
  refused(t, check({ ...baseClaims(), exp: NOW + maxFutureExp + leeway + 1 }), InvalidGrant, 'exp too far ahead')
  t.doesNotThrow(check({ ...baseClaims(), exp: NOW + maxFutureExp + leeway }), 'exp exactly at the bound')

  refused(t, check({ ...baseClaims(), nbf: NOW + leeway + 1 }), InvalidGrant, 'nbf in the future')
  t.doesNotThrow(check({ ...baseClaims(), nbf: NOW + leeway }), 'nbf within the leeway')
  refused(t, check({ ...baseClaims(), iat: NOW + leeway + 1 }), InvalidGrant, 'iat in the future')
  t.doesNotThrow(check({ ...baseClaims(), iat: NOW + leeway }), 'iat within the leeway')

  refused(t, check({ ...baseClaims(), org: 'other-org' }), InvalidGrant, 'org mismatch')
  const { org: _org, ...noOrg } = baseClaims()
  t.doesNotThrow(check(noOrg), 'no org claim is fine')

  const { jti: _jti, ...noJti } = baseClaims()
  refused(t, check(noJti, { ...rules, requireJti: true }), InvalidGrant, 'requireJti and no jti')
  t.doesNotThrow(check(noJti), 'no jti without requireJti')
  refused(t, check({ ...baseClaims(), jti: 'j'.repeat(257) }), InvalidGrant, 'jti longer than 256')
  t.doesNotThrow(check({ ...baseClaims(), jti: 'j'.repeat(256) }), 'jti of 256')

  const err = (() => { try { check({ ...baseClaims(), exp: NOW - 3600 })() } catch (e) { return e as InvalidGrant } })()
  t.match(err?.description, /expired/, 'the description says what to fix')
  t.match(err?.reason, /exp \d+ < now/, 'the reason, for the log, is precise')
})

t.test('now defaults to the clock', async (t) => {
  const a = readAssertion(handBuilt({ alg: 'RS256' }, { ...baseClaims(), exp: Math.floor(Date.now() / 1000) - 3600 }), rules)
  refused(t, () => checkAssertionClaims(a, { clientId: CLIENT, orgName: ORG }, rules), InvalidGrant, 'expired an hour ago')
})

t.test('signature: which candidate key verifies', async (t) => {
  const userPem = spki(rsa.publicKey)
  const globalPem = spki(rsaOther.publicKey)
  const byUser = await rs256(baseClaims())
  const byGlobal = await rs256(baseClaims(), { alg: 'RS256' }, rsaOther.privateKey)

  t.equal(await verifyAssertionSignature(byUser, 'RS256', [{ kind: 'user', pem: userPem }]), 'user', "the user's key")
  t.equal(await verifyAssertionSignature(byGlobal, 'RS256', [{ kind: 'global', pem: globalPem }]), 'global', 'the global key')
  t.equal(await verifyAssertionSignature(byGlobal, 'RS256', [{ kind: 'user', pem: userPem }, { kind: 'global', pem: globalPem }]), 'global', 'both given, signed by the global key')
  t.equal(await verifyAssertionSignature(byUser, 'RS256', [{ kind: 'global', pem: userPem }, { kind: 'user', pem: userPem }]), 'user', "the user's key is tried first")
  t.equal(await verifyAssertionSignature(byUser, 'RS256', [{ kind: 'user', pem: globalPem }]), 'none', 'the wrong key')
  t.equal(await verifyAssertionSignature(byUser, 'RS256', []), 'none', 'no candidates')
  const [h, p, s] = byUser.split('.')
  const flipped = s!.slice(0, -2) + (s!.slice(-2) === 'AA' ? 'BA' : 'AA')
  t.equal(await verifyAssertionSignature(`${h}.${p}.${flipped}`, 'RS256', [{ kind: 'user', pem: userPem }]), 'none', 'a tampered signature')
  const otherPayload = b64({ ...baseClaims(), sub: 'admin@example.com' })
  t.equal(await verifyAssertionSignature(`${h}.${otherPayload}.${s}`, 'RS256', [{ kind: 'user', pem: userPem }]), 'none', 'a tampered payload')
  t.equal(await verifyAssertionSignature(handBuilt({ alg: 'none' }, baseClaims(), () => ''), 'none', [{ kind: 'user', pem: userPem }]), 'none', 'alg none')
  const hs = handBuilt({ alg: 'HS256' }, baseClaims(), (input) => createHmac('sha256', userPem).update(input).digest('base64url'))
  t.equal(await verifyAssertionSignature(hs, 'HS256', [{ kind: 'user', pem: userPem }]), 'none', 'HS256 keyed with the PEM text')
})

t.test('signature: alg must fit the key type', async (t) => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const ed = generateKeyPairSync('ed25519')
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const claims = baseClaims()
  const signed = (alg: string, key: KeyObject) => new SignJWT(claims).setProtectedHeader({ alg }).sign(key)
  const user = (k: KeyObject) => [{ kind: 'user' as const, pem: spki(k) }]

  t.equal(await verifyAssertionSignature(await signed('ES256', p256.privateKey), 'ES256', user(p256.publicKey)), 'user', 'EC P-256 with ES256')
  t.equal(await verifyAssertionSignature(await signed('ES384', p384.privateKey), 'ES384', user(p384.publicKey)), 'user', 'EC P-384 with ES384')
  t.equal(await verifyAssertionSignature(await signed('EdDSA', ed.privateKey), 'EdDSA', user(ed.publicKey)), 'user', 'Ed25519 with EdDSA')
  t.equal(await verifyAssertionSignature(await signed('PS256', rsa.privateKey), 'PS256', user(rsa.publicKey)), 'user', 'RSA with PS256')
  t.equal(await verifyAssertionSignature(await signed('RS512', rsa.privateKey), 'RS512', user(rsa.publicKey)), 'user', 'RSA with RS512')

  const rsaAsEs = handBuilt({ alg: 'ES256' }, claims)
  t.equal(await verifyAssertionSignature(rsaAsEs, 'ES256', user(rsa.publicKey)), 'none', 'RSA key with an ES256 header')
  const es256 = await signed('ES256', p256.privateKey)
  t.equal(await verifyAssertionSignature(es256, 'ES256', user(p384.publicKey)), 'none', 'a P-384 key with ES256')
  t.equal(await verifyAssertionSignature(es256, 'ES384', user(p256.publicKey)), 'none', 'alg argument not the header alg')
  const smallJws = handBuilt({ alg: 'RS256' }, claims, (input) => cryptoSign('sha256', Buffer.from(input), small.privateKey).toString('base64url'))
  t.equal(await verifyAssertionSignature(smallJws, 'RS256', user(small.publicKey)), 'none', 'an RSA key under 2048 bits')
})

t.test('signature: PEM forms and the key cache', async (t) => {
  const jws = await rs256(baseClaims())
  const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string
  t.match(pkcs1, /BEGIN RSA PUBLIC KEY/)
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: pkcs1 }]), 'user', 'a PKCS#1 PEM verifies')

  const garbage = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n'
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: garbage }]), 'none', 'a garbage PEM gives none')
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: 'hello' }]), 'none', 'not a PEM at all gives none')
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: garbage }, { kind: 'global', pem: spki(rsa.publicKey) }]), 'global', 'a garbage user PEM does not stop the global key')

  const oldPem = spki(rsa.publicKey)
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: oldPem }]), 'user', 'the old key verifies (and is cached)')
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: spki(rsaOther.publicKey) }]), 'none', 'after the user changed key, the old signature no longer verifies')
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: oldPem }]), 'user', 'the cached key still verifies when given again')

  for (let i = 0; i < 1100; i++) await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: `junk ${i}` }])
  t.equal(await verifyAssertionSignature(jws, 'RS256', [{ kind: 'user', pem: oldPem }]), 'user', 'still verifies after the cache has evicted it')
})

t.test('signature checks that node:crypto must get right (RFC 7518 §3)', async (t) => {
  const user = [{ kind: 'user' as const, pem: spki(rsa.publicKey) }]
  const good = await rs256(baseClaims())
  t.equal(await verifyAssertionSignature(good, 'RS256', user), 'user')
  const [h, p, s] = good.split('.') as [string, string, string]
  t.equal(await verifyAssertionSignature(`${h}.${p}.${s.slice(0, -2)}+/`, 'RS256', user), 'none', 'a signature that is not strict base64url')
  t.equal(await verifyAssertionSignature(`${h}.${p}.${s}=`, 'RS256', user), 'none', 'padding is not base64url')
  // RS256 bytes presented as PS256: PKCS#1 v1.5 must not pass as PSS.
  const asPs = handBuilt({ alg: 'PS256' }, baseClaims(), (input) => cryptoSign('sha256', Buffer.from(input), rsa.privateKey).toString('base64url'))
  t.equal(await verifyAssertionSignature(asPs, 'PS256', user), 'none', 'PKCS#1 v1.5 bytes under a PS256 header')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ecUser = [{ kind: 'user' as const, pem: spki(ec.publicKey) }]
  const der = handBuilt({ alg: 'ES256' }, baseClaims(), (input) => cryptoSign('sha256', Buffer.from(input), ec.privateKey).toString('base64url'))
  t.equal(await verifyAssertionSignature(der, 'ES256', ecUser), 'none', 'an ECDSA signature in DER, not the JWS r||s form')
  const raw = handBuilt({ alg: 'ES256' }, baseClaims(), (input) => cryptoSign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'))
  t.equal(await verifyAssertionSignature(raw, 'ES256', ecUser), 'user', 'r||s verifies')
  t.equal(await verifyAssertionSignature(raw.slice(0, -4), 'ES256', ecUser), 'none', 'a truncated r||s')
})
