// Consents: what a user allowed a client in the browser flow. Withdrawing one reaches the user's
// codes and tokens: services/consents.ts.
import * as store from '../store/consents.js'
import type { Db } from '../store/db.js'

export type { ConsentView } from '../store/consents.js'

/** Whether the user has already allowed this client every one of these scopes. */
export async function consentCovers (db: Db, userId: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
  const granted = await store.findConsentScopes(db, userId, clientId)
  if (!granted) return false
  const set = new Set(granted)
  return scopes.every((s) => set.has(s))
}

/** Remembers that the user allowed the client these scopes, added to what it allowed before. */
export async function rememberConsent (db: Db, orgId: string, userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
  await store.upsertConsent(db, orgId, userId, clientId, scopes)
}

/** The user's consents, newest first. */
export async function listConsents (db: Db, orgId: string, userId: string): Promise<store.ConsentView[]> {
  return await store.listConsents(db, orgId, userId)
}
