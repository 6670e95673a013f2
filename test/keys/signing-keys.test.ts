import { decodeProtectedHeader } from 'jose'
import t from 'tap'
import { sql } from 'kysely'
import { issueAccessToken, verifyAccessToken } from '../../src/oauth/tokens.js'
import { ensureSigningKey, KeyStore, purgeUnpublishedKeys, rotateSigningKey } from '../../src/keys/signing-keys.js'
import { SecretBox } from '../../src/keys/secret-box.js'
import { testDb } from '../helpers/db.js'
import { calculateJwkThumbprint, type JWK } from 'jose'

const handle = await testDb()
t.teardown(() => handle.close())
const { db } = handle
const box = new SecretBox(Buffer.alloc(32, 3))
const AUD = 'http://localhost:3000/api/v1'

const issue = (keys: KeyStore) => issueAccessToken(keys, {
  issuer: 'http://localhost:3000/api/v1/oauth2/demo', audience: AUD, email: 'a@example.com', userId: 'u1', organizationId: 'o1', clientId: 'c1', scope: 'user:all', ttl: 600, grantType: 'cli'
})

t.beforeEach(async () => { await db.deleteFrom('signing_keys').execute() })

for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
  t.test(`${alg}: the first key signs at once; kid is the JWK thumbprint; private half is encrypted`, async (t) => {
    await ensureSigningKey(db, box, alg)
    await ensureSigningKey(db, box, alg)
    const rows = await db.selectFrom('signing_keys').selectAll().execute()
    t.equal(rows.length, 1, 'ensure is idempotent')
    const row = rows[0]!
    const jwk = row.public_jwk as JWK
    t.equal(row.kid, await calculateJwkThumbprint(jwk))
    t.notOk('d' in jwk, 'the published JWK has no private part')
    t.notMatch(row.private_jwk_encrypted, /"d"/, 'the stored private key is not plain JSON')
    const keys = new KeyStore(db, box)
    const { token } = await issue(keys)
    t.match(decodeProtectedHeader(token), { alg, kid: row.kid, typ: 'at+jwt' })
    t.equal((await verifyAccessToken(keys, token, AUD)).sub, 'a@example.com')
    t.same((await keys.jwks()).keys.map((k) => k.kid), [row.kid])
  })
}

t.test('rotation: the new key is published before it signs; the old one stays published until its tokens expire', async (t) => {
  await ensureSigningKey(db, box, 'ES256')
  const keys = new KeyStore(db, box, 0)
  const before = await issue(keys)
  const oldKid = decodeProtectedHeader(before.token).kid
  const { kid: newKid, activatesAt } = await rotateSigningKey(db, box, 'ES256', 600, 3600)
  t.ok(activatesAt.getTime() > Date.now() + 590_000)
  const published = (await keys.jwks()).keys.map((k) => k.kid)
  t.ok(published.includes(newKid!), 'the new key is in the JWKS at once')
  t.ok(published.includes(oldKid!), 'the old key is still there')
  const during = await issue(keys)
  t.equal(decodeProtectedHeader(during.token).kid, oldKid, 'the old key signs until the new one activates')

  // Move the clock of the rows instead of waiting: the new key's activation has come.
  await db.updateTable('signing_keys').set({ activates_at: sql<Date>`now() - interval '1 second'` }).where('kid', '=', newKid).execute()
  await db.updateTable('signing_keys').set({ retires_at: sql<Date>`now() - interval '1 second'` }).where('kid', '=', oldKid!).execute()
  const after = await issue(keys)
  t.equal(decodeProtectedHeader(after.token).kid, newKid, 'the new key signs once active')
  t.equal((await verifyAccessToken(keys, before.token, AUD)).jti, before.jti, 'a token of the old key still verifies')
  const oldRow = await db.selectFrom('signing_keys').selectAll().where('kid', '=', oldKid!).executeTakeFirstOrThrow()
  t.ok(oldRow.unpublish_at!.getTime() >= activatesAt.getTime() + 3600_000, 'the old key stays published for the longest token lifetime after it stops signing')

  t.equal(await purgeUnpublishedKeys(db), 0, 'nothing to purge yet')
  await db.updateTable('signing_keys').set({ unpublish_at: sql<Date>`now() - interval '1 second'` }).where('kid', '=', oldKid!).execute()
  t.notOk((await keys.jwks()).keys.some((k) => k.kid === oldKid), 'gone from the JWKS after unpublish_at')
  t.equal(await purgeUnpublishedKeys(db), 1)
  await t.rejects(verifyAccessToken(keys, before.token, AUD), { name: 'Error', reason: 'unknown kid' } as never)
})

t.test('a key made by another instance is seen within the cache bound, and an unknown kid forces a re-read', async (t) => {
  await ensureSigningKey(db, box, 'ES256')
  const mine = new KeyStore(db, box, 60_000)
  await mine.jwks()
  const theirs = new KeyStore(db, box, 60_000)
  await db.deleteFrom('signing_keys').execute()
  await ensureSigningKey(db, box, 'RS256')
  const { token } = await issue(theirs)
  t.equal((await verifyAccessToken(mine, token, AUD)).sub, 'a@example.com', 'the unknown kid made the store re-read the table')
})
