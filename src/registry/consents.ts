import { sql, type Kysely } from 'kysely'
import type { Consent, Database } from '../db/schema.js'
import { NotFoundError } from '../errors.js'
import { newId } from '../ids.js'
import { revokeFamiliesOf } from '../oauth/refresh-tokens.js'

type Db = Kysely<Database>

/** Whether the user has already allowed this client every one of these scopes. */
export async function consentCovers (db: Db, userId: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
  const row = await db.selectFrom('consents').select('scopes').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst()
  if (!row) return false
  const granted = new Set(row.scopes)
  return scopes.every((s) => granted.has(s))
}

/** Remembers that the user allowed the client these scopes, added to what it allowed before. */
export async function rememberConsent (db: Db, orgId: string, userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
  // Merged by the upsert itself, so two first-time allows (two tabs) both count.
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

/** The user's consents, newest first. */
export async function listConsents (db: Db, orgId: string, userId: string): Promise<ConsentView[]> {
  return await db.selectFrom('consents as c').innerJoin('clients as k', 'k.id', 'c.client_id')
    .selectAll('c').select('k.name as client_name')
    .where('c.organization_id', '=', orgId).where('c.user_id', '=', userId)
    .orderBy('c.updated_at', 'desc').orderBy('c.id').execute()
}

/**
 * Withdraws a consent: the client must ask again, and the refresh tokens the user gave it stop
 * working, with the access tokens they issued.
 */
export async function withdrawConsent (db: Db, orgId: string, userId: string, id: string): Promise<void> {
  const row = await db.deleteFrom('consents').where('organization_id', '=', orgId).where('user_id', '=', userId).where('id', '=', id)
    .returning('client_id').executeTakeFirst()
  if (!row) throw new NotFoundError('consent')
  // A code issued just before would otherwise still buy tokens for its remaining seconds.
  await db.deleteFrom('authorization_codes').where('user_id', '=', userId).where('client_id', '=', row.client_id).where('used_at', 'is', null).execute()
  await revokeFamiliesOf(db, userId, row.client_id)
}
