// An install moved from one database to another: every table of the source, as it is, into an
// empty target (README "Moving off the embedded database", docs/operations.md). The tables come
// from the migrated schema (db/copy.ts); nothing is left out, not even expired rows (the purge
// removes those on the target as it would have on the source): revoked tokens and used assertion
// ids must come along, or a revoked token or a replayed assertion would pass again after the move.
import type { Kysely } from 'kysely'
import {
  appliedMigrations, beginCopy, countRows, endCopy, firstTableWithRows, insertRows, knownMigrations, readRowsInBatches,
  tableNames, tablesInCopyOrder, type CopyTable
} from '../db/copy.js'
import { migrateToLatest } from '../db/migrate.js'

/** The target is not one to copy into, or the source is not one this build can read; nothing was written. */
export class ExportRefused extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ExportRefused'
  }
}

export interface ExportResult {
  /** Each table copied, in the order copied, with its rows. */
  tables: Array<{ name: string, rows: number }>
  /** Migrations run on the source first, to bring it to this build's schema. */
  sourceMigrated: string[]
  /** Migrations run on the target: all of this build's, unless it had some already. */
  targetMigrated: string[]
}

function notEmpty (what: string): ExportRefused {
  return new ExportRefused(`the target database is not empty: ${what}; db export copies only into an empty database, and has written nothing`)
}

/**
 * Refuses, before writing anything, a target that holds rows or a migration this build does not
 * have. exportDatabase checks it too; the CLI asks first, so that a refusal never opens the source.
 */
export async function checkTargetEmpty (target: Kysely<any>, ours?: readonly string[]): Promise<void> {
  ours ??= await knownMigrations()
  const ahead = (await appliedMigrations(target)).find((m) => !ours.includes(m))
  if (ahead) throw notEmpty(`it has migration ${ahead}, which this aoc-auth does not have`)
  // Any table of the schema, ours or not: a database another application writes to is no place to move into.
  const full = await firstTableWithRows(target, await tableNames(target))
  if (full) throw notEmpty(`table ${full} has rows`)
}

/** The source's tables, checked against the target's after both were migrated to the same schema. */
function matchTables (source: CopyTable[], target: CopyTable[]): CopyTable[] {
  return source.map((s) => {
    const t = target.find((x) => x.name === s.name)
    const same = t && t.columns.length === s.columns.length && s.columns.every((c) => t.columns.includes(c))
    // Both ran the same migrations: a difference is a hand-made change to one of them.
    if (!same) throw new Error(`table ${s.name} has other columns in the target than in the source after both were migrated; was one of them changed by hand?`)
    return t
  })
}

/**
 * Copies every table of `source` into the empty `target`: refuses a target that is not empty
 * (writing nothing), brings the source to this build's migrations if it is behind, runs the same
 * migrations on the target, then copies the rows table by table in foreign-key order, in batches
 * of `batchSize`, all in one target transaction. A failure rolls the copy back: the target keeps
 * the migrated schema without a row, which is empty as this check counts it, so the export can run again.
 */
export async function exportDatabase (source: Kysely<any>, target: Kysely<any>, opts: { batchSize: number }): Promise<ExportResult> {
  const ours = await knownMigrations()
  const unknown = (await appliedMigrations(source)).find((m) => !ours.includes(m))
  if (unknown) throw new ExportRefused(`the source database has migration ${unknown}, which this aoc-auth does not have: export with the version that wrote it`)
  await checkTargetEmpty(target, ours)

  const sourceMigrated = await migrateToLatest(source)
  const targetMigrated = await migrateToLatest(target)
  const tables = matchTables(await tablesInCopyOrder(source), await tablesInCopyOrder(target))
  const names = tables.map((t) => t.name)

  const copied: ExportResult['tables'] = []
  await target.transaction().execute(async (trx) => {
    await beginCopy(trx, names)
    // Again under the lock: a writer between the first check and this one would have been missed.
    const full = await firstTableWithRows(trx, names)
    if (full) throw new ExportRefused(`table ${full} of the target was written to during the export; nothing was copied`)
    for (const table of tables) {
      let read = 0
      try {
        await readRowsInBatches(source, table.name, opts.batchSize, async (json, rows) => {
          await insertRows(trx, table, json)
          read += rows
        })
      } catch (err) {
        throw new Error(`copying table ${table.name} failed, and nothing was copied: ${err instanceof Error ? err.message : String(err)}`)
      }
      const written = await countRows(trx, table.name)
      if (written !== read) throw new Error(`table ${table.name}: read ${read} rows, the target holds ${written}; nothing was copied`)
      copied.push({ name: table.name, rows: written })
    }
    await endCopy(trx, names)
  })
  return { tables: copied, sourceMigrated, targetMigrated }
}
