/**
 * What scale.ts and embedded-stall.ts share to drive the token endpoint: assertions signed as ascli
 * signs them (in worker threads, before the phase), one token phase through bench/load.ts in its own
 * process, one checked admin GET, and a quantile.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import type { LoadJob, LoadResult } from './load.js'
import { fail, ROOT } from './process.js'

/** The audience ascli puts in its assertions. */
export const AUD = 'https://api.asperafiles.com/api/v1/oauth2/token'

// Assertions as ascli signs them; `subs` cycles, so each request may name another user.
const SIGNER = `
const { parentPort, workerData } = require('node:worker_threads')
const { createPrivateKey, sign, randomUUID } = require('node:crypto')
const { pem, count, iss, subs, first, aud, org } = workerData
const key = createPrivateKey(pem)
const header = Buffer.from('{"alg":"RS256"}').toString('base64url')
const out = []
for (let i = 0; i < count; i++) {
  const now = Math.floor(Date.now() / 1000)
  const sub = subs.length === 1 ? subs[0] : subs[(first + i) % subs.length]
  const claims = { iss, sub, aud, exp: now + 3600, nbf: now - 300, iat: now - 299, jti: randomUUID(), org }
  const input = header + '.' + Buffer.from(JSON.stringify(claims)).toString('base64url')
  out.push(input + '.' + sign('sha256', Buffer.from(input), key).toString('base64url'))
}
parentPort.postMessage(out)
`

/** `count` assertions of client `clientId` for org `org`, each for the next of `subs`, signed with `pem`. */
export async function signAssertions (pem: string, count: number, clientId: string, subs: string[], org: string): Promise<string[]> {
  const workers = Math.max(1, Math.min(os.availableParallelism(), 4))
  const share = Math.ceil(count / workers)
  const parts = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<string[]>((resolve, reject) => {
    const worker = new Worker(SIGNER, { eval: true, workerData: { pem, count: share, iss: clientId, subs, first: w * share, aud: AUD, org } })
    worker.once('message', resolve)
    worker.once('error', reject)
  })))
  return parts.flat()
}

/** Runs one load job (bench/load.ts, autocannon) in its own process; its result. The job's file is `<stem>.json` in `dir`. */
export async function runLoad (job: LoadJob, dir: string, stem: string, name = stem): Promise<LoadResult> {
  const jobFile = path.join(dir, `${stem}.json`)
  fs.writeFileSync(jobFile, JSON.stringify(job))
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/load.ts'), jobFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) fail(`the load generator (${name}) exited with ${code}`)
  return JSON.parse(out.trim().split('\n').pop()!) as LoadResult
}

/** How a token phase is driven: `rate` tokens/s offered, or as fast as answered without it. */
export interface PhaseLoad { connections: number, duration: number, rate?: number }

/** One token phase: pre-signed bodies through bench/load.ts (autocannon) in its own process; fails on any error. */
export async function tokenPhase (name: string, dir: string, url: string, clientId: string, assertions: string[], load: PhaseLoad): Promise<LoadResult> {
  // The phase's name may hold a '/' (500/s): not in a file name.
  const stem = name.replace(/[^A-Za-z0-9]+/g, '-')
  const file = path.join(dir, `${stem}.txt`)
  fs.writeFileSync(file, assertions.map((a) => `client_id=${clientId}&scope=user%3Aall&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${a}`).join('\n'))
  const job: LoadJob = { url, connections: load.connections, duration: load.duration, headers: { 'content-type': 'application/x-www-form-urlencoded' }, bodiesFile: file, ...(load.rate ? { rate: load.rate } : {}) }
  const r = await runLoad(job, dir, stem, name)
  if (r.non2xx + r.errors + r.timeouts > 0) fail(`${name}: ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodes)}, ${r.errors} errors, ${r.timeouts} timeouts`)
  return r
}

/** The `q` quantile of sorted values. */
export const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

/** One admin GET, checked: 200, a JSON array, an X-Total-Count. Its latency in ms. */
export async function adminGet (base: string, token: string, query: string): Promise<{ ms: number, rows: number, total: number }> {
  const t = performance.now()
  const res = await fetch(`${base}/api/v1/${query}`, { headers: { authorization: `Bearer ${token}` } })
  const body = await res.json() as unknown[]
  const ms = performance.now() - t
  const total = Number(res.headers.get('x-total-count'))
  if (res.status !== 200 || !Array.isArray(body) || !Number.isInteger(total)) fail(`GET ${query} answered ${res.status} (X-Total-Count ${res.headers.get('x-total-count')})`)
  return { ms, rows: body.length, total }
}
