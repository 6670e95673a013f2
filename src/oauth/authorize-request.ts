// The authorization request (RFC 6749 §4.1.1, RFC 7636): which failures are shown as a page and
// which go back to the client. Pure: the caller looks up the org and the client.
import { MAX_SCOPE_LENGTH, MAX_SCOPES } from './policy.js'
import { S256_CHALLENGE } from './pkce.js'
import { matchRedirectUri } from './redirect-uri.js'

/** The parameters a request may carry; anything else is ignored (RFC 6749 §3.1). */
export const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const
export type AuthorizeParams = Partial<Record<typeof AUTHORIZE_PARAMS[number], string>>

/** A checked request: where to send the answer, what is asked, the PKCE challenge. */
export interface AuthorizeRequest {
  redirectUri: string
  /** whether the request named redirect_uri (the token request must then repeat it) */
  redirectUriGiven: boolean
  /** as asked; the policy applies its default and rules once the user is known */
  scope: string | undefined
  state: string | undefined
  codeChallenge: string | undefined
}

/** A failure that must not be redirected: the client or its redirect URI cannot be trusted. */
export interface PageFailure { kind: 'page', status: number, title: string, message: string }
/** A failure reported to the client at its redirect URI (RFC 6749 §4.1.2.1). */
export interface RedirectFailure { kind: 'redirect', redirectUri: string, state: string | undefined, error: string, description: string }

export type AuthorizeCheck = { kind: 'ok', request: AuthorizeRequest } | PageFailure | RedirectFailure

/** The client facts the check needs. */
export interface AuthorizeClient { id: string, redirectUris: readonly string[], isPublic: boolean }

const MAX_STATE = 2048

/**
 * Reads the raw parameters (query or form): a parameter given twice is refused (RFC 6749 §3.1),
 * as a page when it is one that decides where to redirect, else at the redirect URI.
 */
export function readAuthorizeParams (raw: Record<string, unknown>): { params: AuthorizeParams, repeated: string[] } {
  const params: AuthorizeParams = {}
  const repeated: string[] = []
  for (const name of AUTHORIZE_PARAMS) {
    const v = raw[name]
    // A NUL byte cannot be stored or compared in PostgreSQL text: such a value reads as absent.
    if (Array.isArray(v)) repeated.push(name)
    else if (typeof v === 'string' && !v.includes('\u0000')) params[name] = v
  }
  return { params, repeated }
}

/**
 * Checks a request against its client. `client` is undefined when the org has no such client. The
 * order matters: nothing is redirected until the redirect URI is known to be the client's.
 */
export function checkAuthorizeRequest (input: { params: AuthorizeParams, repeated: string[] }, client: AuthorizeClient | undefined): AuthorizeCheck {
  const { params, repeated } = input
  if (repeated.includes('client_id') || repeated.includes('redirect_uri')) {
    return { kind: 'page', status: 400, title: 'Invalid request', message: 'The request names client_id or redirect_uri more than once.' }
  }
  if (!params.client_id) return { kind: 'page', status: 400, title: 'Invalid request', message: 'The request does not name a client (client_id is missing).' }
  if (!client) return { kind: 'page', status: 400, title: 'Unknown client', message: 'The application that sent you here is not registered with this organization.' }
  const redirectUri = matchRedirectUri(client.redirectUris, params.redirect_uri)
  if (!redirectUri) {
    return {
      kind: 'page',
      status: 400,
      title: 'Invalid redirect URI',
      message: params.redirect_uri === undefined
        ? 'The application did not say where to return you, and it has registered several places (or none).'
        : "redirect uri doesn't match authorized redirect uri: the application asked to return you to an address it has not registered."
    }
  }
  const state = repeated.includes('state') ? undefined : params.state
  const fail = (error: string, description: string): RedirectFailure => ({ kind: 'redirect', redirectUri, state, error, description })
  if (repeated.length > 0) return fail('invalid_request', `parameter '${repeated[0]!}' is repeated: send each parameter once (RFC 6749 §3.1)`)
  if (state !== undefined && state.length > MAX_STATE) return fail('invalid_request', `state is longer than ${MAX_STATE} characters`)
  if (!params.response_type) return fail('invalid_request', "missing 'response_type': send response_type=code")
  if (params.response_type !== 'code') return fail('unsupported_response_type', "only response_type 'code' is supported")
  const method = params.code_challenge_method
  if (params.code_challenge === undefined) {
    if (method !== undefined) return fail('invalid_request', 'code_challenge_method without code_challenge: send both, or neither')
    if (client.isPublic) return fail('invalid_request', 'a client without a secret must use PKCE: send code_challenge with code_challenge_method=S256')
  } else {
    if (method === undefined || method === 'plain') return fail('invalid_request', "PKCE: code_challenge_method must be S256 ('plain' is not accepted)")
    if (method !== 'S256') return fail('invalid_request', 'PKCE: code_challenge_method must be S256')
    if (!S256_CHALLENGE.test(params.code_challenge)) return fail('invalid_request', 'PKCE: code_challenge must be 43 base64url characters (the SHA-256 of the verifier)')
  }
  const scope = params.scope
  if (scope !== undefined && (scope.length > MAX_SCOPE_LENGTH || scope.split(' ').filter(Boolean).length > MAX_SCOPES)) {
    return fail('invalid_scope', `at most ${MAX_SCOPES} scopes and ${MAX_SCOPE_LENGTH} characters`)
  }
  return {
    kind: 'ok',
    request: {
      redirectUri,
      redirectUriGiven: params.redirect_uri !== undefined,
      scope: scope === undefined || scope.trim() === '' ? undefined : scope,
      state,
      codeChallenge: params.code_challenge
    }
  }
}

/** The redirect URI with the response parameters added to its query (RFC 6749 §4.1.2). */
export function redirectWith (redirectUri: string, values: Record<string, string | undefined>): string {
  const url = new URL(redirectUri)
  for (const [k, v] of Object.entries(values)) if (v !== undefined) url.searchParams.append(k, v)
  return url.toString()
}
