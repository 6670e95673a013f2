import fs from 'node:fs/promises'
import type { Kysely } from 'kysely'
import { pino } from 'pino'
import { loadConfig, type Config } from '../config.js'
import type { DbHandle } from '../db/connect.js'
import { migrateToLatest } from '../db/migrate.js'
import { openDatabase } from '../db/open.js'
import type { Database, Organization } from '../db/schema.js'
import { resolveSecretKeys } from '../keys/master-key.js'
import { SecretBox } from '../keys/secret-box.js'
import { findOrganizationByName } from '../registry/organizations.js'
import type { AuditSource } from '../registry/audit-events.js'
import { loggerOptions } from '../logger.js'

/** An operator mistake the CLI reports in one line (`error: <message>`), without a stack. */
export class CliError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CliError'
  }
}

/**
 * Where the program reads its environment and writes its output, and how it opens the database:
 * the process's own (processIo) when `aoc-auth` runs, or a test's when the test runs the program
 * inside its own process (the output kept in strings, a database the test holds open).
 */
export interface CliIo {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Opens the configured database; the handle's close is called when the command is done. */
  openDatabase: (config: Config) => Promise<DbHandle>
}

/** The process's environment, stdout and stderr, and the configured database. */
export function processIo (): CliIo {
  return {
    env: process.env,
    stdout: (text) => { process.stdout.write(text) },
    stderr: (text) => { process.stderr.write(text) },
    openDatabase
  }
}

/** What a command works with: the server's own config, database and secret box. */
export interface CliContext {
  config: Config
  db: Kysely<Database>
  box: SecretBox
  /** Who a change is recorded as made by, in an organization (null: the whole server's, as a key rotation). */
  audit: (organizationId: string | null) => AuditSource
}

/**
 * The audit trail's source for a command: actor `cli`, named by the operating-system user; each
 * event's log line goes to stderr (stdout stays the command's JSON).
 */
function cliAuditSource (config: Config, io: CliIo): (organizationId: string | null) => AuditSource {
  const log = pino(loggerOptions(config.logLevel), { write: (line: string) => { io.stderr(line) } })
  const operator = io.env.USER ?? io.env.LOGNAME ?? null
  return (organizationId) => ({ organizationId, actor: { type: 'cli', id: operator }, log })
}

/**
 * Opens the configured database as the server would, runs `fn`, and always closes it: PGlite is
 * single-process, so the data directory must be released before the server may open it.
 * `migrate` follows MIGRATE_ON_START unless the command says otherwise.
 */
export async function withContext<T> (io: CliIo, fn: (ctx: CliContext) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig(io.env)
  const handle: DbHandle = await io.openDatabase(config)
  try {
    if (opts.migrate ?? config.migrateOnStart) await migrateToLatest(handle.db)
    const box = new SecretBox(await resolveSecretKeys(config.secretEncryptionKeys, config.dataDir))
    return await fn({ config, db: handle.db, box, audit: cliAuditSource(config, io) })
  } finally {
    await handle.close()
  }
}

/** The organization by name, or a CliError naming it. */
export async function requireOrganization (db: Kysely<Database>, name: string): Promise<Organization> {
  const org = await findOrganizationByName(db, name)
  if (!org) throw new CliError(`organization ${name} not found`)
  return org
}

/** A file's text, or a CliError naming the file and what it was for. */
export async function readTextFile (file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))
    throw new CliError(`cannot read ${what} file ${file}: ${reason}`)
  }
}

/** A password from a file: its first line, so a trailing newline from `echo` is not part of it. */
export async function readPasswordFile (file: string): Promise<string> {
  const password = (await readTextFile(file, 'password')).split(/\r?\n/)[0] ?? ''
  if (password === '') throw new CliError(`password file ${file} is empty`)
  return password
}

/** Writes a result for scripts to parse: pretty JSON on stdout, nothing else there. */
export function printJson (io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n')
}
