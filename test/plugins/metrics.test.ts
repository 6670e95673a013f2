// Prometheus metrics on their own listener (issue 12, item 2): the counters move with the requests
// that should move them, labels never name a client, a user, an organization or an address, and
// the main port does not serve them.
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { buildTestApp, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { dbKind } from '../helpers/db.js'
import { FORM } from '../helpers/oauth.js'
import { freePort } from '../helpers/process.js'

const metricsPort = await freePort()
const ta = await buildTestApp(t, { METRICS_PORT: String(metricsPort), TOKEN_RATE_LIMIT_PER_MINUTE: '4' })
const { app } = ta
await app.ready()
const org = await newOrg(ta)
const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(key.publicKey) })

async function scrape (): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  if (res.status !== 200) throw new Error(`the metrics listener answered ${res.status}`)
  return await res.text()
}

/** The value of a sample: `name` with exactly these labels (order as written), 0 when absent. */
function value (text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = m[2] ? m[2].split(/,(?=[a-z_]+=")/) : []
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3])
  }
  return 0
}

const token = async (signer: typeof key, address: string) => await app.inject({
  method: 'POST',
  url: `/api/v1/oauth2/${org.orgName}/token`,
  remoteAddress: address,
  headers: FORM,
  payload: ascliForm(org.clientId, await ascliAssertion(signer.privateKey, org.clientId, user.email, org.orgName))
})

t.test('the counters move with a token, a refusal and a rate-limited request', async (t) => {
  const before = await scrape()
  const codes: number[] = []
  codes.push((await token(key, '192.0.2.1')).statusCode)
  codes.push((await token(forger, '192.0.2.1')).statusCode)
  // Four a minute per address and per client: some of these are refused with 429.
  for (let i = 0; i < 5; i++) codes.push((await token(key, '192.0.2.2')).statusCode)
  const count = (code: number) => codes.filter((c) => c === code).length
  t.same([codes[0], codes[1]], [200, 400], 'a token, then a refusal')
  t.ok(count(429) >= 1, `some requests were rate-limited (${codes.join(' ')})`)
  const after = await scrape()
  const moved = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels)
  t.equal(moved('aoc_tokens_issued_total', { grant: 'jwt-bearer' }), count(200), 'one per token issued')
  t.equal(moved('aoc_token_errors_total', { grant: 'jwt-bearer', error: 'invalid_grant' }), 1, 'the refusal, by its OAuth code')
  t.equal(moved('aoc_token_errors_total', { grant: 'jwt-bearer', error: 'temporarily_unavailable' }), count(429), 'the rate-limited ones')
  t.equal(moved('aoc_rate_limited_total', { endpoint: 'token' }), count(429))
  t.ok(moved('aoc_jti_batch_size_count') >= 1, 'jti batches observed')
  t.equal(moved('aoc_jti_batch_size_sum'), count(200), 'one jti recorded per token, in however many batches')
  t.ok(moved('aoc_cache_lookups_total', { cache: 'users', result: 'hit' }) + moved('aoc_cache_lookups_total', { cache: 'users', result: 'miss' }) >= 6, 'user cache lookups counted')
  // The refusal, and the 429s of the client's own limit; those of the address's come before the client is known.
  const audited = moved('aoc_audit_events_total', { event_type: 'token.refused' })
  t.ok(audited >= 1 && audited <= 1 + count(429), `the refusals' audit events, counted ones too (${audited})`)
  t.equal(moved('aoc_http_request_duration_seconds_count', { route: '/api/v1/oauth2/:org/token', method: 'POST', status_class: '2xx' }), count(200), 'durations by route pattern and status class')
  t.ok(value(after, 'aoc_signing_key_age_seconds') >= 0 && /aoc_signing_key_age_seconds \d/.test(after), 'the signing key\'s age')
  for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds_count']) t.match(after, new RegExp(`^${name}`, 'm'), `${name} is exported`)
  if (dbKind === 'postgres') t.match(after, /^aoc_db_pool_connections\{state="idle"\} \d/m, 'pool connections by state')
  else t.notMatch(after, /^aoc_db_pool_connections\{/m, 'no pool on the embedded database')
})

t.test('no label names a client, a user, an organization or an address', async (t) => {
  const text = await scrape()
  for (const secret of [org.clientId, org.orgId, org.orgName, user.id, user.email, '192.0.2.1', '192.0.2.2']) t.notMatch(text, secret, `${secret} appears nowhere`)
})

t.test('the main port does not serve the metrics; the listener serves nothing else', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/`)).status, 404)
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status, 404)
})
