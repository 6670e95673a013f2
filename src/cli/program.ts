import fs from 'node:fs'
import { Command, CommanderError } from 'commander'
import { registerClient } from './commands/client.js'
import { registerDb } from './commands/db.js'
import { registerKeys } from './commands/keys.js'
import { registerMigrate } from './commands/migrate.js'
import { registerOrg } from './commands/org.js'
import { registerToken } from './commands/token.js'
import { registerUser } from './commands/user.js'
import { processIo, type CliIo } from './context.js'
import { reportError } from './errors.js'

/** package.json sits two levels up from both src/cli/ and dist/cli/. */
function version (): string {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/**
 * The `aoc-auth` command line: every command reads the server's environment (DATABASE_URL, DATA_DIR, ...)
 * from `io`. Help, usage errors and the version go to io's stdout or stderr, and end the parse with a
 * CommanderError instead of exiting the process (the subcommands inherit both settings).
 */
export function buildProgram (io: CliIo = processIo()): Command {
  const program = new Command('aoc-auth')
    .description('Operate the aoc-auth server: migrations, organizations, users, clients, signing keys and tokens.\n' +
      'Reads the same environment as the server (DATABASE_URL or DATA_DIR, SECRET_ENCRYPTION_KEY, ...).')
    .version(version())
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
  registerMigrate(program, io)
  registerOrg(program, io)
  registerUser(program, io)
  registerClient(program, io)
  registerKeys(program, io)
  registerToken(program, io)
  registerDb(program, io)
  return program
}

/**
 * Runs `aoc-auth` with `args` (the arguments after the program name) and answers its exit code: 0,
 * commander's own (0 after --help or --version, 1 after a usage error it has printed), or reportError's.
 */
export async function runProgram (args: string[], io: CliIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(args, { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    return reportError(err, io)
  }
}
