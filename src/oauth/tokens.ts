import { randomUUID, sign } from 'node:crypto'
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { SIGNING_ALGS, type KeyStore } from '../keys/signing-keys.js'

/**
 * How a token was obtained, in its `gty` claim: a token endpoint grant_type, or `cli` for a token the
 * ops command line made from the database. The REST API reads it to tell a delegated token (the
 * browser flow of a client that asks for consent) from the others (docs/security.md).
 */
export type TokenGrantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer' | 'authorization_code' | 'refresh_token' | 'cli'

/** The claims of an access token (RFC 9068 plus AoC's `user_id` and `organization_id`, and `gty`). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string
  sub: string
  aud: string
  client_id: string
  scope: string
  iat: number
  exp: number
  jti: string
  user_id: string
  organization_id: string
  /** absent from tokens issued before the claim existed */
  gty?: string
}

export interface IssueInput {
  /** `<PUBLIC_URL>/api/v1/oauth2/<org>` */
  issuer: string
  audience: string
  email: string
  userId: string
  organizationId: string
  clientId: string
  scope: string
  ttl: number
  grantType: TokenGrantType
}

export interface IssuedToken { token: string, jti: string, expiresIn: number, exp: number }

export { issuerFor } from '../paths.js'

const b64json = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

// A key's protected header never changes: encoded once per key rather than once per token.
const headers = new Map<string, string>()
function encodedHeader (alg: string, kid: string): string {
  let h = headers.get(kid)
  if (h === undefined) {
    h = b64json({ alg, kid, typ: 'at+jwt' })
    // A few keys live at once (docs/operations.md, rotation); the map is cleared rather than let grow.
    if (headers.size >= 16) headers.clear()
    headers.set(kid, h)
  }
  return h
}

/** The digest each JWS algorithm signs with (EdDSA takes none). */
const DIGEST: Record<string, string | null> = { ES256: 'sha256', RS256: 'sha256', EdDSA: null }

/** Signs an access token with the current key; `exp - iat` is exactly `ttl`; `iat` is the keys' clock's. */
export async function issueAccessToken (keys: KeyStore, input: IssueInput): Promise<IssuedToken> {
  const signer = await keys.signer()
  const iat = Math.floor(keys.now().getTime() / 1000)
  const jti = randomUUID()
  const payload = {
    iss: input.issuer,
    sub: input.email,
    aud: input.audience,
    iat,
    exp: iat + input.ttl,
    jti,
    client_id: input.clientId,
    scope: input.scope,
    user_id: input.userId,
    organization_id: input.organizationId,
    gty: input.grantType
  }
  const signingInput = encodedHeader(signer.alg, signer.kid) + '.' + b64json(payload)
  // Stack note: node:crypto signs here, not jose's SignJWT. jose 6 signs through WebCrypto, which
  // cost about three times the CPU (0.12 ms against 0.04 ms for ES256) on the token endpoint's
  // hot path. The input is our own claims; every verification (ours and clients') still goes
  // through jose, and the tests check each token with jose's jwtVerify.
  const signature = sign(DIGEST[signer.alg], Buffer.from(signingInput), { key: signer.keyObject, dsaEncoding: 'ieee-p1363' })
  return { token: signingInput + '.' + signature.toString('base64url'), jti, expiresIn: input.ttl, exp: iat + input.ttl }
}

/** Why a token was refused; `reason` goes to the log only. */
export class TokenInvalidError extends Error {
  readonly code = 'ERR_TOKEN_INVALID'
  constructor (readonly reason: string) { super('invalid access token') }
}

/**
 * Whether a token's `iat` is not after the user's cut-off (`tokens_valid_after`, set at its last
 * deactivation), so that the token must be refused. `iat` has whole seconds: a token of the
 * cut-off's own second may have been issued just before it, so it is refused too. What that costs:
 * a token issued after a reactivation, but within that same second, is refused as well, and its
 * client has to get another. `iat` comes from the issuing instance's clock and the cut-off from the
 * database's; a skew between them moves the boundary by as much.
 */
export function issuedBeforeCutOff (iat: number, tokensValidAfter: Date | null): boolean {
  return tokensValidAfter !== null && iat * 1000 <= tokensValidAfter.getTime()
}

const MAX_TOKEN_LENGTH = 8192

/**
 * Checks signature (a published key, an allowed alg), `typ`, audience and expiry (by the keys' clock), and that every
 * claim this server puts in is there. The issuer is checked by the caller, which knows the org.
 */
export async function verifyAccessToken (keys: KeyStore, token: string, audience: string): Promise<AccessTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenInvalidError('token too long')
  let kid: string | undefined
  try {
    kid = decodeProtectedHeader(token).kid
  } catch {
    throw new TokenInvalidError('not a JWS')
  }
  if (!kid) throw new TokenInvalidError('no kid')
  const found = await keys.publicKey(kid)
  if (!found) throw new TokenInvalidError('unknown kid')
  try {
    const { payload } = await jwtVerify(token, found.key, {
      algorithms: [...SIGNING_ALGS].filter((a) => a === found.alg),
      typ: 'at+jwt',
      audience,
      requiredClaims: ['iss', 'sub', 'exp', 'iat', 'jti', 'client_id', 'scope', 'user_id', 'organization_id'],
      clockTolerance: 5,
      currentDate: keys.now()
    })
    for (const claim of ['iss', 'sub', 'jti', 'client_id', 'scope', 'user_id', 'organization_id'] as const) {
      if (typeof payload[claim] !== 'string') throw new TokenInvalidError(`claim ${claim} is not a string`)
    }
    if (payload.gty !== undefined && typeof payload.gty !== 'string') throw new TokenInvalidError('claim gty is not a string')
    return payload as AccessTokenClaims
  } catch (err) {
    if (err instanceof TokenInvalidError) throw err
    if (err instanceof joseErrors.JOSEError) throw new TokenInvalidError(err.code)
    throw err
  }
}
