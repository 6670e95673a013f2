import type { FastifyRequest } from 'fastify'
import { InvalidRequest } from './errors.js'

/**
 * The form body of an OAuth request, as single strings. A JSON or other body, or a parameter given
 * twice, is an `invalid_request` (RFC 6749 §3.2: parameters MUST NOT be repeated).
 */
export function readForm (request: FastifyRequest): Record<string, string> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('send the parameters as application/x-www-form-urlencoded')
  }
  const body = (request.body ?? {}) as Record<string, unknown>
  const form: Record<string, string> = {}
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw new InvalidRequest(`parameter '${key}' is repeated`)
    if (value.includes('\u0000')) throw new InvalidRequest(`parameter '${key.slice(0, 64)}' holds a NUL byte`)
    form[key] = value
  }
  return form
}
