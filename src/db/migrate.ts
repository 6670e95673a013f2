import fs from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'

/** The folder of plain SQL migrations, beside src/ (and beside dist/ once built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

/**
 * PGlite's query path takes one statement at a time, so a file is split at every line that ends
 * with `;`. Migrations therefore keep each statement's closing semicolon at the end of its line and
 * avoid `$$` bodies that contain such lines.
 */
export function splitStatements (text: string): string[] {
  return text.split(/;[ \t]*(?:--[^\n]*)?$/m).map((s) => s.trim()).filter((s) => s.replace(/--[^\n]*/g, '').trim() !== '')
}

/** Reads `NNNN_name.sql` files in name order; each runs in its own transaction. */
class SqlFileMigrationProvider implements MigrationProvider {
  constructor (private readonly dir: string) {}
  async getMigrations (): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(this.dir)).filter((f) => f.endsWith('.sql')).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const text = await fs.readFile(this.dir + file, 'utf8')
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db) => {
          for (const statement of splitStatements(text)) await sql.raw(statement).execute(db)
        }
      }
    }
    return migrations
  }
}

/** Brings the database to the newest migration; throws with the failing migration's name. */
export async function migrateToLatest (db: Kysely<any>, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new SqlFileMigrationProvider(dir) })
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${reason}`)
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
