// The explain route's rule (GET /api/v1/clients/{id}/access): find the client and the user as the
// token endpoint would, explain its decision (oauth/explain.ts), and record that an administrator
// asked (docs/audit-events.md `client.access_explained`).
import type { AppContext } from '../context.js'
import { NotFoundError } from '../errors.js'
import { explainAccess, type AccessExplanation } from '../oauth/explain.js'
import type { AuditSource } from '../registry/audit-events.js'
import { audited } from './audit.js'

/** What the administrator asks about: the user by id or e-mail, the request's scope and owner_access. */
export interface AccessQuestion {
  clientId: string
  /** a user id or e-mail, as an assertion's `sub` names it */
  user: string
  scope?: string
  ownerAccess: boolean
}

/** Explains what the token endpoint would decide; 404 for a client or user not in the caller's organization. */
export async function explainClientAccess (ctx: Pick<AppContext, 'db' | 'config' | 'cache'>, src: AuditSource, orgName: string, q: AccessQuestion): Promise<AccessExplanation> {
  // The rows the token endpoint reads (its caches, kept current by every change: docs/cluster.md).
  const org = await ctx.cache.org(orgName)
  if (!org) throw new NotFoundError('organization')
  const client = await ctx.cache.client(org.id, q.clientId)
  if (!client) throw new NotFoundError('client')
  const user = await ctx.cache.user(org.id, q.user)
  if (!user) throw new NotFoundError('user')
  const explanation = await explainAccess(ctx, org, client, user, q.scope, q.ownerAccess)
  await audited(ctx.db, src, async (_trx, audit) => {
    await audit({
      eventType: 'client.access_explained',
      target: { type: 'client', id: client.id, name: client.name },
      changes: [{ field: 'user_id', new_value: user.id }],
      reason: [explanation.user_key, explanation.global_key].map((a) => a.decision === 'allowed' ? 'allowed' : a.rule).join(' / ')
    })
  })
  return explanation
}
