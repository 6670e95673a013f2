import fs from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { parse } from 'yaml'
import { buildDocumentApp, documentYaml, OPENAPI_YAML } from '../scripts/openapi-document.js'
import { testDb } from './helpers/db.js'

// The document does not depend on the database, so this file's test database (fast to load) stands in
// for the in-memory one `npm run openapi` uses; everything else is built the same way.
const handle = await testDb()
const { app, close } = await buildDocumentApp(handle)
t.teardown(async () => {
  await close()
  await handle.close()
})
const generated = JSON.parse(JSON.stringify(app.swagger())) as Record<string, any>
const committed = await fs.readFile(OPENAPI_YAML, 'utf8').catch(() => '')

t.test('the committed openapi.yaml is the generated document', async (t) => {
  if (!committed) t.fail('openapi.yaml is missing: run npm run openapi')
  t.equal(documentYaml(generated), committed, 'openapi.yaml is out of date: run npm run openapi')
})

t.test('openapi.yaml is a valid OpenAPI 3.1.0 document', async (t) => {
  const doc = parse(committed) as Record<string, any>
  t.equal(doc.openapi, '3.1.0')
  t.same(doc.servers, [{ url: '/' }], 'no PUBLIC_URL or host in the committed document')
  // validate() dereferences in place, so it gets a copy.
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as any), 'swagger-parser accepts it')
})

t.test('every $ref points at a component that exists', async (t) => {
  const refs = new Set<string>()
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') refs.add(x)
        else walk(x)
      }
    }
  }
  walk(generated.paths)
  walk(generated.components.responses)
  t.ok(refs.size > 0, 'the routes share schemas by reference')
  t.ok([...refs].some((r) => r.startsWith('#/components/responses/')), 'and responses')
  for (const ref of refs) {
    t.match(ref, /^#\/components\/(schemas|responses)\/[A-Za-z0-9._-]+$/, `${ref} is a local component reference`)
    const [, , kind, name] = ref.split('/')
    t.ok(generated.components[kind!][name!], `${ref} is defined`)
  }
})

/** Every operation of the document, with where it is. */
function operations (doc: Record<string, any>): Array<{ where: string, path: string, method: string, op: Record<string, any> }> {
  const out = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (['get', 'put', 'post', 'delete', 'patch'].includes(method)) out.push({ where: `${method.toUpperCase()} ${path}`, path, method, op })
    }
  }
  return out
}

/** A response as it is, through its `$ref` to components/responses. */
function resolveResponse (doc: Record<string, any>, response: Record<string, any>): Record<string, any> {
  const ref = response.$ref as string | undefined
  return ref ? doc.components.responses[ref.split('/').pop()!] : response
}

t.test('the REST API declares Bearer security; 204 answers carry no body; X-Total-Count is an integer header', async (t) => {
  t.same(generated.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from <oauth base>/token' })
  let checked = 0
  for (const { where, path, op } of operations(generated)) {
    if (/^\/api\/v1\/(self|users|groups|group_memberships|nodes|clients|client_authorizations)\b/.test(path) || path.startsWith('/analytics/')) {
      t.same(op.security, [{ bearer: [] }], `${where} needs a Bearer token`)
      for (const status of ['401', '422', '503']) t.ok(op.responses[status], `${where} documents ${status}`)
      checked++
    }
    if (op.responses?.['204']) t.notOk(op.responses['204'].content, `${where} 204 has no content`)
    const total = op.responses?.['200']?.headers?.['X-Total-Count']
    if (total) t.same(total.schema, { type: 'integer' }, `${where} X-Total-Count`)
  }
  t.ok(checked > 0)
  t.ok(generated.paths['/api/v1/users'].get.responses['200'].headers['X-Total-Count'], 'GET /users declares X-Total-Count')
  t.ok(generated.paths['/api/v1/self/consents'].get.responses['200'].headers['X-Total-Count'], 'GET /self/consents declares X-Total-Count')
})

t.test('the OAuth endpoints declare client authentication by HTTP Basic or in the form', async (t) => {
  t.same(generated.components.securitySchemes.clientSecretBasic.type, 'http')
  t.same(generated.components.securitySchemes.clientSecretBasic.scheme, 'basic')
  for (const endpoint of ['token', 'introspect', 'revoke']) {
    const op = generated.paths[`/api/v1/oauth2/{org}/${endpoint}`].post
    t.same(op.security, [{ clientSecretBasic: [] }, {}], `${endpoint}: Basic, or the form's client_id and client_secret`)
    const form = op.requestBody.content['application/x-www-form-urlencoded'].schema
    for (const branch of form.anyOf ?? [form]) t.ok('client_id' in branch.properties && 'client_secret' in branch.properties, `${endpoint}: the form has client_id and client_secret`)
    for (const status of ['400', '401', '413', '429', '503']) t.ok(op.responses[status], `${endpoint} documents ${status}`)
  }
})

t.test('every response has a real description; 429 and 503 declare Retry-After', async (t) => {
  let count = 0
  for (const { where, op } of operations(generated)) {
    for (const [status, raw] of Object.entries(op.responses as Record<string, Record<string, any>>)) {
      const response = resolveResponse(generated, raw)
      t.ok(response, `${where} ${status} resolves`)
      t.ok(typeof response.description === 'string' && response.description.length > 3, `${where} ${status} has a description`)
      t.not(response.description, 'Default Response', `${where} ${status} says more than "Default Response"`)
      if (status === '429' || status === '503') {
        t.same(response.headers?.['Retry-After']?.schema?.type, 'integer', `${where} ${status} declares Retry-After`)
      }
      count++
    }
  }
  t.notOk(committed.includes('Default Response'), 'openapi.yaml never says "Default Response"')
  t.ok(count > 200, `${count} responses`)
})

/** Whether a media type object gives an example: its own, or its schema's (through a $ref to a component). */
function hasExample (doc: Record<string, any>, media: Record<string, any>): boolean {
  if (media.example !== undefined || media.examples !== undefined) return true
  let schema = media.schema ?? {}
  if (typeof schema.$ref === 'string') schema = { ...doc.components.schemas[schema.$ref.split('/').pop()], ...schema }
  return Array.isArray(schema.examples) && schema.examples.length > 0
}

t.test('every request and response body has an example', async (t) => {
  let bodies = 0
  for (const { where, op } of operations(generated)) {
    for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Record<string, any>)) {
      t.ok(hasExample(generated, media), `${where} request ${type}`)
      bodies++
    }
    for (const [status, raw] of Object.entries(op.responses as Record<string, Record<string, any>>)) {
      for (const [type, media] of Object.entries((resolveResponse(generated, raw).content ?? {}) as Record<string, any>)) {
        t.ok(hasExample(generated, media), `${where} ${status} ${type}`)
        bodies++
      }
    }
  }
  t.ok(bodies > 200, `${bodies} bodies`)
})

t.test('every operation has a unique camelCase operationId, a summary, a description, tags and its security (integrators generate clients from them)', async (t) => {
  const seen = new Map<string, string>()
  for (const { where, op } of operations(generated)) {
    t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${where}: operationId`)
    t.notOk(seen.has(op.operationId), `${where}: ${op.operationId} is not also ${seen.get(op.operationId) ?? 'another operation'}'s`)
    seen.set(op.operationId, where)
    t.ok(typeof op.summary === 'string' && op.summary.length > 3, `${where}: summary`)
    t.ok(typeof op.description === 'string' && op.description.length > 10, `${where}: description`)
    t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${where}: tags`)
    for (const tag of op.tags ?? []) t.ok(generated.tags.some((d: { name: string, description?: string }) => d.name === tag && d.description), `${where}: tag ${tag} is described`)
    t.ok(Array.isArray(op.security), `${where}: security is stated`)
  }
  t.ok(seen.size >= 48, `${seen.size} operations`)
})

t.test('GET /openapi.json serves the generated document', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), generated)
  t.notOk(generated.paths['/openapi.json'], 'the document does not describe itself')
})

t.test('GET /docs/ serves the Swagger UI page', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<html/i)
  t.match(res.body, /swagger/i)
})

t.test('the token form and the metadata are made from the one grant list', async (t) => {
  const { GRANTS } = await import('../src/oauth/grants/index.js')
  const doc = parse(committed) as Record<string, any>
  const form = doc.paths['/api/v1/oauth2/{org}/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema
  const branches = form.anyOf as Array<{ properties: Record<string, any>, required: string[] }>
  t.same(branches.map((b) => b.properties.grant_type.enum), GRANTS.map((g) => [g.grantType]), 'one form shape per grant, in the list\'s order')
  for (const [i, grant] of GRANTS.entries()) {
    const branch = branches[i]!
    for (const param of Object.keys(grant.params)) t.ok(param in branch.properties, `${grant.grantType}: ${param} is in the form`)
    t.ok('client_id' in branch.properties && 'client_secret' in branch.properties, `${grant.grantType}: the client's credentials are in the form`)
    t.same((branch as Record<string, any>).examples, [grant.example], `${grant.grantType}: its example`)
  }
  for (const param of ['assertion', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'owner_access']) {
    t.ok(branches.some((b) => param in b.properties), `${param} is documented`)
  }
  const { authorizationServerMetadata } = await import('../src/oauth/metadata.js')
  t.same(authorizationServerMetadata({ publicUrl: 'https://auth.example.com' } as never, 'acme').grant_types_supported, GRANTS.map((g) => g.grantType), 'grant_types_supported')
})
