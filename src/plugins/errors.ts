import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { isDatabaseUnavailable, isStatementTimeout, isUnstorableText } from '../db/errors.js'
import { RestError, UnauthorizedError, UnavailableError } from '../errors.js'
import { ThrottledWarning } from '../logger.js'
import { unavailable } from '../metrics.js'
import { RouteMethods } from './route-methods.js'
import { validationMessage, type AjvIssue } from './validation-messages.js'

/** Claims an error for the OAuth endpoints (OAuth JSON) or leaves it (undefined) to the REST handling. */
export type OAuthResponder = (err: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined

/**
 * No route answers this method and path. `allowed` names the methods that routes answer for the
 * path (empty: no route has it). REST answers 404 either way; the OAuth responder tells them apart.
 */
export class NoRouteError extends RestError {
  constructor (readonly method: string, readonly path: string, readonly allowed: string[]) {
    super(404, 'not_found', `no route for ${method} ${path}`)
    this.name = 'NoRouteError'
  }
}

/** The route's schema of the request part that failed validation (its body, querystring or params schema). */
export function failedPartSchema (err: FastifyError, request: FastifyRequest): unknown {
  const schema = request.routeOptions?.schema as Record<string, unknown> | undefined
  const part = err.validationContext
  if (!schema || !part) return undefined
  return schema[part] ?? (part === 'querystring' ? schema.query : undefined)
}

/** Turns an ajv failure into AoC's 422 body naming the field, with the rule and its bounds in the message. */
function validationToRest (err: FastifyError, request: FastifyRequest): RestError {
  const { param, message, missing } = validationMessage((err.validation ?? []) as AjvIssue[], failedPartSchema(err, request))
  return new RestError(422, missing ? 'parameter_missing' : 'invalid_parameter', message, param)
}

/** The largest body the route takes, in bytes (BODY_LIMIT, or the route's own), for a 413's message. */
export function bodyLimitOf (request: FastifyRequest): number | undefined {
  return request.routeOptions?.bodyLimit ?? request.server?.initialConfig.bodyLimit
}

/** Framework errors (body parsing, size, media type) that carry a 4xx, as REST errors. */
function frameworkToRest (err: FastifyError, request: FastifyRequest): RestError | undefined {
  switch (err.code) {
    case 'FST_ERR_BAD_URL': return new RestError(400, 'invalid_parameter', 'the URL path holds an invalid percent-encoding: encode each reserved byte as %XX')
    case 'FST_ERR_MAX_PARAM_LENGTH': {
      const max = request.server?.initialConfig.maxParamLength
      return new RestError(414, 'invalid_parameter', `a path parameter is too long${max ? `: at most ${max} characters` : ''}`)
    }
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = bodyLimitOf(request)
      return new RestError(413, 'payload_too_large', `request body is too large${limit ? `: at most ${limit} bytes` : ''}`)
    }
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
  if (err instanceof UnavailableError) reply.header('Retry-After', String(err.retryAfterSeconds))
  if (err instanceof UnauthorizedError) reply.header('WWW-Authenticate', err.challenge)
  return reply.status(err.statusCode).type('application/json; charset=utf-8').send({
    code: err.code,
    message: err.message,
    ...(err.param ? { param: err.param } : {}),
    request_id: request.id
  })
}

/**
 * Text that the database refused to store (U+0000) is the caller's error. refuseUnstorableText keeps
 * it from REST routes, so reaching here means some input escaped that check: logged to be closed.
 */
function unstorableTextToRest (err: unknown, request: FastifyRequest): RestError | undefined {
  if (!isUnstorableText(err)) return undefined
  request.log.warn({ sqlstate: err.code }, 'the database refused a parameter holding U+0000')
  return new RestError(422, 'invalid_parameter', 'a parameter holds a character that cannot be stored (U+0000)')
}

/** One line a second at most while the database is away, whatever the request rate (docs/operations.md). */
export const databaseOutageLog = new ThrottledWarning()

/**
 * A request that cannot be served now gets a 503, not a 500 with a stack in the log: the overload
 * guard's refusal, a database that is not there, or a statement past its timeout. Shared with the
 * browser pages' own error handler (routes/browser.ts), which answers the same 503 as a page.
 */
export function unavailableError (err: unknown, request: FastifyRequest): UnavailableError | undefined {
  if (err instanceof UnavailableError) return err
  if (isStatementTimeout(err)) {
    // An admin list past ADMIN_STATEMENT_TIMEOUT_MS: the database is busy (or the search too wide),
    // and a retry may well succeed. Logged without the statement or its parameters (a search term).
    unavailable.inc({ cause: 'statement_timeout' })
    request.log.warn({ db_error: { code: '57014' } }, 'a statement ran past its statement_timeout: answering 503')
    return new UnavailableError('the query took too long; retry later, or narrow the search')
  }
  if (!isDatabaseUnavailable(err)) return undefined
  const e = err as { code?: unknown, message?: unknown }
  unavailable.inc({ cause: 'database' })
  databaseOutageLog.warn(request.log, { db_error: { code: e.code, message: e.message } }, 'the database is unavailable: answering 503')
  return new UnavailableError('the database is unavailable; retry later')
}

/**
 * Answers any error: the OAuth responder may claim it first (OAuth JSON on the OAuth endpoints);
 * everything else is a REST error as the reference says, never a stack or the framework's shape.
 */
function answerError (raw: unknown, request: FastifyRequest, reply: FastifyReply, oauthResponder?: OAuthResponder): FastifyReply {
  // As a 4xx, so that the OAuth responder answers invalid_request rather than server_error.
  const err = (unstorableTextToRest(raw, request) ?? unavailableError(raw, request) ?? raw) as FastifyError
  const claimed = oauthResponder?.(err, request, reply)
  if (claimed) return claimed
  if (err instanceof RestError) return sendRestError(reply, request, err)
  if (err.validation) return sendRestError(reply, request, validationToRest(err, request))
  const mapped = frameworkToRest(err, request)
  if (mapped) return sendRestError(reply, request, mapped)
  request.log.error({ err }, 'unhandled error')
  return sendRestError(reply, request, new RestError(500, 'internal_error', 'internal error; quote the request_id when reporting it'))
}

/**
 * The one error handler, and the not-found handler. Other plugins (the OAuth endpoints) may claim
 * an error first through `oauthResponder`; everything else is a REST error.
 */
export function registerErrorHandling (app: FastifyInstance, oauthResponder?: OAuthResponder): void {
  const routes = new RouteMethods()
  app.addHook('onRoute', (route) => { routes.add(route.method, route.url) })
  app.setErrorHandler((err: FastifyError, request, reply) => answerError(err, request, reply, oauthResponder))
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    return answerError(new NoRouteError(request.method, path, routes.allowedFor(path)), request, reply, oauthResponder)
  })
}

/**
 * Fastify's `frameworkErrors` server option: errors the router raises before any route or hook
 * runs (a path that is not valid percent-encoding, a path parameter over maxParamLength, a failed
 * async constraint). They get the same answers as every other error, and the request id that the
 * onRequest hook would have set.
 */
export function frameworkErrorHandler (oauthResponder?: OAuthResponder): NonNullable<FastifyServerOptions['frameworkErrors']> {
  return (err, request, reply) => {
    reply.header('X-Request-Id', request.id)
    answerError(err, request, reply, oauthResponder)
  }
}
