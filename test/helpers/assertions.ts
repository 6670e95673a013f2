import { randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose'
import { recordPrivateKey, recordValue } from './log-capture.js'

export const ASCLI_AUD = 'https://api.asperafiles.com/api/v1/oauth2/token'
export const JS_SDK_AUD = 'https://api.ibmaspera.com/api/v1/oauth2/token'

/** Signs an assertion; the key and the assertion are recorded for the log scan (log-capture.ts). */
export async function signAssertion (key: KeyObject, claims: JWTPayload, header: JWTHeaderParameters): Promise<string> {
  recordPrivateKey(key)
  const assertion = await new SignJWT(claims).setProtectedHeader(header).sign(key)
  recordValue('assertion', assertion)
  return assertion
}

/** An assertion as ascli builds it (docs/aoc-compatibility.md §3): {"alg":"RS256"}, nbf now-300, iat now-299, exp now+3600, jti, org. */
export async function ascliAssertion (key: KeyObject, clientId: string, email: string, org?: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await signAssertion(key, { iss: clientId, sub: email, aud: ASCLI_AUD, exp: now + 3600, nbf: now - 300, iat: now - 299, jti: randomUUID(), ...(org ? { org } : {}), ...overrides }, { alg: 'RS256' })
}

/** As IBM's tutorial: typ JWT, nbf now-3600, exp now+3600, no iat, no jti. */
export async function tutorialAssertion (key: KeyObject, clientId: string, email: string, aud = ASCLI_AUD): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await signAssertion(key, { iss: clientId, sub: email, aud, nbf: now - 3600, exp: now + 3600 }, { typ: 'JWT', alg: 'RS256' })
}

/** As the Python examples: iat = nbf = now-60, exp now+600, jti, org. */
export async function pythonAssertion (key: KeyObject, clientId: string, email: string, org: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await signAssertion(key, { iss: clientId, sub: email, aud: ASCLI_AUD, iat: now - 60, nbf: now - 60, exp: now + 600, jti: randomUUID(), org }, { alg: 'RS256' })
}

/** As the JS SDK: the ibmaspera.com audience. */
export async function jsSdkAssertion (key: KeyObject, clientId: string, email: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await signAssertion(key, { iss: clientId, sub: email, aud: JS_SDK_AUD, iat: now, exp: now + 300, jti: randomUUID() }, { alg: 'RS256' })
}

/** The form body ascli sends, byte for byte (docs/aoc-compatibility.md §2). */
export function ascliForm (clientId: string, assertion: string, scope = 'user:all'): string {
  return `client_id=${clientId}&scope=${encodeURIComponent(scope)}&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${assertion}`
}
