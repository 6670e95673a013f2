import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import { InvalidParameterError } from '../errors.js'

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

/**
 * The path (`redirect_uris.0`, `name`) of the first string in `value` that holds U+0000, a key
 * included; `at` is the path so far. PostgreSQL cannot store that character in text or jsonb and
 * would fail the statement, so it must be refused before any query.
 */
function pathOfNulCharacter (value: unknown, at: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? at : undefined
  if (typeof value !== 'object' || value === null) return undefined
  // No body of ours nests this deep; a 64 KiB body of brackets would otherwise overflow the stack.
  if (depth >= MAX_DEPTH) throw new InvalidParameterError(at || 'body', `${at || 'body'} is nested more than ${MAX_DEPTH} levels deep`)
  for (const [key, child] of Object.entries(value)) {
    // A key holding NUL cannot name the field without carrying NUL itself, so the container is named.
    if (key.includes('\u0000')) return at
    const found = pathOfNulCharacter(child, at ? `${at}.${key}` : key, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

const MAX_DEPTH = 32

/**
 * preValidation hook: a 422 naming the first path parameter, query parameter or body field that
 * holds U+0000. Before validation, so no route's schema needs to refuse the character itself.
 */
export async function refuseNulCharacters (request: FastifyRequest): Promise<void> {
  const parts: Array<[string, unknown]> = [['path', request.params], ['query', request.query], ['body', request.body]]
  for (const [part, value] of parts) {
    const found = pathOfNulCharacter(value, '')
    if (found !== undefined) {
      const param = found || part
      throw new InvalidParameterError(param, `${param} must not contain the NUL character (U+0000)`)
    }
  }
}
