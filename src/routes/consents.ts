import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { auditSourceOf, callerOf, requireUser } from '../plugins/auth.js'
import { listConsents } from '../registry/consents.js'
import { withdrawConsent } from '../services/consents.js'
import { EXAMPLE } from './examples.js'
import { notFound, UserTokenRequired } from './responses.js'
import { Done, IdParams, listAnswer, Timestamp } from './schemas.js'

const ConsentBody = Type.Object({
  id: Type.String(),
  client_id: Type.String(),
  client_name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'Every scope the user allowed this client, over all its consents.' }),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'Consent', title: 'Consent' })

const CONSENT_EXAMPLE = {
  id: EXAMPLE.consentId,
  client_id: EXAMPLE.clientId,
  client_name: 'Transfer dashboard',
  scopes: ['user:all'],
  created_at: EXAMPLE.created,
  updated_at: EXAMPLE.updated
}

/**
 * `GET /self/consents` and `DELETE /self/consents/{id}`: what the caller allowed clients in the
 * browser flow, and taking it back. Withdrawing also revokes the refresh tokens the client holds
 * for the caller, and the access tokens they issued.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(ConsentBody)

  app.get('/self/consents', {
    preHandler: requireUser(app.ctx),
    schema: {
      tags: ['users'],
      summary: 'The clients the calling user allowed',
      operationId: 'listOwnConsents',
      description: 'Every client the user allowed on the consent page (or that was assumed allowed), with the scopes; one page, all of them.',
      response: {
        200: listAnswer(ConsentBody, 'The consents.', [CONSENT_EXAMPLE], { 'X-Total-Count': { type: 'integer', description: 'The number of consents: all of them are in this answer.' } }),
        403: UserTokenRequired
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    const rows = await listConsents(app.ctx.db, caller.organizationId, caller.userId)
    reply.header('X-Total-Count', String(rows.length))
    return rows.map((r) => ({ id: r.id, client_id: r.client_id, client_name: r.client_name, scopes: r.scopes, created_at: r.created_at, updated_at: r.updated_at }))
  })

  app.delete('/self/consents/:id', {
    preHandler: requireUser(app.ctx),
    schema: {
      tags: ['users'],
      summary: 'Withdraw a consent',
      operationId: 'withdrawConsent',
      description: 'The client must ask again, and its refresh tokens for the caller stop working, with the access tokens they issued.',
      params: IdParams,
      response: { 204: Done('Withdrawn.'), 403: UserTokenRequired, 404: notFound('consent') }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    await withdrawConsent(app.ctx.db, auditSourceOf(request), caller.userId, request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
