import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError } from '../oauth/errors.js'

/** Paths whose errors are OAuth JSON (RFC 6749 §5.2), not REST errors. */
export function isOAuthPath (url: string): boolean {
  return url.startsWith('/api/v1/oauth2/') && !url.split('?')[0]!.endsWith('/jwks')
}

/** Sends an OAuth error: JSON, `no-store`, its headers; the precise reason goes to the log only. */
export function sendOAuthError (reply: FastifyReply, request: FastifyRequest, err: OAuthError): FastifyReply {
  request.log.info({ oauth_error: err.error, reason: err.reason }, 'oauth request refused')
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v)
  return reply.status(err.status).header('Cache-Control', 'no-store').header('Pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error: err.error, error_description: err.description })
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
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    mapped = new OAuthError('invalid_request', 'the request body is too large')
    mapped.status = 413
  } else if (err.validation || (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 429)) {
    mapped = new OAuthError('invalid_request', 'the request is malformed: send form-encoded parameters', err.message)
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
