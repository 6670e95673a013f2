import type { TSchema } from '@sinclair/typebox'
import type { FastifyBaseLogger } from 'fastify'
import type { AppContext } from '../../context.js'
import type { Client, Organization } from '../../db/schema.js'
import type { SecretRequirement } from '../client-auth.js'

/** What every grant gets: the org, the authenticated client, the form, and a logger for reasons. */
export interface GrantContext {
  ctx: AppContext
  org: Organization
  client: Client
  /** The client sent its secret and it matched; false when it was identified by client_id alone. */
  secretVerified: boolean
  form: Record<string, string>
  log: FastifyBaseLogger
  /**
   * Counts the request against the client's own rate limit, once the client has proved itself (its
   * secret, or an assertion its key signed); throws RateLimited over the limit. Counting only then
   * keeps a caller who merely knows a client id from using up that client's limit. Idempotent.
   */
  clientProven: () => Promise<void>
}

/** The token response (docs/aoc-compatibility.md §5); `refresh_token` is left out where there is none. */
export interface TokenResponse {
  access_token: string
  token_type: 'bearer'
  expires_in: number
  scope: string
  refresh_token?: string
}

/**
 * A grant of the token endpoint, as the one list in grants/index.ts holds it: the endpoint's table,
 * `grant_types_supported` in the RFC 8414 metadata and the token form of the OpenAPI document are
 * all made from these.
 */
export interface GrantDefinition {
  /** the `grant_type` value */
  grantType: string
  /** what the grant is, for the OpenAPI document */
  description: string
  /** its form parameters besides `grant_type` and the client's credentials, with their schemas */
  params: Record<string, TSchema>
  /** a token request of this grant as a client sends it, `grant_type` included: the OpenAPI form's example */
  example: Record<string, string>
  /** what it asks of the client's secret before the handler runs */
  requireSecret: SecretRequirement
  /** validates, decides and issues */
  handle: (g: GrantContext) => Promise<TokenResponse>
}
