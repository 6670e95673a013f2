// Checks one HTTP response against the committed OpenAPI document: its status is
// one the operation documents (or its `default`), each header the response declares is there and
// of its schema, and the body is of the schema for its status and media type. The document is
// OpenAPI 3.1.0, whose schemas are JSON Schema 2020-12 (OpenAPI 3.1.0 §4.8.24), so ajv's 2020
// dialect compiles them: the whole document is added once, and each response schema is compiled,
// when first needed, as a `$ref` into it, so that `#/components/schemas/…` references resolve.
// No fastify here: openapi-hook.ts feeds it what the test apps send.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsImport from 'ajv-formats'
import { parse } from 'yaml'

const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default

/** The committed document, at the repository root. */
export const OPENAPI_YAML = path.resolve(import.meta.dirname, '..', '..', 'openapi.yaml')

/** Where report mode (openapi-hook.ts) writes, one mismatch a line; scripts/test.mjs empties it at the start of a run. */
export const MISMATCH_FILE = path.resolve(import.meta.dirname, '..', '..', '.tap', 'openapi-mismatches.jsonl')

/** A response as an app sent it, with nothing of fastify in it (the check's unit test makes them up). */
export interface SeenResponse {
  method: string
  /** The route pattern that answered (fastify's `routeOptions.url`, `/api/v1/users/:id`); undefined when no route matched. */
  route: string | undefined
  /** The path that was asked for, without its query (for messages only). */
  path: string
  status: number
  /** Header names in lower case, as `reply.getHeaders()` gives them. */
  headers: Record<string, unknown>
  /** The body as sent; undefined or empty when there is none. */
  body: string | Buffer | undefined
  /** fastify's not-found handler answered (`request.is404`). */
  notFound?: boolean
  /** The route was added by the test itself, after the app was built (openapi-hook.ts tells). */
  testRoute?: boolean
}

/** What is wrong: an operation or a status the document does not have, a media type it does not list, a body or a header off its schema. */
export type MismatchKind = 'undocumented_operation' | 'undocumented_status' | 'media_type' | 'body' | 'header'

export interface Mismatch {
  kind: MismatchKind
  method: string
  /** The OpenAPI path template (`/api/v1/users/{id}`), or the route pattern when the document has no such path. */
  operation: string
  status: number
  /** What differs: ajv's messages, which name the place and the rule, never the value. */
  detail: string
}

/** The outcome of a check: exempted (with the reason), or the mismatches found (none: the response conforms). */
export type CheckResult = { exempt: string } | { exempt?: undefined, mismatches: Mismatch[] }

/** A kind of response the document leaves out on purpose, and why. */
export interface Exemption {
  reason: string
  applies: (r: SeenResponse) => boolean
}

const mediaTypeOf = (r: SeenResponse): string => String(r.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
const BROWSER_PAGES = /\/api\/v1\/oauth2\/:org\/(login|logout|authorize)$/

/**
 * Every response the check leaves alone, in one place. Anything else a test app sends is checked;
 * a route the document does not have is a mismatch unless it is listed here. (`GET /metrics` is
 * served by a plain Node listener of its own, src/plugins/metrics-listener.ts: no fastify hook
 * ever sees it, so it needs no entry.)
 */
export const EXEMPTIONS: readonly Exemption[] = [
  {
    reason: 'no route matched: an unknown path or method gets the one error model (404; under the OAuth base 404, or 405 with Allow, RFC 9110 §15.5.6), which is no operation of the document',
    applies: (r) => r.route === undefined || r.notFound === true
  },
  {
    reason: 'a route the test added to the app itself (to provoke an error through it): not the product\'s',
    applies: (r) => r.testRoute === true
  },
  {
    reason: 'AoC org discovery (docs/aoc-compatibility.md §1): any GET on an org host redirects to its login page, whatever the path',
    applies: (r) => r.status === 302 && /\/login\?from=/.test(String(r.headers.location ?? ''))
  },
  {
    reason: 'the served document and its Swagger UI (HTML, scripts, styles): the document does not describe itself',
    applies: (r) => r.route === '/openapi.json' || r.route === '/docs' || r.route?.startsWith('/docs/') === true
  },
  {
    reason: 'CORS preflights (docs/aoc-compatibility.md §7): @fastify/cors answers OPTIONS on any path; no operation of the API',
    applies: (r) => r.method === 'OPTIONS' && r.route === '*'
  },
  {
    reason: 'the browser flow\'s HTML pages (sign-in, consent, error pages): made for people, not integrators; the document names the routes only',
    applies: (r) => BROWSER_PAGES.test(r.route ?? '') && mediaTypeOf(r) === 'text/html'
  },
  {
    reason: 'the browser flow\'s redirects (RFC 6749 §4.1.2: to the client with a code or an error; 303 after a form post): the Location is the answer, there is no body',
    applies: (r) => BROWSER_PAGES.test(r.route ?? '') && [302, 303].includes(r.status)
  }
]

/** The OpenAPI path template of a fastify route pattern: `:id` becomes `{id}`, a trailing slash goes. */
export function pathTemplate (route: string): string {
  const trimmed = route.length > 1 ? route.replace(/\/+$/, '') : route
  return trimmed.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

/** A fastify route pattern of an OpenAPI path template: `{id}` becomes `:id` (pathTemplate's inverse). */
export function routePattern (template: string): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1')
}

/**
 * The path template of `paths` that a router would choose for a concrete path, as a fastify route
 * pattern (`/api/v1/users/:id`), or undefined when none fits. For a response seen on the wire, where
 * the route that answered is not known: a template's literal segment must equal the path's, a
 * `{param}` takes one non-empty segment; where several fit, the one whose first differing segment is
 * literal wins, as fastify's router prefers a static segment to a parameter; and one that has
 * `method` (HEAD: or GET) before one that has not, since fastify keeps a tree per method.
 */
export function matchRoute (paths: Record<string, Record<string, unknown>>, method: string, concretePath: string): string | undefined {
  // The app ignores a trailing slash (routerOptions.ignoreTrailingSlash).
  const trimmed = concretePath.length > 1 ? concretePath.replace(/\/+$/, '') : concretePath
  const segments = trimmed.split('/')
  const m = method.toLowerCase()
  let best: { template: string, score: string } | undefined
  for (const [template, item] of Object.entries(paths)) {
    const parts = template.split('/')
    if (parts.length !== segments.length) continue
    // One character a segment, '1' literal and '0' parameter: comparing the strings compares from the left.
    let score = ''
    const fits = parts.every((part, i) => {
      const param = /^\{[A-Za-z0-9_]+\}$/.test(part)
      score += param ? '0' : '1'
      return param ? segments[i] !== '' : part === segments[i]
    })
    if (!fits) continue
    const hasMethod = item[m] !== undefined || (m === 'head' && item.get !== undefined)
    const ranked = (hasMethod ? '1' : '0') + score
    if (!best || ranked > best.score) best = { template, score: ranked }
  }
  return best && routePattern(best.template)
}

/** A JSON pointer as a URI fragment (RFC 6901 §3, §6). */
const pointer = (parts: readonly string[]): string =>
  parts.map((p) => '/' + encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('')

/** The pointer parts of a local `$ref` (`#/components/schemas/User`). */
const refParts = (ref: string): string[] =>
  ref.slice(2).split('/').map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'))

type Json = Record<string, any>

// An absolute URI that names the document for ajv (RFC 6761 §6.4: .invalid never resolves); nothing is fetched.
const DOC_ID = 'https://openapi.invalid/openapi.json'
const MAX_ERRORS = 3

/** ajv's errors as one line: the place in the body and the rule broken; never the value (it could be a credential). */
function describeErrors (errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).slice(0, MAX_ERRORS)
    .map((e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`)
    .join('; ') + ((errors?.length ?? 0) > MAX_ERRORS ? `; … ${errors!.length - MAX_ERRORS} more` : '')
}

/** A header's value as its schema types it: headers are text (OpenAPI 3.1.0 §4.8.21, style `simple`). */
function headerValue (raw: string, schema: Json | undefined): unknown {
  const type = schema?.type
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw.trim())) return Number(raw)
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true'
  return raw
}

/** The response object for a status: the code itself, then its range (`4XX`), then `default` (OpenAPI 3.1.0 §4.8.16). */
function responseKey (responses: Json, status: number): string | undefined {
  const range = `${Math.floor(status / 100)}XX`
  return [String(status), range, range.toLowerCase(), 'default'].find((k) => responses[k] !== undefined)
}

/** Checks responses against one OpenAPI 3.1 document; each schema is compiled once, when first used. */
export class ResponseChecker {
  private readonly ajv: Ajv2020
  private readonly validators = new Map<string, ValidateFunction>()

  constructor (private readonly doc: Json, private readonly exemptions: readonly Exemption[] = EXEMPTIONS) {
    // strict off: the document's schemas carry OpenAPI's own keywords (`example`, …), which JSON Schema ignores.
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false })
    addFormats(this.ajv)
    this.ajv.addSchema(doc, DOC_ID)
  }

  private validator (parts: readonly string[]): ValidateFunction {
    const ref = DOC_ID + '#' + pointer(parts)
    let v = this.validators.get(ref)
    if (!v) {
      v = this.ajv.compile({ $ref: ref })
      this.validators.set(ref, v)
    }
    return v
  }

  /**
   * Where an object of the document is, following a local `$ref` (a response or a header may be one,
   * OpenAPI 3.1.0 §4.8.23): its place as pointer parts, and the object.
   */
  private locate (parts: readonly string[]): { parts: readonly string[], node: Json | undefined } {
    const node = parts.reduce<Json | undefined>((at, p) => at?.[p], this.doc)
    const ref = node?.$ref
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return { parts, node }
    return this.locate(refParts(ref))
  }

  /** The schema a `$ref` points at, or the schema itself. */
  private deref (schema: Json | undefined): Json | undefined {
    const ref = schema?.$ref
    return typeof ref === 'string' && ref.startsWith('#/') ? this.locate(refParts(ref)).node : schema
  }

  /** Compiles every response schema and header schema of the document (the check's unit test: ajv takes all of it). */
  compileAll (): number {
    let n = 0
    for (const [p, item] of Object.entries(this.doc.paths ?? {} as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        for (const status of Object.keys((op as Json).responses ?? {})) {
          const { parts: at, node: r = {} } = this.locate(['paths', p, method, 'responses', status])
          for (const [mt, media] of Object.entries(r.content ?? {} as Json)) {
            if ((media as Json).schema) { this.validator([...at, 'content', mt, 'schema']); n++ }
          }
          for (const name of Object.keys(r.headers ?? {})) { this.validator([...this.locate([...at, 'headers', name]).parts, 'schema']); n++ }
        }
      }
    }
    return n
  }

  /** The operation's route pattern for a path seen on the wire (matchRoute over this document). */
  routeOf (method: string, concretePath: string): string | undefined {
    return matchRoute(this.doc.paths ?? {}, method, concretePath)
  }

  check (r: SeenResponse): CheckResult {
    const exemption = this.exemptions.find((e) => e.applies(r))
    if (exemption) return { exempt: exemption.reason }
    const template = pathTemplate(r.route!)
    const method = r.method.toLowerCase()
    const item = this.doc.paths?.[template] as Json | undefined
    // HEAD is answered by the GET route (fastify's exposeHeadRoutes) unless the document has its own.
    const opMethod = method === 'head' && !item?.head ? 'get' : method
    const op = item?.[opMethod] as Json | undefined
    const found: Mismatch[] = []
    const mismatch = (kind: MismatchKind, detail: string): CheckResult => {
      found.push({ kind, method: r.method, operation: template, status: r.status, detail })
      return { mismatches: found }
    }
    if (!op) return mismatch('undocumented_operation', `the document has no ${opMethod.toUpperCase()} ${template}`)
    const key = responseKey(op.responses ?? {}, r.status)
    if (key === undefined) {
      return mismatch('undocumented_status', `documented: ${Object.keys(op.responses ?? {}).join(', ') || 'none'}`)
    }
    const { parts: at, node: response = {} } = this.locate(['paths', template, opMethod, 'responses', key])

    for (const name of Object.keys(response.headers ?? {})) {
      // OpenAPI 3.1.0 §4.8.17.1: a Content-Type header definition is ignored.
      if (name.toLowerCase() === 'content-type') continue
      const { parts: headerAt, node: header = {} } = this.locate([...at, 'headers', name])
      const sent = r.headers[name.toLowerCase()]
      if (sent === undefined) {
        // The document says of each header whether it is always sent (src/plugins/swagger.ts markHeaderPresence).
        if (header.required === true) mismatch('header', `${name} is declared but was not sent`)
        continue
      }
      const v = this.validator([...headerAt, 'schema'])
      const raw = Array.isArray(sent) ? sent.join(', ') : String(sent)
      if (!v(headerValue(raw, this.deref(header.schema)))) mismatch('header', `${name}: ${describeErrors(v.errors)}`)
    }

    const body = r.body === undefined ? '' : r.body.toString()
    // A HEAD answer has the GET's headers and no body (RFC 9110 §9.3.2).
    if (method === 'head') return { mismatches: found }
    const content = response.content as Json | undefined
    const mediaTypes = Object.keys(content ?? {})
    if (mediaTypes.length === 0) {
      if (body.length > 0) mismatch('body', `the document gives this status no body, but a ${mediaTypeOf(r) || 'body without content-type'} was sent`)
      return { mismatches: found }
    }
    if (body.length === 0) return mismatch('body', `no body was sent; the document gives ${mediaTypes.join(', ')}`)
    const sentType = mediaTypeOf(r)
    const mt = mediaTypes.find((m) => m.toLowerCase() === sentType) ??
      mediaTypes.find((m) => m.toLowerCase() === sentType.split('/')[0] + '/*') ?? mediaTypes.find((m) => m === '*/*')
    if (mt === undefined) return mismatch('media_type', `sent ${sentType || 'no content-type'}; the document gives ${mediaTypes.join(', ')}`)
    if (!content![mt]?.schema) return { mismatches: found }
    let data: unknown = body
    if (/^application\/(.+\+)?json$/.test(sentType)) {
      try {
        data = JSON.parse(body)
      } catch {
        return mismatch('body', `the body is not JSON, though sent as ${sentType}`)
      }
    }
    const v = this.validator([...at, 'content', mt, 'schema'])
    if (!v(data)) mismatch('body', describeErrors(v.errors))
    return { mismatches: found }
  }
}

/**
 * openapi.yaml as an object. Parsing its YAML takes about half a second, in every test process; so the
 * first process keeps a JSON copy in .tap/, named by the YAML's hash, which the others read in a few
 * milliseconds (written under another name, then renamed: processes run side by side).
 */
function readDocument (): Json {
  const text = fs.readFileSync(OPENAPI_YAML, 'utf8')
  const dir = path.dirname(MISMATCH_FILE)
  const copy = path.join(dir, `openapi-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`)
  try {
    return JSON.parse(fs.readFileSync(copy, 'utf8')) as Json
  } catch {}
  const doc = parse(text) as Json
  try {
    fs.mkdirSync(dir, { recursive: true })
    for (const f of fs.readdirSync(dir)) if (/^openapi-[0-9a-f]{16}\.json$/.test(f)) fs.rmSync(path.join(dir, f), { force: true })
    const partial = `${copy}.${process.pid}`
    fs.writeFileSync(partial, JSON.stringify(doc))
    fs.renameSync(partial, copy)
  } catch {} // no copy: the next process parses the YAML too
  return doc
}

let shared: ResponseChecker | undefined

/** The checker of the committed openapi.yaml, made once per test process. */
export function documentChecker (): ResponseChecker {
  shared ??= new ResponseChecker(readDocument())
  return shared
}

/** One line for a mismatch: what a failing test prints. */
export function describeMismatch (m: Mismatch, path?: string): string {
  return `${m.method} ${path ?? m.operation} (${m.operation}) answered ${m.status}, off openapi.yaml: ${m.kind}: ${m.detail}`
}
