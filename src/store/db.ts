import { expressionBuilder, sql, type Expression, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../db/schema.js'

/** The database or a transaction: every store function takes one first, as kysely's example app does. */
export type Db = Kysely<Database>

/**
 * Builds subqueries that another owner's query embeds (a scalar, an EXISTS or an IN), so that one
 * statement can read several tables while each table's SQL stays in the module that owns it.
 */
export const subquery = expressionBuilder<Database, never>()

/** Rows a purge deletes per statement: short locks, short transactions, a steady token path meanwhile. */
export const PURGE_BATCH = 5000

/**
 * Deletes at most `limit` rows of `table` that `expired` selects, and says how many. Purges delete in
 * such batches (services/purge.ts), so that no statement holds millions of row locks or a long
 * snapshot while the token endpoint writes to the same table. ctid = ANY(ARRAY(...)) is a TID scan.
 */
export async function deleteBatch (db: Db, table: keyof Database, expired: RawBuilder<unknown>, limit = PURGE_BATCH): Promise<number> {
  const t = sql.table(table)
  const res = await sql`DELETE FROM ${t} WHERE ctid = ANY (ARRAY (SELECT ctid FROM ${t} WHERE ${expired} LIMIT ${limit}))`.execute(db)
  return Number(res.numAffectedRows ?? 0)
}

/**
 * A sealed column (keys/secret-box.ts) that holds a value not made under the key whose prefix this is
 * (`SecretBox.currentPrefix`): the rows `keys reencrypt` rewrites. NULL (nothing sealed) is not one.
 */
export function sealedNotUnder (column: Expression<string | null>, prefix: string): RawBuilder<boolean> {
  return sql<boolean>`(${column} IS NOT NULL AND NOT starts_with(${column}, ${prefix}))`
}
