import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { findOrganizationByName } from '../registry/organizations.js'

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * `GET <oauth base>/login`: the target of org discovery, which must answer 2xx to an anonymous GET.
 * Browser sign-in (the form, sessions, consent) is not built yet, and the page says so.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/v1/oauth2/:org/login', {
    schema: {
      tags: ['oauth'],
      summary: 'Organization login page (HTML)',
      params: Type.Object({ org: Type.String({ pattern: '^[a-z0-9-]{1,63}$' }) }),
      querystring: Type.Object({}, { additionalProperties: true }),
      produces: ['text/html']
    }
  }, async (request, reply) => {
    const org = await findOrganizationByName(app.ctx.db, request.params.org)
    const name = escapeHtml(request.params.org)
    const body = org
      ? `<h1>Sign in to ${name}</h1><p>Browser sign-in is not available on this server yet. API clients get tokens at <code>/api/v1/oauth2/${name}/token</code>.</p>`
      : `<h1>Unknown organization</h1><p>There is no organization named ${name}.</p>`
    return reply.status(org ? 200 : 404)
      .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      .header('Cache-Control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${name}</title></head><body>${body}</body></html>`)
  })
}

export default routes
