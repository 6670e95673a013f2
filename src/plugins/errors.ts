import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RestError } from '../errors.js'

interface AjvIssue { instancePath: string, keyword: string, message?: string, params: Record<string, unknown> }

function paramOf (issue: AjvIssue): string {
  const base = issue.instancePath.replace(/^\//, '').replace(/\//g, '.')
  const child = (issue.params.missingProperty ?? issue.params.additionalProperty) as string | undefined
  return [base, child].filter(Boolean).join('.') || 'body'
}

/** Turns an ajv failure into AoC's 422 body naming the field. */
function validationToRest (err: FastifyError): RestError {
  const issue = (err.validation?.[0] ?? { instancePath: '', keyword: '', params: {} }) as AjvIssue
  const param = paramOf(issue)
  if (issue.keyword === 'required') return new RestError(422, 'parameter_missing', `${param} is required`, param)
  if (issue.keyword === 'additionalProperties') return new RestError(422, 'invalid_parameter', `${param} is not a known field`, param)
  if (issue.keyword === 'format' && issue.params.format === 'email') return new RestError(422, 'invalid_parameter', `${param} must be a valid e-mail address`, param)
  return new RestError(422, 'invalid_parameter', `${param} ${issue.message ?? 'is invalid'}`, param)
}

/** Framework errors (body parsing, size, media type) that carry a 4xx, as REST errors. */
function frameworkToRest (err: FastifyError): RestError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new RestError(413, 'payload_too_large', 'request body is too large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new RestError(415, 'unsupported_media_type', 'send the body as application/json')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new RestError(422, 'parameter_missing', 'a JSON body is required', 'body')
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new RestError(422, 'invalid_parameter', 'the body is not valid JSON', 'body')
  }
  if (err.statusCode === 400 && err.message && /JSON/.test(err.message)) return new RestError(422, 'invalid_parameter', 'the body is not valid JSON', 'body')
  if (err.statusCode === 429) return new RestError(429, 'too_many_requests', 'too many requests, retry later')
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new RestError(err.statusCode, 'invalid_parameter', 'the request is malformed')
  }
  return undefined
}

/** Sends a REST error body; never a stack, never the framework's default shape. */
export function sendRestError (reply: FastifyReply, request: FastifyRequest, err: RestError): FastifyReply {
  return reply.status(err.statusCode).type('application/json; charset=utf-8').send({
    code: err.code,
    message: err.message,
    ...(err.param ? { param: err.param } : {}),
    request_id: request.id
  })
}

/**
 * The one error handler. Other plugins (the OAuth endpoints) may claim an error first through
 * `oauthErrorResponder`; everything else is a REST error as the reference says.
 */
export function registerErrorHandling (app: FastifyInstance, oauthResponder?: (err: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const claimed = oauthResponder?.(err, request, reply)
    if (claimed) return claimed
    if (err instanceof RestError) return sendRestError(reply, request, err)
    if (err.validation) return sendRestError(reply, request, validationToRest(err))
    const mapped = frameworkToRest(err)
    if (mapped) return sendRestError(reply, request, mapped)
    request.log.error({ err }, 'unhandled error')
    return sendRestError(reply, request, new RestError(500, 'internal_error', 'internal error; quote the request_id when reporting it'))
  })
  app.setNotFoundHandler((request, reply) =>
    sendRestError(reply, request, new RestError(404, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)))
}
