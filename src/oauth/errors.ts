/**
 * OAuth errors (RFC 6749 §5.2), each with a fixed `error` code and status. The description says
 * what the caller can fix and never more (it must not reveal whether an e-mail exists); `reason`
 * is the precise cause, for the log only.
 */
export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client'
  | 'unsupported_grant_type' | 'invalid_scope' | 'access_denied' | 'temporarily_unavailable' | 'server_error'

export class OAuthError extends Error {
  status: number = 400
  /** Extra response headers (WWW-Authenticate, Retry-After). */
  headers: Record<string, string> = {}
  // eslint-disable-next-line n/handle-callback-err -- `error` is the RFC 6749 field, not a callback argument
  constructor (readonly error: OAuthErrorCode, readonly description: string, readonly reason: string = description) {
    super(description)
    this.name = 'OAuthError'
  }
}

export class InvalidRequest extends OAuthError {
  constructor (description: string, reason?: string) { super('invalid_request', description, reason) }
}

/** 401; with `WWW-Authenticate: Basic` when the client tried Basic (RFC 6749 §5.2). */
export class InvalidClient extends OAuthError {
  override readonly status = 401
  constructor (reason: string, usedBasic: boolean, description = 'invalid client id or secret') {
    super('invalid_client', description, reason)
    if (usedBasic) this.headers['WWW-Authenticate'] = 'Basic realm="oauth", charset="UTF-8"'
  }
}

export class InvalidGrant extends OAuthError {
  constructor (description: string, reason?: string) { super('invalid_grant', description, reason) }
}

export class UnauthorizedClient extends OAuthError {
  constructor (description: string, reason?: string) { super('unauthorized_client', description, reason) }
}

export class UnsupportedGrantType extends OAuthError {
  constructor (description: string) { super('unsupported_grant_type', description) }
}

export class InvalidScope extends OAuthError {
  constructor (description: string, reason?: string) { super('invalid_scope', description, reason) }
}

export class AccessDenied extends OAuthError {
  override readonly status = 403
  constructor (description: string, reason?: string) { super('access_denied', description, reason) }
}

/** 429 with Retry-After; `error` follows RFC 6749's code for a momentary refusal. */
export class RateLimited extends OAuthError {
  override readonly status = 429
  constructor (retryAfterSeconds: number) {
    super('temporarily_unavailable', 'too many requests; retry later')
    this.headers['Retry-After'] = String(retryAfterSeconds)
  }
}
