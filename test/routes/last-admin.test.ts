// An organization keeps at least one active administrator: without one, nobody could manage it
// through the API again. Demoting, deactivating or deleting the last one is a 409, atomically.
import t, { type Test } from 'tap'
import { ConflictError } from '../../src/errors.js'
import { deleteUser, updateUser } from '../../src/services/users.js'
import { buildTestApp, call, newOrg, systemSource, type TestOrg } from '../helpers/app.js'
import { dbKind } from '../helpers/db.js'

const ta = await buildTestApp(t)
const { app } = ta
const db = app.ctx.db

async function activeAdmins (org: TestOrg): Promise<string[]> {
  const rows = await db.selectFrom('users').select('id')
    .where('organization_id', '=', org.orgId).where('organization_admin', '=', true).where('deactivated', '=', false)
    .orderBy('id').execute()
  return rows.map((r) => r.id)
}

/** Another administrator of the org, with an admin token. */
async function secondAdmin (org: TestOrg) {
  const { user } = await org.newUser({ organization_admin: true })
  return { user, token: await org.tokenFor(user, 'admin:all') }
}

function isLastAdminConflict (t: Test, res: { statusCode: number, json: () => unknown }, param: string, label: string): void {
  t.equal(res.statusCode, 409, label)
  t.match(res.json(), { code: 'conflict', param, message: /active administrator/, request_id: String }, label)
}

t.test('the last active admin demoting or deactivating itself gets 409 conflict, and nothing changes', async (t) => {
  const org = await newOrg(ta)
  const own = `/api/v1/users/${org.admin.id}`
  isLastAdminConflict(t, await call(app, org.adminToken, 'PUT', own, { organization_admin: false }), 'organization_admin', 'demotion')
  isLastAdminConflict(t, await call(app, org.adminToken, 'PUT', own, { deactivated: true }), 'deactivated', 'deactivation')
  isLastAdminConflict(t, await call(app, org.adminToken, 'PUT', own, { organization_admin: false, deactivated: true }), 'organization_admin', 'both')
  isLastAdminConflict(t, await call(app, org.adminToken, 'PUT', own, { organization_admin: false, first_name: 'Gone', password: 'a password never set' }), 'organization_admin', 'demotion with other fields')

  const row = await db.selectFrom('users').select(['organization_admin', 'deactivated', 'first_name', 'password_hash']).where('id', '=', org.admin.id).executeTakeFirstOrThrow()
  t.same(row, { organization_admin: true, deactivated: false, first_name: '', password_hash: null }, 'no field of a refused PUT was written')
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/users')).statusCode, 200, 'the admin token still administers')
  t.equal((await call(app, org.adminToken, 'PUT', own, { first_name: 'Still', organization_admin: true, deactivated: false })).statusCode, 204,
    'other changes to the last admin, and keeping its flags, are fine')
})

t.test('a deactivated admin does not count: the last active one is still refused', async (t) => {
  const org = await newOrg(ta)
  await org.newUser({ organization_admin: true, deactivated: true })
  isLastAdminConflict(t, await call(app, org.adminToken, 'PUT', `/api/v1/users/${org.admin.id}`, { organization_admin: false }), 'organization_admin', 'demotion')
})

t.test('with another active admin, either may step down; then the other is the last', async (t) => {
  const org = await newOrg(ta)
  const other = await secondAdmin(org)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${org.admin.id}`, { organization_admin: false })).statusCode, 204, 'self-demotion with another admin left')
  t.same(await activeAdmins(org), [other.user.id])
  isLastAdminConflict(t, await call(app, other.token, 'PUT', `/api/v1/users/${other.user.id}`, { deactivated: true }), 'deactivated', 'the remaining admin, deactivating itself')
  t.equal((await call(app, other.token, 'PUT', `/api/v1/users/${org.admin.id}`, { deactivated: true })).statusCode, 204, 'deactivating a non-admin is unaffected')
})

t.test('an admin demoting or deactivating the other admin, who is not the last, gets 204', async (t) => {
  const org = await newOrg(ta)
  const other = await secondAdmin(org)
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${other.user.id}`, { deactivated: true })).statusCode, 204)
  t.same(await activeAdmins(org), [org.admin.id])
})

t.test('deleting the last active admin is refused with ConflictError; deleting another admin is not', async (t) => {
  const org = await newOrg(ta)
  await t.rejects(deleteUser(db, systemSource(org.orgId), org.admin.id), new ConflictError('the organization must keep an active administrator: make another user one first'))
  t.same(await activeAdmins(org), [org.admin.id], 'it is still there')
  const other = await secondAdmin(org)
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/users/${other.user.id}`)).statusCode, 204, 'an admin that is not the last may go')
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/users/${org.admin.id}`)).statusCode, 403, 'deleting oneself stays a 403')
})

t.test(`two concurrent removals of the last two admins: exactly one passes (${dbKind})`, async (t) => {
  const removals: Array<[string, (id: string, orgId: string) => Promise<void>, (id: string, orgId: string) => Promise<void>]> = [
    ['two demotions', (id, o) => updateUser(db, systemSource(o), id, { organization_admin: false }), (id, o) => updateUser(db, systemSource(o), id, { organization_admin: false })],
    ['a demotion and a deactivation', (id, o) => updateUser(db, systemSource(o), id, { organization_admin: false }), (id, o) => updateUser(db, systemSource(o), id, { deactivated: true })],
    ['two deletions', (id, o) => deleteUser(db, systemSource(o), id), (id, o) => deleteUser(db, systemSource(o), id)]
  ]
  for (const [label, first, second] of removals) {
    for (let round = 0; round < 3; round++) {
      const org = await newOrg(ta)
      const other = await secondAdmin(org)
      const results = await Promise.allSettled([first(org.admin.id, org.orgId), second(other.user.id, org.orgId)])
      const refused = results.filter((r) => r.status === 'rejected')
      t.equal(refused.length, 1, `${label}, round ${round}: one is refused`)
      t.type((refused[0] as PromiseRejectedResult | undefined)?.reason, ConflictError, `${label}, round ${round}: as a conflict`)
      t.equal((await activeAdmins(org)).length, 1, `${label}, round ${round}: one active admin is left`)
    }
  }
})

t.test('two admins demoting each other at once over HTTP leave one admin', async (t) => {
  const org = await newOrg(ta)
  const other = await secondAdmin(org)
  const [a, b] = await Promise.all([
    call(app, org.adminToken, 'PUT', `/api/v1/users/${other.user.id}`, { organization_admin: false }),
    call(app, other.token, 'PUT', `/api/v1/users/${org.admin.id}`, { organization_admin: false })
  ])
  const statuses = [a.statusCode, b.statusCode].sort()
  t.equal(statuses[0], 204, 'one passes')
  // 409 when both got past authentication first; 403 when the loser was already demoted by then.
  t.ok([403, 409].includes(statuses[1]!), `the other is refused (${statuses[1]})`)
  t.equal((await activeAdmins(org)).length, 1, 'one active admin is left')
})
