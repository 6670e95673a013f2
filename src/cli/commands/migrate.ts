import type { Command } from 'commander'
import { migrateToLatest } from '../../db/migrate.js'
import { withContext, type CliIo } from '../context.js'

/** `migrate`: brings the database to the newest migration and names what it applied. */
export function registerMigrate (program: Command, io: CliIo): void {
  program.command('migrate')
    .description('apply pending database migrations (PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR)')
    .action(async () => {
      const applied = await withContext(io, async (ctx) => await migrateToLatest(ctx.db), { migrate: false })
      if (applied.length === 0) io.stdout('database is up to date; no migration applied\n')
      for (const name of applied) io.stdout(`applied ${name}\n`)
    })
}
