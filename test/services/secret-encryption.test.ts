// The secret-encryption key rotates (issue 11, item 5; docs/operations.md): SECRET_ENCRYPTION_KEY
// lists the new key first and the old one after it, reencryptSecrets rewrites every client secret
// and private signing key under the new key in batches, and then a server with the new key alone
// serves. On both back ends; the CLI's run is test/cli/keys-reencrypt.test.ts, and a run while a server
// issues tokens on the same PostgreSQL is test/cluster/reencrypt-live.test.ts.
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import fs from 'node:fs/promises'
import t from 'tap'
import { SecretBox } from '../../src/keys/secret-box.js'
import { SIGNING_KEY_BOX_CONTEXT } from '../../src/keys/signing-keys.js'
import { clientSecretMatches, createClient } from '../../src/registry/clients.js'
import { rotateClientSecret } from '../../src/services/clients.js'
import { CLIENT_SECRETS, reencryptSecrets, rewriteBatch, UnreadableSecretError } from '../../src/services/secret-encryption.js'
import { rotateSigningKey } from '../../src/services/signing-keys.js'
import { buildAppForTest, call, newOrg, pem, systemSource, testConfig, type TestApp } from '../helpers/app.js'
import { testDb } from '../helpers/db.js'
import { keyList, NEW_KEY, OLD_KEY, storeLegacyClientSecret, storeLegacyPrivateKey, tokenWithSecret, type TokenParty } from '../helpers/key-rotation.js'
import { recordValue } from '../helpers/log-capture.js'

const handle = await testDb()
const db = handle.db
t.teardown(async () => { await handle.close() })

/** An app on this file's database whose SECRET_ENCRYPTION_KEY lists `keys`. */
async function appWith (...keys: Buffer[]): Promise<TestApp> {
  const config = testConfig({ SECRET_ENCRYPTION_KEY: keyList(...keys) })
  const app = await buildAppForTest({ config, db: handle })
  t.teardown(async () => {
    await app.close()
    await fs.rm(config.dataDir, { recursive: true, force: true })
  })
  return { app, handle, config }
}

const serverSource = { ...systemSource(''), organizationId: null }
const oldBox = new SecretBox(OLD_KEY)
const rotating = new SecretBox([NEW_KEY, OLD_KEY])

// Before the rotation: a server under the old key alone, with some rows still as they were stored
// before keys had ids (v1), as an upgraded database holds them.
const before = await appWith(OLD_KEY)
const org = await newOrg(before)
const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })
const party = (clientId: string): TokenParty => ({ orgName: org.orgName, clientId, email: user.email, userKey: userKey.privateKey })
const secrets = new Map<string, string>([[org.clientId, org.clientSecret]])
for (let i = 0; i < 6; i++) {
  const c = await createClient(db, oldBox, org.orgId, { name: `client ${i}`, jwt_grant_enabled: true }, null)
  recordValue('client_secret', c.secret)
  secrets.set(c.id, c.secret!)
}
const publicClient = await createClient(db, oldBox, org.orgId, { name: 'public', token_endpoint_auth_method: 'none' }, null)
const [legacyA, legacyB] = [...secrets.keys()].slice(1, 3) as [string, string]
await storeLegacyClientSecret(db, OLD_KEY, legacyA, secrets.get(legacyA)!)
await storeLegacyClientSecret(db, OLD_KEY, legacyB, secrets.get(legacyB)!)
await rotateSigningKey(db, oldBox, serverSource, 'ES256', 600, 3600)
const signingKeys = await db.selectFrom('signing_keys').select(['kid', 'private_jwk_encrypted']).orderBy('activates_at').execute()
const signingKid = signingKeys[0]!.kid
await storeLegacyPrivateKey(db, OLD_KEY, signingKid, oldBox.decrypt(signingKeys[0]!.private_jwk_encrypted, SIGNING_KEY_BOX_CONTEXT + signingKid))

const clientRows = async () => await db.selectFrom('clients').select(['id', 'secret_encrypted', 'secret_hash', 'updated_at']).orderBy('id').execute()
const keyRows = async () => await db.selectFrom('signing_keys').select(['kid', 'private_jwk_encrypted', 'retires_at']).orderBy('kid').execute()

t.test('before: the old key serves the v1 rows and its own; the new key alone reads none of them', async (t) => {
  for (const [id, secret] of secrets) t.equal((await tokenWithSecret(before.app, party(id), secret)).statusCode, 200, `client ${id === legacyA || id === legacyB ? '(v1 row) ' : ''}authenticates`)
  const newOnly = new SecretBox(NEW_KEY)
  for (const row of await clientRows()) {
    if (row.secret_hash === null) continue
    t.equal(clientSecretMatches(newOnly, row, secrets.get(row.id)!), false, 'the new key alone cannot verify it yet')
    t.equal(clientSecretMatches(rotating, row, secrets.get(row.id)!), true, 'the list (new, old) can')
  }
})

t.test('reencrypt rewrites every client secret and private key under the new key, in batches; a second run rewrites none', async (t) => {
  const clientsBefore = await clientRows()
  const keysBefore = await keyRows()
  const report = await reencryptSecrets(db, rotating, serverSource, 3)
  // Three batches of clients: the org's, six more (two of them v1), not the public one.
  t.same(report, { key_id: rotating.keyId, client_secrets: { rewritten: 7, reread: 0 }, signing_keys: { rewritten: 2, reread: 0 } })

  const newOnly = new SecretBox(NEW_KEY)
  for (const row of await clientRows()) {
    const was = clientsBefore.find((r) => r.id === row.id)!
    t.same(row.updated_at, was.updated_at, 'updated_at is kept: the secret did not change')
    if (row.id === publicClient.id) {
      t.same([row.secret_encrypted, row.secret_hash], [null, null], 'a public client has nothing to rewrite')
      continue
    }
    t.ok(newOnly.isCurrent(row.secret_encrypted!) && newOnly.isCurrent(row.secret_hash!), 'secret and hash under the new key')
    t.equal(newOnly.decrypt(row.secret_encrypted!, `clients.secret:${row.id}`), secrets.get(row.id), 'the same secret')
    t.equal(clientSecretMatches(newOnly, row, secrets.get(row.id)!), true)
  }
  for (const row of await keyRows()) {
    t.ok(newOnly.isCurrent(row.private_jwk_encrypted), `signing key ${row.kid} under the new key`)
    const jwk = JSON.parse(newOnly.decrypt(row.private_jwk_encrypted, SIGNING_KEY_BOX_CONTEXT + row.kid)) as JsonWebKey
    t.equal(jwk.d !== undefined, true, 'its private half')
    t.same(row.retires_at, keysBefore.find((k) => k.kid === row.kid)!.retires_at, 'its dates untouched')
  }

  const again = await reencryptSecrets(db, rotating, serverSource, 3)
  t.same(again, { key_id: rotating.keyId, client_secrets: { rewritten: 0, reread: 0 }, signing_keys: { rewritten: 0, reread: 0 } }, 'a second run rewrites 0 rows')

  const events = await db.selectFrom('audit_events').selectAll().where('event_type', '=', 'secret_encryption.reencrypted').orderBy('created_at').execute()
  t.equal(events.length, 2, 'each run is recorded')
  t.match(events[0], { organization_id: null, target_type: 'secret_encryption_key', target_id: rotating.keyId, actor_type: 'system' })
  t.same(events[1]!.changes, [{ field: 'client_secrets', new_value: 0 }, { field: 'signing_keys', new_value: 0 }])
})

t.test('a ciphertext no key opens fails the run, naming the row kind and id, never the secret', async (t) => {
  const stray = new SecretBox(Buffer.alloc(32, 0x33))
  const bad = await createClient(db, stray, org.orgId, { name: 'under a lost key' }, null)
  recordValue('client_secret', bad.secret)
  const err = await reencryptSecrets(db, rotating, serverSource, 3).then(() => undefined, (e: unknown) => e)
  t.type(err, UnreadableSecretError)
  const e = err as UnreadableSecretError
  t.match(e, { code: 'ERR_SECRET_UNREADABLE', kind: 'client_secrets', rowId: bad.id })
  t.match(e.message, new RegExp(`^cannot re-encrypt the secret of client ${bad.id}: the secret was encrypted under key id ${stray.keyId}, which SECRET_ENCRYPTION_KEY does not list\\. Add the key`))
  t.notMatch(e.message, bad.secret!)
  t.equal((await db.selectFrom('audit_events').select('id').where('event_type', '=', 'secret_encryption.reencrypted').execute()).length, 2, 'a failed run records no event')
  await db.deleteFrom('clients').where('id', '=', bad.id).execute()

  // A private key made for another kid: its context does not match.
  const [first] = await keyRows()
  await db.updateTable('signing_keys').set({ private_jwk_encrypted: oldBox.encrypt('{}', SIGNING_KEY_BOX_CONTEXT + 'another kid') }).where('kid', '=', first!.kid).execute()
  const keyErr = await reencryptSecrets(db, rotating, serverSource, 3).then(() => undefined, (e: unknown) => e)
  t.match(keyErr, { code: 'ERR_SECRET_UNREADABLE', kind: 'signing_keys', rowId: first!.kid, message: new RegExp(`^cannot re-encrypt the private key of signing key ${first!.kid}: the secret does not open under its key \\(id ${oldBox.keyId}\\): it was altered, or belongs to another row`) })
  await db.updateTable('signing_keys').set({ private_jwk_encrypted: first!.private_jwk_encrypted }).where('kid', '=', first!.kid).execute()
})

t.test('afterwards a server with the new key alone serves: client secrets, token signing, the secret shown again', async (t) => {
  const after = await appWith(NEW_KEY)
  for (const [id, secret] of secrets) {
    const res = await tokenWithSecret(after.app, party(id), secret)
    t.equal(res.statusCode, 200, `client ${id} authenticates with its secret, and the token is signed`)
    const token = res.json().access_token as string
    t.equal((await call(after.app, token, 'GET', '/api/v1/self')).statusCode, 200, 'the token verifies')
  }
  t.equal((await tokenWithSecret(after.app, party(legacyA), 'not-the-secret')).statusCode, 401, 'a wrong secret is still refused')
  const shown = await call(after.app, org.adminToken, 'GET', `/api/v1/clients/${legacyA}`)
  t.equal(shown.json().secret, secrets.get(legacyA), 'an administrator reads the same secret')
  const rotated = await call(after.app, org.adminToken, 'POST', `/api/v1/clients/${legacyB}/secret`)
  t.equal(rotated.statusCode, 200)
  t.equal((await tokenWithSecret(after.app, party(legacyB), rotated.json().secret)).statusCode, 200, 'a secret rotated afterwards works')
  secrets.set(legacyB, rotated.json().secret)
})

t.test('a row changed between the read and the write keeps its change', async (t) => {
  const id = [...secrets.keys()][4]!
  // Under the old key again (a server still listing it first), so the command has it to rewrite.
  await rotateClientSecret(db, oldBox, systemSource(org.orgId), id)
  const read = await CLIENT_SECRETS.next(db, rotating.currentPrefix, '', 100)
  t.same(read.map((r) => r.id), [id], 'read: the one row under the old key')

  // Meanwhile, an instance under the old key rotates it again: the command must rewrite what is there now.
  const second = await rotateClientSecret(db, oldBox, systemSource(org.orgId), id)
  recordValue('client_secret', second)
  t.same(await rewriteBatch(db, rotating, CLIENT_SECRETS, read), { rewritten: 1, reread: 1 }, 'the write missed, the row was read again and rewritten')
  let [row] = await CLIENT_SECRETS.reread(db, [id])
  t.equal(rotating.decrypt(row!.secret_encrypted, `clients.secret:${id}`), second, 'the newer secret, not the one first read')
  t.ok(rotating.isCurrent(row!.secret_encrypted) && clientSecretMatches(rotating, row!, second))

  // Meanwhile, an instance under the new key rotates it: already under the new key, it is left as it is.
  await rotateClientSecret(db, oldBox, systemSource(org.orgId), id)
  const stale = await CLIENT_SECRETS.next(db, rotating.currentPrefix, '', 100)
  const third = await rotateClientSecret(db, rotating, systemSource(org.orgId), id)
  recordValue('client_secret', third)
  t.same(await rewriteBatch(db, rotating, CLIENT_SECRETS, stale), { rewritten: 0, reread: 1 })
  ;[row] = await CLIENT_SECRETS.reread(db, [id])
  t.equal(rotating.decrypt(row!.secret_encrypted, `clients.secret:${id}`), third, 'the rotation is kept')

  // Meanwhile, the client is deleted: nothing to write, nothing recreated.
  await rotateClientSecret(db, oldBox, systemSource(org.orgId), id)
  const gone = await CLIENT_SECRETS.next(db, rotating.currentPrefix, '', 100)
  await db.deleteFrom('clients').where('id', '=', id).execute()
  t.same(await rewriteBatch(db, rotating, CLIENT_SECRETS, gone), { rewritten: 0, reread: 1 })
  t.same(await CLIENT_SECRETS.reread(db, [id]), [])
  secrets.delete(id)
})
