// Error answers that help (issue 13, item 5): every documented error status that a request can
// provoke without a particular state is provoked for every operation of openapi.yaml, and its body
// must have the documented shape and say what to fix. Then the 422 rules, and the OAuth descriptions
// a caller can act on, one table each.
import { generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'
import type { InjectOptions } from 'fastify'
import t from 'tap'
import { parse } from 'yaml'
import { SUBJECT_REFUSED } from '../../src/oauth/policy.js'
import { buildTestApp, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion } from '../helpers/assertions.js'
import { basic, FORM } from '../helpers/oauth.js'
import { ROOT } from '../helpers/process.js'

const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default
type Schema = Record<string, any>

const doc = parse(await fs.readFile(path.join(ROOT, 'openapi.yaml'), 'utf8')) as Schema
const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app } = ta
const org = await newOrg(ta)
const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })
// A token whose only scope is a node's: every REST route refuses it with a 403.
const nodeOnlyToken = await org.tokenFor(user, 'node.walker:user:all')

// The documented bodies, checked with the document's own schemas.
const ajv = new Ajv({ strict: false, allErrors: true })
addFormats(ajv)
ajv.addSchema({ $id: 'openapi.yaml', components: doc.components })
const withDocRefs = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.yaml#/components/'))

/** A value that satisfies `schema`, for the bodies and queries that must pass validation to reach the check under test. */
function sample (schema: Schema | undefined): unknown {
  if (!schema) return undefined
  if (schema.$ref) return sample(doc.components.schemas[String(schema.$ref).split('/').pop()!])
  if (schema.anyOf) return sample(schema.anyOf[0])
  if (schema.enum) return schema.enum[0]
  if (schema.const !== undefined) return schema.const
  switch (schema.type) {
    case 'object': return Object.fromEntries((schema.required ?? []).map((k: string) => [k, sample(schema.properties?.[k])]))
    case 'array': return []
    case 'boolean': return false
    case 'integer':
    case 'number': return schema.minimum ?? 1
    case 'string':
      if (schema.format === 'email') return 'walker@example.com'
      if (schema.format === 'date-time') return new Date().toISOString()
      return 'sample' + 'x'.repeat(Math.max(0, (schema.minLength ?? 0) - 6))
  }
  return undefined
}

interface Operation { method: string, route: string, op: Schema }
const operations: Operation[] = Object.entries(doc.paths as Record<string, Schema>).flatMap(([route, item]) =>
  Object.entries(item).filter(([m]) => ['get', 'put', 'post', 'delete', 'patch'].includes(m)).map(([method, op]) => ({ method: method.toUpperCase(), route, op })))

const jsonBodySchema = (o: Operation): Schema | undefined => o.op.requestBody?.content?.['application/json']?.schema
const isForm = (o: Operation) => o.op.requestBody?.content?.['application/x-www-form-urlencoded'] !== undefined
const isBearer = (o: Operation) => (o.op.security ?? []).some((s: Schema) => 'bearer' in s)
/**
 * A REST route on a method that carries a body, whether or not its handler reads one (POST
 * /clients/{id}/secret does not): a body that is not JSON is refused by the REST API's onRequest hook
 * (routes/api.ts, 415), and one over BODY_LIMIT by fastify (413), before any handler runs.
 */
const takesRestBody = (o: Operation) => isBearer(o) && ['POST', 'PUT', 'PATCH'].includes(o.method)
const queryParams = (o: Operation): Schema[] => (o.op.parameters ?? []).filter((p: Schema) => p.in === 'query')

/** Query parameters some operations need before they reach the check under test (the explain route needs a user). */
const NEEDED_QUERY: Record<string, Record<string, string>> = {
  explainClientAccess: { user_id: user.id }
}

/** The URL of an operation: path parameters from `ids` (by default ids that name nothing), the needed query. */
function urlOf (o: Operation, ids: Record<string, string> = {}, query: Record<string, string> = NEEDED_QUERY[o.op.operationId] ?? {}): string {
  const values: Record<string, string> = { org: org.orgName, organization_id: org.orgId, id: 'nosuchid0000', ...ids }
  const pathPart = o.route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? 'nosuchid0000'))
  const qs = new URLSearchParams(query).toString()
  return qs ? `${pathPart}?${qs}` : pathPart
}

/** A request that passes validation, as the caller `token` (none: no Authorization header). */
function validRequest (o: Operation, token?: string, ids?: Record<string, string>): InjectOptions {
  const body = sample(jsonBodySchema(o))
  return {
    method: o.method as InjectOptions['method'],
    url: urlOf(o, ids),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body !== undefined ? { payload: body as Record<string, unknown> } : {})
  }
}

/** How a 422 is provoked: the request, the field it must name, and the rule its message must state. */
interface Provoked { request: InjectOptions, param?: string, message: RegExp }

/** The first field-level fault that can be made for an operation: a missing or unknown body field, a mistyped or too long query parameter, a malformed id. */
function invalidRequest (o: Operation): Provoked | undefined {
  const auth = { authorization: `Bearer ${org.adminToken}` }
  const body = jsonBodySchema(o)
  if (body?.required?.length) {
    const param = body.required[0] as string
    return { request: { method: o.method as InjectOptions['method'], url: urlOf(o), headers: auth, payload: {} }, param, message: new RegExp(`^${param} is required$`) }
  }
  if (body) {
    return { request: { method: o.method as InjectOptions['method'], url: urlOf(o), headers: auth, payload: { no_such_field: true } }, param: 'no_such_field', message: /^no_such_field is not a known field; the fields are [a-z_, ]+$/ }
  }
  const base = NEEDED_QUERY[o.op.operationId] ?? {}
  const integer = queryParams(o).find((p) => p.schema?.type === 'integer')
  if (integer) {
    return { request: { method: o.method as InjectOptions['method'], url: urlOf(o, {}, { ...base, [integer.name]: 'many' }), headers: auth }, param: integer.name, message: new RegExp(`^${integer.name} must be an integer$`) }
  }
  const bounded = queryParams(o).find((p) => typeof p.schema?.maxLength === 'number')
  if (bounded) {
    const max = bounded.schema.maxLength as number
    return {
      request: { method: o.method as InjectOptions['method'], url: urlOf(o, {}, { ...base, [bounded.name]: 'x'.repeat(max + 1) }), headers: auth },
      param: bounded.name,
      message: new RegExp(`^${bounded.name} must be (1 to|at most) ${max} characters long$`)
    }
  }
  if (/\{id\}/.test(o.route)) {
    return { request: { method: o.method as InjectOptions['method'], url: urlOf(o, { id: 'not an id!' }), headers: auth }, param: 'id', message: /^id must hold letters, digits, '_' and '-' only/ }
  }
  // The metadata and the org's JWKS: an organization name off its pattern (OrgParams).
  if (/\{org\}/.test(o.route)) {
    return { request: { method: o.method as InjectOptions['method'], url: urlOf(o, { org: 'Not An Org!' }) }, param: 'org', message: /^org must be 1 to 63 lowercase letters, digits and '-' \(pattern / }
  }
  // A REST route without parameters (GET /self…) still reads the query string: a NUL in any of it is
  // refused before validation (plugins/validation.ts refuseUnstorableText), the database could not store it.
  if (isBearer(o)) {
    return { request: { method: o.method as InjectOptions['method'], url: urlOf(o, {}, { note: '\u0000' }), headers: auth }, param: 'note', message: /^note must not contain the NUL character \(U\+0000\)$/ }
  }
  return undefined
}

/** Form endpoints' faults: a client nobody registered (401), a JSON body (400). */
const unknownClientForm = (o: Operation) => o.route.endsWith('/token')
  ? 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&client_id=nosuchclient0'
  : 'token=sometoken&client_id=nosuchclient0'

/**
 * For each status, how to provoke it for an operation (undefined: this table has no way for that
 * operation), and what the answer must say. REST bodies are `{code, message, param?, request_id}`;
 * OAuth bodies `{error, error_description}`.
 */
const PROVOKE: Record<string, (o: Operation) => Provoked | undefined> = {
  400: (o) => isForm(o)
    ? { request: { method: 'POST', url: urlOf(o), headers: { 'content-type': 'application/json' }, payload: '{}' }, message: /application\/x-www-form-urlencoded/ }
    : undefined,
  401: (o) => {
    if (isBearer(o)) return { request: validRequest(o), message: /^a valid Bearer access token is required: send Authorization: Bearer/ }
    if (isForm(o)) return { request: { method: 'POST', url: urlOf(o), headers: FORM, payload: unknownClientForm(o) }, message: /^invalid client id or secret$/ }
    return undefined
  },
  403: (o) => isBearer(o) ? { request: validRequest(o, nodeOnlyToken), message: /token|administrator/ } : undefined,
  404: (o) => {
    // The metadata and the org's JWKS: no organization has the name.
    if (/\{org\}/.test(o.route) && !isBearer(o) && !isForm(o)) return { request: validRequest(o, undefined, { org: 'nosuchorg0000' }), message: /^organization not found$/ }
    if (!/\{(id|organization_id)\}/.test(o.route) || !isBearer(o)) return undefined
    return { request: validRequest(o, org.adminToken, { organization_id: 'nosuchorg0000' }), message: /^[a-z ]+ not found$/ }
  },
  413: (o) => o.op.requestBody || takesRestBody(o)
    ? { request: { method: o.method as InjectOptions['method'], url: urlOf(o), headers: { 'content-type': isForm(o) ? FORM['content-type'] : 'application/json', authorization: `Bearer ${org.adminToken}` }, payload: `"${'x'.repeat(100_000)}"` }, message: /too large: at most \d+ bytes/ }
    : undefined,
  415: (o) => jsonBodySchema(o) || takesRestBody(o)
    ? { request: { method: o.method as InjectOptions['method'], url: urlOf(o), headers: { 'content-type': 'text/plain', authorization: `Bearer ${org.adminToken}` }, payload: 'name=x' }, message: /application\/json/ }
    : undefined,
  422: invalidRequest
}

t.test('every documented error status that a request can provoke answers the documented body, saying what to fix', async (t) => {
  let walked = 0
  for (const o of operations) {
    for (const [status, given] of Object.entries(o.op.responses as Record<string, Schema>)) {
      // A shared answer is a $ref to components/responses.
      const response = given.$ref ? doc.components.responses[String(given.$ref).split('/').pop()!] as Schema : given
      const provoke = PROVOKE[status]
      if (!provoke) continue // 409, 429, 503: they need a particular state, and their own tests provoke them
      const where = `${o.method} ${o.route} ${status}`
      const schema = response.content?.['application/json']?.schema
      if (!schema) continue // an HTML page (the browser routes)
      const provoked = provoke(o)
      if (!provoked) {
        // A status documented but never provoked here is either a gap of this table or a status the route cannot answer (then the document is wrong).
        t.fail(`${where}: documented, but this table has no way to provoke it`)
        continue
      }
      const res = await app.inject(provoked.request)
      t.equal(res.statusCode, Number(status), `${where}: ${res.body.slice(0, 200)}`)
      if (!t.match(res.headers['content-type'], /^application\/json/, `${where}: JSON`)) continue
      const body = res.json()
      const validate = ajv.compile(withDocRefs(schema) as object)
      t.ok(validate(body), `${where}: the documented shape ${JSON.stringify(validate.errors ?? [])}`)
      const text = body.message ?? body.error_description
      t.match(text, provoked.message, `${where}: says what to fix`)
      if (provoked.param !== undefined) t.equal(body.param, provoked.param, `${where}: names the field`)
      if (body.code !== undefined) t.match(body.code, /^[a-z_]+$/, `${where}: a code`)
      walked++
    }
  }
  t.ok(walked >= 100, `${walked} answers walked`)
})

/** A request on a REST route that must answer 422 naming `param`, its message equal to `message`. */
type RuleCase = readonly [label: string, method: InjectOptions['method'], url: string, body: unknown, param: string, message: string | RegExp]

const RULES: readonly RuleCase[] = [
  ['a union of literals lists every allowed value', 'POST', '/api/v1/client_authorizations', { client_id: org.clientId, entity_type: 'robot', entity_id: user.id }, 'entity_type', 'entity_type must be one of "user", "group"'],
  ['the three auth methods', 'POST', '/api/v1/clients', { name: 'a', token_endpoint_auth_method: 'private_key_jwt' }, 'token_endpoint_auth_method',
    'token_endpoint_auth_method must be one of "client_secret_basic", "client_secret_post", "none"'],
  ['a length gives both bounds', 'POST', '/api/v1/clients', { name: 'x'.repeat(257) }, 'name', 'name must be 1 to 256 characters long'],
  ['a known pattern in words, and the pattern', 'POST', '/api/v1/clients', { name: '   ' }, 'name', 'name must not be blank (pattern \\S)'],
  ['a format', 'POST', '/api/v1/users', { email: 'not an address' }, 'email', 'email must be a valid e-mail address'],
  ['a union of types', 'POST', '/api/v1/users', { email: 'u@example.com', public_key: 5 }, 'public_key', 'public_key must be a string or null'],
  ['a boolean is true or false, not a string', 'POST', '/api/v1/clients', { name: 'a', jwt_grant_enabled: 'true' }, 'jwt_grant_enabled', 'jwt_grant_enabled must be true or false'],
  ['an array', 'POST', '/api/v1/clients', { name: 'a', redirect_uris: 'https://app.example.com/cb' }, 'redirect_uris', 'redirect_uris must be an array'],
  ['an item count', 'POST', '/api/v1/clients', { name: 'a', origins: Array.from({ length: 101 }, (_, i) => `https://a${i}.example.com`) }, 'origins', 'origins must be at most 100 items'],
  ['an item names its index', 'POST', '/api/v1/clients', { name: 'a', redirect_uris: [5] }, 'redirect_uris.0', 'redirect_uris.0 must be a string'],
  ['an unknown field lists the known ones', 'POST', '/api/v1/groups', { name: 'g', colour: 'red' }, 'colour', /^colour is not a known field; the fields are name/],
  ['a body that is not an object', 'POST', '/api/v1/clients', ['name'], 'body', 'the body must be a JSON object'],
  ['a query range gives both bounds', 'GET', `/analytics/v2/organizations/${org.orgId}/application_events?limit=0`, undefined, 'limit', 'limit must be from 1 to 1000'],
  ['a date-time with an example', 'GET', `/analytics/v2/organizations/${org.orgId}/application_events?start_time=yesterday`, undefined, 'start_time',
    'start_time must be an RFC 3339 date-time, such as 2026-01-31T12:00:00Z'],
  ['an id pattern in words', 'GET', '/api/v1/client_authorizations?client_id=a.b', undefined, 'client_id',
    "client_id must hold letters, digits, '_' and '-' only (pattern ^[A-Za-z0-9_-]+$)"],
  ['the explain route needs a user', 'GET', `/api/v1/clients/${org.clientId}/access`, undefined, 'user_id', 'user_id or email is required: give one of them']
]

t.test('a 422 names the field, the rule and its bounds', async (t) => {
  for (const [label, method, url, body, param, message] of RULES) {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${org.adminToken}` }, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) })
    t.equal(res.statusCode, 422, `${label}: ${res.body.slice(0, 200)}`)
    t.equal(res.json().param, param, `${label}: param`)
    if (typeof message === 'string') t.equal(res.json().message, message, label)
    else t.match(res.json().message, message, label)
  }
})

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const tokenUrl = `/api/v1/oauth2/${org.orgName}/token`
const now = () => Math.floor(Date.now() / 1000)
const jwtForm = async (claims: Record<string, unknown> = {}, extra: Record<string, string> = {}, sub = user.email) =>
  new URLSearchParams({ grant_type: JWT_BEARER, client_id: org.clientId, assertion: await ascliAssertion(userKey.privateKey, org.clientId, sub, org.orgName, claims), ...extra }).toString()

/** A token request, the `error` it must answer and what its description must say. */
type OAuthCase = readonly [label: string, request: () => Promise<InjectOptions>, error: string, description: string | RegExp]

const form = (payload: string, headers: Record<string, string> = {}) => async (): Promise<InjectOptions> =>
  ({ method: 'POST', url: tokenUrl, headers: { ...FORM, ...headers }, payload })
const jwt = (claims: Record<string, unknown>, extra: Record<string, string> = {}, sub?: string) => async (): Promise<InjectOptions> =>
  ({ method: 'POST', url: tokenUrl, headers: FORM, payload: await jwtForm(claims, extra, sub) })

const OAUTH: readonly OAuthCase[] = [
  ['a JSON body', async () => ({ method: 'POST', url: tokenUrl, headers: { 'content-type': 'application/json' }, payload: '{}' }), 'invalid_request', /^send the parameters as application\/x-www-form-urlencoded/],
  ['AoC\'s own words for a missing grant_type', form(`client_id=${org.clientId}`), 'invalid_request', "missing 'grant_type'"],
  ['an unknown grant lists the supported ones', form(`grant_type=password&client_id=${org.clientId}`), 'unsupported_grant_type',
    `grant_type 'password' is not supported: use one of ${JWT_BEARER}, authorization_code, refresh_token`],
  ['a repeated parameter', form(`grant_type=${JWT_BEARER}&scope=a&scope=b&client_id=${org.clientId}`), 'invalid_request', /^parameter 'scope' is repeated: send each parameter once/],
  ['a missing assertion', form(`grant_type=${encodeURIComponent(JWT_BEARER)}&client_id=${org.clientId}`), 'invalid_request', "missing 'assertion': send the signed JWT (RFC 7523 §2.1)"],
  ['an expired assertion gives the skew', jwt({ exp: now() - 3600, nbf: now() - 7200, iat: now() - 7200 }), 'invalid_grant', /^the assertion has expired \('exp' is more than 60 s in the past\)/],
  ['an exp too far ahead gives the lifetime', jwt({ exp: now() + 7200 }), 'invalid_grant', "the assertion's 'exp' must be at most 3600 seconds ahead (60 s of clock skew allowed)"],
  ['an nbf in the future gives the skew', jwt({ nbf: now() + 600 }), 'invalid_grant', /^the assertion is not valid yet \('nbf' is more than 60 s in the future\): check the signer's clock$/],
  ['a foreign aud lists the accepted ones', jwt({ aud: 'https://elsewhere.example.com/token' }), 'invalid_grant', new RegExp(`^the assertion's 'aud' is not an accepted audience: use one of .*/api/v1/oauth2/${org.orgName}/token`)],
  ['an unknown scope lists the scopes', jwt({}, { scope: 'everything' }), 'invalid_scope', /^unknown scope 'everything': the scopes are user:all, self, admin:all/],
  ['an admin scope for a user says what to ask for', jwt({}, { scope: 'admin:all' }), 'invalid_scope', "scope 'admin:all' is for organization administrators only: ask for user:all"],
  ['a malformed Basic header says the form', form(`grant_type=${JWT_BEARER}`, { authorization: 'Basic !!!' }), 'invalid_client', /^the Authorization header must be Basic base64\(client_id:client_secret\)/],
  ['a wrong secret stays AoC\'s words', form(`grant_type=${JWT_BEARER}`, basic(org.clientId, 'wrong')), 'invalid_client', 'invalid client id or secret'],
  // The one deliberate exception: a refused subject is not told which rule refused it (docs/security.md).
  ['an unknown subject stays vague, pointing to the explain route', jwt({}, {}, 'nobody@example.com'), 'invalid_grant', SUBJECT_REFUSED]
]

t.test('an OAuth error_description that a caller can act on says how', async (t) => {
  t.match(SUBJECT_REFUSED, /^the assertion's subject is unknown, not allowed for this client, or not signed with an accepted key /, 'the refused subject keeps its vague words')
  t.match(SUBJECT_REFUSED, /GET \/api\/v1\/clients\/\{id\}\/access.*check your public key in your user profile$/, 'it points admins to the explain route and ends with ascli\'s hint')
  for (const [label, request, error, description] of OAUTH) {
    const res = await app.inject(await request())
    t.equal(res.json().error, error, `${label}: ${res.body.slice(0, 300)}`)
    if (typeof description === 'string') t.equal(res.json().error_description, description, label)
    else t.match(res.json().error_description, description, label)
  }
  // The client with the grant turned off: after the others, which need it on.
  await app.ctx.db.updateTable('clients').set({ jwt_grant_enabled: false }).where('id', '=', org.clientId).execute()
  app.ctx.cache.clear()
  const res = await app.inject(await jwt({})())
  t.match(res.json(), { error: 'unauthorized_client', error_description: 'this client may not use the JWT bearer grant: an administrator can set jwt_grant_enabled on it' })
})
