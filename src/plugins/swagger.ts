import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Config } from '../config.js'

/** The OpenAPI 3.1 document, generated from the route schemas; `openapi.yaml` is its committed copy. */
export const OPENAPI_INFO = {
  title: 'AoC-compatible OAuth 2.0 authorization server',
  description: 'Client registration, users, groups and nodes, and OAuth 2.0 tokens, compatible with IBM Aspera on Cloud\'s API.\n\n' +
    'Every answer carries `X-Request-Id` (the caller\'s, when it sent a usable one). REST errors are `{code, message, param?, request_id}`; ' +
    'the OAuth endpoints answer RFC 6749 §5.2 errors `{error, error_description}`; the sign-in pages answer HTML. On any path, a URL that is ' +
    'not valid percent-encoding is a 400 and a path parameter over 100 characters a 414, before any route runs; a GET to the host ' +
    '`<org>.<BASE_DOMAIN>` is redirected (302) to that organization\'s sign-in page (docs/aoc-compatibility.md §1).',
  version: '0.1.0',
  license: { name: 'Apache-2.0', identifier: 'Apache-2.0' }
}

/** The ways callers prove who they are, named by the operations' `security`. */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from <oauth base>/token' },
  clientSecretBasic: {
    type: 'http',
    scheme: 'basic',
    description: 'The client\'s id and secret by HTTP Basic (RFC 6749 §2.3.1, `client_secret_basic`). The other way, `client_secret_post`, ' +
      'sends `client_id` and `client_secret` in the form body; OpenAPI has no scheme for a form field, so those operations also list the ' +
      'empty requirement `{}` and their form documents the two fields. The JWT bearer grant, and a public client, may send `client_id` alone.'
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'aoc_session',
    description: 'The browser session the sign-in page starts (HttpOnly, SameSite=Lax, scoped to the organization\'s OAuth base path).'
  }
}

const TAGS = [
  { name: 'users', description: 'The organization\'s users; `/self` for the calling user (docs/aoc-compatibility.md §7).' },
  { name: 'groups', description: 'Groups of users, and their memberships: a client authorization may list a group at once.' },
  { name: 'nodes', description: 'The transfer servers that node-scoped tokens (`node.<access_key>:user:all`) are for.' },
  { name: 'clients', description: 'API clients: registration, secrets, the users × keys settings, and why a user can or cannot get a token.' },
  { name: 'client_authorizations', description: 'The "listed users" of a client with `whitelist_enabled`: users, or groups of them.' },
  { name: 'analytics', description: 'The audit trail (docs/audit-events.md)' },
  { name: 'oauth', description: 'OAuth 2.0 for clients: the token endpoint and its grants, introspection, revocation, metadata and the signing keys.' },
  { name: 'browser', description: 'The HTML pages of the authorization code flow: sign-in, consent, sign-out.' },
  { name: 'health', description: 'Liveness and readiness probes for load balancers and orchestrators (docs/operations.md).' }
]

type Json = Record<string, any>

/**
 * The document's view of a route schema. @fastify/swagger drops everything beside a `$ref`, so a
 * response that is a reference with a description, an example, headers or a shared name becomes
 * the response object's own form, `{description, headers, content: {<type>: {schema, example}}}`,
 * which keeps them. What fastify validates and serializes with is not touched.
 */
export function documentRoute ({ schema, url }: { schema: Json, url: string }): { schema: Json, url: string } {
  if (!schema?.response) return { schema, url }
  const produces = (schema.produces ?? ['application/json']) as string[]
  const response: Json = {}
  for (const [status, answer] of Object.entries(schema.response as Json)) {
    if (typeof answer?.$ref !== 'string' || Object.keys(answer).length === 1) {
      response[status] = answer
      continue
    }
    const { $ref, description, 'x-response-description': text, examples, 'x-response': name, headers } = answer as Json
    const media = { schema: { $ref }, ...(examples?.length && { example: examples[0] }), ...(name && { 'x-response': name }) }
    response[status] = { description: text ?? description, ...(headers && { headers }), content: Object.fromEntries(produces.map((p) => [p, media])) }
  }
  return { schema: { ...schema, response }, url }
}

/**
 * Moves every response that a route marked `x-response: <Name>` (routes/responses.ts) to
 * components/responses/<Name>, and leaves a `$ref` where it was: the document then says each shared
 * answer once. Two different answers under one name are a mistake in the routes, refused here.
 */
export function hoistSharedResponses (doc: Json): Json {
  const shared: Record<string, Json> = {}
  for (const item of Object.values(doc.paths ?? {}) as Json[]) {
    for (const op of Object.values(item) as Json[]) {
      for (const [status, response] of Object.entries((op?.responses ?? {}) as Record<string, Json>)) {
        const media = Object.values(response.content ?? {}) as Json[]
        const name = media.map((m) => m['x-response'] ?? m.schema?.['x-response']).find((n) => typeof n === 'string') as string | undefined
        if (!name) continue
        const copy = JSON.parse(JSON.stringify(response)) as Json
        for (const m of Object.values(copy.content) as Json[]) {
          delete m['x-response']
          delete m.schema['x-response']
        }
        if (shared[name] && JSON.stringify(shared[name]) !== JSON.stringify(copy)) throw new Error(`the shared response ${name} differs between operations`)
        shared[name] = copy
        op.responses[status] = { $ref: `#/components/responses/${name}` }
      }
    }
  }
  doc.components.responses = Object.fromEntries(Object.keys(shared).sort().map((k) => [k, shared[k]]))
  return doc
}

/**
 * Says of every response header whether it is always sent (`required: true`) or only sometimes
 * (`required: false`): a route declares the latter with `'x-sometimes': true` in the header's schema
 * (fastify's own schema has no place for it), which is moved here to the header object, where
 * OpenAPI keeps it.
 */
export function markHeaderPresence (doc: Json): Json {
  const responses: Json[] = [...Object.values((doc.components?.responses ?? {}) as Json)]
  for (const item of Object.values(doc.paths ?? {}) as Json[]) {
    for (const op of Object.values(item) as Json[]) responses.push(...Object.values((op?.responses ?? {}) as Json))
  }
  for (const response of responses) {
    for (const header of Object.values((response.headers ?? {}) as Json)) {
      const sometimes = header.schema?.['x-sometimes'] === true
      if (header.schema) delete header.schema['x-sometimes']
      header.required = !sometimes
    }
  }
  return doc
}

export async function registerSwagger (app: FastifyInstance, _config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      // Relative, so the committed document does not depend on PUBLIC_URL.
      servers: [{ url: '/' }],
      components: { securitySchemes: SECURITY_SCHEMES as never },
      tags: TAGS
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform: documentRoute as never,
    transformObject: (documentObject) => markHeaderPresence(hoistSharedResponses((documentObject as { openapiObject: Json }).openapiObject)) as never
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
