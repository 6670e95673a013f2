// Requests to an organization's OAuth endpoints (token, introspect, revoke) over app.inject.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

/** The content-type header of a form-encoded body, the only body the OAuth endpoints take. */
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

/** An HTTP Basic authorization header for a client's id and secret, to spread into a request's headers. */
export const basic = (id: string, secret: string): { authorization: string } =>
  ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') })

/** Form fields, some maybe undefined: those are left out of the request. */
export type Form = Record<string, string | undefined>

/** The fields of `form` that have a value (so a test can leave a field out by setting it undefined). */
export const defined = (form: Form): Record<string, string> =>
  Object.fromEntries(Object.entries(form).filter((e): e is [string, string] => e[1] !== undefined))

/** A test message: the error body of a failed answer, never the tokens of a successful one. */
export const errorOf = (res: { statusCode: number, body: string }): string =>
  res.statusCode < 300 ? 'accepted' : `(${res.statusCode}: ${res.body.slice(0, 300)})`

/** The org's OAuth endpoints that take a form POST. */
export type OAuthEndpoint = 'token' | 'introspect' | 'revoke'

/** A POST to one of the org's OAuth endpoints, form-encoded: a body given as a string is sent as it is, fields are encoded (undefined ones left out). */
export type OAuthPost = (endpoint: OAuthEndpoint, form: string | Form, headers?: Record<string, string>) => Promise<LightMyRequestResponse>

/** The `post` of a test file: POSTs to the OAuth endpoints of org `orgName` on `app`. */
export function oauthPoster (app: FastifyInstance, orgName: string): OAuthPost {
  return async (endpoint, form, headers = {}) => await app.inject({
    method: 'POST',
    url: `/api/v1/oauth2/${orgName}/${endpoint}`,
    headers: { ...FORM, ...headers },
    payload: typeof form === 'string' ? form : new URLSearchParams(defined(form)).toString()
  })
}
