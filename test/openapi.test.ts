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

t.test('every $ref points at a component schema that exists', async (t) => {
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
  t.ok(refs.size > 0, 'the routes share schemas by reference')
  for (const ref of refs) {
    t.match(ref, /^#\/components\/schemas\/[A-Za-z0-9._-]+$/, `${ref} is a local component reference`)
    t.ok(generated.components.schemas[ref.split('/').pop()!], `${ref} is defined`)
  }
})

t.test('the REST API declares Bearer security; 204 answers carry no body; X-Total-Count is an integer header', async (t) => {
  t.same(generated.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from <oauth base>/token' })
  let checked = 0
  for (const [route, ops] of Object.entries(generated.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(ops)) {
      if (/^\/api\/v1\/(self|users|groups|group_memberships|nodes|clients|client_authorizations)\b/.test(route)) {
        t.same(op.security, [{ bearer: [] }], `${method} ${route} needs a Bearer token`)
        checked++
      }
      if (op.responses?.['204']) t.notOk(op.responses['204'].content, `${method} ${route} 204 has no content`)
      const total = op.responses?.['200']?.headers?.['X-Total-Count']
      if (total) t.same(total.schema, { type: 'integer' }, `${method} ${route} X-Total-Count`)
    }
  }
  t.ok(checked > 0)
  t.ok(generated.paths['/api/v1/users'].get.responses['200'].headers['X-Total-Count'], 'GET /users declares X-Total-Count')
})

t.test('every operation has a unique camelCase operationId, a summary and a tag (integrators generate clients from them)', async (t) => {
  const seen = new Map<string, string>()
  for (const [path, item] of Object.entries(generated.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue
      const where = `${method.toUpperCase()} ${path}`
      t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${where}: operationId`)
      t.notOk(seen.has(op.operationId), `${where}: ${op.operationId} is not also ${seen.get(op.operationId) ?? 'another operation'}'s`)
      seen.set(op.operationId, where)
      t.ok(typeof op.summary === 'string' && op.summary.length > 3, `${where}: summary`)
      t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${where}: tags`)
    }
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
  }
  for (const param of ['assertion', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'owner_access']) {
    t.ok(branches.some((b) => param in b.properties), `${param} is documented`)
  }
  const { authorizationServerMetadata } = await import('../src/oauth/metadata.js')
  t.same(authorizationServerMetadata({ publicUrl: 'https://auth.example.com' } as never, 'acme').grant_types_supported, GRANTS.map((g) => g.grantType), 'grant_types_supported')
})
