import fs from 'node:fs/promises'
import path from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { loadConfig, type Config } from '../../config.js'
import { connectPglite, connectPostgres, type DbHandle } from '../../db/connect.js'
import { checkTargetEmpty, exportDatabase, ExportRefused } from '../../services/database-export.js'
import { CliError, printJson, type CliIo } from '../context.js'

const DEFAULT_BATCH = 1000

function batchSize (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1 || n > 100_000) throw new InvalidArgumentError('a whole number of rows from 1 to 100000')
  return n
}

/** The target URL, checked; refused with a message that never repeats it (it may hold a password). */
function targetUrl (value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new CliError('--to is not a URL; give the target as postgres://user@host:port/database')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new CliError(`--to must be a postgres:// or postgresql:// URL, not ${url.protocol}//`)
  return url
}

/** Where the target is, for the summary: host and database, without user or password. */
function shown (url: URL): string {
  return `${url.host}${url.pathname}`
}

/** The embedded database's folder, refused unless it holds one (PGlite would make an empty one there). */
async function embeddedDir (config: Config): Promise<string> {
  const dir = path.join(config.dataDir, 'pgdata')
  try {
    await fs.access(path.join(dir, 'PG_VERSION'))
  } catch {
    throw new CliError(`no embedded database in ${dir}: set DATA_DIR to the folder the server ran with`)
  }
  return dir
}

/**
 * What the instances on the target need to read the copied secrets: the same key. Says where this
 * install keeps it, never what it is.
 */
async function keyNote (config: Config): Promise<string> {
  const head = 'The client secrets and private signing keys were copied encrypted, as they were. Start every instance on the target with '
  if (config.secretEncryptionKeys) return head + 'the same SECRET_ENCRYPTION_KEY (every key of its list) as this command was given.'
  const file = path.join(config.dataDir, 'secret.key')
  try {
    await fs.access(file)
    return head + `SECRET_ENCRYPTION_KEY set to the key this install generated, which is the content of ${file} ` +
      '(base64, as the variable takes it). Keep that file as safe as the key itself.'
  } catch {
    return head + `the SECRET_ENCRYPTION_KEY this install ran with: it was not given to this command, and there is no ${file}.`
  }
}

/** `db export`: moves an embedded install to PostgreSQL (README "Moving off the embedded database"). */
export function registerDb (program: Command, io: CliIo): void {
  const db = program.command('db').description('move the database')
  db.command('export')
    .description('copy the embedded database (PGlite under DATA_DIR) into an empty PostgreSQL database, every table as it is: ' +
      'organizations, users, clients and their secrets, signing keys, consents, refresh tokens. Stop the server first.')
    .requiredOption('--to <url>', 'the target PostgreSQL database, postgres://user@host:port/database; it must be empty ' +
      '(a password is better in PGPASSWORD than in a URL that ps shows)')
    .option('--batch-size <rows>', 'rows read and written per statement', batchSize, DEFAULT_BATCH)
    .action(async (opts: { to: string, batchSize: number }) => {
      const config = loadConfig(io.env)
      if (config.databaseUrl) throw new CliError('db export reads the embedded database under DATA_DIR: unset DATABASE_URL, and name the target with --to')
      const url = targetUrl(opts.to)
      const dir = await embeddedDir(config)
      const target = connectPostgres(opts.to, 2)
      let source: DbHandle | undefined
      const started = Date.now()
      try {
        await checkTargetEmpty(target.db)
        source = await connectPglite(dir)
        const result = await exportDatabase(source.db, target.db, { batchSize: opts.batchSize })
        printJson(io, {
          target: shown(url),
          tables: Object.fromEntries(result.tables.map((t) => [t.name, t.rows])),
          rows: result.tables.reduce((sum, t) => sum + t.rows, 0),
          source_migrated: result.sourceMigrated,
          target_migrated: result.targetMigrated,
          seconds: (Date.now() - started) / 1000
        })
        io.stderr(await keyNote(config) + '\n')
      } catch (err) {
        if (err instanceof ExportRefused) throw new CliError(err.message)
        throw err
      } finally {
        await target.close()
        await source?.close()
      }
    })
}
