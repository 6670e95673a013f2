import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFoundError } from '../errors.js'
import { callerOf, requireAdmin } from '../plugins/auth.js'
import { listEvents } from '../registry/audit-events.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, commonRestResponses, restError } from './responses.js'
import { answer, IdString, Timestamp } from './schemas.js'

const Nullable = (description?: string) => Type.Union([Type.String(), Type.Null()], description ? { description } : {})

const ApplicationEvent = Type.Object({
  id: Type.String(),
  event_type: Type.String({ description: 'What happened, as `<resource>.<change>`: `client.secret_rotated`, `user.admin_granted`, `token.refused`… (docs/audit-events.md lists them).' }),
  created_at: Timestamp,
  organization_id: Type.String(),
  actor_type: Type.Union(['user', 'client', 'cli', 'system'].map((v) => Type.Literal(v))),
  actor_id: Nullable(),
  actor_email: Nullable(),
  target_type: Nullable(),
  target_id: Nullable(),
  target_name: Nullable(),
  request_id: Nullable(),
  ip_address: Nullable(),
  user_agent: Nullable(),
  changes: Type.Array(Type.Object({
    field: Type.String(),
    old_value: Type.Optional(Type.Unknown()),
    new_value: Type.Optional(Type.Unknown())
  }), { description: 'The fields changed, with old and new values; a secret field (a password, a client secret) by name only, a public key by its fingerprint.' }),
  reason: Nullable('Why a security event happened (a refusal\'s reason).'),
  count: Type.Integer({ description: 'How many times the event happened in its minute: refused tokens, replayed assertions and throttled sign-ins are counted, not written one row each.' })
}, { $id: 'ApplicationEvent', title: 'ApplicationEvent' })

const EVENT_EXAMPLE = {
  id: EXAMPLE.eventId,
  event_type: 'client.secret_rotated',
  created_at: EXAMPLE.updated,
  organization_id: EXAMPLE.orgId,
  actor_type: 'user',
  actor_id: EXAMPLE.adminId,
  actor_email: EXAMPLE.adminEmail,
  target_type: 'client',
  target_id: EXAMPLE.clientId,
  target_name: 'Nightly ingest',
  request_id: '0b7d5c1e-3f4a-4c2b-9e61-8d2f0a6b7c13',
  ip_address: '203.0.113.24',
  user_agent: 'ascli/4.20.0',
  changes: [{ field: 'secret' }],
  reason: null,
  count: 1
}

const EventsQuery = Type.Object({
  event_type: Type.Optional(Type.String({ maxLength: 100 })),
  actor_id: Type.Optional(Type.String({ maxLength: 320 })),
  target_id: Type.Optional(Type.String({ maxLength: 320 })),
  start_time: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601; events at or after it.' })),
  stop_time: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601; events before it.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `next_cursor` of the previous page.' }))
}, { additionalProperties: false })

/**
 * `GET /analytics/v2/organizations/{organization_id}/application_events`: the organization's audit
 * trail, where AoC serves its activity log and `ascli aoc admin analytics application_events` reads
 * it (docs/audit-events.md). Newest first, a page at a time.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(ApplicationEvent)
  app.addHook('onSend', async (_request, reply) => { reply.header('Cache-Control', 'no-store') })

  app.get('/organizations/:organization_id/application_events', {
    preHandler: requireAdmin(app.ctx),
    schema: {
      tags: ['analytics'],
      summary: 'The organization\'s audit events',
      operationId: 'listApplicationEvents',
      description: 'Needs an organization administrator\'s token (`admin:all` or `admin-user:all`) of that organization; another organization\'s id is a 404. ' +
        'Filters: `event_type`, `actor_id`, `target_id`, `start_time`, `stop_time`; `limit` 1..1000 (default 100). `next_cursor` is null on the last page.',
      security: [{ bearer: [] }],
      params: Type.Object({ organization_id: IdString() }),
      querystring: EventsQuery,
      response: {
        ...commonRestResponses('GET'),
        200: answer(Type.Object({ application_events: Type.Array(Type.Ref(ApplicationEvent)), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
          'A page of events, newest first.', { application_events: [EVENT_EXAMPLE], next_cursor: null }),
        403: AdminRequired,
        404: restError('The organization is not the caller\'s.', { code: 'not_found', message: 'organization not found' })
      }
    }
  }, async (request) => {
    const caller = callerOf(request)
    if (request.params.organization_id !== caller.organizationId) throw new NotFoundError('organization')
    const { events, nextCursor } = await listEvents(app.ctx.db, caller.organizationId, request.query)
    // Every row of an organization's list carries its id; only server events, never listed, have none.
    return { application_events: events as Array<typeof events[number] & { organization_id: string }>, next_cursor: nextCursor }
  })
}

export default routes
