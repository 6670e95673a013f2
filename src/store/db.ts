import { expressionBuilder, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/** The database or a transaction: every store function takes one first, as kysely's example app does. */
export type Db = Kysely<Database>

/**
 * Builds subqueries that another owner's query embeds (a scalar, an EXISTS or an IN), so that one
 * statement can read several tables while each table's SQL stays in the module that owns it.
 */
export const subquery = expressionBuilder<Database, never>()
