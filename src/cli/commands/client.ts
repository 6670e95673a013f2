import type { Command } from 'commander'
import { hotRows } from '../../cache/hot-rows.js'
import { explainClientAccess } from '../../services/client-access.js'
import { createClient } from '../../services/clients.js'
import { checkText } from '../checks.js'
import { printJson, readTextFile, requireOrganization, withContext, type CliIo } from '../context.js'

interface ClientCreateOptions {
  org: string
  name: string
  jwtGrant?: boolean
  redirectUri?: string[]
  origin?: string[]
  publicKey?: string
  explicitAuthorization?: boolean
  adminNodeTokenRetrieval?: boolean
  whitelist?: boolean
  public?: boolean
}

/**
 * `client create`: an API client in an existing organization. It prints the secret because the
 * operator asked for it; stdout only, never a log. `--public` makes one without a secret.
 */
export function registerClient (program: Command, io: CliIo): void {
  const client = program.command('client').description('manage API clients')
  client.command('create')
    .description('create an API client; prints it as JSON, with its id (the OAuth client_id) and secret (null for --public)')
    .requiredOption('--org <name>', 'the organization')
    .requiredOption('--name <name>', "the client's name, unique in the organization")
    .option('--jwt-grant', 'enable the JWT bearer grant (jwt_grant_enabled)', false)
    .option('--redirect-uri <uri...>', 'allowed redirect URI; repeat or list several')
    .option('--origin <origin...>', 'allowed CORS origin; repeat or list several')
    .option('--public-key <file>', "PEM file with the client's public key")
    .option('--no-explicit-authorization', 'assume consent in the browser flow (explicit_authorization_required false; the default asks the user, as the API does)')
    .option('--admin-node-token-retrieval', 'admin_node_token_retrieval_enabled', false)
    .option('--whitelist', 'whitelist_enabled', false)
    .option('--public', 'a public client, without a secret (token_endpoint_auth_method none; the browser flow then needs PKCE)', false)
    .action(async (opts: ClientCreateOptions) => {
      const name = checkText(opts.name, 'name', true)!
      const publicKey = opts.publicKey ? await readTextFile(opts.publicKey, 'public key') : undefined
      const created = await withContext(io, async (ctx) => {
        const org = await requireOrganization(ctx.db, opts.org)
        return await createClient(ctx.db, ctx.box, ctx.audit(org.id), {
          name,
          jwt_grant_enabled: opts.jwtGrant === true,
          redirect_uris: opts.redirectUri ?? [],
          origins: opts.origin ?? [],
          public_key: publicKey,
          explicit_authorization_required: opts.explicitAuthorization !== false,
          admin_node_token_retrieval_enabled: opts.adminNodeTokenRetrieval === true,
          whitelist_enabled: opts.whitelist === true,
          token_endpoint_auth_method: opts.public === true ? 'none' : 'client_secret_basic'
        }, null)
      })
      printJson(io, created)
    })
  client.command('explain')
    .description('explain whether a user can get a token through a client, as the token endpoint would decide (GET /api/v1/clients/{id}/access); prints JSON')
    .requiredOption('--org <name>', 'the organization')
    .requiredOption('--client <id>', "the client's id")
    .requiredOption('--user <id or e-mail>', 'the user, by id or e-mail')
    .option('--scope <scope>', 'the scope the token request would ask for (default user:all)')
    .option('--owner-access', "the token request's owner_access=true", false)
    .action(async (opts: { org: string, client: string, user: string, scope?: string, ownerAccess?: boolean }) => {
      const explained = await withContext(io, async (ctx) => {
        const org = await requireOrganization(ctx.db, opts.org)
        return await explainClientAccess({ db: ctx.db, config: ctx.config, cache: hotRows(ctx.db) }, ctx.audit(org.id), org.name, {
          clientId: checkText(opts.client, 'client', true)!,
          user: checkText(opts.user, 'user', true)!,
          ...(opts.scope !== undefined && { scope: opts.scope }),
          ownerAccess: opts.ownerAccess === true
        })
      })
      printJson(io, explained)
    })
}
