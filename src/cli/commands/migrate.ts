import type { Command } from 'commander'
import { migrateToLatest } from '../../db/migrate.js'
import { withContext } from '../context.js'

/** `migrate`: brings the database to the newest migration and names what it applied. */
export function registerMigrate (program: Command): void {
  program.command('migrate')
    .description('apply pending database migrations (PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR)')
    .action(async () => {
      const applied = await withContext(async (ctx) => await migrateToLatest(ctx.db), { migrate: false })
      if (applied.length === 0) process.stdout.write('database is up to date; no migration applied\n')
      for (const name of applied) process.stdout.write(`applied ${name}\n`)
    })
}
