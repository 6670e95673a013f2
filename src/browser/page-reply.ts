import type { FastifyReply } from 'fastify'
import type { Config } from '../config.js'
import type { Page } from './pages.js'
import { oauthBasePath } from '../paths.js'

/** The cookie that carries a browser session; one per org, scoped to its OAuth base path. */
export const SESSION_COOKIE = 'aoc_session'

export { oauthBasePath } from '../paths.js'

/** The path as the browser sees it: PUBLIC_URL may carry a prefix that a proxy strips. */
export function publicPath (config: Config, path: string): string {
  return new URL(config.publicUrl).pathname.replace(/\/$/, '') + path
}

/** Session cookie attributes: HttpOnly, SameSite=Lax, Secure behind an https PUBLIC_URL. */
export function sessionCookieOptions (config: Config, orgName: string, maxAge?: number) {
  return {
    path: publicPath(config, oauthBasePath(orgName)),
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.publicUrl.startsWith('https:'),
    ...(maxAge !== undefined ? { maxAge } : {})
  }
}

/** Sends a page: its status, its CSP, and never from a cache (pages carry CSRF tokens and who is signed in). */
export function sendPage (reply: FastifyReply, page: Page): FastifyReply {
  return reply.status(page.status)
    .header('Content-Security-Policy', page.csp)
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .type('text/html; charset=utf-8')
    .send(page.html)
}
