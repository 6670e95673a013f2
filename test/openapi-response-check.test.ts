// The check that every response of the suite's apps matches openapi.yaml (test/helpers/openapi-check.ts,
// openapi-hook.ts): it passes a conforming response, and finds a wrong body, an undocumented status,
// a missing or malformed declared header, a media type or an operation the document lacks; the
// hook makes `inject` throw in strict mode and writes a line in report mode.
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import t, { type Test as Tap } from 'tap'
import { checkedFetch, notTheApi } from './helpers/checked-fetch.js'
import { haproxyOwnAnswer, loggedRequests } from './helpers/haproxy.js'
import { documentChecker, matchRoute, pathTemplate, ResponseChecker, routePattern, type CheckResult, type SeenResponse } from './helpers/openapi-check.js'
import { checkMode, ResponseMismatchError, watchResponses } from './helpers/openapi-hook.js'

const Thing = {
  type: 'object',
  required: ['id', 'name'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, name: { type: 'string' }, created_at: { type: 'string', format: 'date-time' } }
}
const json = (schema: unknown) => ({ 'application/json': { schema } })
const Problem = { type: 'object', required: ['code'], properties: { code: { type: 'string' } } }

/** A small OpenAPI 3.1 document: a list with X-Total-Count, an item, a delete, a 503 with Retry-After and a default. */
const doc = {
  openapi: '3.1.0',
  info: { title: 'things', version: '1' },
  components: { schemas: { Thing, Problem } },
  paths: {
    '/things': {
      get: {
        responses: {
          200: {
            description: 'the things',
            headers: { 'X-Total-Count': { schema: { type: 'integer' }, description: 'all of them', required: true }, 'X-Hint': { schema: { type: 'string' }, required: false } },
            content: json({ type: 'array', items: { $ref: '#/components/schemas/Thing' } })
          }
        }
      }
    },
    '/things/{id}': {
      get: { responses: { 200: { description: 'a thing', content: json({ $ref: '#/components/schemas/Thing' }) }, 404: { description: 'none', content: json({ $ref: '#/components/schemas/Problem' }) } } },
      delete: { responses: { 204: { description: 'deleted' } } }
    },
    '/busy': {
      get: {
        responses: {
          503: { description: 'later', headers: { 'Retry-After': { schema: { type: 'integer' }, required: true } }, content: json({ $ref: '#/components/schemas/Problem' }) },
          default: { description: 'anything else', content: json({ $ref: '#/components/schemas/Problem' }) }
        }
      }
    }
  }
}

const checker = new ResponseChecker(doc)
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }
const seen = (r: Partial<SeenResponse>): SeenResponse => ({ method: 'GET', route: '/things', path: '/things', status: 200, headers: {}, body: undefined, ...r })
const kinds = (r: CheckResult): string[] => r.exempt !== undefined ? ['exempt'] : r.mismatches.map((m) => m.kind)
const details = (r: CheckResult): string => r.exempt !== undefined ? r.exempt : r.mismatches.map((m) => m.detail).join(' | ')

const goodList = seen({ headers: { ...JSON_TYPE, 'x-total-count': '1' }, body: JSON.stringify([{ id: 'a', name: 'A', created_at: '2026-01-02T03:04:05.000Z' }]) })

t.test('a response as documented passes', async (t) => {
  t.same(checker.check(goodList), { mismatches: [] })
  t.same(checker.check(seen({ route: '/things/:id', path: '/things/a', headers: JSON_TYPE, body: '{"id":"a","name":"A"}' })), { mismatches: [] }, 'a $ref to a component')
  t.same(checker.check(seen({ method: 'DELETE', route: '/things/:id', path: '/things/a', status: 204 })), { mismatches: [] }, 'a 204 without a body')
  t.same(checker.check(seen({ route: '/busy', status: 500, headers: JSON_TYPE, body: '{"code":"internal_error"}' })), { mismatches: [] }, '`default` covers any status')
  t.same(checker.check({ ...goodList, method: 'HEAD', body: '' }), { mismatches: [] }, 'HEAD is the GET operation, without a body')
})

t.test('a body off its schema is found, named by place and rule', async (t) => {
  const wrong = checker.check({ ...goodList, body: JSON.stringify([{ id: 'a', name: 7, created_at: 'yesterday', extra: true }]) })
  t.same(kinds(wrong), ['body'])
  t.match(details(wrong), '/0/name must be string')
  t.match(details(wrong), '/0/created_at must match format "date-time"')
  t.match(details(wrong), 'must NOT have additional properties (extra)')
  t.notMatch(details(wrong), 'yesterday', 'never the value itself')
  t.same(kinds(checker.check({ ...goodList, body: '{"not":"a list"}' })), ['body'])
  t.same(kinds(checker.check({ ...goodList, body: '' })), ['body'], 'no body where the document gives one')
  t.same(kinds(checker.check({ ...goodList, body: '[{' })), ['body'], 'JSON that does not parse')
  t.same(kinds(checker.check(seen({ method: 'DELETE', route: '/things/:id', status: 204, headers: JSON_TYPE, body: '{}' }))), ['body'], 'a body where the document gives none')
})

t.test('a status the operation does not document is found', async (t) => {
  const r = checker.check(seen({ route: '/things/:id', path: '/things/a', status: 409, headers: JSON_TYPE, body: '{"code":"conflict"}' }))
  t.same(kinds(r), ['undocumented_status'])
  t.match(details(r), 'documented: 200, 404')
  t.match(r, { mismatches: [{ method: 'GET', operation: '/things/{id}', status: 409 }] })
})

t.test('a declared header that is missing or malformed is found', async (t) => {
  const missing = checker.check({ ...goodList, headers: JSON_TYPE })
  t.same(kinds(missing), ['header'])
  t.match(details(missing), 'X-Total-Count is declared but was not sent')
  t.same(kinds(checker.check({ ...goodList, headers: { ...JSON_TYPE, 'x-total-count': 'many' } })), ['header'], 'not an integer')
  t.same(kinds(checker.check(goodList)), [], 'a header the document says is sent only sometimes (required: false) may be absent')
  const busy = seen({ route: '/busy', status: 503, headers: JSON_TYPE, body: '{"code":"unavailable"}' })
  t.same(kinds(checker.check(busy)), ['header'], 'a 503 without Retry-After')
  t.same(kinds(checker.check({ ...busy, headers: { ...JSON_TYPE, 'retry-after': '5' } })), [], 'with it')
})

t.test('a media type or an operation the document lacks is found', async (t) => {
  t.same(kinds(checker.check({ ...goodList, headers: { 'content-type': 'text/plain', 'x-total-count': '1' } })), ['media_type'])
  t.same(kinds(checker.check(seen({ method: 'POST' }))), ['undocumented_operation'])
  t.same(kinds(checker.check(seen({ route: '/elsewhere' }))), ['undocumented_operation'])
})

t.test('the exemptions: no route, the browser pages and redirects, the Swagger UI, CORS preflights', async (t) => {
  t.same(kinds(checker.check(seen({ route: undefined, status: 404, headers: JSON_TYPE, body: '{}' }))), ['exempt'], 'no route matched')
  t.same(kinds(checker.check(seen({ notFound: true, status: 404 }))), ['exempt'], 'the not-found handler')
  t.same(kinds(checker.check(seen({ route: '/api/v1/oauth2/:org/login', status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<html>' }))), ['exempt'])
  t.same(kinds(checker.check(seen({ route: '/api/v1/oauth2/:org/authorize', status: 302, headers: { location: 'https://app.example/cb?code=x' } }))), ['exempt'])
  t.same(kinds(checker.check(seen({ route: '/api/v1/oauth2/:org/login', status: 200, headers: JSON_TYPE, body: '{}' }))), ['undocumented_operation'], 'a browser route answering JSON is checked')
  t.same(kinds(checker.check(seen({ route: '/docs/static/*', headers: { 'content-type': 'text/css' }, body: 'a{}' }))), ['exempt'])
  t.same(kinds(checker.check(seen({ method: 'OPTIONS', route: '*', status: 204 }))), ['exempt'])
  t.same(kinds(checker.check(seen({ route: '/test/thing', testRoute: true }))), ['exempt'], 'a route the test added')
})

t.test('route patterns become path templates', async (t) => {
  t.equal(pathTemplate('/api/v1/users/:id'), '/api/v1/users/{id}')
  t.equal(pathTemplate('/analytics/v2/organizations/:organization_id/application_events'), '/analytics/v2/organizations/{organization_id}/application_events')
  t.equal(pathTemplate('/api/v1/users/'), '/api/v1/users')
  t.equal(pathTemplate('/'), '/')
})

t.test('ajv compiles every response and header schema of the committed openapi.yaml', async (t) => {
  t.ok(documentChecker().compileAll() > 50)
})

t.test('OPENAPI_RESPONSE_CHECK takes strict, report or off', async (t) => {
  t.equal(checkMode('strict'), 'strict')
  t.equal(checkMode('off'), 'off')
  t.ok(['strict', 'report'].includes(checkMode(undefined)))
  t.throws(() => checkMode('loud'), /strict, report or off/)
})

/** A plain fastify app (no product code) whose routes answer what the test says, checked against `doc`. */
async function thingsApp (t: Tap, mode: 'strict' | 'report', more: { reportFile?: string, fail?: (message: string) => void } = {}) {
  const app = Fastify()
  app.get('/things', async (_request, reply) => reply.header('X-Total-Count', 1).send([{ id: 'a', name: 'A' }]))
  app.get('/things/:id', async (request, reply) => {
    const { id } = request.params as { id: string }
    if (id === 'wrong') return { id: 'wrong', name: 42 }
    if (id === 'taken') return await reply.status(409).send({ code: 'conflict' })
    return { id, name: 'A thing' }
  })
  watchResponses(app, { mode, checker, ...more })
  t.teardown(async () => { await app.close() })
  return app
}

t.test('strict mode: inject throws the mismatch, naming method, path, status and the finding', async (t) => {
  const app = await thingsApp(t, 'strict')
  app.get('/added-by-the-test', async () => 'anything')
  t.equal((await app.inject({ method: 'GET', url: '/added-by-the-test' })).body, 'anything', 'a route added after the hook is the test\'s own: exempt')
  t.equal((await app.inject({ method: 'GET', url: '/things' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/things/a' })).statusCode, 200)
  await t.rejects(app.inject({ method: 'GET', url: '/things/wrong' }), { name: 'ResponseMismatchError', message: /^GET \/things\/wrong \(\/things\/\{id\}\) answered 200, off openapi\.yaml: body: \/name must be string/ })
  const err = await app.inject({ method: 'GET', url: '/things/taken' }).catch((e: unknown) => e)
  t.ok(err instanceof ResponseMismatchError)
  t.match((err as ResponseMismatchError).mismatches, [{ kind: 'undocumented_status', status: 409 }])
})

t.test('report mode: the mismatch is written down and the response goes through', async (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-check-')), 'mismatches.jsonl')
  t.teardown(() => { fs.rmSync(path.dirname(file), { recursive: true, force: true }) })
  const app = await thingsApp(t, 'report', { reportFile: file })
  t.equal((await app.inject({ method: 'GET', url: '/things/wrong' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/things/a' })).statusCode, 200)
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.match(lines, [{ file: /openapi-response-check\.test\.ts$/, method: 'GET', operation: '/things/{id}', status: 200, kind: 'body' }])
})

t.test('strict mode over HTTP: the mismatch is a failure of the file, naming the request', async (t) => {
  const failures: string[] = []
  const app = await thingsApp(t, 'strict', { fail: (message) => { failures.push(message) } })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  t.equal((await fetch(`${base}/things/a`)).status, 200)
  t.same(failures, [])
  t.equal((await fetch(`${base}/things/taken`)).status, 409, 'the response itself goes through')
  t.match(failures, [/^GET \/things\/taken \(\/things\/\{id\}\) answered 409, off openapi\.yaml: undocumented_status: documented: 200, 404$/])
})

t.test('a path seen on the wire finds its operation as the router would', async (t) => {
  const paths = { '/things': { get: {} }, '/things/{id}': { get: {}, delete: {} }, '/things/mine': { post: {} }, '/': { get: {} } }
  t.equal(matchRoute(paths, 'GET', '/things/a'), '/things/:id')
  t.equal(matchRoute(paths, 'POST', '/things/mine'), '/things/mine', 'a literal segment before a parameter')
  t.equal(matchRoute(paths, 'GET', '/things/mine'), '/things/:id', 'but only among the templates that have the method')
  t.equal(matchRoute(paths, 'HEAD', '/things/'), '/things', 'HEAD by the GET; a trailing slash ignored')
  t.equal(matchRoute(paths, 'GET', '/'), '/')
  t.equal(matchRoute(paths, 'GET', '/things//'), '/things')
  t.equal(matchRoute(paths, 'GET', '/elsewhere'), undefined)
  t.equal(matchRoute(paths, 'GET', '/things/a/b'), undefined, 'a parameter takes one segment')
  t.equal(routePattern('/api/v1/oauth2/{org}/token'), '/api/v1/oauth2/:org/token')
  t.equal(documentChecker().routeOf('POST', '/api/v1/oauth2/acme/token'), '/api/v1/oauth2/:org/token', 'on the committed document')
})

/** A plain Node server (a stand-in for a child process) answering `answers[path]`: status, headers, body. */
async function wireServer (t: Tap, answers: Record<string, [number, Record<string, string>, string]>): Promise<string> {
  const server = http.createServer((req, res) => {
    const [status, headers, body] = answers[(req.url ?? '').split('?')[0]!] ?? [404, JSON_TYPE, '{"code":"not_found"}']
    res.writeHead(status, headers).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

// HAProxy 2.6's built-in 503, byte for byte as it sends it.
const HAPROXY_503: [number, Record<string, string>, string] = [503, { 'cache-control': 'no-cache', 'content-type': 'text/html' },
  '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n']

t.test('checkedFetch: a response from another process is checked as the hook checks an app\'s', async (t) => {
  const base = await wireServer(t, {
    '/things': [200, { ...JSON_TYPE, 'x-total-count': '1' }, '[{"id":"a","name":"A"}]'],
    '/things/a': [200, JSON_TYPE, '{"id":"a","name":"A"}'],
    '/things/wrong': [200, JSON_TYPE, '{"id":"wrong","name":42}'],
    '/things/proxied': HAPROXY_503,
    '/busy': [503, JSON_TYPE, '{"code":"unavailable"}']
  })
  const strict = { mode: 'strict' as const, checker }
  const list = await checkedFetch(`${base}/things?page=1`, {}, strict)
  t.same(await list.json(), [{ id: 'a', name: 'A' }], 'the caller reads the body as usual')
  t.equal((await checkedFetch(`${base}/things/a`, {}, strict)).status, 200)
  await t.rejects(checkedFetch(`${base}/things/wrong`, {}, strict), { name: 'ResponseMismatchError', message: /^GET \/things\/wrong \(\/things\/\{id\}\) answered 200, off openapi\.yaml: body: \/name must be string/ })
  await t.rejects(checkedFetch(`${base}/busy`, {}, strict), { message: /header: Retry-After is declared but was not sent/ })
  await t.rejects(checkedFetch(`${base}/nowhere`, {}, strict), { message: /undocumented_operation: the document has no GET \/nowhere/ },
    'a path the document lacks is a mismatch: on the wire "no route matched" cannot be told from a route that answered 404')
  await t.rejects(checkedFetch(`${base}/things/proxied`, {}, strict), { message: /answered 503, off openapi\.yaml: undocumented_status/ }, 'a proxy\'s page is a mismatch unless told apart')
  const proxied = await checkedFetch(`${base}/things/proxied`, {}, { ...strict, notTheApi: haproxyOwnAnswer })
  t.equal(notTheApi(proxied), 'HAProxy\'s own 503 page: no instance answered this request', 'told apart, with the reason kept for the test')
  t.equal(notTheApi(list), undefined)
  const file = path.join(t.testdir(), 'mismatches.jsonl')
  t.equal((await checkedFetch(`${base}/things/wrong`, {}, { mode: 'report', checker, reportFile: file })).status, 200, 'report mode lets it through')
  t.match(JSON.parse(fs.readFileSync(file, 'utf8')), { method: 'GET', operation: '/things/{id}', kind: 'body' }, 'and writes it down')
  t.equal((await checkedFetch(`${base}/things/wrong`, {}, { mode: 'off', checker })).status, 200, 'off checks nothing')
})

t.test('HAProxy\'s own answers are told by their page and held to its log', async (t) => {
  const [status, headers, body] = HAPROXY_503
  const page = (r: Partial<SeenResponse>) => seen({ method: 'POST', route: '/api/v1/oauth2/:org/token', status, headers, body, ...r })
  t.ok(haproxyOwnAnswer(page({})))
  t.equal(haproxyOwnAnswer(page({ status: 502 })), undefined, 'the heading must name the status sent')
  t.equal(haproxyOwnAnswer(page({ headers: JSON_TYPE })), undefined, 'HTML, as HAProxy sends it')
  t.equal(haproxyOwnAnswer(page({ headers: { 'content-type': 'text/html' } })), undefined, 'with its cache-control')
  t.equal(haproxyOwnAnswer(page({ headers: JSON_TYPE, body: '{"error":"temporarily_unavailable"}' })), undefined, 'an instance\'s 503 is the API\'s')
  const log = [
    '127.0.0.1:36142 [02/Dec/2026:13:43:51.649] public auth/auth2 0/0/-1/-1/3015 503 217 - - SC-- 1/1/0/0/3 0/0 "POST /api/v1/oauth2/demo/token?load=7 HTTP/1.1"',
    '127.0.0.1:36144 [02/Dec/2026:13:43:51.650] public auth/auth1 0/0/0/4/4 200 1234 - - ---- 1/1/0/0/0 0/0 "POST /api/v1/oauth2/demo/token?load=8 HTTP/1.1"'
  ].join('\n')
  t.same(loggedRequests(log, 'public'), [
    { server: 'auth2', status: 503, termination: 'SC--', url: '/api/v1/oauth2/demo/token?load=7' },
    { server: 'auth1', status: 200, termination: '----', url: '/api/v1/oauth2/demo/token?load=8' }
  ])
})
