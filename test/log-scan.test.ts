// The log scan itself (scripts/log-scan.ts, test/helpers/log-scan.ts): a planted leak is found and
// reported without the value, a clean log passes, short values are left out, an empty capture fails.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { MIN_VALUE_LENGTH, needlesOf, Needles, parseValues, scanCaptureDir } from './helpers/log-scan.js'
import { ROOT, run } from './helpers/process.js'

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NQ'
const PASSWORD = 'a "quoted" pass phrase'
const SECRET = 'cs_' + 'q'.repeat(30)

/** A capture directory with the given values files and log files (name → lines). */
function captureDir (t: Test, values: Record<string, Array<[string, string]>>, logs: Record<string, string[]>): string {
  const dir = t.testdir()
  for (const [name, recs] of Object.entries(values)) fs.writeFileSync(path.join(dir, name + '.values'), recs.map(([kind, value]) => JSON.stringify({ kind, value }) + '\n').join(''))
  for (const [name, lines] of Object.entries(logs)) fs.writeFileSync(path.join(dir, name + '.log'), lines.join('\n') + '\n')
  return dir
}

const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, time: 1, reqId: 'r-1', ...fields })

t.test('a planted leak is found in any log file, by kind, a short prefix, file, line and field', async (t) => {
  const dir = captureDir(t, { p1: [['access_token', TOKEN], ['password', PASSWORD]], p2: [['client_secret', SECRET]] }, {
    p1: [line({ msg: 'incoming request' }), line({ msg: 'request completed' })],
    // The value of one process leaks in the log of another; the password JSON-escaped, as pino writes it.
    p2: [line({ msg: 'incoming request' }), line({ msg: 'oops', body: { note: PASSWORD } }), line({ msg: 'x', header: `Bearer ${TOKEN}` })]
  })
  const r = await scanCaptureDir(dir)
  t.match(r, { logFiles: 2, valueFiles: 2, lines: 5, values: 3 })
  t.same(r.hits.map((h) => [h.kind, h.prefix, path.basename(h.file), h.line, h.field]), [
    ['password', 'a "quo', 'p2.log', 2, 'note'],
    ['access_token', 'eyJhbG', 'p2.log', 3, 'header']
  ])
  for (const h of r.hits) t.ok(h.prefix.length <= 6, 'a prefix of at most 6 characters')
})

t.test('a clean log passes', async (t) => {
  const dir = captureDir(t, { p1: [['access_token', TOKEN], ['client_secret', SECRET]] }, {
    p1: [line({ msg: 'incoming request', url: '/api/v1/oauth2/acme/token?code=[redacted]' }), line({ authorization: '[redacted]', client_secret: '[redacted]' })]
  })
  const r = await scanCaptureDir(dir)
  t.match(r, { lines: 2, values: 2, hits: [] })
})

t.test('values shorter than MIN_VALUE_LENGTH are left out, so they cannot match by chance', async (t) => {
  const short = 'x'.repeat(MIN_VALUE_LENGTH - 1)
  const long = 'y'.repeat(MIN_VALUE_LENGTH)
  const dir = captureDir(t, { p1: [['password', short], ['password', long]] }, { p1: [line({ a: short }), line({ b: long })] })
  const r = await scanCaptureDir(dir)
  t.equal(r.values, 1, 'only the long value is searched')
  t.same(r.hits.map((h) => h.line), [2])
  t.same(parseValues(['{"kind":"code","value":"short"}\n', 'not json\n', '{"kind":"code","value":"' + long + '"}\n', '{"kind":"token","value":"' + long + '"}\n']),
    new Map([[long, 'code']]), 'short values, broken lines and repeats are dropped; the first kind stays')
})

t.test('a value is searched as written, JSON-escaped, URL-encoded, and a JWT by its signature alone', async (t) => {
  t.same(needlesOf(PASSWORD).sort(), [PASSWORD, 'a \\"quoted\\" pass phrase', 'a%20%22quoted%22%20pass%20phrase', 'a+%22quoted%22+pass+phrase'].sort())
  t.ok(needlesOf(TOKEN).includes('c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NQ'), 'the signature')
  const needles = new Needles(new Map([[TOKEN, 'access_token'], [PASSWORD, 'password']]))
  t.same(needles.find(`url=/cb?p=${encodeURIComponent(PASSWORD)}`).map((f) => f.kind), ['password'])
  t.same(needles.find(`{"token":"${TOKEN.slice(0, 40)}…","sig":"${TOKEN.split('.')[2]!}"}`).map((f) => f.kind), ['access_token'], 'a token cut short still shows its signature')
  t.same(needles.find('short'), [])
})

t.test('the rolling search finds exactly what indexOf finds', async (t) => {
  const values = Array.from({ length: 300 }, (_, i) => randomBytes(12 + (i % 40)).toString('base64url')).filter((v) => v.length >= MIN_VALUE_LENGTH)
  const needles = new Needles(new Map(values.map((v) => [v, 'token'])))
  const wrong: string[] = []
  let found = 0
  for (let i = 0; i < 500; i++) {
    const planted = values.filter(() => Math.random() < 0.01)
    const text = [randomBytes(50).toString('base64'), ...planted.flatMap((v) => [v, randomBytes(7).toString('hex')])].join(' ')
    const expected = values.filter((v) => text.includes(v)).sort().join()
    const got = needles.find(text).map((f) => f.value).sort().join()
    found += got ? got.split(',').length : 0
    if (got !== expected) wrong.push(`line ${i}`)
  }
  t.same(wrong, [], 'no line differs')
  t.ok(found > 100, `and there were values to find (${found})`)
})

t.test('the capture helpers record a private key so that a logged PEM of it is found', async (t) => {
  const dir = t.testdir()
  // Its own directory, even within a captured run (a planted leak must not fail the run's scan);
  // imported after the variable is set, as the capture reads it once, when loaded.
  const outer = process.env.TEST_LOG_CAPTURE_DIR
  process.env.TEST_LOG_CAPTURE_DIR = dir
  const capture = await import('./helpers/log-capture.js')
  if (outer === undefined) delete process.env.TEST_LOG_CAPTURE_DIR
  else process.env.TEST_LOG_CAPTURE_DIR = outer
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  capture.recordPrivateKey(privateKey)
  capture.recordValue('password', 'too short')
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  capture.captureText(line({ msg: 'pasted', key: pkcs8 }))
  capture.captureText(line({ msg: 'clean' }))
  const r = await scanCaptureDir(dir)
  t.equal(r.lines, 2)
  t.ok(r.values >= 3, 'PEM lines and the JWK d')
  t.ok(r.hits.length > 0 && r.hits.every((h) => h.kind === 'private_key' && h.line === 1), 'found in the line that holds it')
})

t.test('the command prints counts and hits without values, and fails on a leak or on an empty capture', async (t) => {
  const cmd = async (dir: string, ...args: string[]) => await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'log-scan.ts'), dir, ...args], {})
  const leaky = captureDir(t, { p1: [['client_secret', SECRET]] }, { p1: [line({ msg: 'a' }), line({ leaked: SECRET })] })
  const leak = await cmd(leaky)
  t.equal(leak.code, 1, 'a leak fails')
  t.match(leak.stdout, /2 log lines .* 1 recorded values/)
  t.match(leak.stdout, /client_secret "cs_qqq…" in .*p1\.log:2 \(field "leaked"\)/)
  t.notMatch(leak.stdout, SECRET, 'the value is not printed')

  const clean = await cmd(captureDir(t, { p1: [['client_secret', SECRET]] }, { p1: [line({ msg: 'a' })] }))
  t.equal(clean.code, 0, 'a clean capture passes')
  const empty = captureDir(t, {}, {})
  t.equal((await cmd(empty)).code, 1, 'an empty capture fails: it checked nothing')
  t.equal((await cmd(empty, '--allow-empty')).code, 2, 'or is skipped when allowed')
  t.equal((await cmd(captureDir(t, {}, { p1: [line({ msg: 'a' })] }))).code, 1, 'lines but no value fail too')
})
