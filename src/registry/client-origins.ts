import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/** Whether any client of the org lists this browser origin (a CORS preflight names no client yet). */
export async function anyClientAllowsOrigin (db: Kysely<Database>, orgId: string, origin: string): Promise<boolean> {
  const row = await db.selectFrom('clients').select('id')
    .where('organization_id', '=', orgId)
    .where(sql<boolean>`origins @> ${JSON.stringify([origin])}::jsonb`)
    .limit(1).executeTakeFirst()
  return row !== undefined
}
