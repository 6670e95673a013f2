import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { OAUTH_ORG_ROUTE } from '../paths.js'
import { lookUpAuthorizeRequest } from '../browser/authorize-lookup.js'
import { countAttempt, forgiveAttempt, throttleKeys, throttleLimitsOf } from '../browser/login-throttle.js'
import { oauthBasePath, publicPath, sendPage, SESSION_COOKIE, sessionCookieOptions } from '../browser/page-reply.js'
import { loginPage, signedInPage, signedOutPage, unknownOrgPage } from '../browser/pages.js'
import { createSession, endSession, findSession } from '../browser/sessions.js'
import { findOrganizationByName } from '../registry/organizations.js'
import { hashPassword, verifyPassword } from '../registry/passwords.js'
import { findSignInUser } from '../store/users.js'
import { countAuditEventInMinute, requestAuditSource } from '../registry/audit-events.js'
import { FormExpired, FormTooLarge, OPTIONAL_SESSION, OrgParams, PageForm, PageUnavailable, SignInThrottled, UnknownOrganization, UnreadableForm, acceptAll, page, redirect } from './browser-schemas.js'

const loginPageExample = (error: string) => '<h1>Sign in to acme</h1>\n' + error +
  '<form method="post" action="/api/v1/oauth2/acme/login">\n<label for="email">E-mail</label>\n<input type="email" id="email" name="email" required>\n' +
  '<label for="password">Password</label>\n<input type="password" id="password" name="password" required>\n<button type="submit">Sign in</button>\n</form>'

const MAX_RETURN_TO = 8192

/** A hash to verify against when the account does not exist, so that both cost the same time. */
let dummyHash: Promise<string> | undefined
const timingDummy = () => (dummyHash ??= hashPassword(randomBytes(18).toString('base64url')))

/** A form field as one string; a repeated or missing field, or one holding a NUL byte, reads as empty. */
const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | null | undefined)?.[name]
  return typeof v === 'string' && !v.includes('\u0000') ? v : ''
}

/** `return_to` as the authorize query it stands for: re-encoded, bounded, else dropped. */
function readReturnTo (raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_RETURN_TO || raw.includes('\u0000')) return undefined
  return new URLSearchParams(raw).toString() || undefined
}

/**
 * `GET/POST <oauth base>/login` and `POST <oauth base>/logout`: the sign-in form, the session
 * behind its cookie, and the way out. A sign-in made to resume an authorization request carries
 * it as `return_to`, which only ever becomes the query of this org's authorize path.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const { config } = ctx
  const loginLimits = throttleLimitsOf(config)

  /** The origin a resumed authorization request will end at, for the login page's form-action. */
  async function resumeTargets (orgId: string, returnTo: string | undefined): Promise<string[]> {
    if (!returnTo) return []
    const { result } = await lookUpAuthorizeRequest(ctx.db, orgId, Object.fromEntries(new URLSearchParams(returnTo)))
    if (result.kind === 'ok') return [result.request.redirectUri]
    return result.kind === 'redirect' ? [result.redirectUri] : []
  }

  app.get(`${OAUTH_ORG_ROUTE}/login`, {
    validatorCompiler: acceptAll,
    schema: {
      tags: ['browser'],
      summary: 'Sign-in page (HTML)',
      operationId: 'showSignInPage',
      description: 'The e-mail and password form; answers 2xx to an anonymous GET (org discovery lands here). When already signed in, resumes `return_to` or shows who is signed in.',
      security: OPTIONAL_SESSION,
      params: OrgParams,
      querystring: Type.Object({ return_to: Type.Optional(Type.String({ description: 'The authorization request to resume, as a query string.' })) }, { additionalProperties: true }),
      produces: ['text/html'],
      response: {
        200: page('The sign-in form; or, for a signed-in browser with nothing to resume, who is signed in and a sign-out button.', 'Sign in to acme', loginPageExample('')),
        302: redirect('A signed-in browser with `return_to`: back to the authorization request.'),
        404: UnknownOrganization,
        503: PageUnavailable
      }
    }
  }, async (request, reply) => {
    const org = await findOrganizationByName(ctx.db, request.params.org)
    if (!org) return sendPage(reply, unknownOrgPage(request.params.org))
    const returnTo = readReturnTo((request.query as Record<string, unknown>).return_to)
    const base = publicPath(config, oauthBasePath(org.name))
    const session = await findSession(ctx.db, org.id, request.cookies[SESSION_COOKIE], config.sessionIdleTtl)
    if (session) {
      if (returnTo) return reply.header('Cache-Control', 'no-store').redirect(`${base}/authorize?${returnTo}`, 302)
      return sendPage(reply, signedInPage({ orgName: org.name, email: session.email, logoutAction: `${base}/logout`, csrf: reply.generateCsrf() }))
    }
    return sendPage(reply, loginPage({
      orgName: org.name, action: `${base}/login`, csrf: reply.generateCsrf(), returnTo, formTargets: await resumeTargets(org.id, returnTo)
    }))
  })

  app.post(`${OAUTH_ORG_ROUTE}/login`, {
    validatorCompiler: acceptAll,
    preHandler: app.csrfProtection,
    schema: {
      tags: ['browser'],
      summary: 'Sign in (HTML form post)',
      operationId: 'signIn',
      description: 'Checks e-mail and password; failures are counted per account and per address (LOGIN_MAX_FAILURES_*), and the message never says whether the e-mail exists. Success starts a session (cookie `aoc_session`) and answers 303 to `return_to` or to the login page.',
      security: [],
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: PageForm({
        email: Type.String(),
        password: Type.String({ writeOnly: true }),
        return_to: Type.Optional(Type.String({ description: 'The authorization request to resume, as a query string.' }))
      }, { email: 'jane.doe@example.com', password: 'correct horse battery' }),
      produces: ['text/html'],
      response: {
        303: redirect('Signed in: the session cookie `aoc_session` is set, and the browser goes to the authorization request of `return_to`, or back to the sign-in page.'),
        400: page('The e-mail or password is missing or wrong, the user is deactivated or has no password (the page never says which), ' +
          'or the request could not be read: the form again, with the message.', 'Sign in to acme', loginPageExample('<p class="error" role="alert">Wrong e-mail or password.</p>\n')),
        403: FormExpired,
        404: UnknownOrganization,
        413: FormTooLarge,
        429: SignInThrottled,
        503: PageUnavailable
      }
    }
  }, async (request, reply) => {
    const org = await findOrganizationByName(ctx.db, request.params.org)
    if (!org) return sendPage(reply, unknownOrgPage(request.params.org))
    const base = publicPath(config, oauthBasePath(org.name))
    const email = field(request.body, 'email').trim().slice(0, 320)
    const password = field(request.body, 'password')
    const returnTo = readReturnTo(field(request.body, 'return_to'))
    const again = async (status: number, error: string) => sendPage(reply, loginPage({
      orgName: org.name, action: `${base}/login`, csrf: reply.generateCsrf(), returnTo, email, error, status, formTargets: await resumeTargets(org.id, returnTo)
    }))
    if (!email || !password || password.length > 256) return await again(400, 'Enter your e-mail and password.')

    const keys = throttleKeys(org.id, email, request.ip)
    const wait = await countAttempt(ctx.db, keys, loginLimits)
    if (wait !== undefined) {
      request.log.info({ reason: 'sign-in throttled' }, 'sign-in refused')
      // Counted per minute: a spray over many accounts makes one row a minute, not one a guess.
      await countAuditEventInMinute(ctx.db, requestAuditSource(request, org.id, { type: 'system' }),
        { eventType: 'sign_in.throttled', reason: 'too many failed sign-ins from this address or for this account' })
      reply.header('Retry-After', String(wait))
      return await again(429, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.`)
    }
    const user = await findSignInUser(ctx.db, org.id, email)
    const ok = await verifyPassword(user?.password_hash ?? await timingDummy(), password)
    if (!user || !user.password_hash || !ok || user.deactivated) {
      const reason = !user ? 'unknown e-mail' : !user.password_hash ? 'user has no password' : !ok ? 'wrong password' : 'user is deactivated'
      request.log.info({ reason }, 'sign-in refused')
      return await again(400, 'Wrong e-mail or password.')
    }
    await forgiveAttempt(ctx.db, keys)
    // A new session id at every sign-in: a cookie planted before it (session fixation) is worthless.
    await endSession(ctx.db, request.cookies[SESSION_COOKIE])
    const cookie = await createSession(ctx.db, org.id, user.id, config.sessionTtl, config.sessionIdleTtl)
    request.log.info({ user_id: user.id }, 'signed in')
    reply.setCookie(SESSION_COOKIE, cookie, sessionCookieOptions(config, org.name))
    return reply.header('Cache-Control', 'no-store').redirect(returnTo ? `${base}/authorize?${returnTo}` : `${base}/login`, 303)
  })

  app.post(`${OAUTH_ORG_ROUTE}/logout`, {
    validatorCompiler: acceptAll,
    preHandler: app.csrfProtection,
    schema: {
      tags: ['browser'],
      summary: 'Sign out (HTML form post)',
      operationId: 'signOut',
      description: 'Ends the session and clears its cookie.',
      security: OPTIONAL_SESSION,
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: PageForm({}, {}),
      produces: ['text/html'],
      response: {
        200: page('Signed out (or was not signed in): a link to sign in again.', 'Signed out',
          '<h1>Signed out</h1>\n<p>You are signed out of acme.</p>\n<p><a href="/api/v1/oauth2/acme/login">Sign in again</a></p>'),
        400: UnreadableForm,
        403: FormExpired,
        404: UnknownOrganization,
        413: FormTooLarge,
        503: PageUnavailable
      }
    }
  }, async (request, reply) => {
    await endSession(ctx.db, request.cookies[SESSION_COOKIE])
    const org = await findOrganizationByName(ctx.db, request.params.org)
    if (!org) return sendPage(reply, unknownOrgPage(request.params.org))
    const base = publicPath(config, oauthBasePath(org.name))
    reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(config, org.name))
    return sendPage(reply, signedOutPage(org.name, `${base}/login`))
  })
}

export default routes
