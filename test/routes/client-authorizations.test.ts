import { randomBytes } from 'node:crypto'
import t from 'tap'
import { isUserListed } from '../../src/store/client-authorizations.js'
import { buildTestApp, call, newOrg, type TestOrg } from '../helpers/app.js'
import { checkAdminOnly, checkBadInput, type BadInput } from '../helpers/rest.js'

const ta = await buildTestApp(t)
const { app } = ta
const db = app.ctx.db
const org = await newOrg(ta)
const other = await newOrg(ta)

const BASE = '/api/v1/client_authorizations'
const rid = () => randomBytes(9).toString('base64url')

let n = 0
/** A client made through the API (never the org's test client, whose tokens the tests use). */
async function newClient (who: TestOrg = org): Promise<{ id: string }> {
  const res = await call(app, who.adminToken, 'POST', '/api/v1/clients', { name: `authz client ${++n}`, whitelist_enabled: true })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.body}`)
  return res.json()
}

/** A group row made directly, as the groups repository is another file's concern. */
async function newGroup (who: TestOrg = org, members: string[] = []): Promise<string> {
  const id = rid()
  await db.insertInto('groups').values({ id, organization_id: who.orgId, name: `group ${id}` }).execute()
  for (const member of members) await addMember(who, id, member)
  return id
}

async function addMember (who: TestOrg, groupId: string, userId: string): Promise<void> {
  await db.insertInto('group_memberships').values({ id: rid(), organization_id: who.orgId, group_id: groupId, member_type: 'user', member_id: userId }).execute()
}

t.test('POST /client_authorizations answers 201 with the whole object; GET by id shows it', async (t) => {
  const client = await newClient()
  const { user } = await org.newUser()
  const res = await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: user.id })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.match(body, { organization_id: org.orgId, client_id: client.id, entity_type: 'user', entity_id: user.id })
  t.match(body.id, /^[A-Za-z0-9_-]+$/)
  t.ok(!Number.isNaN(Date.parse(body.created_at)))
  t.same(Object.keys(body).sort(), ['client_id', 'created_at', 'entity_id', 'entity_type', 'id', 'organization_id'])
  const got = await call(app, org.adminToken, 'GET', `${BASE}/${body.id}`)
  t.equal(got.statusCode, 200)
  t.same(got.json(), body)

  const groupId = await newGroup()
  const byGroup = await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'group', entity_id: groupId })
  t.equal(byGroup.statusCode, 201, 'a group may be listed too')
  t.match(byGroup.json(), { entity_type: 'group', entity_id: groupId })
})

t.test('a duplicate is a 409; the same entity on another client is fine', async (t) => {
  const client = await newClient()
  const { user } = await org.newUser()
  const body = { client_id: client.id, entity_type: 'user', entity_id: user.id }
  t.equal((await call(app, org.adminToken, 'POST', BASE, body)).statusCode, 201)
  const again = await call(app, org.adminToken, 'POST', BASE, body)
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'conflict', request_id: String })
  const second = await newClient()
  t.equal((await call(app, org.adminToken, 'POST', BASE, { ...body, client_id: second.id })).statusCode, 201)
})

t.test('bad input gets a 422 naming the field, and creates nothing', async (t) => {
  const client = await newClient()
  const { user } = await org.newUser()
  const groupId = await newGroup()
  const foreignClient = await newClient(other)
  const { user: foreignUser } = await other.newUser()
  const foreignGroup = await newGroup(other)
  const cases: BadInput[] = [
    ['missing client_id', { entity_type: 'user', entity_id: user.id }, 'parameter_missing', 'client_id'],
    ['missing entity_type', { client_id: client.id, entity_id: user.id }, 'parameter_missing', 'entity_type'],
    ['missing entity_id', { client_id: client.id, entity_type: 'user' }, 'parameter_missing', 'entity_id'],
    ['entity_type not user or group', { client_id: client.id, entity_type: 'node', entity_id: user.id }, 'invalid_parameter', 'entity_type'],
    ['entity_id not a string', { client_id: client.id, entity_type: 'user', entity_id: 5 }, 'invalid_parameter', 'entity_id'],
    ['empty client_id', { client_id: '', entity_type: 'user', entity_id: user.id }, 'invalid_parameter', 'client_id'],
    ['unknown field', { client_id: client.id, entity_type: 'user', entity_id: user.id, colour: 'blue' }, 'invalid_parameter', 'colour'],
    ['unknown client', { client_id: 'no-such-client', entity_type: 'user', entity_id: user.id }, 'invalid_parameter', 'client_id'],
    ['unknown user', { client_id: client.id, entity_type: 'user', entity_id: 'no-such-user' }, 'invalid_parameter', 'entity_id'],
    ['unknown group', { client_id: client.id, entity_type: 'group', entity_id: 'no-such-group' }, 'invalid_parameter', 'entity_id'],
    ['a group id given as a user', { client_id: client.id, entity_type: 'user', entity_id: groupId }, 'invalid_parameter', 'entity_id'],
    ['a user id given as a group', { client_id: client.id, entity_type: 'group', entity_id: user.id }, 'invalid_parameter', 'entity_id'],
    ['another org\'s client', { client_id: foreignClient.id, entity_type: 'user', entity_id: user.id }, 'invalid_parameter', 'client_id'],
    ['another org\'s user', { client_id: client.id, entity_type: 'user', entity_id: foreignUser.id }, 'invalid_parameter', 'entity_id'],
    ['another org\'s group', { client_id: client.id, entity_type: 'group', entity_id: foreignGroup }, 'invalid_parameter', 'entity_id']
  ]
  await checkBadInput(t, app, org.adminToken, BASE, cases)
  t.equal((await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}`)).headers['x-total-count'], '0', 'nothing was created')
  t.equal((await call(app, other.adminToken, 'GET', `${BASE}?client_id=${foreignClient.id}`)).headers['x-total-count'], '0', 'nothing on the foreign client either')
})

t.test('GET /client_authorizations filters, pages and answers X-Total-Count', async (t) => {
  const client = await newClient()
  const another = await newClient()
  const users = []
  for (let i = 0; i < 4; i++) users.push((await org.newUser()).user)
  const groupId = await newGroup()
  for (const u of users) t.equal((await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: u.id })).statusCode, 201)
  t.equal((await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'group', entity_id: groupId })).statusCode, 201)
  t.equal((await call(app, org.adminToken, 'POST', BASE, { client_id: another.id, entity_type: 'user', entity_id: users[0]!.id })).statusCode, 201)

  const all = await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}`)
  t.equal(all.statusCode, 200)
  t.equal(all.headers['x-total-count'], '5')
  t.ok(all.json().every((a: { client_id: string }) => a.client_id === client.id))
  const usersOnly = await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}&entity_type=user`)
  t.equal(usersOnly.headers['x-total-count'], '4')
  const groupsOnly = await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}&entity_type=group`)
  t.same(groupsOnly.json().map((a: { entity_id: string }) => a.entity_id), [groupId])
  const byEntity = await call(app, org.adminToken, 'GET', `${BASE}?entity_type=user&entity_id=${users[0]!.id}`)
  t.equal(byEntity.headers['x-total-count'], '2', 'one user on two clients')
  const page2 = await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}&per_page=2&page=2`)
  t.equal(page2.headers['x-total-count'], '5')
  t.same(page2.json().map((a: { id: string }) => a.id), all.json().slice(2, 4).map((a: { id: string }) => a.id), 'stable order')
  t.equal((await call(app, org.adminToken, 'GET', `${BASE}?per_page=1000&page=1`)).statusCode, 200, 'ascli\'s paging is accepted')
  const bad = await call(app, org.adminToken, 'GET', `${BASE}?entity_type=node`)
  t.equal(bad.statusCode, 422, 'an unknown entity_type filter is a 422')
  t.match(bad.json(), { code: 'invalid_parameter', param: 'entity_type' })
})

t.test('DELETE /client_authorizations/{id} answers 204, then it is gone', async (t) => {
  const client = await newClient()
  const { user } = await org.newUser()
  const created = (await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: user.id })).json()
  t.ok(await isUserListed(db, org.orgId, client.id, user.id))
  const res = await call(app, org.adminToken, 'DELETE', `${BASE}/${created.id}`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await call(app, org.adminToken, 'GET', `${BASE}/${created.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'DELETE', `${BASE}/${created.id}`)).statusCode, 404)
  t.notOk(await isUserListed(db, org.orgId, client.id, user.id), 'the user is no longer listed')
})

t.test('deleting a client removes its authorizations', async (t) => {
  const client = await newClient()
  const { user } = await org.newUser()
  const groupId = await newGroup()
  const a = (await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: user.id })).json()
  const b = (await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'group', entity_id: groupId })).json()
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/clients/${client.id}`)).statusCode, 204)
  for (const id of [a.id, b.id]) t.equal((await call(app, org.adminToken, 'GET', `${BASE}/${id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}`)).headers['x-total-count'], '0')
  const rows = await db.selectFrom('client_authorizations').select('id').where('client_id', '=', client.id).execute()
  t.same(rows, [], 'no row is left behind')
})

t.test('isUserListed: directly, through a group, and not otherwise', async (t) => {
  const client = await newClient()
  const unrelated = await newClient()
  const { user: direct } = await org.newUser()
  const { user: member } = await org.newUser()
  const { user: outsider } = await org.newUser()
  const groupId = await newGroup(org, [member.id])
  const emptyGroup = await newGroup()

  t.notOk(await isUserListed(db, org.orgId, client.id, direct.id), 'nobody is listed at first')
  t.equal((await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: direct.id })).statusCode, 201)
  const viaGroup = (await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'group', entity_id: groupId })).json()
  t.equal((await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'group', entity_id: emptyGroup })).statusCode, 201)

  t.ok(await isUserListed(db, org.orgId, client.id, direct.id), 'listed directly')
  t.ok(await isUserListed(db, org.orgId, client.id, member.id), 'listed through its group')
  t.notOk(await isUserListed(db, org.orgId, client.id, outsider.id), 'a user in no listed group is not listed')
  t.notOk(await isUserListed(db, org.orgId, unrelated.id, direct.id), 'listing is per client')
  t.notOk(await isUserListed(db, other.orgId, client.id, direct.id), 'listing is per organization')

  await addMember(org, emptyGroup, outsider.id)
  t.ok(await isUserListed(db, org.orgId, client.id, outsider.id), 'joining a listed group lists the user at once')
  t.equal((await call(app, org.adminToken, 'DELETE', `${BASE}/${viaGroup.id}`)).statusCode, 204)
  t.notOk(await isUserListed(db, org.orgId, client.id, member.id), 'removing the group\'s authorization unlists its members')
})

t.test('another organization\'s authorizations are a 404 and never listed', async (t) => {
  const client = await newClient(other)
  const { user } = await other.newUser()
  const foreign = (await call(app, other.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: user.id })).json()
  for (const method of ['GET', 'DELETE'] as const) {
    const res = await call(app, org.adminToken, method, `${BASE}/${foreign.id}`)
    t.equal(res.statusCode, 404, method)
    t.equal(res.json().code, 'not_found')
  }
  t.equal((await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}`)).headers['x-total-count'], '0')
  const mine = await call(app, org.adminToken, 'GET', `${BASE}?per_page=1000`)
  t.notOk(mine.json().some((a: { organization_id: string }) => a.organization_id !== org.orgId), 'the unfiltered list holds only this org\'s rows')
  t.equal((await call(app, other.adminToken, 'GET', `${BASE}/${foreign.id}`)).statusCode, 200, 'still there for its own org')
})

t.test('a non-admin gets 403 and no token gets 401 on every endpoint', async (t) => {
  const client = await newClient()
  const { user, token } = await org.newUser()
  const created = (await call(app, org.adminToken, 'POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: user.id })).json()
  await checkAdminOnly(t, app, [
    ['GET', BASE, undefined],
    ['POST', BASE, { client_id: client.id, entity_type: 'user', entity_id: org.admin.id }],
    ['GET', `${BASE}/${created.id}`, undefined],
    ['DELETE', `${BASE}/${created.id}`, undefined]
  ], { user: token })
  t.equal((await call(app, org.adminToken, 'GET', `${BASE}?client_id=${client.id}`)).headers['x-total-count'], '1', 'nothing changed')
})
