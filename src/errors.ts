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
  constructor (param: string) { super(422, 'parameter_missing', `${param} is required`, param) }
}

export class UnauthorizedError extends RestError {
  constructor (message = 'a valid Bearer access token is required') { super(401, 'unauthorized', message) }
}

export class ForbiddenError extends RestError {
  constructor (message: string) { super(403, 'forbidden', message) }
}
