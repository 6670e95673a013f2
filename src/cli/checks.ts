import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import { InvalidParameterError } from '../errors.js'

// ajv-formats is CommonJS with a default export; under NodeNext the namespace wraps it.
const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default

const ajv = new Ajv()
addFormats(ajv)
// The same limits the REST schemas put on these fields, so the CLI stores nothing the API would refuse.
const isEmail = ajv.compile({ type: 'string', format: 'email', maxLength: 320 })

/** The e-mail as given, or a 422-style error naming the option. */
export function checkEmail (value: string, param: string): string {
  if (!isEmail(value)) throw new InvalidParameterError(param, `${param} must be an e-mail address`)
  return value
}

/** A free-text field of at most 256 characters; `required` also refuses a blank one. */
export function checkText (value: string | undefined, param: string, required = false): string | undefined {
  if (value === undefined) return undefined
  if (value.length > 256) throw new InvalidParameterError(param, `${param} must be at most 256 characters`)
  if (required && value.trim() === '') throw new InvalidParameterError(param, `${param} must not be blank`)
  return value
}
