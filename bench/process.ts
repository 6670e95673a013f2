/**
 * What the bench scripts share to run things: the repository root, one clear failure, a node script
 * run to its end, and a free loopback port. token-endpoint.ts and scale.ts both use them.
 */
import { spawnSync } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

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
