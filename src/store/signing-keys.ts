// Owner of the `signing_keys` table: the keys that sign access tokens, private halves encrypted.
import { sql } from 'kysely'
import type { SigningKey } from '../db/schema.js'
import type { Db } from './db.js'

/** A new key's row; the caller makes the key and encrypts its private half. */
export interface NewSigningKeyRow {
  kid: string
  alg: string
  public_jwk: string
  private_jwk_encrypted: string
  activates_at: Date
}

/** Whether a key signs at `at`: activated, and not retired. */
export async function hasActiveSigningKey (db: Db, at: Date): Promise<boolean> {
  const row = await db.selectFrom('signing_keys').select('kid')
    .where('activates_at', '<=', at)
    .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', at)]))
    .executeTakeFirst()
  return row !== undefined
}

/** When the newest key (by activation) begins or began to sign; undefined without any key. */
export async function newestSigningKeyActivation (db: Db): Promise<Date | undefined> {
  const row = await db.selectFrom('signing_keys').select('activates_at')
    .orderBy('activates_at', 'desc').limit(1).executeTakeFirst()
  return row?.activates_at
}

export async function insertSigningKey (db: Db, row: NewSigningKeyRow): Promise<void> {
  await db.insertInto('signing_keys').values(row).execute()
}

/** Every key that still signs at `activatesAt` retires then, and leaves the JWKS at `unpublishAt`. */
export async function retireSigningKeys (db: Db, activatesAt: Date, unpublishAt: Date): Promise<void> {
  await db.updateTable('signing_keys')
    .set({ retires_at: activatesAt, unpublish_at: unpublishAt })
    .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', activatesAt)]))
    .execute()
}

/** The keys still published at `at`, newest activation first. */
export async function listPublishedSigningKeys (db: Db, at: Date): Promise<SigningKey[]> {
  return await db.selectFrom('signing_keys').selectAll()
    .where((eb) => eb.or([eb('unpublish_at', 'is', null), eb('unpublish_at', '>', at)]))
    .orderBy('activates_at', 'desc').orderBy('kid')
    .execute()
}

/** Every key's dates, oldest activation first, without key material (the ops CLI's list). */
export async function listSigningKeyDates (db: Db): Promise<Array<Pick<SigningKey, 'kid' | 'alg' | 'created_at' | 'activates_at' | 'retires_at' | 'unpublish_at'>>> {
  return await db.selectFrom('signing_keys')
    .select(['kid', 'alg', 'created_at', 'activates_at', 'retires_at', 'unpublish_at'])
    .orderBy('activates_at').orderBy('kid').execute()
}

/** Deletes the keys that left the JWKS; returns how many. */
export async function purgeUnpublishedSigningKeys (db: Db): Promise<number> {
  const res = await db.deleteFrom('signing_keys').where('unpublish_at', '<', sql<Date>`now()`).executeTakeFirst()
  return Number(res.numDeletedRows)
}
