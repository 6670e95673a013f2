// The row caches and the change feed (src/cache/hot-rows.ts apply and feed): a change drops exactly
// the entries that could hold its row, whatever key a request used to find it.
import t from 'tap'
import { hotRows } from '../../src/cache/hot-rows.js'
import type { Change } from '../../src/db/change-feed.js'
import { buildTestApp, newOrg } from '../helpers/app.js'

const ta = await buildTestApp(t)
const org = await newOrg(ta)
const other = await newOrg(ta)
const { user } = await org.newUser()
const { user: bystander } = await org.newUser()
const { user: elsewhere } = await other.newUser()
const change = (table: string, keys: Change['new'], old: Change['old'] = {}): Change => ({ table, old, new: keys })

t.test('a user change drops the entries found by its id and by its e-mail in any case, before and after', async (t) => {
  const cache = hotRows(ta.app.ctx.db, 1000, 100, 60_000)
  cache.feed(true)
  await cache.user(org.orgId, user.email.toUpperCase())
  await cache.user(org.orgId, user.id)
  await cache.user(org.orgId, 'renamed@example.com')
  await cache.user(org.orgId, bystander.email)
  await cache.user(other.orgId, elsewhere.email)
  await cache.user(other.orgId, user.email)
  const dropped = cache.apply(change('users', { id: user.id, organization_id: org.orgId, email: 'renamed@example.com' }, { id: user.id, organization_id: org.orgId, email: user.email }))
  t.equal(dropped, 3, 'its e-mail (upper case), its id, and its new e-mail (cached as missing); not the bystander nor the other org')
})

t.test('a client change drops that client only; an org change drops its names', async (t) => {
  const cache = hotRows(ta.app.ctx.db, 1000, 100, 60_000)
  await cache.client(org.orgId, org.clientId)
  await cache.client(other.orgId, other.clientId)
  t.equal(cache.apply(change('clients', { id: org.clientId, organization_id: org.orgId })), 1)
  t.equal(cache.apply(change('clients', {}, { id: org.clientId, organization_id: org.orgId })), 0, 'a deletion of what is already gone drops nothing more')
  await cache.org(org.orgName)
  await cache.org(other.orgName)
  t.equal(cache.apply(change('organizations', { id: org.orgId, name: 'new-name' }, { id: org.orgId, name: org.orgName })), 1)
  t.equal(cache.apply(change('group_memberships', { id: 'x', organization_id: org.orgId })), 0, 'tables no row cache holds drop nothing')
})
