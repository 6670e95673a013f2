import type { Command } from 'commander'
import { ensureSigningKey, KeyStore } from '../../keys/signing-keys.js'
import { ADMIN_SCOPES } from '../../oauth/policy.js'
import { issueAccessToken, issuerFor } from '../../oauth/tokens.js'
import { findUserByEmail } from '../../registry/users.js'
import { findClientIdForCli } from '../../store/clients.js'
import { CliError, requireOrganization, withContext, type CliIo } from '../context.js'

interface TokenOptions { org: string, email: string, scope: string, client?: string }

/**
 * `token`: an access token for a user, signed with the server's key, for ops and scripts (and for
 * trying the API before any client is set up). It applies the same rules the API checks: an active
 * user, an existing client, admin scopes for administrators only.
 */
export function registerToken (program: Command, io: CliIo): void {
  program.command('token')
    .description('print an access token for a user of an organization (stdout only)')
    .requiredOption('--org <name>', 'organization name')
    .requiredOption('--email <email>', 'the user\'s e-mail')
    .option('--scope <scope>', 'space-separated scopes', 'user:all')
    .option('--client <id>', 'client id the token is issued to (default: the organization\'s oldest client)')
    .action(async (opts: TokenOptions) => {
      const token = await withContext(io, async ({ config, db, box }) => {
        const org = await requireOrganization(db, opts.org)
        const user = await findUserByEmail(db, org.id, opts.email)
        if (!user) throw new CliError(`no user ${opts.email} in organization ${opts.org}`)
        if (user.deactivated) throw new CliError(`user ${opts.email} is deactivated`)
        const scopes = opts.scope.split(' ').filter(Boolean)
        const admin = scopes.some((s) => ADMIN_SCOPES.has(s))
        if (admin && !user.organization_admin) throw new CliError(`user ${opts.email} is not an organization administrator; admin scopes are refused`)
        const clientId = await findClientIdForCli(db, org.id, opts.client)
        if (!clientId) throw new CliError(opts.client ? `no client ${opts.client} in organization ${opts.org}` : `organization ${opts.org} has no client; create one first`)
        await ensureSigningKey(db, box, config.signingAlg)
        return (await issueAccessToken(new KeyStore(db, box), {
          issuer: issuerFor(config.publicUrl, org.name),
          audience: config.accessTokenAudience,
          email: user.email,
          userId: user.id,
          organizationId: org.id,
          clientId,
          scope: scopes.join(' '),
          ttl: admin ? config.adminTokenTtl : config.userTokenTtl,
          grantType: 'cli'
        })).token
      })
      io.stdout(token + '\n')
    })
}
