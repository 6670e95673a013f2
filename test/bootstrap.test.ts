import { createPrivateKey, createPublicKey } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { verifyPassword } from '../src/registry/passwords.js'
import { buildAppForTest, testConfig } from './helpers/app.js'
import { testDb } from './helpers/db.js'
import { recordFields, recordPrivateKey } from './helpers/log-capture.js'

const handle = await testDb()
t.teardown(() => handle.close())

t.test('bootstrap: never against a DATABASE_URL unless asked; once when asked; not again', async (t) => {
  const dataDir = t.testdir()
  const serverLike = { DATA_DIR: dataDir, DATABASE_URL: 'postgres://unused.invalid/db' }
  const first = await buildAppForTest({ config: testConfig({ ...serverLike, BOOTSTRAP: 'auto' }), db: handle })
  await first.close()
  await t.rejects(fs.stat(path.join(dataDir, 'bootstrap.json')), { code: 'ENOENT' }, 'auto with DATABASE_URL does nothing')
  t.equal((await handle.db.selectFrom('organizations').selectAll().execute()).length, 0)

  const asked = await buildAppForTest({ config: testConfig({ ...serverLike, BOOTSTRAP: 'true', BOOTSTRAP_ORG: 'acme' }), db: handle })
  await asked.close()
  const file = path.join(dataDir, 'bootstrap.json')
  t.equal((await fs.stat(file)).mode & 0o777, 0o600, 'bootstrap.json is 0600')
  const boot = JSON.parse(await fs.readFile(file, 'utf8'))
  recordFields(boot) // the admin's password and the client's secret, for the log scan
  t.match(boot, { org: 'acme', admin_email: String, admin_password: String, admin_private_key_file: 'admin_private_key.pem', client_id: String, client_secret: String })
  const keyFile = path.join(dataDir, boot.admin_private_key_file)
  t.equal((await fs.stat(keyFile)).mode & 0o777, 0o600, 'the private key is 0600')

  const admin = await handle.db.selectFrom('users').selectAll().where('email', '=', boot.admin_email).executeTakeFirstOrThrow()
  t.equal(admin.organization_admin, true)
  t.ok(await verifyPassword(admin.password_hash!, boot.admin_password), 'the password in the file signs in')
  const privateKey = createPrivateKey(await fs.readFile(keyFile, 'utf8'))
  recordPrivateKey(privateKey)
  t.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048, 'RSA 2048 as the reference pins')
  t.equal(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), admin.public_key, 'the admin\'s key is the pair of the file')
  const client = await handle.db.selectFrom('clients').selectAll().where('id', '=', boot.client_id).executeTakeFirstOrThrow()
  t.equal(client.jwt_grant_enabled, true)
  t.equal(client.organization_id, admin.organization_id)

  const again = await buildAppForTest({ config: testConfig({ ...serverLike, BOOTSTRAP: 'true', BOOTSTRAP_ORG: 'other' }), db: handle })
  await again.close()
  t.same(JSON.parse(await fs.readFile(file, 'utf8')), boot, 'a second start leaves the file alone')
  t.equal((await handle.db.selectFrom('organizations').selectAll().execute()).length, 1)
})
