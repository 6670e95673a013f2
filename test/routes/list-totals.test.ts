// Lists past EXACT_COUNT_LIMIT rows (src/store/paging.ts): X-Total-Count is an estimate there, and
// must still let ascli read every row (it pages until it has X-Total-Count rows or an empty page,
// docs/aoc-compatibility.md §9); deep pages come from the ids' index first. Also the e-mail form of
// `q` (one '@'), which users.ts rewrites to use the local part's index: same rows as a plain substring.
import { sql } from 'kysely'
import t from 'tap'
import { EXACT_COUNT_LIMIT } from '../../src/store/paging.js'
import { buildTestApp, call, newOrg } from '../helpers/app.js'

const ta = await buildTestApp(t)
const { app } = ta
const db = app.ctx.db
const org = await newOrg(ta)

// Two users per creation second, so that the order's tie-break (id) is exercised too.
const GROWN = EXACT_COUNT_LIMIT + 2001
await sql`INSERT INTO users (id, organization_id, email, name, created_at)
  SELECT 'grown-' || i, ${org.orgId}, 'user' || i || '@list.example', 'User ' || i, timestamptz '2031-01-01' + (i / 2) * interval '1 second'
  FROM generate_series(1, ${GROWN}) AS i`.execute(db)
await sql`ANALYZE users`.execute(db)
const TOTAL = GROWN + 1 // and the org's admin, made first

/** Every user id of the org in the list's stable order, from the database itself. */
const ordered = (await db.selectFrom('users').select('id').where('organization_id', '=', org.orgId).orderBy('created_at').orderBy('id').execute()).map((r) => r.id)

const list = async (query: string) => {
  const res = await call(app, org.adminToken, 'GET', `/api/v1/users?${query}`)
  return { status: res.statusCode, ids: (res.json() as Array<{ id: string, email: string }>).map((u) => u.id), emails: (res.json() as Array<{ email: string }>).map((u) => u.email), total: Number(res.headers['x-total-count']) }
}

t.test('past the limit, page 1 gives an estimate of the total, within a quarter of it and above the limit', async (t) => {
  const page = await list('per_page=1000')
  t.equal(page.ids.length, 1000)
  t.same(page.ids, ordered.slice(0, 1000), 'the first 1000 in the stable order')
  t.ok(page.total > EXACT_COUNT_LIMIT, `${page.total} is above ${EXACT_COUNT_LIMIT}`)
  t.ok(Math.abs(page.total - TOTAL) <= TOTAL / 4, `estimate ${page.total} for ${TOTAL} rows`)
})

t.test('the last page knows the exact total', async (t) => {
  const last = Math.ceil(TOTAL / 1000)
  const page = await list(`per_page=1000&page=${last}`)
  t.same(page.ids, ordered.slice((last - 1) * 1000), 'the remaining rows')
  t.equal(page.total, TOTAL, 'exact')
})

t.test('a deep page is the same slice of the stable order', async (t) => {
  const page = await list('per_page=500&page=17')
  t.same(page.ids, ordered.slice(16 * 500, 17 * 500))
})

t.test('a page past the end is empty, and its total claims no more rows than precede it', async (t) => {
  const page = await list('per_page=1000&page=40')
  t.same(page.ids, [])
  t.ok(page.total <= 39_000 && page.total > EXACT_COUNT_LIMIT, `total ${page.total}`)
})

t.test('ascli paging (until X-Total-Count rows or an empty page) reads every row once, in order', async (t) => {
  for (const perPage of [1000, 700]) {
    const seen: string[] = []
    let requests = 0
    for (let page = 1; ; page++) {
      const res = await list(`per_page=${perPage}&page=${page}`)
      requests++
      if (res.ids.length === 0) break
      seen.push(...res.ids)
      if (seen.length >= res.total) break
    }
    t.same(seen, ordered, `per_page=${perPage}: all ${TOTAL} rows in order`)
    t.ok(requests <= Math.ceil(TOTAL / perPage) + 1, `per_page=${perPage}: ${requests} requests, at most one empty page more than needed`)
  }
})

t.test('below the limit the count is exact on every page', async (t) => {
  // user1, user10..19, user100..199, user1000..1999, user10000..12001
  const expected = ordered.length && (await db.selectFrom('users').select('id').where('organization_id', '=', org.orgId).where('email', 'like', 'user1%').execute()).length
  t.ok(expected > 1000 && expected < EXACT_COUNT_LIMIT, `${expected} matches`)
  for (const page of [1, 2]) t.equal((await list(`q=user1&per_page=1000&page=${page}`)).total, expected, `page ${page}`)
})

t.test('q with one @ finds exactly the e-mails containing it, without case', async (t) => {
  const all = (await db.selectFrom('users').select('email').where('organization_id', '=', org.orgId).execute()).map((r) => r.email)
  for (const q of ['12@list', 'R7@LIST.EX', 'user42@list.example', '@list.example.com', '5@', '@lis', '_1@', '%@']) {
    const expected = all.filter((e) => e.toLowerCase().includes(q.toLowerCase())).sort()
    const seen: string[] = []
    let total = 0
    for (let page = 1; ; page++) {
      const res = await list(`q=${encodeURIComponent(q)}&per_page=1000&page=${page}`)
      total = res.total
      seen.push(...res.emails)
      if (res.emails.length < 1000) break
    }
    t.same(seen.sort(), expected, `q=${q}: ${expected.length} e-mails`)
    if (expected.length <= EXACT_COUNT_LIMIT) t.equal(total, expected.length, `q=${q}: exact total`)
  }
})
