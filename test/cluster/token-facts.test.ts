// Access-token checks without a database round trip (issue 14, item 3; src/cache/token-facts.ts):
// while the change feed is up, introspection and the REST API's token check read the token's
// holder and the revocations from memory. A revocation, deactivation or client deletion made
// through instance A, or by plain SQL, is refused by instance B within FEED_BOUND_MS, the worst of
// several tries; without the feed every check is the exact query it was. How fast (the aim: 50 ms) is
// measured by `npm run bench:propagation`, not here: a timed test fails on a busy machine.
import { sql, type KyselyPlugin } from 'kysely'
import t from 'tap'
import { tokenFacts } from '../../src/cache/token-facts.js'
import { connectPostgres } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { buildAppForTest, buildTestApp, newOrg, testConfig } from '../helpers/app.js'
import { serverDatabaseUrl } from '../helpers/db.js'
import { basic, FORM } from '../helpers/oauth.js'
import { until } from '../helpers/until.js'

// While the feed is up, B keeps a holder for a minute and reloads revocations once a minute: a refusal
// within a second can only come from the change's notification.
const FEED_BOUND_MS = 1000

const server = await serverDatabaseUrl()

if (!server) {
  t.test('the embedded database has no feed: every check asks the database, and a revocation counts at once', async (t) => {
    const ta = await buildTestApp(t)
    const org = await newOrg(ta)
    t.equal(ta.app.ctx.tokenFacts.inMemory(), false)
    const token = await org.issue()
    const introspect = async () => (await ta.app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/introspect`, headers: { ...FORM, ...basic(org.clientId, org.clientSecret) }, payload: `token=${token}` })).json().active as boolean
    t.equal(await introspect(), true)
    t.equal((await ta.app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/revoke`, headers: { ...FORM, ...basic(org.clientId, org.clientSecret) }, payload: `token=${token}` })).statusCode, 200)
    t.equal(await introspect(), false)
  })
} else {
  t.teardown(server.drop)
  const first = connectPostgres(server.url, 5)
  await migrateToLatest(first.db)
  t.teardown(async () => { await first.close() })
  // B's statements are counted: a token check from memory adds none.
  let statements = 0
  const counter: KyselyPlugin = {
    transformQuery: (args) => { statements++; return args.node },
    transformResult: async (args) => args.result
  }
  const instance = async (counted: boolean) => {
    const handle = connectPostgres(server.url, 5)
    const config = testConfig()
    const app = await buildAppForTest({ config, db: counted ? { ...handle, db: handle.db.withPlugin(counter) } : handle })
    t.teardown(async () => { await app.close(); await handle.close() })
    return { app, handle, config }
  }
  const a = await instance(false)
  const b = await instance(true)
  await until('both feeds up and B\'s facts in memory', () => a.app.ctx.changeFeed!.up() && b.app.ctx.changeFeed!.up() && b.app.ctx.tokenFacts.inMemory())
  const org = await newOrg(a)
  const client = { ...FORM, ...basic(org.clientId, org.clientSecret) }
  const introspectOn = async (app: typeof a.app, token: string) =>
    (await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/introspect`, headers: client, payload: `token=${token}` })).json().active as boolean
  const restOn = async (app: typeof a.app, token: string) =>
    (await app.inject({ method: 'GET', url: '/api/v1/self', headers: { authorization: `Bearer ${token}` } })).statusCode
  const worst: Record<string, number> = {}
  t.teardown(() => { t.comment(`worst A -> B: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join('; ')}`) })
  const record = (what: string, ms: number) => { worst[what] = Math.max(worst[what] ?? 0, ms) }

  t.test('introspection on B reads no table; B\'s REST token check reads none either', async (t) => {
    const token = await org.issue()
    t.equal(await introspectOn(b.app, token), true, 'warm: the client, org and holder are loaded once')
    const before = statements
    for (let i = 0; i < 20; i++) t.equal(await introspectOn(b.app, token), true)
    t.equal(statements - before, 0, '20 introspections, 0 statements')
    // GET /self reads the user for its body; the token check adds nothing while the facts are in memory.
    t.equal(await restOn(b.app, token), 200)
    const s0 = statements
    t.equal(await restOn(b.app, token), 200)
    const fromMemory = statements - s0
    b.app.ctx.tokenFacts.feed(false)
    t.teardown(async () => {
      b.app.ctx.tokenFacts.feed(true)
      await until('B\'s facts back in memory', () => b.app.ctx.tokenFacts.inMemory())
    })
    const s1 = statements
    t.equal(await restOn(b.app, token), 200)
    t.equal(statements - s1, fromMemory + 1, `without the feed the check is one statement more (${fromMemory} from memory, ${statements - s1} without)`)
  })

  t.test('a revocation through A: B refuses the token within a second, worst of 10', async (t) => {
    for (let i = 0; i < 10; i++) {
      const token = await org.issue()
      t.equal(await introspectOn(b.app, token), true)
      t.equal(await restOn(b.app, token), 200)
      t.equal((await a.app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/revoke`, headers: client, payload: `token=${token}` })).statusCode, 200)
      const ms = await until('B refuses the revoked token', async () => !(await introspectOn(b.app, token)), 5000)
      record('revocation', ms)
      t.equal(await restOn(b.app, token), 401, 'the REST API refuses it too')
    }
    t.ok(worst.revocation! < FEED_BOUND_MS, `worst ${worst.revocation!.toFixed(1)} ms`)
  })

  t.test('a change through B itself counts at B at once, before its notification comes back', async (t) => {
    const admin = { authorization: `Bearer ${org.adminToken}` }
    for (let i = 0; i < 5; i++) {
      const token = await org.issue()
      t.equal(await restOn(b.app, token), 200)
      t.equal((await b.app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/revoke`, headers: client, payload: `token=${token}` })).statusCode, 200)
      t.equal(await restOn(b.app, token), 401, 'the very next request refuses the revoked token')
      t.equal(await introspectOn(b.app, token), false)
      const { user, token: userToken } = await org.newUser()
      t.equal(await restOn(b.app, userToken), 200)
      t.equal((await b.app.inject({ method: 'PUT', url: `/api/v1/users/${user.id}`, headers: admin, payload: { deactivated: true } })).statusCode, 204)
      t.equal(await restOn(b.app, userToken), 401, 'the very next request refuses the deactivated user\'s token')
    }
    const ms = await until('B back in memory', () => b.app.ctx.tokenFacts.inMemory(), 5000)
    t.ok(ms < 1000, `the marker came back and B answers from memory again (${ms.toFixed(1)} ms)`)
  })

  t.test('a revocation by plain SQL (an operator): B refuses within a second', async (t) => {
    const token = await org.issue()
    t.equal(await restOn(b.app, token), 200)
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string
    await sql`INSERT INTO revoked_tokens (jti, expires_at) VALUES (${jti}, now() + interval '1 hour')`.execute(first.db)
    const ms = await until('B refuses it', async () => (await restOn(b.app, token)) === 401, 5000)
    record('SQL revocation', ms)
    t.ok(ms < FEED_BOUND_MS, `within ${ms.toFixed(1)} ms`)
  })

  t.test('a deactivation and a client deletion through A: B refuses within a second, worst of 5 each', async (t) => {
    const admin = { authorization: `Bearer ${org.adminToken}` }
    for (let i = 0; i < 5; i++) {
      const { user, token } = await org.newUser()
      t.equal(await restOn(b.app, token), 200, 'B caches the holder')
      t.equal((await a.app.inject({ method: 'PUT', url: `/api/v1/users/${user.id}`, headers: admin, payload: { deactivated: true } })).statusCode, 204)
      record('deactivation', await until('B refuses the deactivated user', async () => (await restOn(b.app, token)) === 401, 5000))
    }
    for (let i = 0; i < 5; i++) {
      const created = await a.app.inject({ method: 'POST', url: '/api/v1/clients', headers: admin, payload: { name: `doomed ${i}`, jwt_grant_enabled: true, explicit_authorization_required: false } })
      t.equal(created.statusCode, 201)
      const token = await org.issue({ clientId: created.json().id as string })
      t.equal(await restOn(b.app, token), 200, 'B caches the holder with its client')
      t.equal((await a.app.inject({ method: 'DELETE', url: `/api/v1/clients/${created.json().id as string}`, headers: admin })).statusCode, 204)
      record('client deletion', await until('B refuses the deleted client\'s token', async () => (await restOn(b.app, token)) === 401, 5000))
    }
    t.ok(worst.deactivation! < FEED_BOUND_MS, `deactivation: worst ${worst.deactivation!.toFixed(1)} ms`)
    t.ok(worst['client deletion']! < FEED_BOUND_MS, `client deletion: worst ${worst['client deletion']!.toFixed(1)} ms`)
  })

  t.test('the set: loaded when the feed comes up, grown by notifications, gone when it goes down', async (t) => {
    const facts = tokenFacts(first.db, { reloadMs: 60_000 })
    t.teardown(() => { facts.close() })
    const { user } = await org.newUser()
    const ref = (jti: string) => ({ orgId: org.orgId, userId: user.id, clientId: org.clientId, jti })
    await sql`INSERT INTO revoked_tokens (jti, expires_at) VALUES ('loaded-jti', now() + interval '1 hour'), ('expired-jti', now() - interval '1 second')`.execute(first.db)
    t.equal(facts.inMemory(), false, 'nothing in memory before the feed is up')
    t.equal((await facts.holder(ref('loaded-jti')))?.revoked, true, 'the exact query meanwhile')
    facts.feed(true)
    await until('loaded', () => facts.inMemory())
    t.equal((await facts.holder(ref('loaded-jti')))?.revoked, true, 'a revocation loaded from the table')
    t.equal((await facts.holder(ref('expired-jti')))?.revoked, false, 'an expired one is not loaded (its token is refused by its exp anyway)')
    t.equal((await facts.holder(ref('notified-jti')))?.revoked, false)
    facts.apply({ table: 'revoked_tokens', old: {}, new: { jti: 'notified-jti' } })
    t.equal((await facts.holder(ref('notified-jti')))?.revoked, true, 'a notified revocation counts at once')
    t.equal((await facts.holder({ ...ref('x'), userId: '00000000-0000-0000-0000-000000000000' })), undefined, 'an unknown user: no holder')
    // This object has no listener: the marker of a local write never comes back, so it stays exact.
    facts.localWrite()
    t.equal(facts.inMemory(), false, 'after a local write, exact until its marker comes back on the feed')
    t.equal((await facts.holder(ref('notified-jti')))?.revoked, false, 'exact: the table, not the memory, answers')
    facts.apply({ table: '_sync', old: {}, new: { id: 'another instance:1' } })
    t.equal(facts.inMemory(), false, 'another instance\'s marker does not end the wait')
    facts.feed(false)
    t.equal(facts.inMemory(), false, 'the feed went down: back to the exact query')
    t.equal((await facts.holder(ref('notified-jti')))?.revoked, false, 'the notified jti was never in the table: the query says so')
  })
}
