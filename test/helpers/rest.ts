// Checks that the REST routes of a resource share: who may call them, and how bad input is refused.
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Test } from 'tap'
import { call } from './app.js'

/** A route to check: method, URL and, for a PUT or POST, a body. */
export type Route = readonly [method: InjectOptions['method'], url: string, body?: unknown]

/**
 * Checks that every route is for admins only: 403 `forbidden` with a user's token, 403 with an admin's
 * token without admin:all (when `adminWithUserScope` is given), 401 `unauthorized` without a token.
 */
export async function checkAdminOnly (t: Test, app: FastifyInstance, routes: readonly Route[], tokens: { user: string, adminWithUserScope?: string }): Promise<void> {
  for (const [method, url, body] of routes) {
    const asUser = await call(app, tokens.user, method, url, body)
    t.equal(asUser.statusCode, 403, `${method} ${url} as a user`)
    t.equal(asUser.json().code, 'forbidden')
    if (tokens.adminWithUserScope !== undefined) {
      t.equal((await call(app, tokens.adminWithUserScope, method, url, body)).statusCode, 403, `${method} ${url} as an admin without admin:all`)
    }
    const anon = await call(app, undefined, method, url, body)
    t.equal(anon.statusCode, 401, `${method} ${url} without a token`)
    t.equal(anon.json().code, 'unauthorized')
  }
}

/** A bad-input case: its label, the body sent, and the `code` and `param` the 422 must name. */
export type BadInput = readonly [label: string, body: unknown, code: string, param: string]

/** POSTs each case's body to `url` with `token`: each must answer 422 naming its code and param (and a request_id). */
export async function checkBadInput (t: Test, app: FastifyInstance, token: string, url: string, cases: readonly BadInput[]): Promise<void> {
  for (const [label, body, code, param] of cases) {
    const res = await call(app, token, 'POST', url, body)
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code, param, request_id: String }, label)
  }
}
