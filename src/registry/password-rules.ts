import { InvalidParameterError } from '../errors.js'

/** Shortest password accepted, in Unicode code points. */
export const PASSWORD_MIN_LENGTH = 8
/** Longest password accepted, in Unicode code points. */
export const PASSWORD_MAX_LENGTH = 256

/**
 * The password rules, in one place for every route that sets a password. Pure: throws a 422
 * `invalid_parameter` naming `param` and the rule that failed, and returns nothing otherwise.
 * Lengths count code points, not UTF-16 units, so an emoji is one character as a person counts it.
 */
export function checkPasswordRules (password: string, email: string, param = 'password'): void {
  const length = [...password].length
  if (length < PASSWORD_MIN_LENGTH) throw new InvalidParameterError(param, `${param} must be at least ${PASSWORD_MIN_LENGTH} characters long`)
  if (length > PASSWORD_MAX_LENGTH) throw new InvalidParameterError(param, `${param} must be at most ${PASSWORD_MAX_LENGTH} characters long`)
  if (password.toLowerCase() === email.toLowerCase()) throw new InvalidParameterError(param, `${param} must not be the user's e-mail address`)
}
