// The ops command line under test. Most checks run the program in the test's own process
// (runProgram, as src/cli/main.ts runs it) on the file's database, held open: a process start costs
// seconds, and on PGlite opening the embedded database again for each command costs more. A few
// checks run the real `aoc-auth` in a process of its own, on a database of its own.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { CliIo } from '../../src/cli/context.js'
import { runProgram } from '../../src/cli/program.js'
import type { DbHandle } from '../../src/db/connect.js'
import { openDatabase } from '../../src/db/open.js'
import { serverDatabaseUrl, testDb } from './db.js'
import { captureText, recordJsonOutput } from './log-capture.js'
import { run, type RunResult } from './process.js'

interface Tap { teardown: (fn: () => unknown) => void }

export interface CliSetup {
  /** The CLI's DATA_DIR (the spawned commands' database on PGlite), removed at the end. */
  dataDir: string
  /** DATABASE_URL for the spawned commands in the PostgreSQL pass (a fresh, unmigrated database on the server, dropped at the end); empty on PGlite. */
  dbEnv: Record<string, string>
  /** The file's database (testDb: migrated), which `cli` runs on; closed at the end. Apps built on it see what the commands made. */
  handle: DbHandle
  /** A test's options: checks that do not depend on the database kind run once, in the PostgreSQL pass when one follows. */
  leaveToServerPass: { skip: string | false }
  /**
   * `aoc-auth args` run in this process on `handle`, with only `env` and DATA_DIR as its environment.
   * Under the log capture, its log (stderr) is captured and the credentials it printed are recorded.
   */
  cli: (args: string[], env: Record<string, string>) => Promise<RunResult>
  /**
   * `aoc-auth args` in a process of its own (`node --import tsx src/cli/main.ts`), with `env`, DATA_DIR and
   * dbEnv: it opens that database itself, which is not `handle`'s. Captured and recorded as `cli`.
   */
  spawnCli: (args: string[], env: Record<string, string>) => Promise<RunResult>
}

/** Captures a command's log (stderr) and records the credentials it printed (stdout). */
function captured (res: RunResult): RunResult {
  captureText(res.stderr)
  recordJsonOutput(res.stdout)
  return res
}

/**
 * runProgram with `env` as the whole environment, its output kept in strings. With `handle`, the
 * commands run on it, and a command's close of its database leaves the handle open for the next one;
 * without, they open the configured database as the real `aoc-auth` does.
 */
export async function runCliInProcess (args: string[], env: Record<string, string>, handle?: DbHandle): Promise<RunResult> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    env: { ...env },
    stdout: (text) => { stdout += text },
    stderr: (text) => { stderr += text },
    openDatabase: handle ? async () => ({ ...handle, close: async () => {} }) : openDatabase
  }
  const code = await runProgram(args, io)
  return captured({ code, stdout, stderr })
}

/** `aoc-auth args` in a process of its own, with only `env` (plus PATH and HOME); captured and recorded as runCliInProcess's. */
export async function spawnCliProcess (args: string[], env: Record<string, string>): Promise<RunResult> {
  return captured(await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], env))
}

/** A test file's CLI database and runners; `prefix` names its temporary DATA_DIR. */
export async function cliSetup (t: Tap, prefix: string): Promise<CliSetup> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  const server = await serverDatabaseUrl()
  const handle = await testDb()
  t.teardown(async () => {
    await handle.close()
    await server?.drop()
    await fs.rm(dataDir, { recursive: true, force: true })
  })
  const dbEnv: Record<string, string> = server ? { DATABASE_URL: server.url } : {}
  return {
    dataDir,
    dbEnv,
    handle,
    leaveToServerPass: { skip: !server && process.env.TEST_SERVER_PASS_FOLLOWS ? 'database-independent; runs in the PostgreSQL pass' : false },
    cli: async (args, env) => await runCliInProcess(args, { DATA_DIR: dataDir, ...env }, handle),
    spawnCli: async (args, env) => await spawnCliProcess(args, { DATA_DIR: dataDir, ...dbEnv, ...env })
  }
}
