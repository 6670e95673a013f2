// Owner of the `consents` table: which scopes a user allowed a client in the browser flow.
import { sql } from 'kysely'
import type { Consent } from '../db/schema.js'
import { newId } from '../ids.js'
import { clientNameOf } from './clients.js'
import type { Db } from './db.js'

/** The scopes the user allowed the client, if any. */
export async function findConsentScopes (db: Db, userId: string, clientId: string): Promise<string[] | undefined> {
  const row = await db.selectFrom('consents').select('scopes').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst()
  return row?.scopes
}

/** Adds scopes to what the user allowed the client, merged by the upsert itself (two first-time allows both count). */
export async function upsertConsent (db: Db, orgId: string, userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
  await db.insertInto('consents')
    .values({ id: newId(), organization_id: orgId, user_id: userId, client_id: clientId, scopes: JSON.stringify([...new Set(scopes)].sort()) })
    .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet({
      scopes: sql<string>`(SELECT jsonb_agg(DISTINCT s ORDER BY s) FROM jsonb_array_elements_text(consents.scopes || excluded.scopes) AS s)`,
      updated_at: sql<Date>`now()`
    }))
    .execute()
}

/** A consent as the API shows it, with the client's name so a person can tell what it was. */
export type ConsentView = Consent & { client_name: string }

/** The user's consents with their clients' names, newest first. */
export async function listConsents (db: Db, orgId: string, userId: string): Promise<ConsentView[]> {
  const rows = await db.selectFrom('consents as c')
    .selectAll('c').select((eb) => clientNameOf(eb.ref('c.client_id')).as('client_name'))
    .where('c.organization_id', '=', orgId).where('c.user_id', '=', userId)
    .orderBy('c.updated_at', 'desc').orderBy('c.id').execute()
  // A consent goes with its client (foreign key cascade), so every row has a name.
  return rows.map((r) => ({ ...r, client_name: r.client_name ?? '' }))
}

/** Deletes the user's consent; answers its client, or undefined when there was none. */
export async function deleteConsentRow (db: Db, orgId: string, userId: string, id: string): Promise<{ client_id: string } | undefined> {
  return await db.deleteFrom('consents').where('organization_id', '=', orgId).where('user_id', '=', userId).where('id', '=', id)
    .returning('client_id').executeTakeFirst()
}
