// Issue 9, finding 6: the REST API takes JSON in UTF-8 only, refuses text it would store altered
// (a lone UTF-16 surrogate), and node access keys that are only dots.
import t from 'tap'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { FORM } from '../helpers/oauth.js'

const ta = await buildTestApp(t)
const { app } = ta
const org = await newOrg(ta)
const auth = { authorization: `Bearer ${org.adminToken}` }

async function post (url: string, contentType: string, payload: string | Buffer) {
  return await app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': contentType }, payload })
}

t.test('a REST body must be application/json in UTF-8: anything else is 415', async (t) => {
  const cases: Array<[string, string | Buffer]> = [
    ['application/x-www-form-urlencoded', 'name=formgroup'],
    ['text/plain', '{"name":"textgroup"}'],
    ['application/json; charset=utf-16', Buffer.from('{"name":"utf16group"}', 'utf16le')],
    ['application/json; charset=utf-16', '{"name":"utf16label"}'],
    ['application/json; charset=iso-8859-1', '{"name":"latin1group"}'],
    ['application/xml', '<group/>']
  ]
  for (const [type, body] of cases) {
    const res = await post('/api/v1/groups', type, body)
    t.equal(res.statusCode, 415, type)
    t.match(res.json(), { code: 'unsupported_media_type', message: /application\/json/, request_id: String }, `${type}: the REST error body`)
  }
  const put = await app.inject({ method: 'PUT', url: `/api/v1/users/${org.admin.id}`, headers: { ...auth, ...FORM }, payload: 'name=x' })
  t.equal(put.statusCode, 415, 'PUT too')
  const groups = await call(app, org.adminToken, 'GET', '/api/v1/groups')
  t.same(groups.json(), [], 'nothing was created')
  for (const [i, type] of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON'].entries()) {
    const res = await post('/api/v1/groups', type, JSON.stringify({ name: `accepted ${i}` }))
    t.equal(res.statusCode, 201, `${type} is taken`)
  }
})

t.test('a lone UTF-16 surrogate in a JSON string is a 422 naming the field, and nothing is stored', async (t) => {
  const res = await post('/api/v1/groups', 'application/json', '{"name":"half \\ud800 a pair"}')
  t.equal(res.statusCode, 422)
  t.match(res.json(), { code: 'invalid_parameter', param: 'name', message: /UTF-16|surrogate/ })
  const low = await post('/api/v1/clients', 'application/json', '{"name":"ok","redirect_uris":["https://a.example/\\udc00"]}')
  t.equal(low.statusCode, 422)
  t.equal(low.json().param, 'redirect_uris.0')
  const pair = await post('/api/v1/groups', 'application/json', '{"name":"a full pair \\ud83d\\ude00"}')
  t.equal(pair.statusCode, 201, 'a proper pair is a character like any other')
  t.equal(pair.json().name, 'a full pair \u{1F600}')
  const listed = await call(app, org.adminToken, 'GET', '/api/v1/groups?q=half')
  t.same(listed.json(), [], 'the refused group was not stored with U+FFFD')
})

t.test('a node access key may not be only dots', async (t) => {
  for (const key of ['.', '..', '...']) {
    const res = await call(app, org.adminToken, 'POST', '/api/v1/nodes', { name: 'n', url: 'https://node.example.com', access_key: key })
    t.equal(res.statusCode, 422, JSON.stringify(key))
    t.equal(res.json().param, 'access_key')
  }
  const ok = await call(app, org.adminToken, 'POST', '/api/v1/nodes', { name: 'n', url: 'https://node.example.com', access_key: 'a.b..c' })
  t.equal(ok.statusCode, 201, 'dots among other characters are fine')
  const put = await call(app, org.adminToken, 'PUT', `/api/v1/nodes/${ok.json().id}`, { access_key: '..' })
  t.equal(put.statusCode, 422, 'nor may an update set one')
})
