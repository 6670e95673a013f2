import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import helmet from '@fastify/helmet'
import type { FastifyError, FastifyPluginAsync } from 'fastify'
import { OAUTH_BASE } from '../paths.js'
import { publicPath, sendPage } from '../browser/page-reply.js'
import { errorPage, unavailablePage } from '../browser/pages.js'
import { unavailableError } from '../plugins/errors.js'
import authorizeRoutes from './authorize.js'
import loginRoutes from './login.js'

/**
 * The browser sign-in: login, logout, authorize and consent pages. Cookies and CSRF tokens live in
 * this scope only, and every error here is a page, never JSON.
 */
const browser: FastifyPluginAsync = async (app) => {
  const { config } = app.ctx
  // Security headers for what a browser renders. Each page sets its own Content-Security-Policy
  // (it names where its forms may lead). Not on the JSON API: there they cost the token endpoint
  // about 3% of its CPU and guard nothing a browser would render.
  await app.register(helmet, { contentSecurityPolicy: false, hsts: config.publicUrl.startsWith('https:') })
  await app.register(cookie)
  // Double-submit: a random secret in an HttpOnly cookie, and in each form a token derived from it.
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'aoc_csrf',
    cookieOpts: { path: publicPath(config, OAUTH_BASE), httpOnly: true, sameSite: 'lax', secure: config.publicUrl.startsWith('https:') }
  })
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') {
      request.log.info({ reason: err.code }, 'form refused: CSRF')
      return sendPage(reply, errorPage(403, 'This form has expired', 'The form was not sent from this site, or it is too old. Go back, reload the page and try again.'))
    }
    // The same 503 as the REST and OAuth answers (plugins/errors.ts), as a page: the database is
    // away or the overload guard refused the request.
    const unavailable = unavailableError(err, request)
    if (unavailable) {
      reply.header('Retry-After', String(unavailable.retryAfterSeconds))
      return sendPage(reply, unavailablePage())
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendPage(reply, errorPage(err.statusCode === 413 ? 413 : 400, 'Invalid request', 'The request could not be read.'))
    }
    request.log.error({ err }, 'unhandled error on a sign-in page')
    return sendPage(reply, errorPage(500, 'Something went wrong', `Try again later. If it persists, quote this id: ${request.id}`))
  })
  await app.register(loginRoutes)
  await app.register(authorizeRoutes)
}

export default browser
