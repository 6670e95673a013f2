// The audit trail (issue 12, item 1; docs/audit-events.md): what each change and security event
// records, written with the change, served where AoC serves its activity log, one log line each.
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { purgeExpired } from '../../src/services/purge.js'
import { buildLoggingTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { basic, FORM, oauthPoster } from '../helpers/oauth.js'
import { authorize, browserClient, codeGrant, Jar, setPassword, signIn, signInWithPassword } from '../helpers/signin.js'

const ta = await buildLoggingTestApp(t, 'info', { TOKEN_RATE_LIMIT_PER_MINUTE: '0', LOGIN_MAX_FAILURES_PER_ADDRESS: '3', LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000' })
const { app, lines } = ta
const org = await newOrg(ta)
const other = await newOrg(ta)
const post = oauthPoster(app, org.orgName)

interface Event {
  id: string
  event_type: string
  created_at: string
  organization_id: string
  actor_type: string
  actor_id: string | null
  actor_email: string | null
  target_type: string | null
  target_id: string | null
  target_name: string | null
  request_id: string | null
  ip_address: string | null
  user_agent: string | null
  changes: Array<{ field: string, old_value?: unknown, new_value?: unknown }>
  reason: string | null
  count: number
}

const eventsUrl = (orgId: string, query = '') => `/analytics/v2/organizations/${orgId}/application_events${query}`

async function events (query = '', token = org.adminToken): Promise<Event[]> {
  const res = await call(app, token, 'GET', eventsUrl(org.orgId, query))
  if (res.statusCode !== 200) throw new Error(`events answered ${res.statusCode}: ${res.body}`)
  return res.json().application_events
}

/** The newest event of a type about a target. */
async function latest (eventType: string, targetId?: string): Promise<Event | undefined> {
  const q = new URLSearchParams({ event_type: eventType, ...(targetId ? { target_id: targetId } : {}) })
  return (await events(`?${q.toString()}`))[0]
}

/** A REST call with a user agent and a request id of our own, so the event can be checked against them. */
async function admin (method: 'POST' | 'PUT' | 'DELETE' | 'GET', url: string, body?: unknown, requestId = 'req-' + randomUUID().slice(0, 8)) {
  const res = await app.inject({
    method,
    url,
    remoteAddress: '192.0.2.33',
    headers: { authorization: `Bearer ${org.adminToken}`, 'user-agent': 'audit-test/1.0', 'x-request-id': requestId },
    ...(body !== undefined ? { payload: body as Record<string, unknown> } : {})
  })
  return { res, requestId }
}

t.test('a client\'s life: created, updated, secret read and rotated, deleted; who, from where, what changed', async (t) => {
  const key = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)
  const created = await admin('POST', '/api/v1/clients', { name: 'audited app', redirect_uris: ['https://app.example.com/cb'] })
  t.equal(created.res.statusCode, 201)
  const client = created.res.json()
  const ev = await latest('client.created', client.id)
  t.match(ev, {
    organization_id: org.orgId,
    actor_type: 'user',
    actor_id: org.admin.id,
    actor_email: org.admin.email,
    target_type: 'client',
    target_id: client.id,
    target_name: 'audited app',
    request_id: created.requestId,
    ip_address: '192.0.2.33',
    user_agent: 'audit-test/1.0',
    count: 1
  })
  t.match(ev?.changes, [{ field: 'name', new_value: 'audited app' }])

  t.equal((await admin('PUT', `/api/v1/clients/${client.id}`, { name: 'renamed app', jwt_grant_enabled: true, public_key: key })).res.statusCode, 204)
  const updated = await latest('client.updated', client.id)
  const byField = Object.fromEntries((updated?.changes ?? []).map((c) => [c.field, c]))
  t.same(byField.name, { field: 'name', old_value: 'audited app', new_value: 'renamed app' })
  t.same(byField.jwt_grant_enabled, { field: 'jwt_grant_enabled', old_value: false, new_value: true })
  t.match(byField.public_key, { old_value: null, new_value: /^SHA256:[A-Za-z0-9_-]{43}$/ }, 'a public key appears as its fingerprint')
  t.notOk(JSON.stringify(updated).includes('BEGIN PUBLIC KEY'), 'never as the PEM')

  const read = await admin('GET', `/api/v1/clients/${client.id}`)
  t.equal(read.res.statusCode, 200)
  t.match(await latest('client.secret_read', client.id), { request_id: read.requestId })
  const rotated = await admin('POST', `/api/v1/clients/${client.id}/secret`)
  const newSecret = rotated.res.json().secret
  t.match(await latest('client.secret_rotated', client.id), { changes: [{ field: 'secret' }] })

  t.equal((await admin('DELETE', `/api/v1/clients/${client.id}`)).res.statusCode, 204)
  t.match(await latest('client.deleted', client.id), { target_name: 'renamed app' })

  const all = JSON.stringify(await events('?limit=1000'))
  for (const secret of [client.secret, newSecret]) t.notOk(all.includes(secret), 'no client secret in any event')
})

t.test('a user\'s life: each security-relevant change is its own event; passwords by name only', async (t) => {
  const key = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)
  const password = 'an audited passphrase 1'
  const created = await admin('POST', '/api/v1/users', { email: 'audited@example.com', first_name: 'Au', password })
  t.equal(created.res.statusCode, 201)
  const id = created.res.json().id
  t.match(await latest('user.created', id), { target_type: 'user', target_name: 'audited@example.com' })
  t.match((await latest('user.created', id))?.changes.find((c) => c.field === 'password'), { field: 'password' })

  await admin('PUT', `/api/v1/users/${id}`, { organization_admin: true, first_name: 'Audrey', public_key: key })
  t.match(await latest('user.admin_granted', id), { changes: [{ field: 'organization_admin', old_value: false, new_value: true }] })
  t.match(await latest('user.updated', id), { changes: [{ field: 'first_name', old_value: 'Au', new_value: 'Audrey' }] })
  t.match(await latest('user.public_key_changed', id), { changes: [{ field: 'public_key', old_value: null, new_value: /^SHA256:/ }] })

  await admin('PUT', `/api/v1/users/${id}`, { password: 'another audited passphrase' })
  const changed = await latest('user.password_changed', id)
  t.same(changed?.changes, [{ field: 'password' }], 'the field, never a value')

  await admin('PUT', `/api/v1/users/${id}`, { deactivated: true })
  t.match(await latest('user.deactivated', id), { changes: [{ field: 'deactivated', old_value: false, new_value: true }] })
  await admin('PUT', `/api/v1/users/${id}`, { organization_admin: false, deactivated: false })
  t.ok(await latest('user.admin_revoked', id))
  t.ok(await latest('user.reactivated', id))

  await admin('DELETE', `/api/v1/users/${id}`)
  t.ok(await latest('user.deleted', id))

  const all = JSON.stringify(await events('?limit=1000'))
  for (const secret of [password, 'another audited passphrase', '$argon2']) t.notOk(all.includes(secret), `${secret.slice(0, 8)}… is in no event`)
})

t.test('groups, memberships, client authorizations and nodes are recorded', async (t) => {
  const group = (await admin('POST', '/api/v1/groups', { name: 'audited group' })).res.json()
  await admin('PUT', `/api/v1/groups/${group.id}`, { description: 'now described' })
  const { user } = await org.newUser()
  const membership = (await admin('POST', '/api/v1/group_memberships', { group_id: group.id, member_type: 'user', member_id: user.id })).res.json()
  const authorization = (await admin('POST', '/api/v1/client_authorizations', { client_id: org.clientId, entity_type: 'group', entity_id: group.id })).res.json()
  const node = (await admin('POST', '/api/v1/nodes', { name: 'audited node', url: 'https://node.example.com', access_key: 'audited-ak' })).res.json()
  await admin('PUT', `/api/v1/nodes/${node.id}`, { url: 'https://node2.example.com' })
  await admin('DELETE', `/api/v1/client_authorizations/${authorization.id}`)
  await admin('DELETE', `/api/v1/group_memberships/${membership.id}`)
  await admin('DELETE', `/api/v1/nodes/${node.id}`)
  await admin('DELETE', `/api/v1/groups/${group.id}`)
  t.match(await latest('group.created', group.id), { target_name: 'audited group' })
  t.match(await latest('group.updated', group.id), { changes: [{ field: 'description', old_value: '', new_value: 'now described' }] })
  t.match(await latest('group_membership.created', membership.id), { changes: [{ field: 'group_id', new_value: group.id }, { field: 'member_type' }, { field: 'member_id', new_value: user.id }] })
  t.match(await latest('client_authorization.created', authorization.id), { changes: [{ field: 'client_id', new_value: org.clientId }] })
  t.match(await latest('node.updated', node.id), { changes: [{ field: 'url', old_value: 'https://node.example.com', new_value: 'https://node2.example.com' }] })
  for (const [type, id] of [['client_authorization.deleted', authorization.id], ['group_membership.deleted', membership.id], ['node.deleted', node.id], ['group.deleted', group.id]]) {
    t.ok(await latest(type!, id), `${type!} is recorded`)
  }
})

t.test('a change that fails records nothing', async (t) => {
  const before = (await events('?event_type=group.created')).length
  await admin('POST', '/api/v1/groups', { name: 'twice' })
  const again = await admin('POST', '/api/v1/groups', { name: 'twice' })
  t.equal(again.res.statusCode, 409)
  t.equal((await events('?event_type=group.created')).length, before + 1, 'one event: the insert that failed left none')
})

t.test('consent given and withdrawn, by the user who signed in', async (t) => {
  const { user } = await org.newUser()
  const jar = await signInWithPassword(ta, org, user)
  const client = await browserClient(ta, org)
  await codeGrant(app, org.orgName, jar, client, 'user:all')
  const given = await latest('consent.given', client.id)
  t.match(given, { actor_type: 'user', actor_id: user.id, actor_email: user.email, target_type: 'client', reason: /consent page/, changes: [{ field: 'scopes', new_value: ['user:all'] }] })
  const token = await org.tokenFor(user)
  const consents = (await call(app, token, 'GET', '/api/v1/self/consents')).json() as Array<{ id: string, client_id: string }>
  const mine = consents.find((c) => c.client_id === client.id)!
  t.equal((await call(app, token, 'DELETE', `/api/v1/self/consents/${mine.id}`)).statusCode, 204)
  t.match(await latest('consent.withdrawn', client.id), { actor_id: user.id })
})

t.test('security events: reused codes and refresh tokens one by one; refused tokens, replays and throttled sign-ins counted per minute', async (t) => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const forger = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { user } = await org.newUser({ public_key: pem(key.publicKey) })

  const assertion = await ascliAssertion(key.privateKey, org.clientId, user.email, org.orgName)
  t.equal((await post('token', ascliForm(org.clientId, assertion))).statusCode, 200)
  for (let i = 0; i < 3; i++) t.equal((await post('token', ascliForm(org.clientId, assertion))).statusCode, 400, 'replayed')
  const replay = await latest('token.jti_replay_refused', org.clientId)
  t.match(replay, { count: 3, actor_type: 'client', actor_id: org.clientId, target_type: 'client', reason: 'jti replay' }, 'three replays, one row')

  for (let i = 0; i < 4; i++) {
    const forged = await ascliAssertion(forger.privateKey, org.clientId, user.email, org.orgName)
    t.equal((await post('token', ascliForm(org.clientId, forged))).statusCode, 400)
  }
  const refused = (await events(`?event_type=token.refused&target_id=${org.clientId}`)).find((e) => /no accepted key/.test(e.reason ?? ''))
  t.match(refused, { count: 4, reason: 'invalid_grant: no accepted key verified the assertion', changes: [{ field: 'grant_type', new_value: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }] })

  await setPassword(ta, user.id, 'code reuse passphrase')
  const jar = new Jar('192.0.2.50')
  await signIn(app, jar, org.orgName, user.email, 'code reuse passphrase')
  const client = await browserClient(ta, org, { explicit_authorization_required: false })
  const { url } = await authorize(app, jar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, scope: 'user:all' })
  const exchange = () => post('token', { grant_type: 'authorization_code', code: url.searchParams.get('code')!, redirect_uri: client.redirectUri }, basic(client.id, client.secret!))
  const first = await exchange()
  t.equal(first.statusCode, 200)
  t.equal((await exchange()).statusCode, 400)
  t.match(await latest('token.code_reused', client.id), { count: 1, reason: /code reused/ })
  // The reuse revoked what the first exchange issued, its refresh token too: a second sign-in's code for the next check.
  const next = await authorize(app, jar, org.orgName, { response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, scope: 'user:all' })
  const refresh = (await post('token', { grant_type: 'authorization_code', code: next.url.searchParams.get('code')!, redirect_uri: client.redirectUri }, basic(client.id, client.secret!))).json().refresh_token
  const rotate = () => post('token', { grant_type: 'refresh_token', refresh_token: refresh }, basic(client.id, client.secret!))
  t.equal((await rotate()).statusCode, 200)
  t.equal((await rotate()).statusCode, 400)
  t.match(await latest('token.refresh_token_reused', client.id), { reason: 'refresh token reused' })

  const spray = new Jar('192.0.2.77')
  for (let i = 0; i < 6; i++) await signIn(app, spray, org.orgName, `nobody${i}@example.com`, 'wrong password')
  t.match(await latest('sign_in.throttled'), { count: 3, actor_type: 'system', ip_address: '192.0.2.77' }, 'the 4th, 5th and 6th were throttled: one row')
  t.notOk(JSON.stringify(await events('?limit=1000')).includes(assertion), 'no assertion in any event')
})

t.test('each event is one log line with "audit": true; a counted event only its minute\'s first', async (t) => {
  const before = lines.length
  const group = (await admin('POST', '/api/v1/groups', { name: 'logged group' })).res.json()
  const logged = lines.slice(before).map((l) => JSON.parse(l) as { audit?: boolean, event?: Event, msg?: string }).filter((l) => l.audit)
  t.equal(logged.length, 1)
  t.match(logged[0], { audit: true, msg: 'audit: group.created', event: { event_type: 'group.created', target_id: group.id, organization_id: org.orgId } })
  const replays = lines.slice(before).length
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { user } = await org.newUser({ public_key: pem(key.publicKey) })
  for (let i = 0; i < 3; i++) {
    await post('token', ascliForm(org.clientId, await ascliAssertion(key.privateKey, org.clientId, user.email, org.orgName, { aud: 'https://wrong.example/token' })))
  }
  const counted = lines.slice(before + replays).map((l) => JSON.parse(l) as { audit?: boolean, event?: Event }).filter((l) => l.audit)
  t.equal(counted.length, 1, 'three refusals of one reason in a minute: one log line')
})

t.test('the list: filters, newest first, a cursor that pages through everything once', async (t) => {
  const fresh = await newOrg(ta)
  const src = { authorization: `Bearer ${fresh.adminToken}` }
  for (let i = 0; i < 7; i++) await app.inject({ method: 'POST', url: '/api/v1/groups', headers: src, payload: { name: `g${i}` } })
  const all = (await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId), headers: src })).json()
  t.equal(all.next_cursor, null, 'one page holds them all')
  const groupEvents = all.application_events.filter((e: Event) => e.event_type === 'group.created')
  t.equal(groupEvents.length, 7)
  t.same(groupEvents.map((e: Event) => e.target_name), ['g6', 'g5', 'g4', 'g3', 'g2', 'g1', 'g0'], 'newest first')

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const q: string = `?event_type=group.created&limit=3${cursor ? `&cursor=${cursor}` : ''}`
    const page = (await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId, q), headers: src })).json()
    seen.push(...page.application_events.map((e: Event) => e.target_name))
    cursor = page.next_cursor
    pages++
  } while (cursor && pages < 10)
  t.same(seen, ['g6', 'g5', 'g4', 'g3', 'g2', 'g1', 'g0'], 'three pages of 3, 3 and 1: each event once')
  t.equal(pages, 3)

  const mid = groupEvents[3].created_at
  const after = (await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId, `?event_type=group.created&start_time=${encodeURIComponent(mid)}`), headers: src })).json()
  t.ok(after.application_events.every((e: Event) => e.created_at >= mid), 'start_time bounds from below')
  const before = (await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId, `?event_type=group.created&stop_time=${encodeURIComponent(mid)}`), headers: src })).json()
  t.ok(before.application_events.every((e: Event) => e.created_at < mid), 'stop_time bounds from above')
  const byActor = (await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId, `?actor_id=${fresh.admin.id}&event_type=group.created`), headers: src })).json()
  t.equal(byActor.application_events.length, 7)
  const byNobody = (await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId, '?actor_id=nobody'), headers: src })).json()
  t.same(byNobody.application_events, [])

  const bad: Array<[string, string]> = [['?limit=0', 'limit'], ['?limit=1001', 'limit'], ['?start_time=yesterday', 'start_time'], ['?cursor=not-a-cursor', 'cursor'], ['?colour=red', 'colour']]
  for (const [q, param] of bad) {
    const res = await app.inject({ method: 'GET', url: eventsUrl(fresh.orgId, q), headers: src })
    t.equal(res.statusCode, 422, q)
    t.equal(res.json().param, param, `${q}: names ${param}`)
  }
})

t.test('another organization\'s events are never visible; only its administrators see them', async (t) => {
  const theirs = await call(app, other.adminToken, 'GET', eventsUrl(org.orgId))
  t.equal(theirs.statusCode, 404, 'another org\'s id is not found')
  const own = (await call(app, other.adminToken, 'GET', eventsUrl(other.orgId))).json()
  t.ok(own.application_events.every((e: Event) => e.organization_id === other.orgId), 'only its own events')
  const { token } = await org.newUser()
  t.equal((await call(app, token, 'GET', eventsUrl(org.orgId))).statusCode, 403, 'a user:all token is refused')
  t.equal((await call(app, undefined, 'GET', eventsUrl(org.orgId))).statusCode, 401)
})

t.test('ascli\'s request: an admin-user:all token from the JWT grant, the org id from /self, then the list', async (t) => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
  await app.ctx.db.updateTable('users').set({ public_key: pem(key.publicKey) }).where('id', '=', org.admin.id).execute()
  const res = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/token`, headers: FORM, payload: ascliForm(org.clientId, await ascliAssertion(key.privateKey, org.clientId, org.admin.email, org.orgName), 'admin-user:all') })
  t.equal(res.statusCode, 200)
  const token = res.json().access_token
  const self = (await call(app, token, 'GET', '/api/v1/self')).json()
  const list = await app.inject({ method: 'GET', url: `/analytics/v2/organizations/${self.organization_id}/application_events`, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })
  t.equal(list.statusCode, 200)
  t.match(list.headers['content-type'], /^application\/json/)
  t.ok(Array.isArray(list.json().application_events) && list.json().application_events.length > 0, 'ascli reads [:data][\'application_events\']')
})

t.test('events older than EVENT_RETENTION_DAYS are purged', async (t) => {
  const group = (await admin('POST', '/api/v1/groups', { name: 'old news' })).res.json()
  await sql`UPDATE audit_events SET created_at = now() - interval '400 days' WHERE target_id = ${group.id}`.execute(app.ctx.db)
  t.ok(await latest('group.created', group.id), 'there before the purge')
  await purgeExpired(app.ctx.db, { usedCodeSeconds: 24 * 3600, eventDays: 365 })
  t.equal(await latest('group.created', group.id), undefined, 'gone after it')
  t.ok((await events('?limit=5')).length > 0, 'newer events stay')
})
