import { ConfigError } from '../config.js'
import { RestError } from '../errors.js'
import { ReencryptIncompleteError, UnreadableSecretError } from '../services/secret-encryption.js'
import { CliError, type CliIo } from './context.js'

/** EX_CONFIG from sysexits.h, as server.ts exits on a bad environment. */
export const EXIT_CONFIG = 78

/** The one-line text of an error; pg's connection failures are AggregateErrors with no message of their own. */
function messageOf (err: unknown): string {
  if (err instanceof AggregateError && !err.message) return err.errors.map(messageOf).join('; ')
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name
  return String(err)
}

/** Errors that tell the operator what to do, never a bug: one line, with no stack at any LOG_LEVEL. */
const OPERATOR_ERRORS = [CliError, UnreadableSecretError, ReencryptIncompleteError]

/**
 * Prints what went wrong on stderr and answers the exit code. Operator mistakes (bad environment,
 * registry refusals, unreadable files, a stored secret no configured key opens) get one line and no
 * stack; a stack is shown for anything else only at LOG_LEVEL debug or trace, where someone is
 * looking for a bug.
 */
export function reportError (err: unknown, io: Pick<CliIo, 'env' | 'stderr'>): number {
  if (err instanceof ConfigError) {
    io.stderr(err.message + '\n')
    return EXIT_CONFIG
  }
  if (err instanceof RestError) {
    io.stderr(`error: ${err.message}${err.param ? ` (param: ${err.param})` : ''}\n`)
    return 1
  }
  io.stderr(`error: ${messageOf(err)}\n`)
  const verbose = ['debug', 'trace'].includes(io.env.LOG_LEVEL ?? '')
  if (!OPERATOR_ERRORS.some((kind) => err instanceof kind) && verbose && err instanceof Error && err.stack) io.stderr(err.stack + '\n')
  return 1
}
