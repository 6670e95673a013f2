import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { KEY_REFRESH_SECONDS, RETIRED_KEY_MARGIN_SECONDS } from '../config.js'
import type { SigningKey } from '../db/schema.js'
import type { Db } from '../store/db.js'
import * as store from '../store/signing-keys.js'
import type { SecretBox } from './secret-box.js'

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA'

/** Which JWS algorithms this server signs with, and so the only ones its verifier accepts. */
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256', 'EdDSA']

/**
 * The time as the keys see it: which key signs, which are published, when a rotation is due, and
 * the `iat` and expiry of access tokens. The system clock, except in tests that drive it.
 */
export type Clock = () => Date

/** The system clock. */
export const systemClock: Clock = () => new Date()

/** The secret box context of a private signing key (with its kid); the tests' log capture reads the keys back with it. */
export const SIGNING_KEY_BOX_CONTEXT = 'signing_keys.private_jwk:'

async function newKeyRow (box: SecretBox, alg: SigningAlg, activatesAt: Date) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  const privateJwk = await exportJWK(privateKey)
  return {
    kid,
    alg,
    public_jwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    private_jwk_encrypted: box.encrypt(JSON.stringify(privateJwk), SIGNING_KEY_BOX_CONTEXT + kid),
    activates_at: activatesAt
  }
}

/**
 * Makes sure a key can sign now. The first key of a fresh database signs at once: no token exists
 * yet that a verifier could check against an older JWKS. Two instances starting together may
 * both create one; both keys are then published and either may sign, which is harmless.
 */
export async function ensureSigningKey (db: Db, box: SecretBox, alg: SigningAlg, now: Date = new Date()): Promise<void> {
  if (await store.hasActiveSigningKey(db, now)) return
  await store.insertSigningKey(db, await newKeyRow(box, alg, now))
}

/**
 * Rotates: the new key is published now and signs only after `publishDelay` seconds, so verifiers
 * that cache the JWKS see it before any token it signed; the keys it replaces stop signing then and
 * stay published until every token they signed has expired (`maxTokenTtl` later, plus a minute).
 */
export async function rotateSigningKey (
  db: Db, box: SecretBox, alg: SigningAlg, publishDelay: number, maxTokenTtl: number, now: Date = new Date()
): Promise<{ kid: string, activatesAt: Date }> {
  return await db.transaction().execute(async (trx) => await rotateSigningKeyIn(trx, box, alg, publishDelay, maxTokenTtl, now))
}

/** As rotateSigningKey, in the caller's transaction. */
export async function rotateSigningKeyIn (
  trx: Db, box: SecretBox, alg: SigningAlg, publishDelay: number, maxTokenTtl: number, now: Date = new Date()
): Promise<{ kid: string, activatesAt: Date }> {
  const activatesAt = new Date(now.getTime() + publishDelay * 1000)
  const row = await newKeyRow(box, alg, activatesAt)
  await store.retireSigningKeys(trx, activatesAt, new Date(activatesAt.getTime() + (maxTokenTtl + RETIRED_KEY_MARGIN_SECONDS) * 1000))
  await store.insertSigningKey(trx, row)
  return { kid: row.kid, activatesAt }
}

/** Removes keys that left the JWKS; returns how many. */
export async function purgeUnpublishedKeys (db: Db): Promise<number> {
  return await store.purgeUnpublishedSigningKeys(db)
}

/**
 * The key's private half encrypted again under the box's first key (`keys reencrypt`); the key, its
 * kid and its dates are the same. Throws the box's SecretBoxError when no key opens it.
 */
export function resealPrivateKey (box: SecretBox, row: store.SealedSigningKey): store.SealedSigningKey {
  const context = SIGNING_KEY_BOX_CONTEXT + row.kid
  return { kid: row.kid, private_jwk_encrypted: box.encrypt(box.decrypt(row.private_jwk_encrypted, context), context) }
}

/** The key that signs access tokens now, as node:crypto takes it (oauth/tokens.ts). */
export interface Signer { kid: string, alg: SigningAlg, keyObject: KeyObject }

interface Snapshot { at: number, rows: SigningKey[] }

/** Whether a key is published at `now`: its unpublish time, if any, has not come. */
const publishedAt = (now: Date) => (r: SigningKey) => r.unpublish_at === null || r.unpublish_at > now

/** Whether a key signs at `now`: activated, and not retired. */
const signsAt = (now: Date) => (r: SigningKey) => r.activates_at <= now && (r.retires_at === null || r.retires_at > now)

/**
 * The instance's view of the shared signing keys. It re-reads the table at most every
 * `maxAgeMs` (default 5 s), and at once (at most once a second) when asked for an unknown kid, so a
 * key created by another instance is seen within that bound. Every time it compares comes from
 * `now()`, the cache's age included: a test that moves the clock moves all of it.
 */
export class KeyStore {
  private snapshot: Snapshot | undefined
  private loading: Promise<Snapshot> | undefined
  private lastForced = 0
  private readonly imported = new Map<string, Promise<CryptoKey>>()
  private readonly privateKeys = new Map<string, KeyObject>()

  constructor (
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly maxAgeMs = KEY_REFRESH_SECONDS * 1000,
    /** The keys' clock; access tokens take their `iat` from it and are checked against it (oauth/tokens.ts). */
    readonly now: Clock = systemClock
  ) {}

  /** Forgets what was read, so the next call reads the table (after a rotation by this instance). */
  invalidate (): void { this.snapshot = undefined }

  /** The keys published at `now`, newest activation first: the last read, filtered again (a key may have left since). */
  private async rows (now: Date, force = false): Promise<SigningKey[]> {
    const at = now.getTime()
    if (force || !this.snapshot || at - this.snapshot.at >= this.maxAgeMs || at < this.snapshot.at) {
      this.loading ??= store.listPublishedSigningKeys(this.db, now)
        .then((rows) => ({ at, rows }))
        .finally(() => { this.loading = undefined })
      this.snapshot = await this.loading
    }
    return this.snapshot.rows.filter(publishedAt(now))
  }

  /** The key that signs now: the newest one whose activation time has passed and that has not retired. */
  async signer (): Promise<Signer> {
    const now = this.now()
    const row = (await this.rows(now)).find(signsAt(now))
    if (!row) throw new Error('no active signing key')
    let keyObject = this.privateKeys.get(row.kid)
    if (!keyObject) {
      const jwk = JSON.parse(this.box.decrypt(row.private_jwk_encrypted, SIGNING_KEY_BOX_CONTEXT + row.kid)) as JsonWebKey
      keyObject = createPrivateKey({ key: jwk, format: 'jwk' })
      this.privateKeys.set(row.kid, keyObject)
    }
    return { kid: row.kid, alg: row.alg as SigningAlg, keyObject }
  }

  /** When the key that signs now began to sign (the metrics' key age); undefined without one. */
  async signingSince (): Promise<Date | undefined> {
    const now = this.now()
    return (await this.rows(now)).find(signsAt(now))?.activates_at
  }

  /** The public key for a kid that is still published, or undefined. */
  async publicKey (kid: string): Promise<{ alg: SigningAlg, key: CryptoKey } | undefined> {
    const now = this.now()
    let row = (await this.rows(now)).find((r) => r.kid === kid)
    if (!row && Math.abs(now.getTime() - this.lastForced) > 1000) {
      this.lastForced = now.getTime()
      row = (await this.rows(now, true)).find((r) => r.kid === kid)
    }
    if (!row) return undefined
    let key = this.imported.get('public:' + kid)
    if (!key) {
      key = importJWK(row.public_jwk as JWK, row.alg) as Promise<CryptoKey>
      this.imported.set('public:' + kid, key)
    }
    return { alg: row.alg as SigningAlg, key: await key }
  }

  /** The JWKS document: every key published now, the ones not yet signing included. */
  async jwks (): Promise<{ keys: JWK[] }> {
    return { keys: (await this.rows(this.now())).map((r) => r.public_jwk as JWK) }
  }
}
