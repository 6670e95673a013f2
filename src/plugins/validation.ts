import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default

function makeAjv (coerceTypes: boolean | 'array') {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    // Fastify's default strips unknown fields silently; we refuse them so a typo is a 422, not lost input.
    removeAdditional: false,
    allErrors: false,
    strict: false
  })
  addFormats(ajv)
  ajv.addKeyword({ keyword: 'x-param' })
  return ajv
}

/**
 * Bodies are validated strictly (no type coercion: `"true"` is not a boolean); query strings and
 * path parameters arrive as text, so they are coerced.
 */
export function useStrictValidation (app: FastifyInstance): void {
  const bodyAjv = makeAjv(false)
  const textAjv = makeAjv('array')
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object))
}
