import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { TEST_SECRET_KEY } from './helpers/app.js'
import { serverDatabaseUrl } from './helpers/db.js'
import { copySteps, envOf, execForm, parseDockerfile, type Stage } from './helpers/dockerfile.js'
import { captureLevel, captureText } from './helpers/log-capture.js'
import { freePort, ROOT, run, waitReady } from './helpers/process.js'

const dockerfile = parseDockerfile(await fs.readFile(path.join(ROOT, 'Dockerfile'), 'utf8'))
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((s) => s.name === name)
  if (!found) throw new Error(`the Dockerfile has no stage ${name}`)
  return found
}
const exists = async (p: string) => await fs.access(p).then(() => true, () => false)

t.test('the Dockerfile compiles in a build stage and runs a slim, non-root runtime stage', async (t) => {
  t.same(dockerfile.stages.map((s) => s.name), ['build', 'runtime'])
  for (const s of dockerfile.stages) t.match(s.image, /^node:20-(bookworm-)?slim$/, `${s.name} stage image`)
  const runtime = stage('runtime')
  const keywords = (kw: string) => runtime.instructions.filter((i) => i.keyword === kw).map((i) => i.args)
  const user = keywords('USER').at(-1)
  t.ok(user && !/^(root|0)(:|$)/.test(user), 'runs as a non-root user')
  t.same(keywords('VOLUME'), ['/data'])
  t.same(keywords('EXPOSE'), ['3000 9464'])
  t.match(envOf(runtime), { HOST: '0.0.0.0', METRICS_PORT: '9464', DATA_DIR: '/data' })
  t.same(execForm(runtime, 'CMD'), ['node', 'dist/server.js'])
  t.match(execForm(runtime, 'HEALTHCHECK'), ['node', '-e', /\/health\/ready/], 'the health check uses node, not curl')
  t.match(keywords('RUN').join('\n'), /npm ci --omit=dev/, 'the runtime installs production dependencies only')
  t.match(stage('build').instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args), [/^npm ci\b/, /^npm run build$/])
  const runtimeIndex = (kw: string, pattern: RegExp) => runtime.instructions.findIndex((i) => i.keyword === kw && pattern.test(i.args))
  t.ok(runtimeIndex('RUN', /chown \S+ \/data/) >= 0 && runtimeIndex('RUN', /chown \S+ \/data/) < runtimeIndex('VOLUME', /\/data/),
    '/data is owned by the user before VOLUME, so a fresh named volume is writable')
  for (const s of dockerfile.stages) {
    for (const step of copySteps(s).filter((c) => !c.from)) {
      for (const source of step.sources) t.ok(await exists(path.join(ROOT, source)), `${s.name}: COPY source ${source} exists`)
    }
  }
  const ignored = (await fs.readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim())
  for (const entry of ['node_modules', 'dist', 'data', '.git']) t.ok(ignored.includes(entry), `.dockerignore leaves out ${entry}`)
})

t.test('docker-compose.yml runs the service against a healthy postgres:16 with a named volume', async (t) => {
  const compose = YAML.parse(await fs.readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8'))
  const services = Object.entries(compose.services as Record<string, any>)
  const [dbName, db] = services.find(([, s]) => /^postgres:16\b/.test(s.image)) ?? []
  t.ok(db, 'a postgres:16 service')
  const dataVolume = (db.volumes as string[]).map((v) => v.split(':')).find(([, target]) => target === '/var/lib/postgresql/data')
  t.ok(dataVolume && dataVolume[0]! in compose.volumes, 'its data directory is a named volume declared under volumes')
  t.match(db.healthcheck.test.join(' '), /pg_isready/)
  const [, app] = services.find(([, s]) => s.build === '.') ?? []
  t.ok(app, 'a service built from this directory')
  t.same(app.depends_on, { [dbName!]: { condition: 'service_healthy' } }, 'it waits for the database to be healthy')
  t.match(app.environment.DATABASE_URL, new RegExp(`^postgres://[^@]+@${dbName}:5432/`), 'it talks to the db service')
  t.match(app.environment.SECRET_ENCRYPTION_KEY, /^\$\{SECRET_ENCRYPTION_KEY:\?.+\}$/, 'compose refuses to start without the key')
  t.match(app.environment.BOOTSTRAP, /^(true|false|auto)$/)
})

t.test('replaying the Dockerfile outside Docker yields an image that starts, is healthy and stops cleanly', {
  skip: process.env.TEST_DATABASE_URL ? false : 'runs in the PostgreSQL pass (needs DATABASE_URL)'
}, async (t) => {
  t.setTimeout(300_000)
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'aoc-replay-'))
  const dirs: Record<string, string> = { build: path.join(work, 'build'), runtime: path.join(work, 'app') }
  const database = await serverDatabaseUrl()
  // Filled once the server is spawned, so the teardown can kill it if an assertion throws first.
  const started: { child?: ReturnType<typeof spawn>, output?: () => string } = {}
  t.teardown(async () => {
    started.child?.kill('SIGKILL')
    captureText(started.output?.() ?? '')
    await database?.drop()
    await fs.rm(work, { recursive: true, force: true })
  })

  // Each stage's WORKDIR /app becomes its own directory; COPY and RUN are replayed in order.
  for (const s of dockerfile.stages) {
    const dir = dirs[s.name]!
    await fs.mkdir(dir, { recursive: true })
    for (const ins of s.instructions) {
      if (ins.keyword === 'WORKDIR') t.equal(ins.args, '/app', `${s.name}: WORKDIR`)
      if (ins.keyword === 'COPY') {
        const [step] = copySteps({ ...s, instructions: [ins] })
        for (const source of step!.sources) {
          const from = step!.from ? path.join(dirs[step!.from]!, path.relative('/app', source)) : path.join(ROOT, source)
          const dest = path.resolve(dir, step!.dest)
          const target = step!.dest.endsWith('/') || step!.sources.length > 1 ? path.join(dest, path.basename(source)) : dest
          await fs.cp(from, target, { recursive: true })
        }
      }
      if (ins.keyword !== 'RUN') continue
      for (const command of ins.args.split('&&').map((c) => c.trim())) {
        if (/^npm ci\b/.test(command) && command.includes('--omit=dev')) {
          const res = await run('npm', ['ci', '--omit=dev', '--ignore-scripts=false', '--prefer-offline', '--no-audit', '--no-fund'], {}, dir)
          t.equal(res.code, 0, `${s.name}: npm ci --omit=dev`, { stderr: res.stderr })
        } else if (/^npm ci\b/.test(command)) {
          // The repository's node_modules is this same lock file installed by npm ci, dev dependencies included.
          await fs.symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
        } else if (command === 'npm run build') {
          const res = await run('npm', ['run', 'build'], {}, dir)
          t.equal(res.code, 0, `${s.name}: npm run build`, { output: res.stdout + res.stderr })
        } else {
          t.match(command, /^(npm cache clean|mkdir|chown)\b/, `${s.name}: "${command}" only prepares the container`)
        }
      }
    }
  }

  const app = dirs.runtime!
  t.ok(await exists(path.join(app, 'dist', 'server.js')), 'dist/ was copied from the build stage')
  t.notOk(await exists(path.join(app, 'src')), 'the runtime holds no sources')
  t.notOk(await exists(path.join(app, 'node_modules', 'typescript')), 'nor the dev dependencies')

  const runtime = stage('runtime')
  const port = await freePort()
  const metricsPort = await freePort()
  const env = {
    ...envOf(runtime),
    METRICS_PORT: String(metricsPort),
    DATABASE_URL: database!.url,
    SECRET_ENCRYPTION_KEY: TEST_SECRET_KEY,
    PORT: String(port),
    HOST: '127.0.0.1',
    BOOTSTRAP: 'false',
    DATA_DIR: path.join(work, 'data'),
    LOG_LEVEL: captureLevel('info')
  }
  const [cmd, ...args] = execForm(runtime, 'CMD')!
  t.equal(cmd, 'node')
  const child = spawn(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  started.child = child
  let output = ''
  started.output = () => output
  child.stdout!.on('data', (c) => { output += c })
  child.stderr!.on('data', (c) => { output += c })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const early = exited.then((code) => { throw new Error(`the server exited (${code}) before it was ready:\n${output}`) })
  const ready = await Promise.race([waitReady(port, 60_000), early])
  early.catch(() => {})
  t.match(await ready.json(), { status: 'ok', database: 'postgres' }, 'ready on PostgreSQL, migrated from the copied migrations/')

  // A plain fetch: the metrics listener is a plain Node server on a port of its own
  // (src/plugins/metrics-listener.ts), no part of the API that openapi.yaml describes. The API's
  // answers here (readiness, through waitReady) are checked.
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(metrics.status, 200, 'the metrics listener answers on METRICS_PORT')
  t.match(await metrics.text(), /^process_resident_memory_bytes \d/m)

  const [hcNode, ...hcArgs] = execForm(runtime, 'HEALTHCHECK')!
  t.equal(hcNode, 'node')
  t.equal((await run(process.execPath, hcArgs, { PORT: String(port) }, app)).code, 0, 'the HEALTHCHECK command passes')
  t.equal((await run(process.execPath, hcArgs, { PORT: String(await freePort()) }, app)).code, 1, 'and fails when nothing answers')

  const cli = await run(process.execPath, ['dist/cli/main.js', 'migrate'], env, app)
  t.equal(cli.code, 0, 'the built CLI runs with production dependencies only', { stderr: cli.stderr })
  t.match(cli.stdout, /database is up to date/)

  child.kill('SIGTERM')
  const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000))])
  t.equal(code, 0, 'exits 0 within the shutdown timeout (10 s) after SIGTERM', { output: output.slice(-2000) })
})
