// The secret-encryption key's rotation (issue 11, item 5; docs/operations.md): the keys the tests
// rotate between, rows as the server stored them before keys had ids, and a token request that
// proves a client's secret and the signing key both still work.
import { createCipheriv, createHmac, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Db } from '../../src/store/db.js'
import { SIGNING_KEY_BOX_CONTEXT } from '../../src/keys/signing-keys.js'
import { TEST_SECRET_KEY } from './app.js'
import { tutorialAssertion } from './assertions.js'
import { basic, FORM } from './oauth.js'

/** The key every test app encrypts with (testConfig's), the one a rotation replaces. */
export const OLD_KEY = Buffer.from(TEST_SECRET_KEY, 'base64')
/** The key rotated in. */
export const NEW_KEY = Buffer.alloc(32, 0x4e)

/** SECRET_ENCRYPTION_KEY's text for these keys, first one first. */
export const keyList = (...keys: Buffer[]): string => keys.map((k) => k.toString('base64')).join(',')

// The box's format before keys could rotate (v1: no key id), as src/keys/secret-box.ts made it then;
// test/keys/secret-box.test.ts checks that a box made by that code itself is still read.
const subKey = (key: Buffer, label: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), label, 32))

/** `v1.<iv>.<ciphertext>.<tag>` under `key`. */
export function legacySeal (key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', subKey(key, 'aoc-auth secret encryption'), iv)
  cipher.setAAD(Buffer.from(context))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return ['v1', iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
}

/** The bare base64url HMAC that v1 stored as a client's secret hash. */
export function legacyHash (key: Buffer, secret: string): string {
  return createHmac('sha256', subKey(key, 'aoc-auth secret hash')).update(secret, 'utf8').digest('base64url')
}

/** Stores the client's secret as the server did before key ids, under `key`. */
export async function storeLegacyClientSecret (db: Db, key: Buffer, clientId: string, secret: string): Promise<void> {
  await db.updateTable('clients')
    .set({ secret_encrypted: legacySeal(key, secret, `clients.secret:${clientId}`), secret_hash: legacyHash(key, secret) })
    .where('id', '=', clientId).execute()
}

/** Stores the signing key's private half as the server did before key ids, under `key` (`jwk` is its JSON text). */
export async function storeLegacyPrivateKey (db: Db, key: Buffer, kid: string, jwk: string): Promise<void> {
  await db.updateTable('signing_keys').set({ private_jwk_encrypted: legacySeal(key, jwk, SIGNING_KEY_BOX_CONTEXT + kid) }).where('kid', '=', kid).execute()
}

/** The client and user a token request is made for. */
export interface TokenParty {
  orgName: string
  clientId: string
  email: string
  /** the private key of the user's registered public key */
  userKey: KeyObject
}

/**
 * A JWT-bearer token request authenticated with the client's secret (HTTP Basic): 200 needs the
 * secret to verify against its stored hash, and the access token to be signed with the server's key.
 */
export async function tokenWithSecret (app: FastifyInstance, party: TokenParty, secret: string): Promise<LightMyRequestResponse> {
  const assertion = await tutorialAssertion(party.userKey, party.clientId, party.email)
  return await app.inject({
    method: 'POST',
    url: `/api/v1/oauth2/${party.orgName}/token`,
    headers: { ...FORM, ...basic(party.clientId, secret) },
    payload: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${assertion}`
  })
}
