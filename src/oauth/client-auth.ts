import type { IncomingHttpHeaders } from 'node:http'
import type { Client, Organization } from '../db/schema.js'
import type { AppContext } from '../context.js'
import { isIdShaped } from '../ids.js'
import { clientSecretMatches, isPublicClient } from '../registry/clients.js'
import { InvalidClient, InvalidRequest } from './errors.js'

/** How the client identified itself (docs/aoc-compatibility.md §2: body id alone, HTTP Basic, or id and secret in the body). */
export interface ClientCredentials {
  clientId: string
  secret?: string
  usedBasic: boolean
}

/**
 * What an endpoint asks of the client's secret. `optional`: identification by client_id alone is
 * enough (the grant brings its own proof), but a secret that is sent must be right. `required`:
 * the secret must be sent and right, so a public client, which has none, is refused.
 * `required-unless-public`: as `required`, but a public client is accepted by client_id alone
 * (RFC 7009 §2.1 lets public clients revoke their own tokens).
 */
export type SecretRequirement = 'optional' | 'required' | 'required-unless-public'

/** The client an endpoint deals with, and whether it proved itself with its secret. */
export interface AuthenticatedClient {
  client: Client
  /** A secret was presented and matched; false when the client was identified by client_id alone. */
  secretVerified: boolean
}

const MAX_ID = 128
const MAX_SECRET = 512

/** What a caller is told of an Authorization header that is not Basic as RFC 6749 §2.3.1 has it. */
const MALFORMED_BASIC = 'the Authorization header must be Basic base64(client_id:client_secret), each part form-encoded (RFC 6749 §2.3.1)'
const CREDENTIAL_LENGTHS = `the client id must be 1 to ${MAX_ID} characters, and the client secret at most ${MAX_SECRET}`

/** RFC 6749 §2.3.1: Basic carries the form-encoded id and secret. Our ids and secrets are base64url, so either reading agrees. */
function formDecode (value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}

function parseBasic (header: string): { id: string, secret: string } {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim())
  if (!m?.[1]) throw new InvalidClient('malformed Basic header', true, MALFORMED_BASIC)
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw new InvalidClient('Basic credentials without a colon', true, MALFORMED_BASIC)
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) }
  } catch {
    throw new InvalidClient('Basic credentials are not form-encoded', true, MALFORMED_BASIC)
  }
}

/**
 * Reads the client's credentials from the Authorization header and the form. Two different
 * client ids, or a secret sent two ways, is an `invalid_request` (RFC 6749 §2.3).
 */
export function readClientCredentials (headers: IncomingHttpHeaders, form: Record<string, string>): ClientCredentials {
  const auth = headers.authorization
  const basic = auth && /^Basic\s/i.test(auth) ? parseBasic(auth) : undefined
  const bodyId = form.client_id
  const bodySecret = form.client_secret
  if (basic) {
    if (bodyId !== undefined && bodyId !== basic.id) throw new InvalidRequest('client_id in the body differs from the one in the Authorization header')
    if (bodySecret !== undefined) throw new InvalidRequest('send the client secret in the Authorization header or in the body, not both')
    if (!basic.id || basic.id.length > MAX_ID || basic.secret.length > MAX_SECRET) throw new InvalidClient('Basic id or secret empty or too long', true, CREDENTIAL_LENGTHS)
    return { clientId: basic.id, secret: basic.secret, usedBasic: true }
  }
  if (!bodyId) throw new InvalidClient('no client identification', false, 'client authentication is required: client_id, or HTTP Basic')
  if (bodyId.length > MAX_ID || (bodySecret !== undefined && bodySecret.length > MAX_SECRET)) throw new InvalidClient('client_id or client_secret too long', false, CREDENTIAL_LENGTHS)
  return { clientId: bodyId, ...(bodySecret !== undefined ? { secret: bodySecret } : {}), usedBasic: false }
}

/** The org's client named by a caller-given id, through the row cache; undefined when there is none or the id cannot be one. */
export async function findCachedClient (ctx: AppContext, orgId: string, clientId: string): Promise<Client | undefined> {
  if (!isIdShaped(clientId)) return undefined
  return await ctx.cache.client(orgId, clientId)
}

/**
 * Finds the client in the org and checks a presented secret in constant time. An unknown client
 * is `invalid_client` even when no secret was sent (docs/aoc-compatibility.md §9), and so is a public client that
 * sends a secret: it has none, and accepting any would let a guessed value pass for proof.
 * `requirement` says whether the endpoint needs the secret (see {@link SecretRequirement}).
 */
export async function authenticateClient (ctx: AppContext, orgId: string, creds: ClientCredentials, requirement: SecretRequirement): Promise<AuthenticatedClient> {
  const client = await findCachedClient(ctx, orgId, creds.clientId)
  if (!client) throw new InvalidClient('unknown client', creds.usedBasic)
  const isPublic = isPublicClient(client)
  if (creds.secret !== undefined) {
    if (isPublic) throw new InvalidClient('secret sent for a public client', creds.usedBasic, 'this client is public: send client_id alone, without a secret')
    if (!clientSecretMatches(ctx.box, client, creds.secret)) throw new InvalidClient('wrong client secret', creds.usedBasic)
    return { client, secretVerified: true }
  }
  if (requirement === 'required' || (requirement === 'required-unless-public' && !isPublic)) {
    throw new InvalidClient(isPublic ? 'public client at a secret-only endpoint' : 'client secret required', creds.usedBasic,
      'client authentication with the client secret is required: send it by HTTP Basic, or as client_secret in the body')
  }
  return { client, secretVerified: false }
}

/**
 * The org of the URL and the client the request identifies, authenticated. An unknown org reads
 * like an unknown client. Shared by the token, introspection and revocation endpoints.
 */
export async function identifyClient (
  ctx: AppContext, orgName: string, headers: IncomingHttpHeaders, form: Record<string, string>, requirement: SecretRequirement
): Promise<AuthenticatedClient & { org: Organization }> {
  const creds = readClientCredentials(headers, form)
  const org = await ctx.cache.org(orgName)
  if (!org) throw new InvalidClient('unknown organization', creds.usedBasic)
  return { org, ...await authenticateClient(ctx, org.id, creds, requirement) }
}
