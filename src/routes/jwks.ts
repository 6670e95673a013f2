import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { OAUTH_ORG_ROUTE } from '../paths.js'
import { NotFoundError } from '../errors.js'
import { InvalidParameter, OrganizationNotFound, ServiceUnavailable } from './responses.js'
import { answerRef, OrgParams } from './schemas.js'

const Jwks = Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String() }, { additionalProperties: true })) }, { $id: 'JWKS', title: 'JWKS' })

const JWKS_EXAMPLE = {
  keys: [{
    kty: 'EC',
    crv: 'P-256',
    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    kid: 'vbk2bXM3pNYxz1dq5uJ1k8gQm4FhL8l2y6X9Z3a0W1c',
    use: 'sig',
    alg: 'ES256'
  }]
}

/** The keys, and why the answer may be a 503 (the keys are read from the database). */
const jwksResponses = {
  200: answerRef(Jwks, 'The public keys that sign access tokens: the one signing now, one published ahead of a rotation, and those whose tokens may still be valid (`Cache-Control: public, max-age=300`).', JWKS_EXAMPLE),
  503: ServiceUnavailable
}

/** The server's public signing keys, at the org's OAuth base and at the well-known path. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const handler = async (_request: unknown, reply: { header: (k: string, v: string) => unknown }) => {
    // Short, so that a verifier sees a newly published key well within the publish delay.
    reply.header('Cache-Control', 'public, max-age=300')
    return await app.ctx.keys.jwks() as { keys: Array<{ kid: string, kty: string }> }
  }
  app.addSchema(Jwks)
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['oauth'],
      summary: 'Public signing keys (JWKS)',
      operationId: 'getJwks',
      description: 'The same keys for every organization (RFC 7517 §5).',
      security: [],
      response: jwksResponses
    }
  }, handler)
  app.get(`${OAUTH_ORG_ROUTE}/jwks`, {
    schema: {
      tags: ['oauth'],
      summary: 'Public signing keys (JWKS) at the organization\'s OAuth base',
      operationId: 'getOrganizationJwks',
      description: 'The same document as `/.well-known/jwks.json`, at the `jwks_uri` of the organization\'s metadata (RFC 8414 §2). ' +
        'An organization that does not exist has no `jwks_uri`: 404, as its metadata answers.',
      security: [],
      params: OrgParams,
      response: {
        ...jwksResponses,
        404: OrganizationNotFound,
        422: InvalidParameter
      }
    }
  }, async (request, reply) => {
    if (!await app.ctx.cache.org(request.params.org)) throw new NotFoundError('organization')
    return await handler(request, reply)
  })
}

export default routes
