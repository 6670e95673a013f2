import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import type { FastifyRequest, FastifyServerOptions } from 'fastify'
import { InvalidParameterError, RestError } from '../errors.js'

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

/** A UTF-16 surrogate without its other half: JSON may carry one (`"\\ud800"`), UTF-8 cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

type Unstorable = 'nul' | 'surrogate'

function unstorableIn (text: string): Unstorable | undefined {
  if (text.includes('\u0000')) return 'nul'
  if (LONE_SURROGATE.test(text)) return 'surrogate'
  return undefined
}

/**
 * The path (`redirect_uris.0`, `name`) of the first string in `value` that the database cannot
 * store as given, a key included; `at` is the path so far. PostgreSQL refuses U+0000 in text and
 * jsonb (the statement would fail), and writes a lone surrogate as U+FFFD (the value would change
 * silently): both must be refused before any query.
 */
function findUnstorable (value: unknown, at: string, depth = 0): { at: string, what: Unstorable } | undefined {
  if (typeof value === 'string') {
    const what = unstorableIn(value)
    return what && { at, what }
  }
  if (typeof value !== 'object' || value === null) return undefined
  // No body of ours nests this deep; a 64 KiB body of brackets would otherwise overflow the stack.
  if (depth >= MAX_DEPTH) throw new InvalidParameterError(at || 'body', `${at || 'body'} is nested more than ${MAX_DEPTH} levels deep`)
  for (const [key, child] of Object.entries(value)) {
    // A key that cannot be stored cannot name the field either, so the container is named.
    const inKey = unstorableIn(key)
    if (inKey) return { at, what: inKey }
    const found = findUnstorable(child, at ? `${at}.${key}` : key, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

const MAX_DEPTH = 32

/**
 * preValidation hook: a 422 naming the first path parameter, query parameter or body field that
 * holds U+0000 or a lone UTF-16 surrogate. Before validation, so no route's schema needs to refuse
 * these itself.
 */
export async function refuseUnstorableText (request: FastifyRequest): Promise<void> {
  const parts: Array<[string, unknown]> = [['path', request.params], ['query', request.query], ['body', request.body]]
  for (const [part, value] of parts) {
    const found = findUnstorable(value, '')
    if (found !== undefined) {
      const param = found.at || part
      throw new InvalidParameterError(param, found.what === 'nul'
        ? `${param} must not contain the NUL character (U+0000)`
        : `${param} holds invalid UTF-16 (a lone surrogate), which cannot be stored`)
    }
  }
}

/**
 * onRequest hook for the REST API: a request body must be `application/json` in UTF-8 (a `charset`
 * parameter may say so, and nothing else may follow); anything else is a 415 before it is read.
 * Otherwise a form body would be parsed as if the fields came from JSON, and UTF-16 read as UTF-8.
 */
export async function requireJsonBody (request: FastifyRequest): Promise<void> {
  const length = request.headers['content-length']
  const hasBody = (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
  if (!hasBody) return
  const [essence, ...params] = (request.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase())
  const utf8 = params.every((p) => /^charset="?utf-8"?$/.test(p))
  if (essence !== 'application/json' || !utf8) {
    throw new RestError(415, 'unsupported_media_type', 'send the body as application/json in UTF-8 (charset=utf-8 or none)')
  }
}
