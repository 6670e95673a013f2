import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from '@sinclair/typebox'
import { OAUTH_ORG_ROUTE } from '../paths.js'
import { lookUpAuthorizeRequest } from '../browser/authorize-lookup.js'
import { oauthBasePath, publicPath, sendPage, SESSION_COOKIE } from '../browser/page-reply.js'
import { consentPage, errorPage, unknownOrgPage } from '../browser/pages.js'
import { findSession, type SignedIn } from '../browser/sessions.js'
import type { Client, Organization } from '../db/schema.js'
import { createAuthorizationCode } from '../oauth/authorization-codes.js'
import { AUTHORIZE_PARAMS, redirectWith, type AuthorizeParams, type AuthorizeRequest } from '../oauth/authorize-request.js'
import { issuerFor } from '../oauth/tokens.js'
import { decideForUser } from '../oauth/user-decision.js'
import { consentCovers } from '../registry/consents.js'
import { findOrganizationByName } from '../registry/organizations.js'
import { giveConsent } from '../services/consents.js'
import { requestAuditSource } from '../registry/audit-events.js'
import { FormExpired, FormTooLarge, OPTIONAL_SESSION, OrgParams, PageForm, PageUnavailable, UnknownOrganization, acceptAll, page, redirect } from './browser-schemas.js'

const AuthorizeQuery = Type.Object({
  response_type: Type.String({ description: '`code`' }),
  client_id: Type.String(),
  redirect_uri: Type.Optional(Type.String({ description: 'One of the client\'s redirect_uris exactly; a loopback URI may differ in port. May be left out when the client registered exactly one.' })),
  scope: Type.Optional(Type.String({ description: 'Space-separated; default user:all.' })),
  state: Type.Optional(Type.String()),
  code_challenge: Type.Optional(Type.String({ description: 'PKCE (RFC 7636): required for a client without a secret.' })),
  code_challenge_method: Type.Optional(Type.Literal('S256'))
}, { additionalProperties: true })

/** An authorization request as a public client sends one (RFC 7636 appendix B's challenge). */
const AUTHORIZE_EXAMPLE = {
  response_type: 'code',
  client_id: 'Fq3nWv8tYb2LcZr5KpXe0A',
  redirect_uri: 'https://ingest.example.com/oauth/callback',
  scope: 'user:all',
  state: 'af0ifjsldkj',
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256'
}

/** A request that cannot be trusted with a redirect: shown, never redirected to (RFC 6749 §4.1.2.1). */
const RequestRefused = page('The request names no client, an unknown client, or a redirect URI that is not one of the client\'s (or names them twice): ' +
  'an error page, never a redirect. On POST also a decision other than allow or deny, or a form that could not be read.', 'Unknown client',
'<h1>Unknown client</h1>\n<p role="alert">The application that sent you here is not registered with this organization.</p>')

/** Where the flow goes on: the client's redirect URI, with `code` or `error`, and `state` and `iss` (RFC 9207). */
const ToRedirectUri = redirect('To the redirect URI with `code` (or `error` and `error_description`: `access_denied`, `invalid_scope`, ' +
  '`invalid_request`…), `state` and `iss`.')

/** An anonymous browser is sent to sign in, with the request to resume. */
const ToSignIn = redirect('Not signed in: to the sign-in page, with the request as `return_to`.')

type Checked = { org: Organization, client: Client, request: AuthorizeRequest, params: AuthorizeParams }

/**
 * `GET/POST <oauth base>/authorize`: the authorization code flow's front half. GET checks the
 * request, sends an anonymous browser to sign in, asks for consent when the client wants it and
 * the user has not given it, and redirects with a code. POST is the consent form's answer.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const { config } = ctx

  /**
   * The org, client and checked request; or undefined once a page or a redirect has been sent. Not
   * the reply itself: a reply is thenable, so an async function returning it resolves to undefined.
   */
  async function check (reply: FastifyReply, orgName: string, raw: Record<string, unknown>): Promise<Checked | undefined> {
    const org = await findOrganizationByName(ctx.db, orgName)
    if (!org) {
      reply.log.info({ reason: 'unknown organization' }, 'authorization request refused')
      sendPage(reply, unknownOrgPage(orgName))
      return undefined
    }
    const { params, client, result } = await lookUpAuthorizeRequest(ctx.db, org.id, raw)
    if (result.kind === 'page') {
      reply.log.info({ reason: result.title }, 'authorization request refused')
      sendPage(reply, errorPage(result.status, result.title, result.message))
      return undefined
    }
    if (result.kind === 'redirect') {
      reply.log.info({ oauth_error: result.error, reason: result.description }, 'authorization request refused')
      redirectTo(reply, result.redirectUri, { error: result.error, error_description: result.description, state: result.state, iss: issuerFor(config.publicUrl, org.name) })
      return undefined
    }
    return { org, client: client!, request: result.request, params }
  }

  function redirectTo (reply: FastifyReply, uri: string, values: Record<string, string | undefined>): FastifyReply {
    return reply.header('Cache-Control', 'no-store').redirect(redirectWith(uri, values), 303)
  }

  /** After the checks, with a signed-in user: the policy, consent, then the code. */
  async function decideAndAnswer (reply: FastifyReply, c: Checked, session: SignedIn, answer: 'show-consent' | 'allow'): Promise<FastifyReply> {
    const { org, client, request } = c
    const iss = issuerFor(config.publicUrl, org.name)
    const { decision } = await decideForUser(ctx, org, client, session.userId, 'authorization_code', request.scope)
    if (!decision.ok) {
      reply.log.info({ oauth_error: decision.error, reason: decision.reason }, 'authorization request refused')
      return decision.error === 'invalid_scope'
        ? redirectTo(reply, request.redirectUri, { error: 'invalid_scope', error_description: decision.description, state: request.state, iss })
        : redirectTo(reply, request.redirectUri, { error: 'access_denied', error_description: 'your account may not use this application', state: request.state, iss })
    }
    const covered = answer === 'allow' ? false : await consentCovers(ctx.db, session.userId, client.id, decision.scopes)
    // Recorded also when consent is assumed, so that the user sees the client in /self/consents and can withdraw it.
    if (answer === 'allow' || (!covered && !client.explicit_authorization_required)) {
      await giveConsent(ctx.db, requestAuditSource(reply.request, org.id, { type: 'user', id: session.userId, email: session.email }), session.userId, client, decision.scopes, answer === 'allow')
    } else if (!covered) {
      return sendPage(reply, consentPage({
        orgName: org.name,
        clientName: client.name,
        userEmail: session.email,
        scopes: decision.scopes,
        action: publicPath(config, `${oauthBasePath(org.name)}/authorize`),
        csrf: reply.generateCsrf(),
        fields: c.params,
        redirectUri: request.redirectUri
      }))
    }
    const code = await createAuthorizationCode(ctx.db, {
      orgId: org.id,
      clientId: client.id,
      userId: session.userId,
      redirectUri: request.redirectUri,
      redirectUriGiven: request.redirectUriGiven,
      scope: decision.scope,
      codeChallenge: request.codeChallenge
    }, config.authCodeTtl)
    reply.log.info({ client_id: client.id, user_id: session.userId }, 'authorization code issued')
    return redirectTo(reply, request.redirectUri, { code, state: request.state, iss })
  }

  /** Sends an anonymous browser to sign in, with the request to resume afterwards. */
  function toLogin (reply: FastifyReply, org: Organization, params: AuthorizeParams): FastifyReply {
    const returnTo = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString()
    const login = publicPath(config, `${oauthBasePath(org.name)}/login`)
    return reply.header('Cache-Control', 'no-store').redirect(`${login}?${new URLSearchParams({ return_to: returnTo }).toString()}`, 302)
  }

  app.get(`${OAUTH_ORG_ROUTE}/authorize`, {
    validatorCompiler: acceptAll,
    schema: {
      tags: ['browser'],
      summary: 'Authorization endpoint (RFC 6749 §4.1, PKCE S256)',
      operationId: 'authorize',
      description: 'An unknown client or a redirect URI that does not match is shown as an error page and never redirected to; every other error goes to the redirect URI with `state` and `iss`. A signed-in user is asked for consent when the client has explicit_authorization_required and the user has not allowed these scopes before.',
      security: OPTIONAL_SESSION,
      params: OrgParams,
      querystring: AuthorizeQuery,
      produces: ['text/html'],
      response: {
        200: page('The consent page: the client, the scopes, and Allow or Deny.', 'Allow Nightly ingest?',
          '<h1>Allow Nightly ingest?</h1>\n<p><strong>Nightly ingest</strong> asks for access to your account <strong>jane.doe@example.com</strong> in acme. It will be able to:</p>'),
        302: ToSignIn,
        303: ToRedirectUri,
        400: RequestRefused,
        404: UnknownOrganization,
        503: PageUnavailable
      }
    }
  }, async (request, reply) => {
    const c = await check(reply, request.params.org, request.query as Record<string, unknown>)
    if (!c) return reply
    const session = await findSession(ctx.db, c.org.id, request.cookies[SESSION_COOKIE], config.sessionIdleTtl)
    if (!session) return toLogin(reply, c.org, c.params)
    return await decideAndAnswer(reply, c, session, 'show-consent')
  })

  app.post(`${OAUTH_ORG_ROUTE}/authorize`, {
    validatorCompiler: acceptAll,
    preHandler: app.csrfProtection,
    schema: {
      tags: ['browser'],
      summary: 'Consent decision (HTML form post)',
      operationId: 'decideConsent',
      description: 'The consent page posts the authorization request back with `decision` allow or deny. Deny redirects with `access_denied`; allow is remembered for this user, client and scopes, and redirects with a code.',
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      security: OPTIONAL_SESSION,
      body: PageForm({ decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]), ...AuthorizeQuery.properties }, { decision: 'allow', ...AUTHORIZE_EXAMPLE }),
      produces: ['text/html'],
      response: {
        302: ToSignIn,
        303: ToRedirectUri,
        400: RequestRefused,
        403: FormExpired,
        404: UnknownOrganization,
        413: FormTooLarge,
        503: PageUnavailable
      }
    }
  }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const raw = Object.fromEntries(AUTHORIZE_PARAMS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]))
    const c = await check(reply, request.params.org, raw)
    if (!c) return reply
    const session = await findSession(ctx.db, c.org.id, request.cookies[SESSION_COOKIE], config.sessionIdleTtl)
    if (!session) return toLogin(reply, c.org, c.params)
    const decision = body.decision
    if (decision === 'deny') {
      request.log.info({ client_id: c.client.id, user_id: session.userId }, 'user denied the client')
      return redirectTo(reply, c.request.redirectUri, {
        error: 'access_denied', error_description: 'the user denied the request', state: c.request.state, iss: issuerFor(config.publicUrl, c.org.name)
      })
    }
    if (decision !== 'allow') return sendPage(reply, errorPage(400, 'Invalid request', 'Choose Allow or Deny on the consent page.'))
    return await decideAndAnswer(reply, c, session, 'allow')
  })
}

export default routes
