// The database handle is closed under a running app (the embedded PGlite closed, or the pool ended
// as a stop does): every path answers the one error model's 503 with Retry-After (docs/operations.md),
// never a 500 or a stack trace. The sign-in pages answer it as a page. test/db-outage.test.ts stops
// a real PostgreSQL under load; this is the cheap case, on either back end.
import fs from 'node:fs/promises'
import t, { type Test } from 'tap'
import { connectPostgres } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { buildAppForTest, memoryLogger, newOrg, testConfig } from './helpers/app.js'
import { serverDatabaseUrl, testDb } from './helpers/db.js'

// On a server, a database of this file's own, behind a pool that only this file closes.
const server = await serverDatabaseUrl()
const handle = server ? connectPostgres(server.url, 5) : await testDb()
if (server) await migrateToLatest(handle.db)
const config = testConfig()
const { logger, lines } = memoryLogger('info')
const app = await buildAppForTest({ config, db: handle, logger })
t.teardown(async () => {
  await app.close()
  await server?.drop()
  await fs.rm(config.dataDir, { recursive: true, force: true })
})
const org = await newOrg({ app, handle, config })
const login = `/api/v1/oauth2/${org.orgName}/login`
t.equal((await app.inject({ url: login })).statusCode, 200, 'the sign-in page answers while the database is open')

await handle.close()
app.ctx.cache.clear()

/** No stack, no error class, no driver message in what the caller reads. */
function noInternals (t: Test, body: string, where: string): void {
  t.notMatch(body, /\n\s+at |Error:|destroyed|PGlite|Connection terminated|node_modules/, `${where}: no stack trace or driver message`)
}

t.test('the sign-in and authorize pages: a 503 page with Retry-After', async (t) => {
  const pages = [
    { method: 'GET' as const, url: login },
    { method: 'GET' as const, url: `/api/v1/oauth2/${org.orgName}/authorize?response_type=code&client_id=${org.clientId}` }
  ]
  for (const { method, url } of pages) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 503, `${method} ${url}`)
    t.equal(res.headers['retry-after'], '2', 'Retry-After: 2')
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8/, 'a page, not JSON')
    t.equal(res.headers['cache-control'], 'no-store')
    t.match(res.headers['content-security-policy'], /default-src 'none'/, 'the pages\' own CSP')
    t.match(res.body, /<h1>Briefly unavailable<\/h1>/)
    t.match(res.body, /The service is briefly unavailable/)
    noInternals(t, res.body, url)
  }
})

t.test('the REST answers of the metadata and the org\'s JWKS: 503 service_unavailable', async (t) => {
  for (const url of [`/.well-known/oauth-authorization-server/api/v1/oauth2/${org.orgName}`, `/api/v1/oauth2/${org.orgName}/jwks`, '/api/v1/self']) {
    const res = await app.inject({ url, headers: { authorization: `Bearer ${org.adminToken}` } })
    t.equal(res.statusCode, 503, url)
    t.equal(res.headers['retry-after'], '2', `${url}: Retry-After`)
    t.match(res.json(), { code: 'service_unavailable', message: 'the database is unavailable; retry later', request_id: String }, url)
    noInternals(t, res.body, url)
  }
})

t.test('the token endpoint: OAuth temporarily_unavailable', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/oauth2/${org.orgName}/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=refresh_token&refresh_token=x&client_id=${org.clientId}`
  })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '2')
  t.same(res.json(), { error: 'temporarily_unavailable', error_description: 'the database is unavailable; retry later' })
})

t.test('the log: warn lines without a stack, no error line', async (t) => {
  const logged = lines.map((l) => JSON.parse(l) as { level: number, msg: string, err?: { stack?: string } })
  t.same(logged.filter((l) => l.level >= 50).map((l) => l.msg), [], 'nothing logged at error level')
  t.ok(logged.some((l) => l.level === 40 && l.msg === 'the database is unavailable: answering 503'), 'said at warn level')
  t.notOk(logged.some((l) => l.err?.stack), 'no stack logged')
})
