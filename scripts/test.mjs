#!/usr/bin/env node
// README's test command. Runs the whole suite on the embedded database (PGlite), then the files that
// open a database again on a PostgreSQL server when one answers at TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres).
// Extra arguments go to tap (e.g. a test file). Then the log scan: both passes log into a capture
// directory and record the credentials they create (test/helpers/log-capture.ts), and
// scripts/log-scan.ts searches every recorded value in every captured line; it counts as one test.
// Ends with one line: "N passed, M failed".
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'

const args = process.argv.slice(2)
const serverUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const only = process.env.TEST_BACKENDS ?? 'pglite,postgres'
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname))
const template = path.join(root, '.tap', 'pglite-template.bin')
const tsx = path.join(root, 'node_modules', '.bin', 'tsx')
const captureDir = path.resolve(process.env.TEST_LOG_CAPTURE_DIR || path.join(root, '.tap', 'log-capture'))

function run (cmd, argv, env) {
  return new Promise((resolve) => {
    let tail = ''
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk)
      tail = (tail + chunk.toString()).slice(-4000)
    })
    child.on('close', (code) => resolve({ code: code ?? 1, tail }))
  })
}

/** tap's closing summary: "# { total: 12, pass: 11, fail: 1, skip: 2 }". */
function counts (tail) {
  const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?(?:, todo: (\d+))?(?:, skip: (\d+))?/.exec(tail)
  if (!m) return undefined
  return { pass: Number(m[2] ?? 0), fail: Number(m[3] ?? 0), skip: Number(m[5] ?? 0) }
}

async function serverAnswers () {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

// Test files that open no database of the pass's (or whose subject does not touch the back end): one
// pass is enough, so the server pass leaves them out when the PGlite pass ran them (a new file runs in
// both passes until it is listed here). db-outage makes a PostgreSQL server of its own; the overload
// guard answers before any query. The typed example client speaks HTTP to the app: what it checks does
// not depend on the back end.
const DATABASE_FREE = [
  'test/db-outage.test.ts',
  'test/plugins/overload.test.ts',
  'test/config.test.ts',
  'test/keys/public-key.test.ts',
  'test/keys/secret-box.test.ts',
  'test/oauth/assertion.test.ts',
  'test/oauth/authorize-request.test.ts',
  'test/oauth/credential-rule.test.ts',
  'test/plugins/token-rate-limit.test.ts',
  'test/oauth/policy.test.ts',
  'test/registry/password-rules.test.ts',
  'test/cache/hot-rows.test.ts',
  'test/db/duty-pool.test.ts',
  'test/log-scan.test.ts',
  'test/examples/typescript-client.test.ts',
  'test/openapi-response-check.test.ts'
]

for (const f of DATABASE_FREE) {
  if (!fs.existsSync(path.join(root, f))) {
    process.stdout.write(`scripts/test.mjs lists ${f} as database-free, but there is no such file\n0 passed, 1 failed\n`)
    process.exit(1)
  }
}

// A fresh capture for this run; only the capture's own files are removed (the directory may be the caller's).
fs.mkdirSync(captureDir, { recursive: true })
for (const f of fs.readdirSync(captureDir)) {
  if (f.endsWith('.log') || f.endsWith('.values')) fs.rmSync(path.join(captureDir, f))
}

// The OpenAPI response check's report mode (test/helpers/openapi-hook.ts) appends here: a fresh file each run.
const mismatchFile = path.join(root, '.tap', 'openapi-mismatches.jsonl')
fs.rmSync(mismatchFile, { force: true })

const tap = path.join(root, 'node_modules', '.bin', 'tap')
const totals = { pass: 0, fail: 0, skip: 0 }
let failedRuns = 0

async function suite (label, env, tapArgs = args) {
  process.stdout.write(`\n=== test run: ${label} ===\n`)
  const { code, tail } = await run(tap, tapArgs, env)
  const c = counts(tail)
  if (!c) {
    failedRuns++
    totals.fail++
    process.stdout.write(`${label}: tap printed no summary (exit ${code})\n`)
    return
  }
  if (code !== 0 && c.fail === 0) { failedRuns++; totals.fail++ }
  totals.pass += c.pass
  totals.fail += c.fail
  totals.skip += c.skip
  process.stdout.write(`${label}: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped\n`)
}

const serverRun = only.includes('postgres') && await serverAnswers()

const pglitePass = only.includes('pglite')
if (pglitePass) {
  const made = await run(tsx, [path.join(root, 'scripts', 'pglite-template.ts'), template], {})
  if (made.code !== 0) {
    process.stdout.write('could not build the PGlite template\n0 passed, 1 failed\n')
    process.exit(1)
  }
  // Slow checks that do not depend on the database kind (CLI error messages) may then leave them to the server pass.
  await suite('embedded PGlite', { PGLITE_TEMPLATE: template, TEST_DATABASE_URL: '', TEST_SERVER_PASS_FOLLOWS: serverRun ? '1' : '', TEST_LOG_CAPTURE_DIR: captureDir })
}
if (only.includes('postgres')) {
  if (serverRun) {
    // Only for the default file set: files named on the command line run in both passes.
    const skipDone = pglitePass && !args.some((a) => !a.startsWith('-'))
    const serverArgs = skipDone ? [...DATABASE_FREE.map((f) => `--exclude=${f}`), ...args] : args
    await suite(`PostgreSQL server (${new URL(serverUrl).host})`, { TEST_DATABASE_URL: serverUrl, PGLITE_TEMPLATE: '', TEST_LOG_CAPTURE_DIR: captureDir }, serverArgs)
  } else {
    process.stdout.write(`\nskipped the PostgreSQL server run: nothing answers at ${new URL(serverUrl).host} (set TEST_PG_URL to point at a server)\n`)
  }
}

// The scan of both passes' logs. An empty capture fails it, except when files were named: a few
// files may build no app at all, and the scan is then reported skipped.
process.stdout.write('\n=== log scan ===\n')
const namedFiles = args.some((a) => !a.startsWith('-'))
const scan = await run(tsx, [path.join(root, 'scripts', 'log-scan.ts'), captureDir, ...(namedFiles ? ['--allow-empty'] : [])], {})
if (scan.code === 0) totals.pass++
else if (scan.code === 2) totals.skip++
else { failedRuns++; totals.fail++ }

if (fs.existsSync(mismatchFile)) {
  const n = fs.readFileSync(mismatchFile, 'utf8').split('\n').filter(Boolean).length
  process.stdout.write(`\nOpenAPI response check (report mode): ${n} responses off openapi.yaml, in ${path.relative(root, mismatchFile)}; \`npx tsx scripts/openapi-mismatches.ts\` groups them\n`)
}

process.stdout.write(`\n${totals.pass} passed, ${totals.fail} failed${totals.skip ? `, ${totals.skip} skipped` : ''}\n`)
process.exit(failedRuns > 0 || totals.fail > 0 ? 1 : 0)
