// The ops command line under test: a database of the pass's kind for the test file, and `aoc-auth`
// runs on it in a process of their own.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { serverDatabaseUrl } from './db.js'
import { captureText, recordJsonOutput } from './log-capture.js'
import { run, type RunResult } from './process.js'

interface Tap { teardown: (fn: () => unknown) => void }

export interface CliSetup {
  /** The CLI's DATA_DIR (its database on PGlite), removed at the end. */
  dataDir: string
  /** DATABASE_URL in the PostgreSQL pass (a fresh, unmigrated database on the server, dropped at the end); empty on PGlite. */
  dbEnv: Record<string, string>
  /** A test's options: checks that do not depend on the database kind run once, in the PostgreSQL pass when one follows. */
  leaveToServerPass: { skip: string | false }
  /** `aoc-auth args` with `env`, DATA_DIR and dbEnv; under the log capture, its log (stderr) is captured and the credentials it printed are recorded. */
  cli: (args: string[], env: Record<string, string>) => Promise<RunResult>
}

/** A test file's CLI database and runner; `prefix` names its temporary DATA_DIR. */
export async function cliSetup (t: Tap, prefix: string): Promise<CliSetup> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  const server = await serverDatabaseUrl()
  t.teardown(async () => {
    await server?.drop()
    await fs.rm(dataDir, { recursive: true, force: true })
  })
  const dbEnv: Record<string, string> = server ? { DATABASE_URL: server.url } : {}
  return {
    dataDir,
    dbEnv,
    leaveToServerPass: { skip: !server && process.env.TEST_SERVER_PASS_FOLLOWS ? 'database-independent; runs in the PostgreSQL pass' : false },
    cli: async (args, env) => {
      const res = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { DATA_DIR: dataDir, ...dbEnv, ...env })
      captureText(res.stderr)
      recordJsonOutput(res.stdout)
      return res
    }
  }
}
