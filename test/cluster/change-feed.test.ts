// The change feed (issue 11, item 1; docs/cluster.md): two instances on one PostgreSQL. A change
// committed through one, or by plain SQL, reaches the other's row caches at once, though they now
// keep rows a minute; a lost listening connection makes an instance fall back to the 1 s TTL, say
// so in /health/ready (still 200), and reconnect. On the embedded database there is no feed.
import { generateKeyPairSync } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { connectPostgres } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { rotateSigningKey } from '../../src/services/signing-keys.js'
import { buildAppForTest, buildTestApp, newOrg, pem, systemSource, testConfig } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { serverDatabaseUrl } from '../helpers/db.js'
import { FORM } from '../helpers/oauth.js'
import { until } from '../helpers/until.js'

const server = await serverDatabaseUrl()

if (!server) {
  t.test('the embedded database has no feed: the local clear keeps this instance current', async (t) => {
    const { app } = await buildTestApp(t)
    t.equal(app.ctx.changeFeed, undefined)
    t.same((await app.inject({ method: 'GET', url: '/health/ready' })).json(), { status: 'ok', database: 'pglite' })
  })
} else {
  t.teardown(server.drop)
  const first = connectPostgres(server.url, 5)
  await migrateToLatest(first.db)
  const instance = async () => {
    const handle = connectPostgres(server.url, 5)
    const config = testConfig()
    const app = await buildAppForTest({ config, db: handle })
    t.teardown(async () => { await app.close(); await handle.close() })
    return { app, handle, config }
  }
  t.teardown(async () => { await first.close() })
  const a = await instance()
  const b = await instance()
  await until('both feeds up', () => a.app.ctx.changeFeed!.up() && b.app.ctx.changeFeed!.up())
  const org = await newOrg(a)
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { user } = await org.newUser({ public_key: pem(key.publicKey) })
  const tokenOn = async (app: typeof a.app, signer = key, clientId = org.clientId) => await app.inject({
    method: 'POST', url: `/api/v1/oauth2/${org.orgName}/token`, headers: FORM, payload: ascliForm(clientId, await ascliAssertion(signer.privateKey, clientId, user.email, org.orgName))
  })
  const admin = { authorization: `Bearer ${org.adminToken}` }
  const figures: string[] = []
  t.teardown(() => { t.comment(`propagation A -> B: ${figures.join('; ')}`) })

  t.test('ready says the feed is up', async (t) => {
    t.same((await b.app.inject({ method: 'GET', url: '/health/ready' })).json(), { status: 'ok', database: 'postgres', change_feed: 'up' })
  })

  t.test('a key change through A: B refuses the old key at once, though it cached the user for a minute', async (t) => {
    t.equal((await tokenOn(b.app)).statusCode, 200, 'B caches the user')
    const next = generateKeyPairSync('rsa', { modulusLength: 2048 })
    t.equal((await a.app.inject({ method: 'PUT', url: `/api/v1/users/${user.id}`, headers: admin, payload: { public_key: pem(next.publicKey) } })).statusCode, 204)
    const ms = await until('B refuses the old key', async () => (await tokenOn(b.app)).statusCode === 400, 5000)
    figures.push(`key change ${ms.toFixed(1)} ms`)
    t.equal((await tokenOn(b.app, next)).statusCode, 200, 'and takes the new one')
    t.ok(ms < 1000, `within ${ms.toFixed(1)} ms (the cache would keep it 60 s)`)
    key.privateKey = next.privateKey
    key.publicKey = next.publicKey
  })

  t.test('a deactivation through A, and a reactivation by plain SQL (as the CLI or an operator)', async (t) => {
    t.equal((await tokenOn(b.app)).statusCode, 200)
    t.equal((await a.app.inject({ method: 'PUT', url: `/api/v1/users/${user.id}`, headers: admin, payload: { deactivated: true } })).statusCode, 204)
    const ms = await until('B refuses the deactivated user', async () => (await tokenOn(b.app)).statusCode === 400, 5000)
    figures.push(`deactivation ${ms.toFixed(1)} ms`)
    t.ok(ms < 1000, `B refused within ${ms.toFixed(1)} ms`)
    await sql`UPDATE users SET deactivated = false WHERE id = ${user.id}`.execute(first.db)
    const back = await until('B serves the reactivated user', async () => (await tokenOn(b.app)).statusCode === 200, 5000)
    figures.push(`SQL reactivation ${back.toFixed(1)} ms`)
    t.ok(back < 1000, `and served it again within ${back.toFixed(1)} ms of the SQL`)
  })

  t.test('a client deleted through A is unknown to B at once', async (t) => {
    const created = await a.app.inject({ method: 'POST', url: '/api/v1/clients', headers: admin, payload: { name: 'doomed', jwt_grant_enabled: true, explicit_authorization_required: false } })
    t.equal(created.statusCode, 201)
    const clientId = created.json().id as string
    await until('B knows the new client', async () => (await tokenOn(b.app, key, clientId)).statusCode === 200, 5000)
    t.equal((await a.app.inject({ method: 'DELETE', url: `/api/v1/clients/${clientId}`, headers: admin })).statusCode, 204)
    const ms = await until('B refuses the deleted client', async () => (await tokenOn(b.app, key, clientId)).statusCode === 401, 5000)
    figures.push(`client deletion ${ms.toFixed(1)} ms`)
    t.ok(ms < 1000, `within ${ms.toFixed(1)} ms`)
  })

  t.test('a signing key rotated through A is in B\'s JWKS at once', async (t) => {
    const kids = async () => ((await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as Array<{ kid: string }>).map((k) => k.kid)
    const before = await kids()
    const { kid } = await rotateSigningKey(a.handle.db, a.app.ctx.box, { ...systemSource(org.orgId), organizationId: null }, 'ES256', 600, 3600)
    const ms = await until('B publishes the new key', async () => (await kids()).includes(kid), 5000)
    figures.push(`key rotation ${ms.toFixed(1)} ms`)
    t.ok(ms < 1000, `within ${ms.toFixed(1)} ms (B re-reads keys every 5 s otherwise)`)
    const after = await kids()
    t.same(before.filter((k) => !after.includes(k)), [], 'the keys published before stay published')
  })

  t.test('the listening connection is cut: B falls back to the 1 s TTL, says degraded, and reconnects', async (t) => {
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aoc-change-feed' AND pid <> pg_backend_pid() AND datname = current_database()`.execute(first.db)
    await until('the feeds notice', () => !b.app.ctx.changeFeed!.up() || !a.app.ctx.changeFeed!.up(), 5000).catch(() => 0)
    // They may already be back: the first retry comes after 250 ms. Either way, ready stays 200.
    const ready = await b.app.inject({ method: 'GET', url: '/health/ready' })
    t.equal(ready.statusCode, 200, 'still ready')
    t.match(ready.json(), { status: /^(ok|degraded)$/, change_feed: /^(up|down)$/ })
    const ms = await until('both feeds back', () => a.app.ctx.changeFeed!.up() && b.app.ctx.changeFeed!.up(), 15_000)
    t.comment(`reconnected within ${ms.toFixed(0)} ms`)
    t.equal((await tokenOn(b.app)).statusCode, 200)
    t.equal((await a.app.inject({ method: 'PUT', url: `/api/v1/users/${user.id}`, headers: admin, payload: { deactivated: true } })).statusCode, 204)
    const after = await until('B refuses after the reconnection', async () => (await tokenOn(b.app)).statusCode === 400, 5000)
    t.ok(after < 1000, `changes reach B again (${after.toFixed(1)} ms)`)
  })
}
