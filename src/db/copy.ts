// The whole database copied into another, for `aoc-auth db export` (README "Moving off the embedded
// database"). It names no table: it reads them, their columns and their foreign keys from the
// migrated schema, so a table that a later migration adds is copied too, and each table's own
// queries stay with its one owner in src/store/ (docs/architecture.md, "One owner per table").
import fs from 'node:fs/promises'
import { sql, type Kysely } from 'kysely'
import { MIGRATIONS_DIR } from './migrate.js'

/** Any database, whatever its tables: the copier works from the catalog, not from db/schema.ts. */
type AnyDb = Kysely<any>

/** kysely's Migrator keeps its own two tables; a migration run makes them, a copy never carries them. */
const MIGRATOR_TABLES = ['kysely_migration', 'kysely_migration_lock']

/** A table as the copier sees it: its name and the columns a row is written with. */
export interface CopyTable { name: string, columns: string[] }

/** The migrations this build of the server carries, by name (`0001_registry`, ...), in order. */
export async function knownMigrations (dir = MIGRATIONS_DIR): Promise<string[]> {
  return (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, '')).sort()
}

/** The migrations recorded as applied in `db`, or none when the migrator never ran there. */
export async function appliedMigrations (db: AnyDb): Promise<string[]> {
  const { rows: [exists] } = await sql<{ present: boolean }>`SELECT to_regclass('kysely_migration') IS NOT NULL AS present`.execute(db)
  if (!exists?.present) return []
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db)
  return rows.map((r) => r.name)
}

/** The names of the tables of the current schema but the migrator's (a partitioned table by its parent). */
export async function tableNames (db: AnyDb): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    ORDER BY c.relname`.execute(db)
  return rows.map((r) => r.name).filter((n) => !MIGRATOR_TABLES.includes(n))
}

/**
 * The tables of the current schema but the migrator's, each before every table whose foreign keys
 * point at it, so rows can be inserted in this order with every constraint checked as it goes. A
 * partitioned table is listed once, by its parent: reading the parent reads every partition, and
 * an insert into it is routed to the right one.
 */
export async function tablesInCopyOrder (db: AnyDb): Promise<CopyTable[]> {
  const names = await tableNames(db)
  // Generated columns are computed by the target and may not be written.
  const { rows: columns } = await sql<{ table: string, column: string }>`
    SELECT c.relname AS table, a.attname AS column FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
    ORDER BY c.relname, a.attnum`.execute(db)
  const { rows: references } = await sql<{ child: string, parent: string }>`
    SELECT ch.relname AS child, pa.relname AS parent FROM pg_constraint k
    JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid
    WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace`.execute(db)

  const parents = new Map(names.map((n) => [n, new Set<string>()]))
  // A table that references itself needs its rows in an order of their own; none of ours does, and
  // such a reference is not an edge between tables.
  for (const r of references) if (r.child !== r.parent) parents.get(r.child)?.add(r.parent)
  const ordered: string[] = []
  while (ordered.length < names.length) {
    const ready = names.filter((n) => !ordered.includes(n) && [...parents.get(n)!].every((p) => ordered.includes(p) || !parents.has(p)))
    if (ready.length === 0) {
      throw new Error(`the foreign keys of ${names.filter((n) => !ordered.includes(n)).join(', ')} form a cycle; there is no order to copy them in`)
    }
    ordered.push(...ready)
  }
  return ordered.map((name) => ({ name, columns: columns.filter((c) => c.table === name).map((c) => c.column) }))
}

/** The first of `tables` that holds a row, or undefined when all are empty. */
export async function firstTableWithRows (db: AnyDb, tables: readonly string[]): Promise<string | undefined> {
  for (const name of tables) {
    const { rows: [row] } = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM ${sql.table(name)}) AS any`.execute(db)
    if (row?.any) return name
  }
  return undefined
}

/** How many rows `table` holds. */
export async function countRows (db: AnyDb, table: string): Promise<number> {
  const { rows: [row] } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db)
  return Number(row?.n ?? 0)
}

/**
 * Prepares a target transaction for the copy: no other session may write to `tables` until it
 * ends (readers may read their empty tables meanwhile), and their user triggers are off until the
 * end of the copy, as endCopy turns them on again. A trigger is for a change made on this database,
 * and a copied row is no change: it arrives as it was (a trigger that stamps a column would rewrite
 * it), and the change feed would send one notification per row to instances that cannot have cached
 * any of them. Foreign keys are system triggers and stay on. ALTER TABLE needs the tables' owner,
 * which the export is: it has just made them by migrating.
 */
export async function beginCopy (trx: AnyDb, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return
  await sql`LOCK TABLE ${sql.join(tables.map((t) => sql.table(t)))} IN EXCLUSIVE MODE`.execute(trx)
  for (const t of tables) await sql`ALTER TABLE ${sql.table(t)} DISABLE TRIGGER USER`.execute(trx)
}

/** Turns the tables' triggers on again, in the copy's transaction, before it commits. */
export async function endCopy (trx: AnyDb, tables: readonly string[]): Promise<void> {
  for (const t of tables) await sql`ALTER TABLE ${sql.table(t)} ENABLE TRIGGER USER`.execute(trx)
}

/**
 * Reads every row of `table` in batches of `batchSize` through a cursor, in one read transaction
 * (one snapshot), and hands each batch on as a JSON array of row objects. JSON carries every column
 * type exactly through its text form: timestamps with their microseconds and offset, jsonb as it
 * is, bytea as hex; insertRows reads it back with the target's own input functions.
 */
export async function readRowsInBatches (db: AnyDb, table: string, batchSize: number, onBatch: (json: string, rows: number) => Promise<void>): Promise<void> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a whole number of rows, got ${batchSize}`)
  await db.transaction().execute(async (trx) => {
    await sql`DECLARE aoc_copy NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS row FROM ${sql.table(table)} AS t`.execute(trx)
    for (;;) {
      const { rows } = await sql<{ row: string }>`FETCH ${sql.raw(String(batchSize))} FROM aoc_copy`.execute(trx)
      if (rows.length > 0) await onBatch('[' + rows.map((r) => r.row).join(',') + ']', rows.length)
      if (rows.length < batchSize) break
    }
  })
}

/** Inserts a batch that readRowsInBatches produced into `table`, column by column by name. */
export async function insertRows (trx: AnyDb, table: CopyTable, json: string): Promise<void> {
  const columns = sql.join(table.columns.map((c) => sql.id(c)))
  await sql`INSERT INTO ${sql.table(table.name)} (${columns})
    SELECT ${columns} FROM json_populate_recordset(NULL::${sql.table(table.name)}, ${json}::json)`.execute(trx)
}
