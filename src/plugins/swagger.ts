import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Config } from '../config.js'

/** The OpenAPI 3.1 document, generated from the route schemas; `openapi.yaml` is its committed copy. */
export const OPENAPI_INFO = {
  title: 'AoC-compatible OAuth 2.0 authorization server',
  description: 'Client registration, users, groups and nodes, and OAuth 2.0 tokens, compatible with IBM Aspera on Cloud\'s API.',
  version: '0.1.0'
}

export async function registerSwagger (app: FastifyInstance, _config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      // Relative, so the committed document does not depend on PUBLIC_URL.
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from <oauth base>/token' }
        }
      },
      tags: [
        { name: 'users' }, { name: 'groups' }, { name: 'nodes' }, { name: 'clients' },
        { name: 'client_authorizations' }, { name: 'analytics', description: 'The audit trail (docs/audit-events.md)' }, { name: 'oauth' }, { name: 'health' }
      ]
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
