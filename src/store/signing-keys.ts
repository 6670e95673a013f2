// Owner of the `signing_keys` table: the keys that sign access tokens, private halves encrypted.
import { sql } from 'kysely'
import type { SigningKey } from '../db/schema.js'
import { sealedNotUnder, type Db } from './db.js'

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

/** A signing key's sealed private half, as `keys reencrypt` reads and rewrites it (services/secret-encryption.ts). */
export type SealedSigningKey = Pick<SigningKey, 'kid' | 'private_jwk_encrypted'>

/** Up to `limit` keys after `afterKid`, in kid order, whose private half does not begin with `prefix` (the first key's). */
export async function listSigningKeysNotUnder (db: Db, prefix: string, afterKid: string, limit: number): Promise<SealedSigningKey[]> {
  return await db.selectFrom('signing_keys').select(['kid', 'private_jwk_encrypted'])
    .where('kid', '>', afterKid).where((eb) => sealedNotUnder(eb.ref('private_jwk_encrypted'), prefix))
    .orderBy('kid').limit(limit).execute()
}

/** These keys' private halves as they are now (after a conditional replace missed them); a purged one is left out. */
export async function findSealedSigningKeys (db: Db, kids: readonly string[]): Promise<SealedSigningKey[]> {
  if (kids.length === 0) return []
  return await db.selectFrom('signing_keys').select(['kid', 'private_jwk_encrypted']).where('kid', 'in', kids).orderBy('kid').execute()
}

/**
 * Replaces each key's private half with `next`, in one statement, only where it still is what was
 * read; the key's dates are not touched (a rotation may retire it meanwhile). Answers the kids written.
 */
export async function replaceSealedSigningKeys (db: Db, rows: ReadonlyArray<{ read: SealedSigningKey, next: SealedSigningKey }>): Promise<Set<string>> {
  if (rows.length === 0) return new Set()
  const { rows: written } = await sql<{ kid: string }>`
    UPDATE signing_keys AS k SET private_jwk_encrypted = v.next_encrypted
    FROM unnest(${rows.map((r) => r.read.kid)}::text[], ${rows.map((r) => r.read.private_jwk_encrypted)}::text[], ${rows.map((r) => r.next.private_jwk_encrypted)}::text[])
      AS v (kid, read_encrypted, next_encrypted)
    WHERE k.kid = v.kid AND k.private_jwk_encrypted = v.read_encrypted
    RETURNING k.kid`.execute(db)
  return new Set(written.map((r) => r.kid))
}

/** How many keys' private half does not begin with `prefix`. */
export async function countSigningKeysNotUnder (db: Db, prefix: string): Promise<number> {
  const row = await db.selectFrom('signing_keys').select((eb) => eb.fn.countAll<string>().as('n'))
    .where((eb) => sealedNotUnder(eb.ref('private_jwk_encrypted'), prefix)).executeTakeFirstOrThrow()
  return Number(row.n)
}
