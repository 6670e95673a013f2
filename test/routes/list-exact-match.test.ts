// ascli resolves `%name:<value>` with one unpaged `GET /<resource>?q=<value>` and picks the exact
// name from that first page (docs/aoc-compatibility.md §9): with more rows containing the value than a page
// (100) holds, the exact match must still come first. Rows are inserted in bulk, one statement each.
import t, { type Test } from 'tap'
import { newId } from '../../src/ids.js'
import { buildTestApp, call, newOrg, type TestOrg } from '../helpers/app.js'

const ta = await buildTestApp(t)
const { app } = ta
const db = app.ctx.db

const BULK = 150
const base = Date.parse('2030-01-01T00:00:00Z')
/** Distinct creation times in insertion order, so the stable order (created_at, id) is known in advance. */
const createdAt = (i: number) => new Date(base + i * 1000)

interface Row { name: string, email?: string }

/** Pages 1 and 2 of `GET <path>?q=` at the default page size, as names (or e-mails), and the totals. */
async function firstTwoPages (org: TestOrg, path: string, q: string, field: keyof Row = 'name') {
  const get = async (page: number) => call(app, org.adminToken, 'GET', `/api/v1/${path}?q=${encodeURIComponent(q)}${page > 1 ? `&page=${page}` : ''}`)
  const [one, two] = [await get(1), await get(2)]
  const values = (res: typeof one) => (res.json() as Row[]).map((r) => r[field])
  return { one: values(one), two: values(two), totals: [one.headers['x-total-count'], two.headers['x-total-count']] }
}

/**
 * `exact` comes first on page 1, whatever its case and though it was made last; then every other
 * match in creation order, over both pages, none twice; X-Total-Count counts all of them.
 */
function exactFirst (t: Test, pages: Awaited<ReturnType<typeof firstTwoPages>>, exact: string, others: string[]): void {
  t.equal(pages.one.length, 100, 'page 1 is a full default page')
  t.equal(pages.one[0], exact, 'the exact match is first on page 1')
  t.same([...pages.one.slice(1), ...pages.two], others, 'then the others in the stable order, over both pages, none twice')
  t.same(pages.totals, [String(others.length + 1), String(others.length + 1)], 'X-Total-Count counts every match')
}

t.test('GET /groups?q= puts the exact name (any case) first among more than a page of matches', async (t) => {
  const org = await newOrg(ta)
  const others = Array.from({ length: BULK }, (_, i) => `Team Blue ${i}`)
  await db.insertInto('groups').values([...others, 'TEAM BLUE'].map((name, i) => ({ id: newId(), organization_id: org.orgId, name, created_at: createdAt(i) }))).execute()
  exactFirst(t, await firstTwoPages(org, 'groups', 'team blue'), 'TEAM BLUE', others)
  const unfiltered = await call(app, org.adminToken, 'GET', '/api/v1/groups?per_page=1000')
  t.equal(unfiltered.json()[0].name, 'Team Blue 0', 'without q, the order is the stable one alone')
})

t.test('GET /nodes?q= puts the exact name first', async (t) => {
  const org = await newOrg(ta)
  const others = Array.from({ length: BULK }, (_, i) => `edge ${i}`)
  await db.insertInto('nodes').values([...others, 'Edge'].map((name, i) => ({
    id: newId(), organization_id: org.orgId, name, url: `https://n${i}.example.com`, access_key: `key-${i}`, created_at: createdAt(i)
  }))).execute()
  exactFirst(t, await firstTwoPages(org, 'nodes', 'edge'), 'Edge', others)
})

t.test('GET /clients?q= puts the exact name first', async (t) => {
  const org = await newOrg(ta)
  // newOrg registered 'test client', which contains no 'my app'.
  const others = Array.from({ length: BULK }, (_, i) => `my app ${i}`)
  // Public clients ('none'): no secret to make for each.
  const publicClient = { token_endpoint_auth_method: 'none' as const, secret_encrypted: null, secret_hash: null, redirect_uris: '[]', origins: '[]', creator_id: null, public_key: null }
  await db.insertInto('clients').values([...others, 'My App'].map((name, i) => ({ ...publicClient, id: newId(), organization_id: org.orgId, name, created_at: createdAt(i) }))).execute()
  exactFirst(t, await firstTwoPages(org, 'clients', 'my app'), 'My App', others)
})

t.test('GET /users?q= puts an exact e-mail, or an exact name, first', async (t) => {
  const org = await newOrg(ta)
  const others = Array.from({ length: BULK }, (_, i) => `${i}ann@bulk.example.com`)
  const rows = [...others, 'Ann@Bulk.Example.com'].map((email, i) => ({ id: newId(), organization_id: org.orgId, email, name: `person ${i}`, created_at: createdAt(i) }))
  rows.push({ id: newId(), organization_id: org.orgId, email: 'named@bulk.example.com', name: 'ANN', created_at: createdAt(BULK + 1) })
  await db.insertInto('users').values(rows).execute()

  t.test('by e-mail', async (t) => exactFirst(t, await firstTwoPages(org, 'users', 'ann@bulk.example.com', 'email'), 'Ann@Bulk.Example.com', others))
  t.test('by name: the user named "ANN" first, then every e-mail holding "ann"', async (t) =>
    exactFirst(t, await firstTwoPages(org, 'users', 'ann', 'email'), 'named@bulk.example.com', [...others, 'Ann@Bulk.Example.com']))
})
