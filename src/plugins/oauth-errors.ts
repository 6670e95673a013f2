import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAUTH_BASE } from '../paths.js'
import { RestError, UnavailableError } from '../errors.js'
import { OAuthError } from '../oauth/errors.js'
import { bodyLimitOf, failedPartSchema, NoRouteError } from './errors.js'
import { validationMessage, type AjvIssue } from './validation-messages.js'

/** Paths whose errors are OAuth JSON (RFC 6749 §5.2), not REST errors. */
export function isOAuthPath (url: string): boolean {
  return url.startsWith(OAUTH_BASE + '/') && !url.split('?')[0]!.endsWith('/jwks')
}

/** Sends an OAuth error: JSON, `no-store`, its headers; the precise reason goes to the log only. */
export function sendOAuthError (reply: FastifyReply, request: FastifyRequest, err: OAuthError): FastifyReply {
  request.log.info({ oauth_error: err.error, reason: err.reason }, 'oauth request refused')
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v)
  return reply.status(err.status).header('Cache-Control', 'no-store').header('Pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error: err.error, error_description: err.description })
}

/** The endpoints under an organization's OAuth base, for the answer to a path that is none of them. */
const ENDPOINTS = '{token, authorize, introspect, revoke, login, logout, jwks}'

/**
 * No route for the request, in OAuth JSON like every answer here (docs/aoc-compatibility.md §8). A wrong method on
 * an endpoint is a 405 with `Allow` (RFC 9110 §15.5.6): a strict client or HTTP library reads that
 * as "right URL, wrong method" and can act on it. An unknown path is a 404, not RFC 6749's usual
 * 400: no change to the parameters can make a missing endpoint answer, and a 404 says so.
 */
function noRouteToOAuth (err: NoRouteError): OAuthError {
  const mapped = err.allowed.length === 0
    ? new OAuthError('invalid_request', `there is no such endpoint: the OAuth endpoints are ${OAUTH_BASE}/<org>/${ENDPOINTS}`, err.message)
    : new OAuthError('invalid_request', `this endpoint takes ${err.allowed.join(', ')}`, err.message)
  mapped.status = err.allowed.length === 0 ? 404 : 405
  if (err.allowed.length > 0) mapped.headers.Allow = err.allowed.join(', ')
  return mapped
}

/**
 * What a caller is told of a malformed request: our own messages name the fault and may be shown, and
 * so does a failed schema (the field and its rule); a framework's own messages are for the log.
 */
function malformedDescription (err: FastifyError, request: FastifyRequest): string {
  if (err instanceof RestError) return err.message
  if (err.validation) return validationMessage(err.validation as AjvIssue[], failedPartSchema(err, request)).message
  if (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH') return 'the request URL is malformed'
  return 'the request is malformed: send the parameters form-encoded (application/x-www-form-urlencoded)'
}

/**
 * Claims errors on the OAuth endpoints, framework errors included (an oversized or unparsable
 * body), so that every answer there is OAuth JSON and never a framework's default body.
 */
export function oauthErrorResponder (raw: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (raw instanceof OAuthError) return sendOAuthError(reply, request, raw)
  if (!isOAuthPath(request.url)) return undefined
  const err = raw as FastifyError
  let mapped: OAuthError
  if (err instanceof NoRouteError) {
    mapped = noRouteToOAuth(err)
  } else if (err instanceof UnavailableError) {
    // RFC 6749 §5.2 has no 503 code of its own; temporarily_unavailable is its word for it (§4.1.2.1).
    mapped = new OAuthError('temporarily_unavailable', err.message)
    mapped.status = 503
    mapped.headers['Retry-After'] = String(err.retryAfterSeconds)
  } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = bodyLimitOf(request)
    mapped = new OAuthError('invalid_request', `the request body is too large${limit ? `: at most ${limit} bytes` : ''}`)
    mapped.status = 413
  } else if (err.validation || (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 429)) {
    mapped = new OAuthError('invalid_request', malformedDescription(err, request), err.message)
  } else if (err.statusCode === 429) {
    mapped = new OAuthError('temporarily_unavailable', 'too many requests; retry later')
    mapped.status = 429
  } else {
    request.log.error({ err }, 'unhandled error on an OAuth endpoint')
    mapped = new OAuthError('server_error', 'internal error; retry later')
    mapped.status = 500
  }
  return sendOAuthError(reply, request, mapped)
}
