// Signing keys on a schedule (issue 11, item 4; docs/cluster.md): instances on one database, each
// running the scheduled rotation on its timer (every 20 ms here), and a clock the test moves through
// two rotations step by step: before the interval, due (the new key published), published and not
// signing, signing, the old key's last tokens expiring, the old key gone, and the next interval. At
// every step each instance issues a token through its token endpoint, and every token whose `exp`
// has not come verifies against every instance's JWKS (fetched from /.well-known/jwks.json), and is
// accepted by every instance's REST API; exactly one key is made per interval, and the old key
// leaves the JWKS only once the longest token it signed has expired.
// On PostgreSQL: three instances, two with the change feed and one without (it re-reads its keys
// when they are KEY_REFRESH_SECONDS old, by the same clock). On the embedded database: one.
import { generateKeyPairSync } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { sql } from 'kysely'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { connectPostgres, type DbHandle } from '../../src/db/connect.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { listSigningKeyDates } from '../../src/store/signing-keys.js'
import { buildAppForTest, newOrg, pem, testConfig } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { serverDatabaseUrl, testDb } from '../helpers/db.js'
import { FORM } from '../helpers/oauth.js'

const DAY = 24 * 3600
const INTERVAL = 90 * DAY // the default
const DELAY = 600 // KEY_PUBLISH_DELAY's default
const TTL = 3600 // USER_TOKEN_TTL, the longest (ADMIN_TOKEN_TTL is 1800); the tokens here are user:all
const MARGIN = 60 // a retired key's minute beyond it
const s = (seconds: number) => seconds * 1000
const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

let clock = Date.now()
const now = () => new Date(clock)

interface Instance { name: string, app: FastifyInstance, handle: DbHandle, feed: boolean }

const server = await serverDatabaseUrl()
const instances: Instance[] = []
const config = testConfig({ SIGNING_KEY_ROTATION_INTERVAL: String(INTERVAL), KEY_PUBLISH_DELAY: String(DELAY), USER_TOKEN_TTL: String(TTL), ADMIN_TOKEN_TTL: '1800' })
const start = async (name: string, handle: DbHandle) => {
  const app = await buildAppForTest({ config, db: handle, now, keyRotationEveryMs: 20 })
  instances.push({ name, app, handle, feed: handle.url !== undefined })
}
if (server) {
  t.teardown(server.drop)
  const first = connectPostgres(server.url, 2)
  await migrateToLatest(first.db)
  await first.close()
  const handles = [connectPostgres(server.url, 5), connectPostgres(server.url, 5), { ...connectPostgres(server.url, 5), url: undefined }]
  t.teardown(async () => {
    for (const i of instances) await i.app.close()
    for (const h of handles) await h.close()
  })
  await start('A', handles[0]!)
  await start('B', handles[1]!)
  await start('C (no feed)', handles[2]!)
  const deadline = Date.now() + 10_000
  while (!instances.every((i) => !i.feed || i.app.ctx.changeFeed?.up() === true)) {
    if (Date.now() > deadline) throw new Error('the change feeds did not come up')
    await sleep(5)
  }
} else {
  const handle = await testDb()
  t.teardown(async () => {
    for (const i of instances) await i.app.close()
    await handle.close()
  })
  await start('embedded', handle)
}
const [a] = instances as [Instance]
const { db } = a.handle

const org = await newOrg({ app: a.app, handle: a.handle, config })
const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })

interface Issued { token: string, kid: string, exp: number, by: string, step: string }
const issued: Issued[] = []
let verified = 0

/** A token from `i`'s token endpoint, as ascli gets one. */
async function tokenFrom (i: Instance, step: string): Promise<Issued> {
  const res = await i.app.inject({
    method: 'POST',
    url: `/api/v1/oauth2/${org.orgName}/token`,
    headers: FORM,
    payload: ascliForm(org.clientId, await ascliAssertion(userKey.privateKey, org.clientId, user.email, org.orgName))
  })
  if (res.statusCode !== 200) throw new Error(`${i.name} answered ${res.statusCode} ${res.body}`)
  const token = res.json().access_token as string
  const { kid } = decodeProtectedHeader(token)
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }
  const got = { token, kid: kid!, exp, by: i.name, step }
  issued.push(got)
  return got
}

const jwksOf = async (i: Instance): Promise<JWK[]> => (await i.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as JWK[]
/** The keys in the table once it holds `n` (the jobs take their turns every 20 ms), or after 10 s. */
async function keysOnceThere (n: number): Promise<Awaited<ReturnType<typeof listSigningKeyDates>>> {
  const deadline = Date.now() + 10_000
  let rows = await listSigningKeyDates(db)
  while (rows.length < n && Date.now() < deadline) {
    await sleep(10)
    rows = await listSigningKeyDates(db)
  }
  return rows
}
const rotations = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM audit_events WHERE event_type = 'signing_key.rotated'`.execute(db)).rows[0]!.n)

interface Expected {
  /** the kid every instance signs with now */
  signer: string
  /** every instance's JWKS, by kid; with `feedOnly`, only the instances with the feed must show it yet */
  published: string[]
  feedOnly?: boolean
  /** keys in the table, and rotations recorded */
  keys: number
}

/**
 * One step: the clock is set to `at`; the jobs take their turns (until the table holds
 * `expected.keys` keys, then a dozen turns more); then every instance issues a token, and every
 * token still within its `exp` is checked against every instance's JWKS and REST API.
 */
async function step (t: Tap, label: string, at: number, expected: Expected): Promise<void> {
  clock = at
  await keysOnceThere(expected.keys)
  await sleep(250)
  t.equal((await listSigningKeyDates(db)).length, expected.keys, `${label}: ${expected.keys} keys in the table, no more`)
  t.equal(await rotations(), expected.keys - 1, `${label}: one rotation recorded per key made`)

  const fresh: Issued[] = []
  for (const i of instances) fresh.push(await tokenFrom(i, label))
  t.same(fresh.map((f) => f.kid), fresh.map(() => expected.signer), `${label}: every instance signs with the expected key`)

  const live = issued.filter((x) => x.exp * 1000 > clock)
  const failures: string[] = []
  for (const i of instances) {
    let kids = (await jwksOf(i)).map((k) => k.kid!)
    if (i.feed) {
      // The notification of a rotation made by another instance is on its way (milliseconds).
      const until = Date.now() + 5000
      while (!sameSet(kids, expected.published) && Date.now() < until) {
        await sleep(10)
        kids = (await jwksOf(i)).map((k) => k.kid!)
      }
    }
    if (i.feed || expected.feedOnly !== true) t.same([...kids].sort(), [...expected.published].sort(), `${label}: ${i.name}'s JWKS`)
    t.ok(kids.length <= 2, `${label}: ${i.name} publishes ${kids.length} keys, two at most`)
    const jwks = createLocalJWKSet({ keys: await jwksOf(i) })
    for (const x of live) {
      try {
        await jwtVerify(x.token, jwks, { audience: config.accessTokenAudience, typ: 'at+jwt', currentDate: now() })
        verified++
      } catch (err) {
        failures.push(`${x.by}'s token of "${x.step}" (kid ${x.kid.slice(0, 6)}) against ${i.name}'s JWKS: ${(err as Error).message}`)
      }
    }
  }
  t.same(failures, [], `${label}: ${live.length} live tokens verify against all ${instances.length} JWKS`)
  // Each instance's own verifier too (after the JWKS: an unknown kid makes it re-read the keys).
  for (const i of instances) {
    for (const x of fresh) {
      const res = await i.app.inject({ method: 'GET', url: '/api/v1/self', headers: { authorization: `Bearer ${x.token}` } })
      t.equal(res.statusCode, 200, `${label}: ${i.name} accepts ${x.by}'s token`)
    }
  }
}
type Tap = Pick<typeof t, 'equal' | 'same' | 'ok'>
const sameSet = (x: string[], y: string[]) => x.length === y.length && x.every((k) => y.includes(k))

t.test(`a scheduled rotation across ${instances.length} instance(s), step by step`, async (t) => {
  const [k1] = await listSigningKeyDates(db)
  t.ok(k1, 'the first key, made at start')
  const a1 = k1!.activates_at.getTime()
  t.equal(a1, clock, 'it began to sign at start, by the clock')

  await step(t, 'the day before the interval', a1 + s(INTERVAL - DAY), { signer: k1!.kid, published: [k1!.kid], keys: 1 })
  await step(t, 'a second before the interval', a1 + s(INTERVAL) - 1000, { signer: k1!.kid, published: [k1!.kid], keys: 1 })

  // Due: whichever instance takes its turn first publishes the new key; the others find it done.
  const p2 = a1 + s(INTERVAL) + 1000
  clock = p2
  const [, k2] = await keysOnceThere(2)
  t.ok(k2, 'a new key was made')
  const a2 = k2!.activates_at.getTime()
  t.equal(a2, p2 + s(DELAY), 'it signs KEY_PUBLISH_DELAY after it was published')
  await step(t, 'due: the new key published', p2, { signer: k1!.kid, published: [k1!.kid, k2!.kid], feedOnly: true, keys: 2 })
  await step(t, 'published, not signing yet', p2 + s(DELAY / 2), { signer: k1!.kid, published: [k1!.kid, k2!.kid], keys: 2 })
  await step(t, 'the old key\'s last second', a2 - 1000, { signer: k1!.kid, published: [k1!.kid, k2!.kid], keys: 2 })
  const lastOld = issued.filter((x) => x.kid === k1!.kid).reduce((m, x) => Math.max(m, x.exp), 0)
  t.equal(lastOld, Math.floor((a2 - 1000) / 1000) + TTL, 'the old key\'s last tokens expire USER_TOKEN_TTL after its last second')

  await step(t, 'the new key signs', a2, { signer: k2!.kid, published: [k1!.kid, k2!.kid], keys: 2 })
  await step(t, 'the old key\'s last tokens are a second from expiry', s(lastOld) - 1000, { signer: k2!.kid, published: [k1!.kid, k2!.kid], keys: 2 })
  t.ok(issued.some((x) => x.kid === k1!.kid && x.exp * 1000 > clock), 'tokens of the old key were still live there, and verified')
  await step(t, 'a second before the old key leaves', a2 + s(TTL + MARGIN) - 1000, { signer: k2!.kid, published: [k1!.kid, k2!.kid], keys: 2 })
  await step(t, 'the old key has left', a2 + s(TTL + MARGIN), { signer: k2!.kid, published: [k2!.kid], keys: 2 })
  t.notOk(issued.some((x) => x.kid === k1!.kid && x.exp * 1000 > clock), 'every token of the old key had expired when it left')

  // The next interval counts from the new key's activation.
  await step(t, 'a second before the next interval', a2 + s(INTERVAL) - 1000, { signer: k2!.kid, published: [k2!.kid], keys: 2 })
  const p3 = a2 + s(INTERVAL)
  clock = p3
  const k3 = (await keysOnceThere(3))[2]
  t.ok(k3, 'the next key was made')
  t.equal(k3!.activates_at.getTime(), p3 + s(DELAY))
  await step(t, 'the next key published', p3, { signer: k2!.kid, published: [k2!.kid, k3!.kid], feedOnly: true, keys: 3 })
  await step(t, 'the next key signs', p3 + s(DELAY), { signer: k3!.kid, published: [k2!.kid, k3!.kid], keys: 3 })
  await step(t, 'its predecessor has left', p3 + s(DELAY + TTL + MARGIN), { signer: k3!.kid, published: [k3!.kid], keys: 3 })
  t.comment(`${issued.length} tokens issued, ${verified} verifications against the instances' JWKS`)
})
