// OpenTelemetry traces (issue 12, item 3), against the real server started as `npm start` starts it,
// with OpenTelemetry's own variables pointing its exporter at a receiver in this test: a token
// request is one trace, its database statements nested under it (PostgreSQL; PGlite is not the pg
// driver, so there are none there), its log lines carry the trace id, and no span holds a credential.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { decodeJwt } from 'jose'
import t from 'tap'
import { TEST_SECRET_KEY } from './helpers/app.js'
import { ascliAssertion, ascliForm } from './helpers/assertions.js'
import { checkedFetch } from './helpers/checked-fetch.js'
import { dbKind, seedEmbeddedDataDir, serverDatabaseUrl } from './helpers/db.js'
import { freePort, run, start, waitReady } from './helpers/process.js'

interface Received { path: string, contentType: string, body: Buffer }

/** A stand-in for an OpenTelemetry collector: keeps every POST, answers 200 with an empty OTLP response. */
async function receiver (t: Tap): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) })
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end(req.headers['content-type'] === 'application/json' ? '{}' : '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

type Tap = Pick<typeof t, 'teardown'>

/** `node --import tsx src/server.ts`; `stop()` sends SIGTERM and waits for the exit code. */
function startServer (t: Tap, env: Record<string, string>) {
  const server = start(process.execPath, ['--import', 'tsx', 'src/server.ts'], { LOG_LEVEL: 'info', ...env })
  t.teardown(() => { server.child.kill('SIGKILL') })
  return {
    stop: async () => { server.child.kill('SIGTERM'); return (await server.done).code },
    /** The JSON log lines written so far. */
    lines: () => server.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}

interface AnyValue { stringValue?: string, intValue?: number | string, boolValue?: boolean }
interface OtlpSpan { traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, attributes: Array<{ key: string, value: AnyValue }> }
interface OtlpExport { resourceSpans: Array<{ resource: { attributes: Array<{ key: string, value: AnyValue }> }, scopeSpans: Array<{ scope: { name: string }, spans: OtlpSpan[] }> }> }

const attr = (span: OtlpSpan, key: string): unknown => {
  const v = span.attributes.find((a) => a.key === key)?.value
  return v === undefined ? undefined : v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue)
}
const SPAN_KIND_SERVER = 2

t.test('a token request is one trace, with its statements under it and its id in its log lines', async (t) => {
  t.setTimeout(180_000)
  const collector = await receiver(t)
  const dataDir = t.testdir()
  const port = await freePort()
  const database = await serverDatabaseUrl()
  const onServer: Record<string, string> = database ? { DATABASE_URL: database.url, SECRET_ENCRYPTION_KEY: TEST_SECRET_KEY, BOOTSTRAP: 'true' } : {}
  // On PGlite, a migrated database to start on (the first start is server.test.ts's subject).
  if (!database) await seedEmbeddedDataDir(dataDir)
  const server = startServer(t, {
    PORT: String(port),
    DATA_DIR: dataDir,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'aoc-trace-test',
    ...onServer
  })
  await waitReady(port)

  const boot = JSON.parse(await fs.readFile(path.join(dataDir, 'bootstrap.json'), 'utf8')) as Record<string, string>
  const adminKey = createPrivateKey(await fs.readFile(path.resolve(dataDir, boot.admin_private_key_file!), 'utf8'))
  const assertion = await ascliAssertion(adminKey, boot.client_id!, boot.admin_email!, boot.org)
  const basic = 'Basic ' + Buffer.from(`${boot.client_id}:${boot.client_secret}`).toString('base64')
  const tokenUrl = `http://127.0.0.1:${port}/api/v1/oauth2/${boot.org}/token`
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  // With the secret in the Authorization header as well, so a span that copied the headers would show it.
  const ok = await checkedFetch(tokenUrl, { method: 'POST', headers: { ...form, authorization: basic, 'x-request-id': 'trace-ok' }, body: ascliForm(boot.client_id!, assertion) })
  t.equal(ok.status, 200, 'the token request succeeds')
  const accessToken = ((await ok.json()) as { access_token: string }).access_token
  // The secret in the URL: refused (docs/security.md), and the span's url.path must not keep the query.
  const forged = await ascliAssertion(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, boot.client_id!, boot.admin_email!, boot.org)
  const refused = await checkedFetch(`${tokenUrl}?client_secret=${boot.client_secret}`, { method: 'POST', headers: { ...form, 'x-request-id': 'trace-refused' }, body: ascliForm(boot.client_id!, forged) })
  t.equal(refused.status, 400, 'a secret in the URL is refused')
  // The revocation handler logs a line of its own.
  const revoked = await checkedFetch(`http://127.0.0.1:${port}/api/v1/oauth2/${boot.org}/revoke`, { method: 'POST', headers: { ...form, authorization: basic, 'x-request-id': 'trace-revoke' }, body: `token=${accessToken}` })
  t.equal(revoked.status, 200, 'the token is revoked')

  // The graceful close exports what the batch processor still holds.
  t.equal(await server.stop(), 0, 'the server closes cleanly on SIGTERM')
  await database?.drop()

  const exports = collector.received
  t.ok(exports.length > 0, 'spans were exported')
  t.ok(exports.every((e) => e.path === '/v1/traces' && e.contentType === 'application/json'), 'as OTLP/HTTP JSON to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces')
  const bodies = exports.map((e) => JSON.parse(e.body.toString('utf8')) as OtlpExport)
  const serviceNames = new Set(bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.resource.attributes.filter((a) => a.key === 'service.name').map((a) => a.value.stringValue))))
  t.same([...serviceNames], ['aoc-trace-test'], 'service.name from OTEL_SERVICE_NAME')
  const spans = bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, scope: s.scope.name })))))
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  t.notOk(spans.some((s) => String(attr(s, 'url.path') ?? '').startsWith('/health/')), 'readiness probes are not traced')

  const requestSpan = (endpoint: string, status: number) => spans.find((s) => s.kind === SPAN_KIND_SERVER && attr(s, 'http.route') === `/api/v1/oauth2/:org/${endpoint}` && attr(s, 'http.response.status_code') === status)
  const okSpan = requestSpan('token', 200)
  const refusedSpan = requestSpan('token', 400)
  const revokeSpan = requestSpan('revoke', 200)
  if (!okSpan || !refusedSpan || !revokeSpan) {
    t.fail(`no server span for each token request; spans: ${spans.map((s) => s.name).join(', ')}`)
    return
  }
  t.equal(okSpan.name, 'POST /api/v1/oauth2/:org/token', 'named by method and route pattern')
  t.notOk(okSpan.parentSpanId, 'the request span is the root of its trace')
  t.equal(attr(refusedSpan, 'url.path'), `/api/v1/oauth2/${boot.org}/token`, 'url.path without the query')
  t.not(okSpan.traceId, refusedSpan.traceId, 'each request is its own trace')

  /** Whether `span` descends from `root` through its parentSpanId chain, all in one trace. */
  const under = (span: OtlpSpan, root: OtlpSpan): boolean => {
    for (let s: OtlpSpan | undefined = span; s?.parentSpanId; s = byId.get(s.parentSpanId)) {
      if (s.traceId !== root.traceId) return false
      if (s.parentSpanId === root.spanId) return true
    }
    return false
  }
  const inOk = spans.filter((s) => s.traceId === okSpan.traceId && s !== okSpan)
  t.ok(inOk.some((s) => s.name.startsWith('handler') && s.parentSpanId === okSpan.spanId), 'the handler span is a child of the request span')
  t.ok(inOk.every((s) => under(s, okSpan)), 'every span of that trace descends from the request span')
  const queries = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-pg' && s.name.startsWith('pg.query'))
  if (dbKind === 'postgres') {
    const own = queries.filter((s) => under(s, okSpan))
    t.ok(own.length >= 1, `the token request's statements are its descendants (${own.map((s) => s.name).join(', ')})`)
    t.ok(own.some((s) => /insert into "assertion_jtis"/.test(String(attr(s, 'db.query.text') ?? attr(s, 'db.statement')))), 'the jti insert among them')
    t.ok(queries.every((s) => [okSpan, refusedSpan, revokeSpan].some((r) => under(s, r))), 'no statement outside a request is traced')
  } else {
    t.equal(queries.length, 0, 'PGlite is not the pg driver: no statement spans on the embedded database')
  }

  // The log lines of each request, by the request id it sent.
  const lines = server.lines()
  t.match(lines.find((l) => l.msg === 'exporting traces'), { component: 'opentelemetry', url: `${collector.url}/v1/traces`, protocol: 'http/json' }, 'the start names where spans go')
  for (const [reqId, span] of [['trace-ok', okSpan], ['trace-refused', refusedSpan], ['trace-revoke', revokeSpan]] as const) {
    const own = lines.filter((l) => l.reqId === reqId)
    const completed = own.find((l) => l.msg === 'request completed')
    t.equal(completed?.trace_id, span.traceId, `${reqId}: "request completed" carries the span's trace id`)
    t.ok(own.length >= (reqId === 'trace-ok' ? 1 : 2) && own.every((l) => l.trace_id === span.traceId && typeof l.span_id === 'string'),
      `${reqId}: every line of the request carries it (${own.map((l) => String(l.msg)).join('; ')})`)
  }
  t.equal(lines.find((l) => l.reqId === 'trace-refused' && l.msg === 'oauth request refused')?.trace_id, refusedSpan.traceId, 'the error handler\'s line')
  t.equal(lines.find((l) => l.reqId === 'trace-revoke' && l.msg === 'revocation request')?.trace_id, revokeSpan.traceId, 'a route handler\'s own line')

  // No credential in any exported byte: the assertions, the token, the secret (header and query), the
  // admin's password, and the jti, which only a statement's parameters would hold.
  const exported = exports.map((e) => e.body.toString('utf8')).join('\n')
  const secrets: Record<string, string> = {
    assertion,
    'assertion signature': assertion.split('.')[2]!,
    'refused assertion': forged,
    'access token': accessToken,
    'access token signature': accessToken.split('.')[2]!,
    'client secret': boot.client_secret!,
    'Basic credentials': basic.slice(6),
    'admin password': boot.admin_password!,
    jti: String(decodeJwt(assertion).jti)
  }
  for (const [what, value] of Object.entries(secrets)) t.notOk(exported.includes(value), `no span holds the ${what}`)
  t.notOk(spans.some((s) => s.attributes.some((a) => a.key.startsWith('http.request.header.'))), 'no request header is recorded')
})

t.test('the default protocol is OTLP/HTTP protobuf', { skip: dbKind === 'postgres' ? 'runs in the embedded-database pass' : false }, async (t) => {
  t.setTimeout(120_000)
  const collector = await receiver(t)
  const port = await freePort()
  const dataDir = t.testdir()
  await seedEmbeddedDataDir(dataDir)
  const server = startServer(t, { PORT: String(port), DATA_DIR: dataDir, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/path` })
  await waitReady(port)
  const res = await checkedFetch(`http://127.0.0.1:${port}/.well-known/jwks.json`, { headers: { 'x-request-id': 'trace-jwks' } })
  t.equal(res.status, 200)
  t.equal(await server.stop(), 0)
  const traceId = server.lines().find((l) => l.reqId === 'trace-jwks' && l.msg === 'request completed')?.trace_id
  t.type(traceId, 'string', 'the request was traced')
  t.ok(collector.received.length > 0 && collector.received.every((e) => e.path === '/custom/path' && e.contentType === 'application/x-protobuf'),
    'protobuf, to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is')
  t.ok(collector.received.some((e) => e.body.includes(Buffer.from(String(traceId), 'hex'))), 'the request\'s trace id is in an exported message (as its 16 bytes)')
})

t.test('without an endpoint the OpenTelemetry SDK is not loaded', { skip: dbKind === 'postgres' ? 'runs in the embedded-database pass' : false }, async (t) => {
  // What the server imports when tracing is off is app.js and what it imports; src/tracing.ts is the
  // probe's proof that it would see the packages (CommonJS, so they land in require.cache).
  // @opentelemetry/api is left out: prom-client (the metrics) loads it for its exemplars whatever
  // this server does; it is the API with nothing behind it, whose calls do nothing until an SDK registers.
  const probe = `
    import { createRequire } from 'node:module'
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules\\/(@opentelemetry\\/(?!api\\/)|@fastify\\/otel\\/)/.test(f)).length
    await import('./src/app.ts')
    const off = loaded()
    await import('./src/tracing.ts')
    console.log(JSON.stringify({ off, on: loaded() }))`
  const result = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {})
  t.equal(result.code, 0, result.stderr)
  const counts = JSON.parse(result.stdout) as { off: number, on: number }
  t.equal(counts.off, 0, 'app.js and its imports load none')
  t.ok(counts.on > 0, `src/tracing.ts loads them (${counts.on} files)`)
})
