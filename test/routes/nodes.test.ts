import t from 'tap'
import { findNodeByAccessKey } from '../../src/store/nodes.js'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { checkAdminOnly, checkBadInput } from '../helpers/rest.js'

const ta = await buildTestApp(t)
const { app } = ta
const org = await newOrg(ta)
const other = await newOrg(ta)

let n = 0
/** A valid node body; `overrides` replace or add fields. */
function nodeBody (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  n++
  return { name: `node ${n}`, url: `https://node${n}.example.com:9092`, access_key: `key-${n}_x.y`, ...overrides }
}

async function newNode (token: string, overrides: Record<string, unknown> = {}): Promise<{ id: string, name: string, access_key: string }> {
  const res = await call(app, token, 'POST', '/api/v1/nodes', nodeBody(overrides))
  if (res.statusCode !== 201) throw new Error(`node not created: ${res.body}`)
  return res.json()
}

t.test('POST /nodes answers 201 with the whole object; GET reads it back', async (t) => {
  const res = await call(app, org.adminToken, 'POST', '/api/v1/nodes', { name: 'Tokyo', url: 'https://tokyo.example.com:9092/', access_key: 'AbC.def_1-2' })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.match(body, { name: 'Tokyo', url: 'https://tokyo.example.com:9092/', access_key: 'AbC.def_1-2', organization_id: org.orgId, created_at: String, updated_at: String })
  t.same(Object.keys(body).sort(), ['access_key', 'created_at', 'id', 'name', 'organization_id', 'updated_at', 'url'])
  t.match(body.id, /^[A-Za-z0-9_-]+$/)
  const got = await call(app, org.adminToken, 'GET', `/api/v1/nodes/${body.id}`)
  t.equal(got.statusCode, 200)
  t.same(got.json(), body)
  t.equal((await findNodeByAccessKey(app.ctx.db, org.orgId, 'AbC.def_1-2'))?.id, body.id, 'found by its access key')
  t.equal(await findNodeByAccessKey(app.ctx.db, other.orgId, 'AbC.def_1-2'), undefined, 'but not from another org')
  const plainHttp = await call(app, org.adminToken, 'POST', '/api/v1/nodes', nodeBody({ url: 'http://10.0.0.5:9091' }))
  t.equal(plainHttp.statusCode, 201, 'http is allowed too')
  const longKey = await call(app, org.adminToken, 'POST', '/api/v1/nodes', nodeBody({ access_key: 'k'.repeat(128) }))
  t.equal(longKey.statusCode, 201, 'an access key of 128 characters is allowed')
})

t.test('bad node input gets a 422 naming the field, and creates nothing', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['missing name', nodeBody({ name: undefined }), 'parameter_missing', 'name'],
    ['missing url', nodeBody({ url: undefined }), 'parameter_missing', 'url'],
    ['missing access_key', nodeBody({ access_key: undefined }), 'parameter_missing', 'access_key'],
    ['unknown field', nodeBody({ secret: 'x' }), 'invalid_parameter', 'secret'],
    ['name not a string', nodeBody({ name: 5 }), 'invalid_parameter', 'name'],
    ['url not a string', nodeBody({ url: ['https://a.example.com'] }), 'invalid_parameter', 'url'],
    ['access_key not a string', nodeBody({ access_key: 12345 }), 'invalid_parameter', 'access_key'],
    ['empty name', nodeBody({ name: '' }), 'invalid_parameter', 'name'],
    ['relative url', nodeBody({ url: '/node/api' }), 'invalid_parameter', 'url'],
    ['url without scheme', nodeBody({ url: 'node.example.com:9092' }), 'invalid_parameter', 'url'],
    ['ftp url', nodeBody({ url: 'ftp://node.example.com' }), 'invalid_parameter', 'url'],
    ['url with credentials', nodeBody({ url: 'https://user:pass@node.example.com' }), 'invalid_parameter', 'url'],
    ['javascript url', nodeBody({ url: 'javascript:alert(1)' }), 'invalid_parameter', 'url'],
    ['not a url', nodeBody({ url: 'hello world' }), 'invalid_parameter', 'url'],
    ['empty access_key', nodeBody({ access_key: '' }), 'invalid_parameter', 'access_key'],
    ['access_key with a space', nodeBody({ access_key: 'a b' }), 'invalid_parameter', 'access_key'],
    ['access_key with a colon', nodeBody({ access_key: 'a:b' }), 'invalid_parameter', 'access_key'],
    ['access_key with a slash', nodeBody({ access_key: 'a/b' }), 'invalid_parameter', 'access_key'],
    ['access_key non-ASCII', nodeBody({ access_key: 'clé' }), 'invalid_parameter', 'access_key'],
    ['access_key of 129 characters', nodeBody({ access_key: 'k'.repeat(129) }), 'invalid_parameter', 'access_key']
  ]
  // JSON drops undefined, so a field set to undefined above is missing on the wire.
  await checkBadInput(t, app, org.adminToken, '/api/v1/nodes', cases)
  const list = await call(app, org.adminToken, 'GET', '/api/v1/nodes?per_page=1000')
  const names = new Set(list.json().map((x: { name: string }) => x.name))
  t.notOk(cases.some(([, body]) => names.has(body.name as string)), 'nothing was created by bad input')
})

t.test('a duplicate access key is a 409 in the same org, and fine in another', async (t) => {
  const first = await newNode(org.adminToken, { access_key: 'shared-key' })
  const again = await call(app, org.adminToken, 'POST', '/api/v1/nodes', nodeBody({ access_key: 'shared-key' }))
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'conflict', param: 'access_key' })
  const elsewhere = await call(app, other.adminToken, 'POST', '/api/v1/nodes', nodeBody({ access_key: 'shared-key' }))
  t.equal(elsewhere.statusCode, 201)
  const second = await newNode(org.adminToken)
  const onto = await call(app, org.adminToken, 'PUT', `/api/v1/nodes/${second.id}`, { access_key: 'shared-key' })
  t.equal(onto.statusCode, 409, 'changing onto a taken access key is a 409')
  t.equal(onto.json().param, 'access_key')
  const same = await call(app, org.adminToken, 'PUT', `/api/v1/nodes/${first.id}`, { access_key: 'shared-key' })
  t.equal(same.statusCode, 204, 'a node may keep its own key')
  const dupName = await call(app, org.adminToken, 'POST', '/api/v1/nodes', nodeBody({ name: first.name }))
  t.equal(dupName.statusCode, 201, 'names need not be unique')
})

t.test('PUT /nodes/{id} answers 204 and changes only what it is given; bad input is a 422', async (t) => {
  const node = await newNode(org.adminToken, { name: 'Before', url: 'https://before.example.com' })
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/nodes/${node.id}`, { name: 'After' })
  t.equal(put.statusCode, 204)
  t.equal(put.body, '')
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/nodes/${node.id}`)).json(), { name: 'After', url: 'https://before.example.com', access_key: node.access_key })
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/nodes/${node.id}`, { url: 'http://after.example.com/api', access_key: 'after.key' })).statusCode, 204)
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/nodes/${node.id}`)).json(), { name: 'After', url: 'http://after.example.com/api', access_key: 'after.key' })
  const bad: Array<[string, unknown, string]> = [
    ['bad url', { url: 'mailto:x@example.com' }, 'url'],
    ['bad access key', { access_key: 'no spaces' }, 'access_key'],
    ['unknown field', { organization_id: other.orgId }, 'organization_id'],
    ['wrong type', { name: null }, 'name']
  ]
  for (const [label, body, param] of bad) {
    const res = await call(app, org.adminToken, 'PUT', `/api/v1/nodes/${node.id}`, body)
    t.equal(res.statusCode, 422, label)
    t.match(res.json(), { code: 'invalid_parameter', param }, label)
  }
  t.match((await call(app, org.adminToken, 'GET', `/api/v1/nodes/${node.id}`)).json(), { url: 'http://after.example.com/api', access_key: 'after.key', organization_id: org.orgId }, 'unchanged by bad input')
  t.equal((await call(app, org.adminToken, 'PUT', '/api/v1/nodes/nope', { name: 'x' })).statusCode, 404, 'unknown id')
})

t.test('DELETE /nodes/{id} answers 204, then the node is gone and its key is free', async (t) => {
  const node = await newNode(org.adminToken, { access_key: 'reusable' })
  const del = await call(app, org.adminToken, 'DELETE', `/api/v1/nodes/${node.id}`)
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/nodes/${node.id}`)).statusCode, 404)
  t.equal((await call(app, org.adminToken, 'DELETE', `/api/v1/nodes/${node.id}`)).statusCode, 404, 'twice is a 404')
  t.equal((await call(app, org.adminToken, 'POST', '/api/v1/nodes', nodeBody({ access_key: 'reusable' }))).statusCode, 201)
})

t.test('GET /nodes pages, filters with q and answers X-Total-Count', async (t) => {
  for (let i = 0; i < 5; i++) await newNode(org.adminToken, { name: `Pager Node ${i}` })
  const all = await call(app, org.adminToken, 'GET', '/api/v1/nodes?q=PAGER%20node')
  t.equal(all.statusCode, 200)
  t.equal(all.headers['x-total-count'], '5')
  t.same(all.json().map((x: { name: string }) => x.name), [0, 1, 2, 3, 4].map((i) => `Pager Node ${i}`), 'in creation order')
  const page2 = await call(app, org.adminToken, 'GET', '/api/v1/nodes?q=pager&per_page=2&page=2')
  t.equal(page2.headers['x-total-count'], '5')
  t.same(page2.json(), all.json().slice(2, 4))
  const past = await call(app, org.adminToken, 'GET', '/api/v1/nodes?q=pager&per_page=2&page=9')
  t.same(past.json(), [], 'a page past the end is empty')
  t.equal(past.headers['x-total-count'], '5')
  const ascli = await call(app, org.adminToken, 'GET', '/api/v1/nodes?per_page=1000&page=1')
  t.equal(ascli.statusCode, 200)
  t.ok(Number(ascli.headers['x-total-count']) >= 5)
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/nodes?q=_')).headers['x-total-count'], '0', 'q takes _ literally')
})

t.test('another organization\'s nodes are a 404 and never listed', async (t) => {
  const node = await newNode(other.adminToken, { name: 'Foreign Node', access_key: 'foreign-key' })
  for (const [method, body] of [['GET', undefined], ['PUT', { name: 'Hijacked' }], ['DELETE', undefined]] as const) {
    const res = await call(app, org.adminToken, method, `/api/v1/nodes/${node.id}`, body)
    t.equal(res.statusCode, 404, method)
    t.equal(res.json().code, 'not_found')
  }
  t.equal((await call(app, org.adminToken, 'GET', '/api/v1/nodes?q=foreign')).headers['x-total-count'], '0')
  t.match((await call(app, other.adminToken, 'GET', `/api/v1/nodes/${node.id}`)).json(), { name: 'Foreign Node' }, 'unchanged and still there')
})

t.test('a non-admin gets 403 and no token gets 401 on every route', async (t) => {
  const node = await newNode(org.adminToken, { name: 'Guarded' })
  const { token } = await org.newUser()
  const adminWithUserScope = await org.tokenFor(org.admin, 'user:all')
  await checkAdminOnly(t, app, [
    ['GET', '/api/v1/nodes'],
    ['POST', '/api/v1/nodes', nodeBody()],
    ['GET', `/api/v1/nodes/${node.id}`],
    ['PUT', `/api/v1/nodes/${node.id}`, { name: 'Mine' }],
    ['DELETE', `/api/v1/nodes/${node.id}`]
  ], { user: token, adminWithUserScope })
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/nodes/${node.id}`)).json().name, 'Guarded', 'nothing changed')
})
