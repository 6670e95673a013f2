/**
 * `npx tsx bench/embedded-stall.ts`: issue 14, item 4, on the embedded database, with PGlite on the
 * event loop's thread (EMBEDDED_DB_THREAD=main) and in a thread of its own (worker), same run, same
 * data folder. It builds the server, makes an organization on a fresh DATA_DIR, grows it to
 * STALL_USERS users (bench/growth.ts, straight into PGlite before any server runs: one writer), then
 * for each mode starts the server and measures the token endpoint (JWT-bearer, one user):
 *   1. as fast as answered (32 connections): tokens/s and p99;
 *   2. at STALL_OFFERED tokens/s offered: p50/p99, the latency a steady client sees;
 *   3. the same while one admin loop runs `GET /api/v1/users?q=…` without pause (goal: p50 < 20 ms).
 * It prints each mode's figures and worker/main ratios. Every request is checked; errors exit 1.
 *
 * Environment: STALL_USERS (default 100000; >= 1000), STALL_DURATION (s per phase, default 8),
 * STALL_OFFERED (tokens/s, default 200), STALL_MODES (default main,worker; a mode may come back,
 * worker,main,worker,main, since the machine drifts and the order matters; the ratios use each
 * mode's mean), BENCH_SKIP_BUILD=1.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type pg from 'pg'
import { PGLITE_EXTENSIONS } from '../src/db/pglite-extensions.js'
import { growOrganization, growthSize, printGrowth } from './growth.js'
import type { LoadResult } from './load.js'
import { BenchError, fail, freePort, ROOT, runNode } from './process.js'
import { adminGet, quantile, signAssertions, tokenPhase } from './token-phase.js'

const env = process.env
const USERS = Number(env.STALL_USERS ?? 100_000)
const DURATION = Number(env.STALL_DURATION ?? 8)
const OFFERED = Number(env.STALL_OFFERED ?? 200)
const MODES = (env.STALL_MODES ?? 'main,worker').split(',') as Array<'main' | 'worker'>
const ORG = 'bench'
const EMAIL = 'load@bench.example'
const CONNECTIONS = 32
// growth.ts's user 12345 and its neighbours (user12345x…): a trigram search as an admin types it.
const SEARCH = 'users?q=user12345'

interface ModeResult { saturated: LoadResult, steady: LoadResult, searched: LoadResult, searches: number[] }

async function waitReady (base: string, server: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) fail(`the server exited with ${server.exitCode}`)
    if (i > 1200) fail('the server did not become ready in 120 s')
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function stop (server: ChildProcess | undefined): Promise<void> {
  if (!server || server.exitCode !== null) return
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGTERM')
  await exited
}

async function main (): Promise<number> {
  if (!Number.isInteger(USERS) || USERS < 1000) fail('STALL_USERS must be an integer >= 1000')
  if (MODES.some((m) => m !== 'main' && m !== 'worker')) fail('STALL_MODES: main and/or worker')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aoc-stall-'))
  let server: ChildProcess | undefined
  try {
    console.log(`machine: ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`)
    if (env.BENCH_SKIP_BUILD !== '1') runNode([path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], env, 'the build')
    const port = await freePort()
    const baseEnv: NodeJS.ProcessEnv = {
      PATH: env.PATH,
      HOME: env.HOME,
      SECRET_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      TOKEN_RATE_LIMIT_PER_MINUTE: '0',
      // The machine is shared: another worker's burst must not turn into the guard's 503s here.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      BOOTSTRAP: 'false',
      REQUIRE_JTI: 'true',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dir
    }
    const cli = (args: string[]) => runNode(['dist/cli/main.js', ...args], baseEnv, `aoc-auth ${args.slice(0, 2).join(' ')}`)
    const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const publicPem = userKey.publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const privatePem = userKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    fs.writeFileSync(path.join(dir, 'user.pem'), publicPem)
    cli(['migrate'])
    cli(['org', 'create', ORG, '--admin-email', 'admin@bench.example'])
    cli(['user', 'create', '--org', ORG, '--email', EMAIL, '--public-key', path.join(dir, 'user.pem')])
    const client = JSON.parse(cli(['client', 'create', '--org', ORG, '--name', 'bench', '--jwt-grant'])) as { id: string }
    const adminToken = cli(['token', '--org', ORG, '--email', 'admin@bench.example', '--scope', 'admin:all']).trim()

    console.log(`growing organization ${ORG} to ${USERS} more users in PGlite (load average ${os.loadavg()[0]!.toFixed(2)})...`)
    const grown = await PGlite.create({ dataDir: path.join(dir, 'pgdata'), extensions: PGLITE_EXTENSIONS })
    const orgId = (await grown.query<{ id: string }>('SELECT id FROM organizations WHERE name = $1', [ORG])).rows[0]!.id
    // growth.ts asks for query(text, values) and rows, which PGlite's query answers as pg's does.
    printGrowth(await growOrganization(grown as unknown as pg.Client, orgId, growthSize(USERS), publicPem))
    await grown.close()

    const base = `http://127.0.0.1:${port}`
    const tokenUrl = `${base}/api/v1/oauth2/${ORG}/token`
    const sign = async (count: number) => await signAssertions(privatePem, count, client.id, [EMAIL], ORG)
    const results: Array<[string, ModeResult]> = []
    for (const mode of MODES) {
      server = spawn(process.execPath, ['dist/server.js'], { cwd: ROOT, env: { ...baseEnv, EMBEDDED_DB_THREAD: mode }, stdio: ['ignore', 'inherit', 'inherit'] })
      await waitReady(base, server)
      await tokenPhase(`${mode} warm-up`, dir, tokenUrl, client.id, await sign(1000), { connections: CONNECTIONS, duration: 3 })
      for (let i = 0; i < 3; i++) await adminGet(base, adminToken, SEARCH)
      const saturated = await tokenPhase(`${mode} as fast as answered`, dir, tokenUrl, client.id, await sign(DURATION * 3000), { connections: CONNECTIONS, duration: DURATION })
      const offered = { connections: CONNECTIONS, duration: DURATION, rate: OFFERED }
      const steady = await tokenPhase(`${mode} ${OFFERED}/s`, dir, tokenUrl, client.id, await sign(DURATION * OFFERED), offered)
      const searches: number[] = []
      const running = { stop: false }
      const loop = (async () => { while (!running.stop) searches.push((await adminGet(base, adminToken, SEARCH)).ms) })()
      let searched: LoadResult
      try {
        searched = await tokenPhase(`${mode} ${OFFERED}/s with a search loop`, dir, tokenUrl, client.id, await sign(DURATION * OFFERED), offered)
      } finally {
        running.stop = true
        await loop
      }
      results.push([mode, { saturated, steady, searched, searches: searches.sort((a, b) => a - b) }])
      await stop(server)
      server = undefined
    }

    const rows: string[][] = [['EMBEDDED_DB_THREAD', 'max tokens/s', 'p99 ms', `${OFFERED}/s p50`, 'p99', '+ search loop p50', 'p99', 'search p50 ms', 'searches']]
    for (const [mode, r] of results) {
      rows.push([mode, r.saturated.rps.toFixed(0), r.saturated.p99.toFixed(1), r.steady.p50.toFixed(1), r.steady.p99.toFixed(1),
        r.searched.p50.toFixed(1), r.searched.p99.toFixed(1), quantile(r.searches, 0.5).toFixed(0), String(r.searches.length)])
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
    console.log('')
    for (const r of rows) console.log(r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  '))
    // Each mode's mean of a figure over its runs.
    const mean = (mode: string, figure: (r: ModeResult) => number) => {
      const runs = results.filter(([m]) => m === mode).map(([, r]) => figure(r))
      return runs.reduce((a, b) => a + b, 0) / runs.length
    }
    const ratio = (figure: (r: ModeResult) => number) => (mean('worker', figure) / mean('main', figure)).toFixed(2)
    if (MODES.includes('main') && MODES.includes('worker')) {
      console.log(`worker/main (means): max tokens/s ${ratio((r) => r.saturated.rps)}x, its p99 ${ratio((r) => r.saturated.p99)}x; ` +
        `token p50 with the search loop ${ratio((r) => r.searched.p50)}x, p99 ${ratio((r) => r.searched.p99)}x; ` +
        `searches answered ${ratio((r) => r.searches.length)}x`)
    }
    if (MODES.includes('worker')) console.log(`goal (worker): token p50 with the search loop < 20 ms: ${mean('worker', (r) => r.searched.p50).toFixed(1)} ms (mean)`)
    console.log(`users: ${USERS} grown; load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    return 0
  } finally {
    await stop(server)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(`bench failed: ${err instanceof BenchError ? err.message : err instanceof Error ? err.stack : String(err)}`)
  process.exitCode = 1
})
