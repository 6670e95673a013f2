/**
 * A JWT-bearer assertion (RFC 7523 §2.1) signed with node:crypto alone, as IBM's ascli builds one:
 * header `{"alg":"RS256"}` (no `typ`), `iss` the client id, `sub` the user's e-mail, `aud` the token
 * URL, `exp`, `nbf`, `iat`, `jti`, and `org` (docs/aoc-compatibility.md §3).
 */
import { randomUUID, sign, type KeyObject } from 'node:crypto'

/** What the token endpoint needs in the assertion. */
export interface AssertionInput {
  clientId: string
  email: string
  audience: string
  org: string
  /** Seconds the assertion lives: it is used at once, so a few minutes are plenty (at most ASSERTION_MAX_LIFETIME). */
  lifetime?: number
}

interface JwsAlgorithm { alg: string, digest: string | null, dsaEncoding?: 'ieee-p1363' }

/** The JWS algorithm (RFC 7518 §3) for the key's type: RS256, ES256/ES384 or EdDSA. */
function algorithmFor (key: KeyObject): JwsAlgorithm {
  const curve = key.asymmetricKeyDetails?.namedCurve
  switch (key.asymmetricKeyType) {
    case 'rsa': return { alg: 'RS256', digest: 'sha256' }
    case 'ec':
      if (curve === 'prime256v1') return { alg: 'ES256', digest: 'sha256', dsaEncoding: 'ieee-p1363' }
      if (curve === 'secp384r1') return { alg: 'ES384', digest: 'sha384', dsaEncoding: 'ieee-p1363' }
      break
    case 'ed25519': return { alg: 'EdDSA', digest: null }
  }
  throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} ${curve ?? ''} key cannot sign an assertion: use RSA, EC P-256/P-384 or Ed25519`)
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The compact JWS of an assertion, signed with the user's private key. */
export function signAssertion (key: KeyObject, input: AssertionInput): string {
  const { alg, digest, dsaEncoding } = algorithmFor(key)
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    iss: input.clientId,
    sub: input.email,
    aud: input.audience,
    org: input.org,
    iat: now,
    // A minute of clock skew either way: the server allows ASSERTION_LEEWAY (60 s by default).
    nbf: now - 60,
    exp: now + (input.lifetime ?? 300),
    // Each assertion is accepted once: a fresh jti every time.
    jti: randomUUID()
  }
  const signingInput = `${base64url({ alg })}.${base64url(claims)}`
  const signature = sign(digest, Buffer.from(signingInput), dsaEncoding ? { key, dsaEncoding } : key)
  return `${signingInput}.${signature.toString('base64url')}`
}
