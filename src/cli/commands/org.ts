import type { Command } from 'commander'
import { setUpOrganization } from '../../services/org-setup.js'
import { hashPassword } from '../../registry/passwords.js'
import { checkEmail } from '../checks.js'
import { printJson, readPasswordFile, readTextFile, withContext, type CliIo } from '../context.js'

interface OrgCreateOptions { adminEmail: string, adminPasswordFile?: string, adminPublicKey?: string }

/** `org create`: an organization with its first administrator, in one transaction. */
export function registerOrg (program: Command, io: CliIo): void {
  const org = program.command('org').description('manage organizations')
  org.command('create')
    .description('create an organization and its first administrator; prints {organization_id, org, admin_id}')
    .argument('<name>', 'organization name: lowercase letters, digits and inner hyphens')
    .requiredOption('--admin-email <email>', "the administrator's e-mail (their login and token subject)")
    .option('--admin-password-file <file>', "file whose first line is the administrator's password")
    .option('--admin-public-key <file>', "PEM file with the administrator's public key (for the JWT grant)")
    .action(async (name: string, opts: OrgCreateOptions) => {
      const adminEmail = checkEmail(opts.adminEmail, 'admin-email')
      // Files are read before the database is opened, so a typo costs nothing.
      const password = opts.adminPasswordFile ? await readPasswordFile(opts.adminPasswordFile) : undefined
      const adminPublicKey = opts.adminPublicKey ? await readTextFile(opts.adminPublicKey, 'public key') : undefined
      const adminPasswordHash = password ? await hashPassword(password) : undefined
      const setup = await withContext(io, async (ctx) => await setUpOrganization(ctx.db, ctx.box, {
        orgName: name, adminEmail, adminPublicKey, adminPasswordHash
      }, ctx.audit(null)))
      printJson(io, { organization_id: setup.org.id, org: setup.org.name, admin_id: setup.admin.id })
    })
}
