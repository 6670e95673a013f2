import fs from 'node:fs'
import { Command } from 'commander'
import { registerClient } from './commands/client.js'
import { registerDb } from './commands/db.js'
import { registerKeys } from './commands/keys.js'
import { registerMigrate } from './commands/migrate.js'
import { registerOrg } from './commands/org.js'
import { registerToken } from './commands/token.js'
import { registerUser } from './commands/user.js'

/** package.json sits two levels up from both src/cli/ and dist/cli/. */
function version (): string {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/** The `aoc-auth` command line: every command reads the server's environment (DATABASE_URL, DATA_DIR, ...). */
export function buildProgram (): Command {
  const program = new Command('aoc-auth')
    .description('Operate the aoc-auth server: migrations, organizations, users, clients, signing keys and tokens.\n' +
      'Reads the same environment as the server (DATABASE_URL or DATA_DIR, SECRET_ENCRYPTION_KEY, ...).')
    .version(version())
    .showHelpAfterError('(add --help for usage)')
  registerMigrate(program)
  registerOrg(program)
  registerUser(program)
  registerClient(program)
  registerKeys(program)
  registerToken(program)
  registerDb(program)
  return program
}
