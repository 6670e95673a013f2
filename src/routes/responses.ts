// The error answers that several routes share, as response schemas: fastify serializes with them, and
// the OpenAPI document lists each once under components/responses (plugins/swagger.ts hoists every
// schema marked with `x-response`). What each one means is what plugins/errors.ts,
// plugins/oauth-errors.ts, plugins/auth.ts and plugins/validation.ts answer.
import { Type, type TSchema } from '@sinclair/typebox'
import { BEARER_REALM, RETRY_AFTER_SECONDS } from '../errors.js'
import { ADMIN_SCOPES } from '../oauth/policy.js'
import { RestErrorBody } from './schemas.js'

/** A request id as the server makes one (a UUID) when the caller sent no `X-Request-Id`. */
export const EXAMPLE_REQUEST_ID = '0b7d5c1e-3f4a-4c2b-9e61-8d2f0a6b7c13'

/** `Retry-After` in seconds (RFC 9110 §10.2.3), as a response header of the document. */
export function retryAfterHeader (description: string) {
  return { 'Retry-After': { type: 'integer', minimum: 1, description } }
}

/** AoC's REST error body with a response description and an example; `name` shares it in components/responses. */
export function restError (description: string, example: { code: string, message: string, param?: string }, opts: { name?: string, headers?: Record<string, unknown> } = {}): TSchema {
  return Type.Ref(RestErrorBody, {
    'x-response-description': description,
    ...(opts.name && { 'x-response': opts.name }),
    ...(opts.headers && { headers: opts.headers }),
    examples: [{ ...example, request_id: EXAMPLE_REQUEST_ID }]
  })
}

const adminScopes = [...ADMIN_SCOPES].map((s) => '`' + s + '`').join(', ')

/** 401 on every route behind a Bearer token (plugins/auth.ts). */
export const Unauthorized = restError(
  'No usable Bearer access token: it is missing, malformed, expired or revoked, its signature or audience is wrong, or its user, client or organization is gone or deactivated since it was issued.',
  { code: 'unauthorized', message: 'a valid Bearer access token is required' },
  {
    name: 'Unauthorized',
    headers: {
      'WWW-Authenticate': {
        type: 'string',
        description: `The Bearer challenge (RFC 6750 §3): \`Bearer realm="${BEARER_REALM}"\` when no token was sent; with ` +
          '`error="invalid_token"` and an `error_description` when the token sent was refused.',
        example: `Bearer realm="${BEARER_REALM}", error="invalid_token", error_description="the access token is invalid or expired"`
      }
    }
  })

/** 403 of the routes for organization administrators (requireAdmin). */
export const AdminRequired = restError(
  `The token is not an organization administrator's token with an admin scope (${adminScopes}).`,
  { code: 'forbidden', message: 'this needs an organization administrator\'s token with scope admin:all' },
  { name: 'AdminRequired' })

/** 403 of the routes any user of the organization may call (requireUser). */
export const UserTokenRequired = restError(
  'A node-scoped token (`node.<access_key>:…` scopes only) cannot call this API.',
  { code: 'forbidden', message: 'a node-scoped token cannot call this API' },
  { name: 'UserTokenRequired' })

/** 403 with the route's own reasons besides the token's. */
export function forbidden (description: string, message: string): TSchema {
  return restError(description, { code: 'forbidden', message })
}

/** 404: the id names nothing in the caller's organization (another organization's rows are not seen). */
export function notFound (what: string): TSchema {
  return restError(`No ${what} with this id in the caller's organization.`, { code: 'not_found', message: `${what} not found` })
}

/** 404 of the routes under an organization's OAuth base that read no token: no organization has the name in the path. */
export const OrganizationNotFound = restError('No organization has this name.', { code: 'not_found', message: 'organization not found' }, { name: 'OrganizationNotFound' })

/** 409 with the route's reasons. */
export function conflict (description: string, message: string, param?: string): TSchema {
  return restError(description, { code: 'conflict', message, ...(param && { param }) })
}

/** 422 on every REST route: validation (plugins/errors.ts) and the U+0000 guard (plugins/validation.ts) name the field. */
export const InvalidParameter = restError(
  'A path, query or body parameter is missing or invalid: `code` is `parameter_missing` or `invalid_parameter`, `param` names the field ' +
    '(`body` for a body that is not JSON), and `message` says what is wrong. A value holding U+0000, or a lone UTF-16 surrogate, is refused here too.',
  { code: 'invalid_parameter', message: 'name must NOT have fewer than 1 characters', param: 'name' },
  { name: 'InvalidParameter' })

/** 413 of the REST API: a body over BODY_LIMIT. */
export const PayloadTooLarge = restError(
  'The request body is larger than BODY_LIMIT (65536 bytes by default).',
  { code: 'payload_too_large', message: 'request body is too large' },
  { name: 'PayloadTooLarge' })

/** 415 of the REST API: only JSON in UTF-8 is read (plugins/validation.ts requireJsonBody). */
export const UnsupportedMediaType = restError(
  'A request body that is not `application/json` in UTF-8 (a `charset=utf-8` parameter may say so, nothing else may follow) is refused before it is read.',
  { code: 'unsupported_media_type', message: 'send the body as application/json in UTF-8 (charset=utf-8 or none)' },
  { name: 'UnsupportedMediaType' })

/** 503 of every route but liveness: the database is away, a list ran past its statement timeout, or the process is overloaded. */
export const ServiceUnavailable = restError(
  'The server cannot answer now: its database does not answer, an admin list ran past ADMIN_STATEMENT_TIMEOUT_MS, or the process is ' +
    'overloaded (OVERLOAD_*). Nothing was changed; retry after `Retry-After` seconds (docs/operations.md).',
  { code: 'service_unavailable', message: 'the database is unavailable; retry later' },
  { name: 'ServiceUnavailable', headers: retryAfterHeader(`Seconds to wait before retrying: ${RETRY_AFTER_SECONDS}.`) })

/** RFC 6749 §5.2's error body, as every answer of the OAuth endpoints but 200 carries it. */
export const OAuthErrorBody = Type.Object({
  error: Type.String({ description: 'RFC 6749 §5.2: `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, or `temporarily_unavailable`.' }),
  error_description: Type.String({ description: 'What the caller can fix, in English; never whether an e-mail exists.' })
}, { $id: 'OAuthError', title: 'OAuthError', examples: [{ error: 'invalid_grant', error_description: 'the assertion is expired' }] })

/** An OAuth error answer with a description and an example; `name` shares it in components/responses. */
export function oauthError (description: string, example: { error: string, error_description: string }, opts: { name?: string, headers?: Record<string, unknown> } = {}): TSchema {
  return Type.Ref(OAuthErrorBody, {
    'x-response-description': description,
    ...(opts.name && { 'x-response': opts.name }),
    ...(opts.headers && { headers: opts.headers }),
    examples: [example]
  })
}

/** 400 of introspection and revocation: a request that cannot be read (oauth/form.ts, oauth/client-auth.ts). */
export const OAuthInvalidRequest = oauthError(
  '`invalid_request`: the body is not `application/x-www-form-urlencoded`, a parameter is repeated or holds a NUL byte, a credential ' +
    'was sent in the URL query, or the client is named or authenticated two different ways (RFC 6749 §2.3, §3.2).',
  { error: 'invalid_request', error_description: 'send the parameters as application/x-www-form-urlencoded' },
  { name: 'OAuthInvalidRequest' })

/** 401 of the OAuth endpoints (oauth/client-auth.ts). */
export const OAuthInvalidClient = oauthError(
  '`invalid_client`: unknown organization or client, a wrong secret, no client identification, a secret missing where this ' +
    'endpoint needs one, or a secret sent for a public client. `WWW-Authenticate: Basic` when the client tried HTTP Basic (RFC 6749 §5.2).',
  { error: 'invalid_client', error_description: 'invalid client id or secret' },
  { name: 'OAuthInvalidClient', headers: { 'WWW-Authenticate': { type: 'string', 'x-sometimes': true, description: 'When the client tried HTTP Basic: `Basic realm="oauth", charset="UTF-8"`.' } } })

/** 413 of the OAuth endpoints: their forms are limited to 16 KiB. */
export const OAuthPayloadTooLarge = oauthError(
  '`invalid_request`: the form is larger than 16 KiB.',
  { error: 'invalid_request', error_description: 'the request body is too large' },
  { name: 'OAuthPayloadTooLarge' })

/** 429 of the OAuth endpoints (plugins/token-rate-limit.ts). */
export const OAuthRateLimited = oauthError(
  '`temporarily_unavailable`: past TOKEN_RATE_LIMIT_PER_MINUTE requests this minute from this source address, or for this client once ' +
    'it has proved itself (counted per instance, or in Redis with REDIS_URL).',
  { error: 'temporarily_unavailable', error_description: 'too many requests; retry later' },
  { name: 'OAuthRateLimited', headers: retryAfterHeader('Seconds until the current minute\'s count ends.') })

/** 503 of the OAuth endpoints: as ServiceUnavailable, in OAuth's words (RFC 6749 §4.1.2.1 `temporarily_unavailable`). */
export const OAuthUnavailable = oauthError(
  '`temporarily_unavailable`: the database does not answer or the process is overloaded. Nothing was issued or changed; retry after ' +
    '`Retry-After` seconds.',
  { error: 'temporarily_unavailable', error_description: 'the database is unavailable; retry later' },
  { name: 'OAuthUnavailable', headers: retryAfterHeader(`Seconds to wait before retrying: ${RETRY_AFTER_SECONDS}.`) })

/** The answers of the three OAuth endpoints besides 200 and 400, which each describes itself. */
export const oauthEndpointErrors = { 401: OAuthInvalidClient, 413: OAuthPayloadTooLarge, 429: OAuthRateLimited, 503: OAuthUnavailable }

/**
 * The answers every REST route may give whatever it does, added to its schema where the routes are
 * registered (routes/api.ts): 401 and 503 always, 422 always (even a route without parameters refuses
 * a query string holding U+0000), and 413 and 415 on the methods that carry a body.
 */
export function commonRestResponses (method: string | string[]): Record<number, TSchema> {
  const methods = Array.isArray(method) ? method : [method]
  const withBody = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH')
  const bodyAnswers: Record<number, TSchema> = withBody ? { 413: PayloadTooLarge, 415: UnsupportedMediaType } : {}
  return { 401: Unauthorized, ...bodyAnswers, 422: InvalidParameter, 503: ServiceUnavailable }
}
