import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { checkedFetch, isMismatch } from './checked-fetch.js'

/** The repository root, where `node --import tsx src/...` resolves. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..')

/** A free loopback port: listen on 0, read it, close. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Polls GET /health/ready until it answers 200; throws after `timeoutMs`. Each answer is checked
 * against openapi.yaml (checkedFetch): a mismatch is thrown at once, only a refused connection is
 * waited out.
 */
export async function waitReady (port: number, timeoutMs = 60_000): Promise<Response> {
  const end = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await checkedFetch(`http://127.0.0.1:${port}/health/ready`)
      if (res.status === 200) return res
    } catch (err) {
      if (isMismatch(err)) throw err
    }
    if (Date.now() > end) throw new Error(`the server did not become ready on port ${port} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** What a finished child process left. */
export interface RunResult { code: number | null, stdout: string, stderr: string }

/** A command started with only the given environment (plus PATH and HOME); its output is collected as it comes. */
export function start (cmd: string, args: string[], env: Record<string, string>, cwd = ROOT): { child: ChildProcess, done: Promise<RunResult>, stdout: () => string, stderr: () => string } {
  const child = spawn(cmd, args, {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c) => { stdout += c })
  child.stderr!.on('data', (c) => { stderr += c })
  const done = new Promise<RunResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
  return { child, done, stdout: () => stdout, stderr: () => stderr }
}

/**
 * Runs a command to its end with only the given environment (plus PATH and HOME), so a variable
 * set in the developer's shell cannot change what a test sees.
 */
export async function run (cmd: string, args: string[], env: Record<string, string>, cwd = ROOT): Promise<RunResult> {
  return await start(cmd, args, env, cwd).done
}
