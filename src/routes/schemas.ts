import { Type, type TSchema } from '@sinclair/typebox'
import { ID_MAX_LENGTH, ID_PATTERN } from '../ids.js'
import { EXACT_COUNT_LIMIT } from '../store/paging.js'

/** AoC's REST error body. */
export const RestErrorBody = Type.Object({
  code: Type.String({ description: '`unauthorized`, `forbidden`, `not_found`, `conflict`, `parameter_missing`, `invalid_parameter`, `payload_too_large`, `unsupported_media_type`, `too_many_requests`, `service_unavailable` or `internal_error`.' }),
  message: Type.String({ description: 'What is wrong, in English.' }),
  param: Type.Optional(Type.String({ description: 'The field at fault, as a dotted path (`redirect_uris.0`), or `body`.' })),
  request_id: Type.String({ description: 'The `X-Request-Id` of the request: the caller\'s, when it sent a usable one, else a UUID. Quote it when reporting a problem.' })
}, { $id: 'RestError', title: 'RestError', examples: [{ code: 'not_found', message: 'user not found', request_id: '0b7d5c1e-3f4a-4c2b-9e61-8d2f0a6b7c13' }] })

/** `page`, `per_page` (clamped to 1..1000) and `q` (substring of name, or e-mail for users). */
export const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ description: 'Page number, from 1; clamped.' })),
  per_page: Type.Optional(Type.Integer({ description: 'Page size, clamped to 1..1000; default 100.' })),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'Case-insensitive substring of the name (and e-mail for users).' }))
})

/** An id: URL-safe characters only, as every id here is (ids.ts). */
export function IdString (description?: string) {
  return Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: ID_PATTERN, ...(description ? { description } : {}) })
}

/** A path id. */
export const IdParams = Type.Object({ id: IdString() })

/** The organization in an OAuth path: its name, a DNS label (docs/aoc-compatibility.md §1). */
export const OrgParams = Type.Object({ org: Type.String({ pattern: '^[a-z0-9-]{1,63}$' }) })

export const PemString = Type.String({ maxLength: 16384, description: 'PEM public key: RSA >= 2048 bits (SPKI or PKCS#1), EC P-256/P-384, or Ed25519.' })

/** A timestamp: a Date in code, an RFC 3339 string on the wire. */
export const Timestamp = Type.Unsafe<Date>({ type: 'string', format: 'date-time' })

/** A 204 answer: what was done, and no body. */
export function Done (description: string) {
  return Type.Null({ description })
}

/** A success answer for the document: `schema` with the response's description and an example of its body. */
export function answer (schema: TSchema, description: string, example: unknown): TSchema {
  return { ...schema, 'x-response-description': description, examples: [example] }
}

/** A success answer that is a shared component: a reference to `body`, described, with an example. */
export function answerRef (body: TSchema, description: string, example: unknown): TSchema {
  return Type.Ref(body, { 'x-response-description': description, examples: [example] })
}

/** A page of a list: an array of `body`, with the X-Total-Count header, described, with an example. */
export function listAnswer (body: TSchema, description: string, example: unknown[], headers: Record<string, unknown> = TotalCountHeader): TSchema {
  return { type: 'array', items: Type.Ref(body), headers, 'x-response-description': description, examples: [example] } as unknown as TSchema
}

/**
 * X-Total-Count: exact up to EXACT_COUNT_LIMIT rows, an estimate past it (src/store/paging.ts
 * countFor): counting a million rows exactly cost 300-500 ms on every page.
 */
export const TotalCountHeader = {
  'X-Total-Count': {
    type: 'integer',
    description: `Rows for this filter over all pages. Exact when at most ${EXACT_COUNT_LIMIT} rows match, and on the last page ` +
      `(the rows before it plus its own). Past ${EXACT_COUNT_LIMIT}, on other pages, it is the database planner's estimate, never ` +
      'less than the rows through this page plus one: a client that pages until it has this many rows or gets an empty page ' +
      '(as ascli does) reads every row, at worst asking for one empty page at the end.'
  }
}
