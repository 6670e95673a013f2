// `aoc-auth db export` (README "Moving off the embedded database"): a populated embedded install,
// moved to a fresh PostgreSQL database by the real command, serves on the target as it did: the
// same JWKS, its tokens, secrets, consents and refresh tokens. A target that is not empty is
// refused and left as it was; a copy that fails half-way leaves no row behind.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { sql } from 'kysely'
import t from 'tap'
import { connectPglite, connectPostgres, type DbHandle } from '../../src/db/connect.js'
import { appliedMigrations, countRows, tablesInCopyOrder } from '../../src/db/copy.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { openDatabase } from '../../src/db/open.js'
import { rotateSigningKey } from '../../src/keys/signing-keys.js'
import { exportDatabase } from '../../src/services/database-export.js'
import { buildAppForTest, call, newOrg, pem, testConfig, type TestApp } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { runCliInProcess, spawnCliProcess } from '../helpers/cli.js'
import { serverDatabaseUrl } from '../helpers/db.js'
import { recordValue } from '../helpers/log-capture.js'
import { basic, errorOf, oauthPoster } from '../helpers/oauth.js'
import { authorize, browserClient, codeGrant, signedInUser } from '../helpers/signin.js'

// The embedded database takes seconds to open on a busy machine, and each export opens it again.
t.setTimeout(600_000)

// The source is always the embedded database and the target always a PostgreSQL server: the same
// test in either pass, so it runs once, in the server pass (the only one with a server to move to).
if (process.env.TEST_DATABASE_URL) await suite()
else t.plan(0, 'moves the embedded database to a PostgreSQL server: runs in the PostgreSQL pass only')

async function suite (): Promise<void> {
  const STACK = /\n\s+at /
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'aoc-export-'))
  const targets: Array<{ url: string, drop: () => Promise<void> }> = []
  t.teardown(async () => {
    for (const target of targets) await target.drop()
    await fs.rm(dataDir, { recursive: true, force: true })
  })

  /** A fresh, empty database on the test server. */
  async function newTarget (): Promise<{ url: string, drop: () => Promise<void> }> {
    const target = (await serverDatabaseUrl())!
    targets.push(target)
    return target
  }

  /**
   * `aoc-auth db export` as an operator runs it on the embedded install (no DATABASE_URL, no
   * SECRET_ENCRYPTION_KEY): in a process of its own when `spawned`, else the same program in this one.
   */
  async function exportTo (url: string, { batchSize = '2', spawned = false } = {}) {
    const args = ['db', 'export', '--to', url, '--batch-size', batchSize]
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' }
    return spawned ? await spawnCliProcess(args, env) : await runCliInProcess(args, env)
  }

  /** Every table's rows, by name. */
  async function rowCounts (db: DbHandle['db']): Promise<Record<string, number>> {
    const counts: Record<string, number> = {}
    for (const table of await tablesInCopyOrder(db)) counts[table.name] = await countRows(db, table.name)
    return counts
  }

  // The embedded install, populated through the app as it runs: its secret key generated into DATA_DIR.
  const embeddedConfig = testConfig({ DATA_DIR: dataDir, SECRET_ENCRYPTION_KEY: '', TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
  const embedded: TestApp = await (async () => {
    const handle = await openDatabase(embeddedConfig)
    return { app: await buildAppForTest({ config: embeddedConfig, db: handle }), handle, config: embeddedConfig }
  })()
  const { app: before } = embedded
  const org = await newOrg(embedded)
  const orgPost = (app: TestApp['app']) => oauthPoster(app, org.orgName)
  await before.ctx.db.updateTable('clients').set({ jwt_grant_enabled: true }).where('id', '=', org.clientId).execute()
  const alice = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { user: aliceUser } = await org.newUser({ public_key: pem(alice.publicKey) })
  const bob = generateKeyPairSync('rsa', { modulusLength: 2048 })
  await org.newUser({ public_key: pem(bob.publicKey) })

  /** A JWT-bearer token for alice through the org's client, its secret by Basic. */
  async function jwtBearer (app: TestApp['app'], secret = org.clientSecret) {
    return await orgPost(app)('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, aliceUser.email, org.orgName)), basic(org.clientId, secret))
  }

  const issued = await jwtBearer(before)
  if (issued.statusCode !== 200) throw new Error(`no token from the embedded install: ${errorOf(issued)}`)
  const accessBefore: string = issued.json().access_token
  // A consent and a refresh token, by the browser flow.
  const webClient = await browserClient(embedded, org)
  const carol = await signedInUser(embedded, org)
  const grant = await codeGrant(before, org.orgName, carol.jar, webClient, 'user:all')
  if (!grant.consentAsked || !grant.refresh) throw new Error('the code flow asked no consent or gave no refresh token')
  // A rotation: the first key stops signing and stays published for the tokens it signed.
  await rotateSigningKey(before.ctx.db, before.ctx.box, embeddedConfig.signingAlg, 0, 3600)
  // The embedded back end has no change feed for a write made beside the app: read the keys afresh.
  before.ctx.keys.invalidate()
  const jwksBefore = (await before.inject('/.well-known/jwks.json')).json() as JSONWebKeySet
  const countsBefore = await rowCounts(embedded.handle.db)
  await before.close()
  await embedded.handle.close()
  const generatedKey = (await fs.readFile(path.join(dataDir, 'secret.key'), 'utf8')).trim()
  recordValue('encryption_key', generatedKey)

  const target = await newTarget()

  t.test('the export copies every table and says which key the target needs, never showing it', async (t) => {
    t.equal(jwksBefore.keys.length, 2, 'two keys published after the rotation')
    t.ok(countsBefore.consents === 1 && countsBefore.refresh_tokens === 1 && countsBefore.browser_sessions === 1, 'a consent, a refresh token, a session')
    // The real command, in a process of its own; the checks below run the same program in this one.
    const res = await exportTo(target.url, { spawned: true })
    t.equal(res.code, 0, res.stderr)
    const out = JSON.parse(res.stdout)
    t.same(out.tables, countsBefore, 'every table, with every row (batches of 2)')
    t.equal(out.rows, Object.values(countsBefore).reduce((a, b) => a + b, 0))
    t.equal(out.target, new URL(target.url).host + new URL(target.url).pathname)
    t.match(res.stderr, new RegExp(`SECRET_ENCRYPTION_KEY set to the key this install generated, which is the content of ${path.join(dataDir, 'secret.key')}`))
    t.notMatch(res.stderr + res.stdout, generatedKey, 'the key itself is never printed')
  })

  t.test('the server on the target serves the moved install', async (t) => {
    const handle = connectPostgres(target.url, 5)
    const config = testConfig({ DATABASE_URL: target.url, SECRET_ENCRYPTION_KEY: generatedKey, TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
    const app = await buildAppForTest({ config, db: handle })
    t.teardown(async () => {
      await app.close()
      await handle.close()
    })
    const post = orgPost(app)

    const jwks = (await app.inject('/.well-known/jwks.json')).json() as JSONWebKeySet
    t.same(jwks.keys.map((k) => k.kid).sort(), jwksBefore.keys.map((k) => k.kid).sort(), 'the same kids')
    t.same(jwks, jwksBefore, 'the same JWKS')
    t.ok(jwksBefore.keys.some((k) => k.kid === decodeProtectedHeader(accessBefore).kid), 'the old token names a published kid')
    const verified = await jwtVerify(accessBefore, createLocalJWKSet(jwks), { audience: config.accessTokenAudience })
    t.equal(verified.payload.sub, aliceUser.email, 'the token issued before the export verifies against the new JWKS')
    const introspected = await post('introspect', { token: accessBefore }, basic(org.clientId, org.clientSecret))
    t.equal(introspected.statusCode, 200, errorOf(introspected))
    t.match(introspected.json(), { active: true, sub: aliceUser.email })
    t.equal((await call(app, accessBefore, 'GET', '/api/v1/self')).json().id, aliceUser.id, 'and the REST API takes it')

    const token = await jwtBearer(app)
    t.equal(token.statusCode, 200, `JWT bearer with the client's secret: ${errorOf(token)}`)
    const newKid = decodeProtectedHeader(token.json().access_token).kid
    t.ok(jwks.keys.some((k) => k.kid === newKid), 'signed by a key of the moved JWKS')
    t.not(newKid, decodeProtectedHeader(accessBefore).kid, 'by the rotated-in key: the old token\'s key is retired, and still verifies it')
    t.equal((await jwtBearer(app, org.clientSecret + 'x')).statusCode, 401, 'a wrong secret is still refused: the secret is checked, not skipped')

    const refreshed = await post('token', { grant_type: 'refresh_token', refresh_token: grant.refresh!, client_id: webClient.id, client_secret: webClient.secret! })
    t.equal(refreshed.statusCode, 200, `the refresh token issued before the export: ${errorOf(refreshed)}`)
    t.match(refreshed.json(), { access_token: String, refresh_token: String, scope: 'user:all' })
    recordValue('refresh_token', refreshed.json().refresh_token)

    const again = await authorize(app, carol.jar, org.orgName, { response_type: 'code', client_id: webClient.id, redirect_uri: webClient.redirectUri, scope: 'user:all' })
    t.notOk(again.consentAsked, 'the signed-in browser and its consent came along: no consent page')
    t.ok(again.url.searchParams.get('code'), 'a code')
  })

  t.test('a target that is not empty is refused and left as it was', async (t) => {
    const handle = connectPostgres(target.url, 2)
    t.teardown(() => handle.close())
    const counts = await rowCounts(handle.db)
    const res = await exportTo(target.url)
    t.equal(res.code, 1)
    t.match(res.stderr, /^error: the target database is not empty: table \w+ has rows; db export copies only into an empty database, and has written nothing\n$/)
    t.notMatch(res.stderr, STACK)
    t.same(await rowCounts(handle.db), counts, 'not a row changed')
  })

  t.test('a target with a migration this build does not have is refused, and nothing is written', async (t) => {
    const ahead = await newTarget()
    const handle = connectPostgres(ahead.url, 2)
    t.teardown(() => handle.close())
    await sql`CREATE TABLE kysely_migration (name varchar(255) PRIMARY KEY, timestamp varchar(255) NOT NULL)`.execute(handle.db)
    await sql`INSERT INTO kysely_migration VALUES ('9999_from_the_future', '2030-01-01')`.execute(handle.db)
    const res = await exportTo(ahead.url)
    t.equal(res.code, 1)
    t.match(res.stderr, /^error: the target database is not empty: it has migration 9999_from_the_future, which this aoc-auth does not have; .*written nothing\n$/)
    t.same(await tablesInCopyOrder(handle.db), [], 'no table made')
    t.same(await appliedMigrations(handle.db), ['9999_from_the_future'])
  })

  t.test('operator mistakes are named, with exit 1 and no stack', async (t) => {
    const wrongPassword = 'not-the-password-' + randomBytes(6).toString('hex')
    const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
      ['a target that is not a PostgreSQL URL', ['--to', 'mysql://db.example.com/aoc'], {}, /^error: --to must be a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\/\n$/],
      ['a DATA_DIR without an embedded database', ['--to', target.url], { DATA_DIR: path.join(dataDir, 'nothing') }, /^error: no embedded database in .*nothing\/pgdata: set DATA_DIR to the folder the server ran with\n$/],
      ['DATABASE_URL set', ['--to', target.url], { DATABASE_URL: target.url, SECRET_ENCRYPTION_KEY: generatedKey }, /^error: db export reads the embedded database under DATA_DIR: unset DATABASE_URL, and name the target with --to\n$/],
      ['a target that does not answer', ['--to', 'postgres://postgres@127.0.0.1:1/aoc'], {}, /^error: connect ECONNREFUSED 127\.0\.0\.1:1\n$/],
      ['a target database that does not exist, its password not repeated', ['--to', `postgres://postgres:${wrongPassword}@${new URL(target.url).host}/aoc_no_such_database`], {},
        /^error: database "aoc_no_such_database" does not exist\n$/],
      ['a batch size of none', ['--to', target.url, '--batch-size', '0'], {}, /option '--batch-size <rows>' argument '0' is invalid. a whole number of rows from 1 to 100000/]
    ]
    for (const [label, args, env, message] of cases) {
      const res = await runCliInProcess(['db', 'export', ...args], { DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env })
      t.equal(res.code, 1, label)
      t.match(res.stderr, message, label)
      t.notMatch(res.stderr, STACK, label)
      t.notMatch(res.stderr, wrongPassword, label)
    }
  })

  t.test('a copy that fails half-way leaves the target without a row, and can run again', async (t) => {
    // A small source in memory, and a target whose users table refuses one of its rows: organizations
    // are copied first, then the users copy fails.
    const source = await connectPglite()
    await migrateToLatest(source.db)
    const half = await newTarget()
    const handle = connectPostgres(half.url, 2)
    t.teardown(async () => {
      await handle.close()
      await source.close()
    })
    await sql`INSERT INTO organizations (id, name) VALUES ('o1', 'one')`.execute(source.db)
    await sql`INSERT INTO users (id, organization_id, email) VALUES ('u1', 'o1', 'a@one.example.com'), ('u2', 'o1', 'refused@one.example.com')`.execute(source.db)
    await migrateToLatest(handle.db)
    await sql`ALTER TABLE users ADD CONSTRAINT no_refused CHECK (email <> 'refused@one.example.com')`.execute(handle.db)

    await t.rejects(exportDatabase(source.db, handle.db, { batchSize: 1 }), /copying table users failed, and nothing was copied: .*no_refused/)
    const counts = await rowCounts(handle.db)
    t.ok(Object.keys(counts).length > 10, 'the migrated schema is there')
    t.same(Object.values(counts).filter((n) => n > 0), [], 'and not a row: the organization copied before the failure is gone too')

    await sql`ALTER TABLE users DROP CONSTRAINT no_refused`.execute(handle.db)
    const result = await exportDatabase(source.db, handle.db, { batchSize: 1 })
    t.match(result.tables.filter((x) => x.rows > 0), [{ name: 'organizations', rows: 1 }, { name: 'users', rows: 2 }], 'a second run copies all')
    t.same(result.targetMigrated, [], 'on the schema the first run left')
  })
}
