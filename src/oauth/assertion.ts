/**
 * RFC 7523 §3 checks on a JWT-bearer assertion, in three steps the jwt-bearer grant runs in order:
 * read (shape and header, before any lookup), check claims (once the client is known), verify the
 * signature (against the user's key, then the client's global key). No database and no I/O here.
 */
import { AOC_TOKEN_AUDIENCES } from '../config.js'
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { InvalidGrant, InvalidRequest } from './errors.js'

/** What an assertion must satisfy; configurable per deployment. */
export interface AssertionRules {
  /** Accepted `aud` values: any one of them in `aud` (a string or an array) is enough. */
  audiences: readonly string[]
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. */
  leeway: number
  /** `exp` may be at most now + maxFutureExp + leeway, in seconds. */
  maxFutureExp: number
  /** Refuse an assertion without `jti`. Off by default: IBM's tutorial sends none. */
  requireJti: boolean
  /** Largest compact JWS accepted, in bytes. */
  maxLength: number
}

/** The token URLs that real AoC clients put in `aud` (docs/aoc-compatibility.md §3). */
export const DEFAULT_AOC_AUDIENCES: readonly string[] = AOC_TOKEN_AUDIENCES

/** The defaults of docs/aoc-compatibility.md §3; a deployment adds its own token URL and issuer to `audiences`. */
export const DEFAULT_ASSERTION_RULES: AssertionRules = Object.freeze({
  audiences: DEFAULT_AOC_AUDIENCES,
  leeway: 60,
  maxFutureExp: 3600,
  requireJti: false,
  maxLength: 8192
})

/** The claims of an assertion after readAssertion has checked their types. */
export interface AssertionClaims {
  iss: string
  sub: string
  aud: string | string[]
  exp: number
  nbf?: number
  iat?: number
  jti?: string
  org?: string
}

/** A parsed, not yet verified, assertion. */
export interface ReadAssertion {
  header: { alg: string, kid?: string, typ?: string }
  claims: AssertionClaims
}

/** Asymmetric algorithms only: `none` and HMAC (the secret would be the client's) never verify an assertion. */
export const ASSERTION_ALGS: readonly string[] = Object.freeze([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'
])

// Headers that point at or embed a key: trusting them would let the caller choose the key.
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const
const BASE64URL = /^[A-Za-z0-9_-]*$/
const MAX_JTI_LENGTH = 256
const NOT_A_JWS = 'the assertion must be a compact JWS (header.payload.signature, base64url-encoded JSON)'

/** Step 1, before any lookup: shape and header checks, then the types of the unverified claims. */
export function readAssertion (jws: string | undefined, rules: AssertionRules): ReadAssertion {
  if (typeof jws !== 'string' || jws === '') throw new InvalidRequest("missing 'assertion': send the signed JWT (RFC 7523 §2.1)")
  const bytes = Buffer.byteLength(jws, 'utf8')
  if (bytes > rules.maxLength) {
    throw new InvalidRequest(`the assertion must be at most ${rules.maxLength} bytes`, `assertion is ${bytes} bytes`)
  }
  const parts = jws.split('.')
  if (parts.length !== 3) throw new InvalidRequest(NOT_A_JWS, `assertion has ${parts.length} parts`)
  // The signature may be empty here so that a hand-built `alg: none` is refused for its alg below.
  if (!parts[0] || !parts[1] || !parts.every((p) => BASE64URL.test(p))) {
    throw new InvalidRequest(NOT_A_JWS, 'assertion part empty or not base64url')
  }
  let rawHeader: Record<string, unknown>
  let rawClaims: Record<string, unknown>
  try {
    rawHeader = decodeProtectedHeader(jws) as Record<string, unknown>
    rawClaims = decodeJwt(jws) as Record<string, unknown>
  } catch (err) {
    throw new InvalidRequest(NOT_A_JWS, `assertion not decodable: ${(err as Error).message}`)
  }

  const alg = rawHeader.alg
  if (typeof alg !== 'string' || !ASSERTION_ALGS.includes(alg)) {
    throw new InvalidGrant(`the assertion's alg must be one of ${ASSERTION_ALGS.join(', ')}`, `assertion alg ${JSON.stringify(alg)} refused`)
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (name in rawHeader) {
      throw new InvalidGrant(`the assertion's header must not carry '${name}': remove it (the key that verifies is the one registered for the user or the client)`, `assertion header ${name} refused`)
    }
  }
  const header: ReadAssertion['header'] = { alg }
  for (const name of ['kid', 'typ'] as const) {
    const value = rawHeader[name]
    if (value === undefined) continue
    if (typeof value !== 'string') throw new InvalidGrant(`the assertion's header '${name}' must be a string`)
    header[name] = value
  }

  return { header, claims: readClaims(rawClaims) }
}

function readClaims (raw: Record<string, unknown>): AssertionClaims {
  const refuse = (claim: string, must: string): never => {
    throw new InvalidGrant(`the assertion's '${claim}' claim must be ${must}`, `assertion claim ${claim} missing or mistyped`)
  }
  const { iss, sub, aud, exp, nbf, iat, jti, org } = raw
  if (typeof iss !== 'string' || iss === '') refuse('iss', 'the client id')
  if (typeof sub !== 'string' || sub === '') refuse('sub', "the user's e-mail")
  if (!isNumber(exp)) refuse('exp', 'a number (seconds since the epoch)')
  const audOk = typeof aud === 'string' ||
    (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string'))
  if (!audOk) refuse('aud', 'a string or an array of strings')
  if (nbf !== undefined && !isNumber(nbf)) refuse('nbf', 'a number when present')
  if (iat !== undefined && !isNumber(iat)) refuse('iat', 'a number when present')
  if (jti !== undefined && typeof jti !== 'string') refuse('jti', 'a string when present')
  if (org !== undefined && typeof org !== 'string') refuse('org', 'a string when present')

  // Ids, e-mails and nonces hold no control characters; a NUL would also fail the database statement.
  for (const [name, value] of [['iss', iss], ['sub', sub], ['jti', jti], ['org', org]] as const) {
    if (typeof value === 'string' && CONTROL_CHAR.test(value)) refuse(name, 'free of control characters')
  }
  if ((Array.isArray(aud) ? aud : [aud]).some((a) => CONTROL_CHAR.test(a as string))) refuse('aud', 'free of control characters')

  const claims: AssertionClaims = { iss: iss as string, sub: sub as string, aud: aud as string | string[], exp: exp as number }
  if (nbf !== undefined) claims.nbf = nbf as number
  if (iat !== undefined) claims.iat = iat as number
  if (jti !== undefined) claims.jti = jti as string
  if (org !== undefined) claims.org = org as string
  return claims
}

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/

function isNumber (v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

/** Step 2, once the client is known: issuer, audience, times, org and jti. No signature, no I/O. */
export function checkAssertionClaims (
  a: ReadAssertion,
  ctx: { clientId: string, orgName: string, now?: number },
  rules: AssertionRules
): void {
  const c = a.claims
  const now = ctx.now ?? Math.floor(Date.now() / 1000)
  const { leeway } = rules

  if (c.iss !== ctx.clientId) {
    throw new InvalidGrant("the assertion's 'iss' must be the client id, the one this request names", `iss ${c.iss} != client ${ctx.clientId}`)
  }
  const auds = typeof c.aud === 'string' ? [c.aud] : c.aud
  if (!auds.some((x) => rules.audiences.includes(x))) {
    throw new InvalidGrant(`the assertion's 'aud' is not an accepted audience: use one of ${rules.audiences.join(', ')}`, `aud ${JSON.stringify(c.aud)} not accepted`)
  }
  if (c.exp < now - leeway) {
    throw new InvalidGrant(`the assertion has expired ('exp' is more than ${leeway} s in the past): sign a new one, and check the signer's clock`, `exp ${c.exp} < now ${now} - leeway ${leeway}`)
  }
  const latestExp = now + rules.maxFutureExp + leeway
  if (c.exp > latestExp) {
    throw new InvalidGrant(`the assertion's 'exp' must be at most ${rules.maxFutureExp} seconds ahead (${leeway} s of clock skew allowed)`, `exp ${c.exp} > ${latestExp}`)
  }
  if (c.nbf !== undefined && c.nbf > now + leeway) {
    throw new InvalidGrant(`the assertion is not valid yet ('nbf' is more than ${leeway} s in the future): check the signer's clock`, `nbf ${c.nbf} > now ${now} + leeway ${leeway}`)
  }
  if (c.iat !== undefined && c.iat > now + leeway) {
    throw new InvalidGrant(`the assertion's 'iat' is more than ${leeway} s in the future: check the signer's clock`, `iat ${c.iat} > now ${now} + leeway ${leeway}`)
  }
  if (c.org !== undefined && c.org !== ctx.orgName) {
    throw new InvalidGrant(`the assertion's 'org' must be the organization's name, '${ctx.orgName}' as in the URL, or be left out`, `org ${c.org} != ${ctx.orgName}`)
  }
  if (rules.requireJti && c.jti === undefined) {
    throw new InvalidGrant("the assertion must carry a 'jti': this server requires a unique one in every assertion", 'jti required')
  }
  if (c.jti !== undefined && c.jti.length > MAX_JTI_LENGTH) {
    throw new InvalidGrant(`the assertion's 'jti' must be at most ${MAX_JTI_LENGTH} characters`, `jti is ${c.jti.length} characters`)
  }
}

/** A public key that may verify an assertion: the user's own, or the client's global key. */
export type CandidateKey = { kind: 'user' | 'global', pem: string }

// Keyed by the PEM text itself, so a changed key is a cache miss and takes effect at once.
// `null` remembers a PEM that does not parse.
const KEY_CACHE_SIZE = 1000
const keyCache = new Map<string, KeyObject | null>()

function importPem (pem: string): KeyObject | null {
  const hit = keyCache.get(pem)
  if (hit !== undefined) {
    keyCache.delete(pem)
    keyCache.set(pem, hit)
    return hit
  }
  let key: KeyObject | null
  try {
    key = createPublicKey(pem)
  } catch {
    key = null
  }
  keyCache.set(pem, key)
  if (keyCache.size > KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string)
  return key
}

/** Whether `alg` fits the key's type (and an RSA key is large enough). */
function algFitsKey (alg: string, key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return /^(RS|PS)(256|384|512)$/.test(alg) && (details.modulusLength ?? 0) >= 2048
    case 'rsa-pss':
      return /^PS(256|384|512)$/.test(alg) && (details.modulusLength ?? 0) >= 2048
    case 'ec':
      return (alg === 'ES256' && details.namedCurve === 'prime256v1') ||
        (alg === 'ES384' && details.namedCurve === 'secp384r1')
    case 'ed25519':
      return alg === 'EdDSA'
    default:
      return false
  }
}

/** How node:crypto checks each JWS algorithm (RFC 7518 §3): digest, and padding or signature encoding. */
const VERIFY_PARAMS: Record<string, { digest: string | null, pss?: boolean, ecdsa?: boolean }> = {
  RS256: { digest: 'sha256' },
  RS384: { digest: 'sha384' },
  RS512: { digest: 'sha512' },
  PS256: { digest: 'sha256', pss: true },
  PS384: { digest: 'sha384', pss: true },
  PS512: { digest: 'sha512', pss: true },
  ES256: { digest: 'sha256', ecdsa: true },
  ES384: { digest: 'sha384', ecdsa: true },
  EdDSA: { digest: null }
}

/**
 * The JWS signature check itself. Stack note: this is node:crypto's one-shot `verify`, not jose's
 * compactVerify, which cost about 0.1 ms per RS256 assertion against 0.026 ms, on the token
 * endpoint's hottest path. jose still parses the JWS (readAssertion); here the algorithm is already
 * on the allow-list and checked against the key's type, and the signature must be strict base64url.
 */
function signatureValid (jws: string, alg: string, key: KeyObject): boolean {
  const params = VERIFY_PARAMS[alg]
  const lastDot = jws.lastIndexOf('.')
  const signature = jws.slice(lastDot + 1)
  if (!params || lastDot < 0 || !/^[A-Za-z0-9_-]+$/.test(signature)) return false
  try {
    return verify(params.digest, Buffer.from(jws.slice(0, lastDot), 'ascii'), {
      key,
      ...(params.pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {}),
      ...(params.ecdsa ? { dsaEncoding: 'ieee-p1363' as const } : {})
    }, Buffer.from(signature, 'base64url'))
  } catch {
    return false
  }
}

/**
 * Step 3: which candidate key verifies the signature, the user's key tried first; 'none' if none
 * does. Never throws for a bad signature or an unreadable PEM.
 */
export async function verifyAssertionSignature (jws: string, alg: string, candidates: CandidateKey[]): Promise<'user' | 'global' | 'none'> {
  if (!ASSERTION_ALGS.includes(alg)) return 'none'
  const ordered = [...candidates.filter((c) => c.kind === 'user'), ...candidates.filter((c) => c.kind !== 'user')]
  for (const candidate of ordered) {
    const key = importPem(candidate.pem)
    if (!key || !algFitsKey(alg, key)) continue
    if (signatureValid(jws, alg, key)) return candidate.kind
  }
  return 'none'
}
