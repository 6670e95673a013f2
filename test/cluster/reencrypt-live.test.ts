// `aoc-auth keys reencrypt` while a server on the same PostgreSQL keeps serving (issue 11, item 5;
// docs/operations.md): the server lists the new key first and the old one after it, issues tokens
// to clients that authenticate with their secrets, and rotates other clients' secrets and a signing
// key, while the command rewrites the rows in small batches. Nothing is lost: every request
// succeeds, every secret rotated meanwhile is the one stored, and afterwards a server with the new
// key alone serves them all. The embedded database serves one process, so it has no such test.
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { connectPostgres } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { SecretBox } from '../../src/keys/secret-box.js'
import { clientSecretMatches, createClient } from '../../src/registry/clients.js'
import { reencryptSecrets } from '../../src/services/secret-encryption.js'
import { rotateSigningKey } from '../../src/services/signing-keys.js'
import { buildAppForTest, call, newOrg, pem, systemSource, testConfig } from '../helpers/app.js'
import { serverDatabaseUrl } from '../helpers/db.js'
import { keyList, NEW_KEY, OLD_KEY, storeLegacyClientSecret, tokenWithSecret, type TokenParty } from '../helpers/key-rotation.js'
import { captureLevel, captureText, recordJsonOutput, recordValue } from '../helpers/log-capture.js'
import { start } from '../helpers/process.js'

const server = await serverDatabaseUrl()

if (!server) {
  t.test('reencrypt while a server serves', { skip: 'PostgreSQL only: the embedded database opens in one process at a time' }, async () => {})
} else {
  t.setTimeout(600_000)
  t.teardown(server.drop)
  const handle = connectPostgres(server.url, 5)
  await migrateToLatest(handle.db)
  t.teardown(async () => { await handle.close() })
  /** An instance with a pool of its own, under SECRET_ENCRYPTION_KEY=`keys`. */
  const instance = async (keys: string) => {
    const own = connectPostgres(server.url, 5)
    const app = await buildAppForTest({ config: testConfig({ SECRET_ENCRYPTION_KEY: keys, TOKEN_RATE_LIMIT_PER_MINUTE: '0' }), db: own })
    t.teardown(async () => { await app.close(); await own.close() })
    return app
  }
  const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

  // Written under the old key: the first signing key, and 241 clients, a third of them as stored before key ids.
  const oldBox = new SecretBox(OLD_KEY)
  const before = await instance(keyList(OLD_KEY))
  const org = await newOrg({ app: before, handle, config: before.ctx.config })
  const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })
  const party = (clientId: string): TokenParty => ({ orgName: org.orgName, clientId, email: user.email, userKey: userKey.privateKey })
  const secrets = new Map<string, string>()
  for (let i = 0; i < 240; i++) {
    const c = await createClient(handle.db, oldBox, org.orgId, { name: `client ${i}`, jwt_grant_enabled: true }, null)
    recordValue('client_secret', c.secret)
    if (i % 3 === 0) await storeLegacyClientSecret(handle.db, OLD_KEY, c.id, c.secret!)
    secrets.set(c.id, c.secret!)
  }
  const ids = [...secrets.keys()]
  // Tokens for some clients, secret rotations for the others: a request never races its own client's rotation.
  const tokenClients = ids.filter((_, i) => i % 2 === 0)
  const rotatedClients = ids.filter((_, i) => i % 2 === 1)
  const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)]!
  // Then the server under the list, new key first, as every instance is before the command runs.
  const serving = await instance(keyList(NEW_KEY, OLD_KEY))
  const issued: string[] = []

  t.test('reencrypt while the server issues tokens and rotates secrets loses nothing', async (t) => {
    // The workers stop when the command has ended (`running`), or at their bound.
    const tally = { running: true, tokens: 0, rotations: 0, failures: [] as string[] }
    const tokenWorker = async () => {
      while (tally.running && tally.tokens < 5000) {
        const id = pick(tokenClients)
        const res = await tokenWithSecret(serving, party(id), secrets.get(id)!)
        tally.tokens++
        if (res.statusCode !== 200) tally.failures.push(`token for ${id}: ${res.statusCode} ${res.body.slice(0, 200)}`)
        else if (issued.length < 20) issued.push(res.json().access_token)
      }
    }
    const rotationWorker = async () => {
      while (tally.running && tally.rotations < 2000) {
        const id = pick(rotatedClients)
        const res = await call(serving, org.adminToken, 'POST', `/api/v1/clients/${id}/secret`)
        tally.rotations++
        if (res.statusCode !== 200) tally.failures.push(`rotation of ${id}: ${res.statusCode} ${res.body.slice(0, 200)}`)
        else secrets.set(id, res.json().secret)
      }
    }
    const workers = [tokenWorker(), tokenWorker(), tokenWorker(), rotationWorker(), rotationWorker()]
    await sleep(200)
    // A signing key rotated by the server meanwhile: made under the new key, which the command leaves.
    await rotateSigningKey(serving.ctx.db, serving.ctx.box, { ...systemSource(org.orgId), organizationId: null }, 'ES256', 600, 3600)
    const cli = start(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'reencrypt', '--batch-size', '5'],
      { DATABASE_URL: server.url, SECRET_ENCRYPTION_KEY: keyList(NEW_KEY, OLD_KEY), LOG_LEVEL: captureLevel('info') })
    const { code, stdout, stderr } = await cli.done
    captureText(stderr)
    recordJsonOutput(stdout)
    await sleep(200)
    tally.running = false
    await Promise.all(workers)

    t.equal(code, 0, 'the command succeeds', { stderr })
    const report = JSON.parse(stdout)
    t.comment(`while the command ran: ${tally.tokens} tokens, ${tally.rotations} secret rotations; it rewrote ${report.client_secrets.rewritten} client secrets ` +
      `(${report.client_secrets.reread} changed under it and re-read) and ${report.signing_keys.rewritten} private keys`)
    t.same(tally.failures, [], 'every request succeeded')
    t.ok(tally.tokens > 0 && tally.rotations > 0, 'the server served throughout')
    t.ok(report.client_secrets.rewritten > 0 && report.client_secrets.rewritten <= ids.length + 1, 'the client secrets not rotated first were rewritten')
    t.equal(report.signing_keys.rewritten, 1, 'the first signing key; the server made the second under the new key')
    t.ok(issued.length > 0)

    const box = serving.ctx.box
    t.same(await reencryptSecrets(handle.db, box, systemSource(org.orgId), 5), { key_id: box.keyId, client_secrets: { rewritten: 0, reread: 0 }, signing_keys: { rewritten: 0, reread: 0 } },
      'a second run rewrites nothing')
  })

  t.test('afterwards a server with the new key alone serves every client, with its latest secret', async (t) => {
    const newOnly = new SecretBox(NEW_KEY)
    const rows = await handle.db.selectFrom('clients').select(['id', 'secret_encrypted', 'secret_hash']).where('organization_id', '=', org.orgId).execute()
    let matched = 0
    for (const row of rows) {
      const secret = row.id === org.clientId ? org.clientSecret : secrets.get(row.id)!
      if (newOnly.decrypt(row.secret_encrypted!, `clients.secret:${row.id}`) === secret && clientSecretMatches(newOnly, row, secret)) matched++
      else t.fail(`client ${row.id}: the stored secret is not the latest one`)
    }
    t.equal(matched, ids.length + 1, 'every client\'s stored secret is the latest one, under the new key')

    const after = await instance(keyList(NEW_KEY))
    for (const token of issued) t.equal((await call(after, token, 'GET', '/api/v1/self')).statusCode, 200, 'a token issued while the command ran verifies')
    for (const id of [pick(tokenClients), pick(rotatedClients), pick(rotatedClients)]) {
      const res = await tokenWithSecret(after, party(id), secrets.get(id)!)
      t.equal(res.statusCode, 200, `client ${id}: its secret verifies, the re-encrypted key signs`)
      t.equal((await call(after, res.json().access_token, 'GET', '/api/v1/self')).statusCode, 200)
    }
  })
}
