import type { Command } from 'commander'
import { hashPassword } from '../../registry/passwords.js'
import { createUser } from '../../services/users.js'
import { checkEmail, checkText } from '../checks.js'
import { printJson, readPasswordFile, readTextFile, requireOrganization, withContext, type CliIo } from '../context.js'

interface UserCreateOptions {
  org: string
  email: string
  admin?: boolean
  publicKey?: string
  passwordFile?: string
  firstName?: string
  lastName?: string
}

/** `user create`: a user in an existing organization; prints the user as the API shows it. */
export function registerUser (program: Command, io: CliIo): void {
  const user = program.command('user').description('manage users')
  user.command('create')
    .description('create a user in an organization; prints the user as JSON')
    .requiredOption('--org <name>', 'the organization')
    .requiredOption('--email <email>', "the user's e-mail")
    .option('--admin', 'make the user an organization administrator', false)
    .option('--public-key <file>', "PEM file with the user's public key (for the JWT grant)")
    .option('--password-file <file>', "file whose first line is the user's password")
    .option('--first-name <name>', 'first name')
    .option('--last-name <name>', 'last name')
    .action(async (opts: UserCreateOptions) => {
      const email = checkEmail(opts.email, 'email')
      const firstName = checkText(opts.firstName, 'first-name')
      const lastName = checkText(opts.lastName, 'last-name')
      const publicKey = opts.publicKey ? await readTextFile(opts.publicKey, 'public key') : undefined
      const password = opts.passwordFile ? await readPasswordFile(opts.passwordFile) : undefined
      const passwordHash = password ? await hashPassword(password) : null
      const created = await withContext(io, async (ctx) => {
        const org = await requireOrganization(ctx.db, opts.org)
        return await createUser(ctx.db, ctx.audit(org.id), {
          email,
          first_name: firstName,
          last_name: lastName,
          organization_admin: opts.admin === true,
          public_key: publicKey
        }, passwordHash)
      })
      printJson(io, created)
    })
}
