// A PostgreSQL server of the test's own, to stop and start: initdb and pg_ctl on a free port under a
// temp dir, never the machine's shared server. As root, the commands run as the postgres user
// (initdb refuses root).
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './process.js'

const run = promisify(execFile)
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

export interface ThrowawayPostgres {
  url: string
  port: number
  start: () => Promise<void>
  /** `fast`: sessions are ended, as a service manager stops it; `immediate`: as a crash. */
  stop: (mode?: 'fast' | 'immediate') => Promise<void>
  /** Stops it if it runs, and removes its files. */
  remove: () => Promise<void>
}

/** Whether this machine has PostgreSQL's server binaries to make one with. */
export async function canMakePostgres (): Promise<boolean> {
  try {
    await fs.access(path.join(BIN, 'initdb'))
    return true
  } catch {
    return false
  }
}

export async function throwawayPostgres (): Promise<ThrowawayPostgres> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aoc-pg-'))
  const data = path.join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const as = async (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(BIN, cmd), ...args]] : [path.join(BIN, cmd), args]
    return await run(file, argv, { timeout: 60_000 })
  }
  if (asRoot) await run('chown', ['postgres', dir])
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`
  const pgCtl = async (...args: string[]) => await as('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), ...args])
  const server: ThrowawayPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: async () => { await pgCtl('-o', options, '-w', '-t', '60', 'start') },
    stop: async (mode = 'fast') => { await pgCtl('-m', mode, '-w', '-t', '60', 'stop') },
    remove: async () => {
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {})
      await fs.rm(dir, { recursive: true, force: true })
    }
  }
  await server.start()
  return server
}
