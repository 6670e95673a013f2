/**
 * What the bench scripts share to run things: the repository root, one clear failure, a node script
 * run to its end, a free loopback port, a bench database and a quiet server's environment.
 * token-endpoint.ts, scale.ts and propagation.ts use them.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Stops the bench with one clear line; cleanup runs from the `finally` in main. */
export class BenchError extends Error {}
export function fail (message: string): never {
  throw new BenchError(message)
}

/** Runs a node script to completion; its stdout, or a BenchError with its stderr. */
export function runNode (args: string[], childEnv: NodeJS.ProcessEnv, what: string): string {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env: childEnv, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.status !== 0) fail(`${what} failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout).trim()}`)
  return r.stdout
}

/** A free loopback port: listen on 0, read it, close. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

/** Creates database `name` on the server `admin` is connected to; the URL to reach it. */
export async function createBenchDatabase (admin: pg.Client, serverUrl: string, name: string): Promise<string> {
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * A bench server's environment on database `dbUrl`: a fresh encryption key, warn-level logs, no token
 * limit (the load comes from one address and one client), no bootstrap, loopback only; `extra` adds or overrides.
 */
export function benchServerEnv (dbUrl: string, dataDir: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: dbUrl,
    SECRET_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
    TOKEN_RATE_LIMIT_PER_MINUTE: '0',
    // The machine is shared: another worker's burst must not turn into the guard's 503s here.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    BOOTSTRAP: 'false',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ...extra
  }
}

/** The machine line every bench starts with (runs on different days compare by it), then the build unless BENCH_SKIP_BUILD=1. */
export function printMachineAndBuild (): void {
  console.log(`machine: ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`)
  if (process.env.BENCH_SKIP_BUILD !== '1') runNode([path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], process.env, 'the build')
}
