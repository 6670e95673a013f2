import t from 'tap'
import { newId } from '../../src/ids.js'
import { groupIdsOfUser } from '../../src/registry/group-memberships.js'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { checkAdminOnly, checkBadInput, type BadInput } from '../helpers/rest.js'

const ta = await buildTestApp(t)
const { app } = ta
const db = app.ctx.db
const org = await newOrg(ta)
const other = await newOrg(ta)

async function newGroup (token: string, name: string, description?: string): Promise<{ id: string, name: string }> {
  const res = await call(app, token, 'POST', '/api/v1/groups', { name, ...(description !== undefined ? { description } : {}) })
  if (res.statusCode !== 201) throw new Error(`group not created: ${res.body}`)
  return res.json()
}

async function addMember (token: string, groupId: string, userId: string) {
  return await call(app, token, 'POST', '/api/v1/group_memberships', { group_id: groupId, member_type: 'user', member_id: userId })
}

t.test('POST /groups answers 201 with the whole object; GET reads it back', async (t) => {
  const res = await call(app, org.adminToken, 'POST', '/api/v1/groups', { name: 'Engineering', description: 'builders' })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.match(body, { name: 'Engineering', description: 'builders', organization_id: org.orgId, created_at: String, updated_at: String })
  t.match(body.id, /^[A-Za-z0-9_-]+$/)
  t.same(Object.keys(body).sort(), ['created_at', 'description', 'id', 'name', 'organization_id', 'updated_at'])
  const got = await call(app, org.adminToken, 'GET', `/api/v1/groups/${body.id}`)
  t.equal(got.statusCode, 200)
  t.same(got.json(), body)
  const bare = await call(app, org.adminToken, 'POST', '/api/v1/groups', { name: 'No description' })
  t.equal(bare.statusCode, 201)
  t.equal(bare.json().description, '', 'description defaults to empty')
})

t.test('bad group input gets a 422 naming the field, and creates nothing', async (t) => {
  const cases: BadInput[] = [
    ['missing name', { description: 'x' }, 'parameter_missing', 'name'],
    ['empty name', { name: '' }, 'invalid_parameter', 'name'],
    ['name not a string', { name: 42 }, 'invalid_parameter', 'name'],
    ['description not a string', { name: 'bad-g1', description: false }, 'invalid_parameter', 'description'],
    ['unknown field', { name: 'bad-g2', colour: 'blue' }, 'invalid_parameter', 'colour'],
    ['name too long', { name: 'x'.repeat(257) }, 'invalid_parameter', 'name']
  ]
  await checkBadInput(t, app, org.adminToken, '/api/v1/groups', cases)
  const list = await call(app, org.adminToken, 'GET', '/api/v1/groups?q=bad-g')
  t.equal(list.headers['x-total-count'], '0', 'nothing was created by bad input')
  const nobody = await call(app, org.adminToken, 'POST', '/api/v1/groups')
  t.equal(nobody.statusCode, 422, 'no body at all')
})

t.test('a duplicate group name, in any case, is a 409; another org may reuse it', async (t) => {
  await newGroup(org.adminToken, 'Dup Group')
  const again = await call(app, org.adminToken, 'POST', '/api/v1/groups', { name: 'DUP group' })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'conflict', param: 'name' })
  const elsewhere = await call(app, other.adminToken, 'POST', '/api/v1/groups', { name: 'Dup Group' })
  t.equal(elsewhere.statusCode, 201)
  const g = await newGroup(org.adminToken, 'Renamed later')
  const rename = await call(app, org.adminToken, 'PUT', `/api/v1/groups/${g.id}`, { name: 'dup GROUP' })
  t.equal(rename.statusCode, 409, 'renaming onto a taken name is a 409 too')
  t.equal(rename.json().param, 'name')
})

t.test('PUT /groups/{id} answers 204 and changes only what it is given', async (t) => {
  const g = await newGroup(org.adminToken, 'Before', 'old text')
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/groups/${g.id}`, { name: 'After' })
  t.equal(put.statusCode, 204)
  t.equal(put.body, '')
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/groups/${g.id}`)).json(), { name: 'After', description: 'old text' })
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/groups/${g.id}`, { description: 'new' })).statusCode, 204)
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/groups/${g.id}`)).json(), { name: 'After', description: 'new' })
  const bad: Array<[string, unknown, string]> = [
    ['unknown field', { members: [] }, 'members'],
    ['wrong type', { description: 1 }, 'description'],
    ['empty name', { name: '' }, 'name']
  ]
  for (const [label, body, param] of bad) {
    const res = await call(app, org.adminToken, 'PUT', `/api/v1/groups/${g.id}`, body)
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code: 'invalid_parameter', param }, label)
  }
  t.equal((await call(app, org.adminToken, 'PUT', '/api/v1/groups/nope', { name: 'x' })).statusCode, 404, 'unknown id')
})

t.test('GET /groups pages, filters with q and answers X-Total-Count', async (t) => {
  for (let i = 0; i < 5; i++) await newGroup(org.adminToken, `Pager Team ${i}`)
  const all = await call(app, org.adminToken, 'GET', '/api/v1/groups?q=pager%20TEAM')
  t.equal(all.statusCode, 200)
  t.equal(all.headers['x-total-count'], '5')
  t.same(all.json().map((g: { name: string }) => g.name), [0, 1, 2, 3, 4].map((i) => `Pager Team ${i}`), 'in creation order')
  const page2 = await call(app, org.adminToken, 'GET', '/api/v1/groups?q=pager&per_page=2&page=2')
  t.equal(page2.headers['x-total-count'], '5')
  t.same(page2.json(), all.json().slice(2, 4))
  const ascli = await call(app, org.adminToken, 'GET', '/api/v1/groups?per_page=1000&page=1')
  t.equal(ascli.statusCode, 200)
  t.ok(Number(ascli.headers['x-total-count']) >= 5)
  const bad = await call(app, org.adminToken, 'GET', '/api/v1/groups?page=abc')
  t.equal(bad.statusCode, 422, 'a non-numeric page is a 422')
  t.equal(bad.json().param, 'page')
})

t.test('group memberships: create 201, read, list by group and member, delete 204', async (t) => {
  const g = await newGroup(org.adminToken, 'Members')
  const { user } = await org.newUser()
  const res = await addMember(org.adminToken, g.id, user.id)
  t.equal(res.statusCode, 201)
  const m = res.json()
  t.match(m, { group_id: g.id, member_type: 'user', member_id: user.id, organization_id: org.orgId, created_at: String })
  t.same(Object.keys(m).sort(), ['created_at', 'group_id', 'id', 'member_id', 'member_type', 'organization_id'])
  const got = await call(app, org.adminToken, 'GET', `/api/v1/group_memberships/${m.id}`)
  t.equal(got.statusCode, 200)
  t.same(got.json(), m)

  const second = await org.newUser()
  t.equal((await addMember(org.adminToken, g.id, second.user.id)).statusCode, 201)
  const g2 = await newGroup(org.adminToken, 'Members 2')
  t.equal((await addMember(org.adminToken, g2.id, user.id)).statusCode, 201)

  const byGroup = await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g.id}`)
  t.equal(byGroup.statusCode, 200)
  t.equal(byGroup.headers['x-total-count'], '2')
  t.same(byGroup.json().map((r: { member_id: string }) => r.member_id), [user.id, second.user.id])
  const byMember = await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?member_id=${user.id}`)
  t.equal(byMember.headers['x-total-count'], '2')
  t.same(byMember.json().map((r: { group_id: string }) => r.group_id), [g.id, g2.id])
  const both = await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g2.id}&member_id=${user.id}`)
  t.equal(both.headers['x-total-count'], '1')
  const paged = await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g.id}&per_page=1&page=2`)
  t.equal(paged.headers['x-total-count'], '2', 'the total is over all pages')
  t.same(paged.json().map((r: { member_id: string }) => r.member_id), [second.user.id])

  t.same((await groupIdsOfUser(db, org.orgId, user.id)).sort(), [g.id, g2.id].sort(), 'groupIdsOfUser sees both groups')
  t.same(await groupIdsOfUser(db, other.orgId, user.id), [], 'and nothing through another org')

  const del = await call(app, org.adminToken, 'DELETE', `/api/v1/group_memberships/${m.id}`)
  t.equal(del.statusCode, 204)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships/${m.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/group_memberships/${m.id}`)).statusCode, 404, 'twice is a 404')
  t.same(await groupIdsOfUser(db, org.orgId, user.id), [g2.id])
})

t.test('bad membership input: 422 naming the field; a duplicate is a 409', async (t) => {
  const g = await newGroup(org.adminToken, 'Strict')
  const { user } = await org.newUser()
  const foreignGroup = await newGroup(other.adminToken, 'Theirs')
  const foreignUser = await other.newUser()
  const cases: BadInput[] = [
    ['missing group_id', { member_type: 'user', member_id: user.id }, 'parameter_missing', 'group_id'],
    ['missing member_type', { group_id: g.id, member_id: user.id }, 'parameter_missing', 'member_type'],
    ['missing member_id', { group_id: g.id, member_type: 'user' }, 'parameter_missing', 'member_id'],
    ['member_type group', { group_id: g.id, member_type: 'group', member_id: user.id }, 'invalid_parameter', 'member_type'],
    ['member_id not a string', { group_id: g.id, member_type: 'user', member_id: 7 }, 'invalid_parameter', 'member_id'],
    ['unknown field', { group_id: g.id, member_type: 'user', member_id: user.id, role: 'owner' }, 'invalid_parameter', 'role'],
    ['unknown group', { group_id: 'no-such-group', member_type: 'user', member_id: user.id }, 'invalid_parameter', 'group_id'],
    ['unknown user', { group_id: g.id, member_type: 'user', member_id: 'no-such-user' }, 'invalid_parameter', 'member_id'],
    ['malformed id', { group_id: 'a/b', member_type: 'user', member_id: user.id }, 'invalid_parameter', 'group_id'],
    ['another org\'s group', { group_id: foreignGroup.id, member_type: 'user', member_id: user.id }, 'invalid_parameter', 'group_id'],
    ['another org\'s user', { group_id: g.id, member_type: 'user', member_id: foreignUser.user.id }, 'invalid_parameter', 'member_id'],
    ['a group as member', { group_id: g.id, member_type: 'user', member_id: foreignGroup.id }, 'invalid_parameter', 'member_id']
  ]
  await checkBadInput(t, app, org.adminToken, '/api/v1/group_memberships', cases)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g.id}`)).headers['x-total-count'], '0', 'nothing was created')
  t.same(await groupIdsOfUser(db, other.orgId, foreignUser.user.id), [], 'the foreign user joined no group')

  t.equal((await addMember(org.adminToken, g.id, user.id)).statusCode, 201)
  const dup = await addMember(org.adminToken, g.id, user.id)
  t.equal(dup.statusCode, 409)
  t.match(dup.json(), { code: 'conflict', param: 'member_id' })
})

t.test('DELETE /groups/{id} takes its memberships and client authorizations with it', async (t) => {
  const g = await newGroup(org.adminToken, 'Doomed')
  const keep = await newGroup(org.adminToken, 'Kept')
  const { user } = await org.newUser()
  const m = (await addMember(org.adminToken, g.id, user.id)).json()
  t.equal((await addMember(org.adminToken, keep.id, user.id)).statusCode, 201)
  // Inserted directly: this test is about the group's delete, not the client_authorizations routes.
  const authz = { organization_id: org.orgId, client_id: org.clientId, created_at: new Date() }
  await db.insertInto('client_authorizations').values([
    { id: newId(), ...authz, entity_type: 'group', entity_id: g.id },
    { id: newId(), ...authz, entity_type: 'group', entity_id: keep.id },
    { id: newId(), ...authz, entity_type: 'user', entity_id: user.id }
  ]).execute()

  const del = await call(app, org.adminToken, 'DELETE', `/api/v1/groups/${g.id}`)
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/groups/${g.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships/${m.id}`)).statusCode, 404, 'its membership is gone')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g.id}`)).headers['x-total-count'], '0')
  t.same(await groupIdsOfUser(db, org.orgId, user.id), [keep.id], 'the user keeps its other group')
  const left = await db.selectFrom('client_authorizations').select(['entity_type', 'entity_id'])
    .where('client_id', '=', org.clientId).orderBy('entity_type').execute()
  t.same(left, [{ entity_type: 'group', entity_id: keep.id }, { entity_type: 'user', entity_id: user.id }], 'only the deleted group\'s authorization went')
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/groups/${g.id}`)).statusCode, 404, 'twice is a 404')
})

t.test('another organization\'s groups and memberships are a 404 and never listed', async (t) => {
  const g = await newGroup(other.adminToken, 'Secret Society')
  const { user } = await other.newUser()
  const m = (await addMember(other.adminToken, g.id, user.id)).json()
  for (const [method, body] of [['GET', undefined], ['PUT', { name: 'Hijacked' }], ['DELETE', undefined]] as const) {
    const res = await call(app, org.adminToken, method, `/api/v1/groups/${g.id}`, body)
    t.equal(res.statusCode, 404, `${method} group`)
    t.equal(res.json().code, 'not_found')
  }
  for (const method of ['GET', 'DELETE'] as const) {
    const res = await call(app, org.adminToken, method, `/api/v1/group_memberships/${m.id}`)
    t.equal(res.statusCode, 404, `${method} membership`)
  }
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/groups?q=secret')).headers['x-total-count'], '0')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g.id}`)).headers['x-total-count'], '0')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?member_id=${user.id}`)).headers['x-total-count'], '0')
  const untouched = await call(app, other.adminToken, 'GET', `/api/v1/groups/${g.id}`)
  t.equal(untouched.json().name, 'Secret Society', 'the other org\'s group is unchanged')
  t.equal((await call(app, other.adminToken, 'GET', `/api/v1/group_memberships/${m.id}`)).statusCode, 200)
})

t.test('a non-admin gets 403 and no token gets 401 on every route', async (t) => {
  const g = await newGroup(org.adminToken, 'Guarded')
  const { user, token } = await org.newUser()
  const m = (await addMember(org.adminToken, g.id, user.id)).json()
  const adminWithUserScope = await org.tokenFor(org.admin, 'user:all')
  await checkAdminOnly(t, app, [
    ['GET', '/api/v1/groups'],
    ['POST', '/api/v1/groups', { name: 'Mine' }],
    ['GET', `/api/v1/groups/${g.id}`],
    ['PUT', `/api/v1/groups/${g.id}`, { name: 'Mine' }],
    ['DELETE', `/api/v1/groups/${g.id}`],
    ['GET', '/api/v1/group_memberships'],
    ['POST', '/api/v1/group_memberships', { group_id: g.id, member_type: 'user', member_id: org.admin.id }],
    ['GET', `/api/v1/group_memberships/${m.id}`],
    ['DELETE', `/api/v1/group_memberships/${m.id}`]
  ], { user: token, adminWithUserScope })
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/groups/${g.id}`)).json().name, 'Guarded', 'nothing changed')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/group_memberships?group_id=${g.id}`)).headers['x-total-count'], '1')
})
