/**
 * REST errors as AoC answers them: `{code, message, param?, request_id}`. Services throw these;
 * the error handler in plugins/errors.ts is the one place that turns them into HTTP.
 */
export type RestErrorCode =
  | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict'
  | 'parameter_missing' | 'invalid_parameter' | 'payload_too_large' | 'unsupported_media_type'
  | 'too_many_requests' | 'internal_error' | 'service_unavailable'

export class RestError extends Error {
  constructor (
    readonly statusCode: number,
    readonly code: RestErrorCode,
    message: string,
    readonly param?: string
  ) {
    super(message)
    this.name = 'RestError'
  }
}

export class NotFoundError extends RestError {
  constructor (what: string) { super(404, 'not_found', `${what} not found`) }
}

export class ConflictError extends RestError {
  constructor (message: string, param?: string) { super(409, 'conflict', message, param) }
}

export class InvalidParameterError extends RestError {
  constructor (param: string, message: string) { super(422, 'invalid_parameter', message, param) }
}

export class MissingParameterError extends RestError {
  constructor (param: string, message = `${param} is required`) { super(422, 'parameter_missing', message, param) }
}

/** The realm of the REST API's Bearer challenge (RFC 6750 §3). */
export const BEARER_REALM = 'api'

/**
 * 401: no usable Bearer token. `tokenSent` says a token came and was refused (invalid, expired,
 * revoked), which the challenge names as `invalid_token` (RFC 6750 §3.1); without one, the
 * challenge carries no error code (RFC 6750 §3).
 */
export class UnauthorizedError extends RestError {
  constructor (
    message = 'a valid Bearer access token is required: send Authorization: Bearer <token>, from POST /api/v1/oauth2/<org>/token',
    readonly tokenSent = false
  ) { super(401, 'unauthorized', message) }

  /** The `WWW-Authenticate` value every 401 of the REST API carries (RFC 6750 §3). */
  get challenge (): string {
    if (!this.tokenSent) return `Bearer realm="${BEARER_REALM}"`
    // error_description is a quoted-string without `"` or `\` (RFC 6750 §3).
    return `Bearer realm="${BEARER_REALM}", error="invalid_token", error_description="${this.message.replace(/["\\]/g, "'")}"`
  }
}

export class ForbiddenError extends RestError {
  constructor (message: string) { super(403, 'forbidden', message) }
}

/** Seconds a 503 asks a client to wait: about what PostgreSQL's restart or the next overload sample takes. */
export const RETRY_AFTER_SECONDS = 2

/**
 * The server cannot serve the request now: its database does not answer, or the process is
 * overloaded. Answered 503 with `Retry-After` (RFC 9110 §10.2.3) on every path: `service_unavailable`
 * on REST, `temporarily_unavailable` on the OAuth endpoints (RFC 6749 §5.2). docs/operations.md.
 */
export class UnavailableError extends RestError {
  constructor (message: string, readonly retryAfterSeconds = RETRY_AFTER_SECONDS) {
    super(503, 'service_unavailable', message)
    this.name = 'UnavailableError'
  }
}
