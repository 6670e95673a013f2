import type { FastifyRequest } from 'fastify'
import { InvalidRequest } from './errors.js'

/** Parameters that carry a credential: never accepted in a URL, which proxies and logs keep. */
const CREDENTIAL_PARAMS = ['client_secret', 'client_assertion', 'assertion', 'code', 'code_verifier', 'refresh_token', 'token', 'access_token', 'password']

/**
 * The form body of an OAuth request, as single strings. A credential in the URL query is an
 * `invalid_request` (RFC 6749 §2.3.1: client credentials MUST NOT be in the request URI), even when
 * the body has the real one, so that a client that leaks it hears so. A JSON or other body, or a parameter given
 * twice, is an `invalid_request` (RFC 6749 §3.2: parameters MUST NOT be repeated).
 */
export function readForm (request: FastifyRequest): Record<string, string> {
  const query = (request.query ?? {}) as Record<string, unknown>
  const inQuery = CREDENTIAL_PARAMS.find((p) => Object.hasOwn(query, p))
  if (inQuery) throw new InvalidRequest(`'${inQuery}' was sent in the URL query; credentials go in the form body (RFC 6749 §2.3.1)`)
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('send the parameters as application/x-www-form-urlencoded, with that Content-Type (RFC 6749 §4.1.3)')
  }
  const body = (request.body ?? {}) as Record<string, unknown>
  const form: Record<string, string> = {}
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw new InvalidRequest(`parameter '${key.slice(0, 64)}' is repeated: send each parameter once (RFC 6749 §3.2)`)
    if (value.includes('\u0000')) throw new InvalidRequest(`parameter '${key.slice(0, 64)}' holds a NUL byte (%00): remove it`)
    form[key] = value
  }
  return form
}
