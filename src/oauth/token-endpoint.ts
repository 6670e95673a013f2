import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { identifyClient } from './client-auth.js'
import { InvalidRequest, OAuthError, UnsupportedGrantType } from './errors.js'
import { readForm } from './form.js'
import { GRANTS, grantTable } from './grants/index.js'
import { auditRefusal } from './refusal-audit.js'
import type { TokenResponse } from './grants/types.js'

/** The grant types, for the answer to one that is not among them (RFC 8414's grant_types_supported lists the same). */
const SUPPORTED = GRANTS.map((g) => g.grantType).join(', ')

/** A caller's value quoted in a description: printable ASCII only, at most 100 characters. */
function quoteParam (value: string): string {
  return value.slice(0, 100).replace(/[^\x20-\x7e]/g, '?').replace(/'/g, '?')
}

/**
 * `POST <oauth base>/token` as a pipeline: read the form, identify the client, check the grant
 * type, and hand over to the grant, which validates, decides and issues.
 */
export async function handleTokenRequest (
  ctx: AppContext, orgName: string, request: FastifyRequest, countForClient: (clientId: string) => Promise<void> = async () => {}
): Promise<TokenResponse> {
  const form = readForm(request)
  const grantType = form.grant_type
  // AoC's own words, kept as they are (docs/aoc-compatibility.md §6).
  if (!grantType) throw new InvalidRequest('missing \'grant_type\'')
  const grant = grantTable.get(grantType)
  const { org, client, secretVerified } = await identifyClient(ctx, orgName, request.headers, form, grant?.requireSecret ?? 'optional')
  try {
    if (!grant) throw new UnsupportedGrantType(`grant_type '${quoteParam(grantType)}' is not supported: use one of ${SUPPORTED}`)
    let counted: Promise<void> | undefined
    const clientProven = () => (counted ??= countForClient(client.id))
    if (secretVerified) await clientProven()
    return await grant.handle({ ctx, org, client, secretVerified, form, log: request.log, clientProven })
  } catch (err) {
    // The refusal of a known client's request is a security event; recording it must not hide the refusal.
    if (err instanceof OAuthError) {
      await auditRefusal(ctx.db, request, org, client, grantType, err).catch((e: unknown) => { request.log.warn({ err: e }, 'could not record a refused token request') })
    }
    throw err
  }
}
