import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import type { FastifyServerOptions } from 'fastify'

const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default

function makeAjv (coerceTypes: boolean | 'array', shared: Record<string, unknown>) {
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
  for (const schema of Object.values(shared)) ajv.addSchema(schema as object)
  return ajv
}

/**
 * Bodies are validated strictly (no type coercion: `"true"` is not a boolean); query strings and
 * path parameters arrive as text, so they are coerced. `shared` are the schemas added with addSchema.
 */
function strictValidatorBuilder (shared: Record<string, unknown>) {
  const bodyAjv = makeAjv(false, shared)
  const textAjv = makeAjv('array', shared)
  return ({ schema, httpPart }: { schema: unknown, httpPart?: string }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)
}

/**
 * Fastify's `schemaController` option that makes validation strict everywhere. It must be a
 * server option, not `setValidatorCompiler`: when a route plugin calls `addSchema`, fastify rebuilds
 * that plugin's validator from the server's factory, and a compiler set on the root would be lost
 * (bodies would then be coerced, `"true"` and `1` passing as booleans).
 */
export const strictSchemaController: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator: strictValidatorBuilder as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
  }
}
