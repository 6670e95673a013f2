import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { checkedFetch } from './helpers/checked-fetch.js'
import { captureLevel, captureText, recordFields, recordPemsIn, recordValue } from './helpers/log-capture.js'
import { freePort, waitReady } from './helpers/process.js'

async function startServer (env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (c) => { output += c })
  child.stderr.on('data', (c) => { output += c })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, output: () => output }
}

t.test('the embedded default: starts on a fresh DATA_DIR, bootstraps, answers ready, closes on SIGTERM', { skip: process.env.TEST_DATABASE_URL ? 'runs in the embedded-database pass' : false }, async (t) => {
  // A first start creates and migrates the embedded database: seconds alone, a minute or more when
  // the suite's other files keep both cores busy.
  t.setTimeout(240_000)
  const dataDir = t.testdir()
  const port = await freePort()
  const server = await startServer({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: captureLevel('info'), SHUTDOWN_GRACE: '0' })
  t.teardown(() => {
    server.child.kill('SIGKILL')
    captureText(server.output())
  })
  const ready = await waitReady(port, 180_000)
  t.match(await ready.json(), { status: 'ok', database: 'pglite' })
  const boot = JSON.parse(await fs.readFile(path.join(dataDir, 'bootstrap.json'), 'utf8'))
  // The bootstrap's credentials, its admin's key and the generated encryption key, for the log scan.
  recordFields(boot)
  recordPemsIn(await fs.readFile(path.join(dataDir, boot.admin_private_key_file), 'utf8'))
  recordValue('encryption_key', (await fs.readFile(path.join(dataDir, 'secret.key'), 'utf8')).trim())
  t.equal(boot.org, 'demo')
  t.equal((await fs.stat(path.join(dataDir, 'secret.key'))).mode & 0o777, 0o600, 'the generated encryption key is 0600')
  const log = server.output()
  t.match(log, path.join(dataDir, 'bootstrap.json'), 'the log names the file')
  for (const secret of [boot.admin_password, boot.client_secret]) t.notMatch(log, secret, 'the log holds no credential')
  t.notMatch(log, 'PRIVATE KEY')

  // A request in flight when SIGTERM arrives still gets its answer.
  const inFlight = checkedFetch(`http://127.0.0.1:${port}/health/ready`)
  server.child.kill('SIGTERM')
  t.equal((await inFlight).status, 200)
  t.equal(await server.exited, 0, 'exits 0 after a graceful close')

  const again = await startServer({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: captureLevel('info') })
  t.teardown(() => {
    again.child.kill('SIGKILL')
    captureText(again.output())
  })
  await waitReady(port)
  t.same(JSON.parse(await fs.readFile(path.join(dataDir, 'bootstrap.json'), 'utf8')), boot, 'a restart keeps the data and does not bootstrap again')
  again.child.kill('SIGTERM')
  t.equal(await again.exited, 0)
})
