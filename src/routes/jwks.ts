import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { OAUTH_ORG_ROUTE } from '../paths.js'
import { OrgParams } from './schemas.js'

const Jwks = Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String() }, { additionalProperties: true })) }, { $id: 'JWKS', title: 'JWKS' })

/** The server's public signing keys, at the org's OAuth base and at the well-known path. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const handler = async (_request: unknown, reply: { header: (k: string, v: string) => unknown }) => {
    // Short, so that a verifier sees a newly published key well within the publish delay.
    reply.header('Cache-Control', 'public, max-age=300')
    return await app.ctx.keys.jwks() as { keys: Array<{ kid: string, kty: string }> }
  }
  app.addSchema(Jwks)
  app.get('/.well-known/jwks.json', { schema: { tags: ['oauth'], summary: 'Public signing keys (JWKS)', operationId: 'getJwks', response: { 200: Type.Ref(Jwks) } } }, handler)
  app.get(`${OAUTH_ORG_ROUTE}/jwks`, {
    schema: {
      tags: ['oauth'],
      summary: 'Public signing keys (JWKS) at the organization\'s OAuth base',
      operationId: 'getOrganizationJwks',
      params: OrgParams,
      response: { 200: Type.Ref(Jwks) }
    }
  }, handler)
}

export default routes
