// The embedded database's own thread (EMBEDDED_DB_THREAD=worker; db/pglite-thread.ts starts it).
// PGlite runs PostgreSQL as WASM in whatever thread calls it: here, so that a slow statement (an admin
// search over many users) stalls this thread, not the event loop that answers requests. It owns the
// only PGlite instance of the database folder, so the single-writer rule holds as on the main thread.
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite } from '@electric-sql/pglite'
import { PGLITE_EXTENSIONS } from './pglite-extensions.js'
import type { ThreadReply, ThreadRequest, ThreadStart } from './pglite-thread.js'

const start = workerData as ThreadStart
const port = parentPort!

/** The fields a PostgreSQL error carries that callers switch on (db/errors.ts) or log (logger.ts). */
function plainError (err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) }
  const out: Record<string, unknown> = { name: (err as Error).name, message: (err as Error).message }
  for (const [k, v] of Object.entries(err)) {
    // Strings and numbers only: PGlite also hangs the statement's parameters and options on it,
    // which the caller already has and the logger must not see (logger.ts ERROR_FIELDS).
    if (typeof v === 'string' || typeof v === 'number') out[k] = v
  }
  return out
}

function reply (message: ThreadReply): void {
  port.postMessage(message)
}

let db: PGlite
try {
  db = await PGlite.create({
    ...(start.dataDir ? { dataDir: start.dataDir } : {}),
    ...(start.loadDataDir ? { loadDataDir: new Blob([start.loadDataDir]) } : {}),
    extensions: PGLITE_EXTENSIONS
  })
  reply({ id: 0, ok: true })
} catch (err) {
  reply({ id: 0, ok: false, error: plainError(err) })
  process.exit(1)
}

// PGlite is one session, so a transaction must have it to itself: from the `begin` of connection
// `owner` to its commit or rollback, only that connection's statements run, and the others wait here
// in the order they came. Outside a transaction, statements of every connection run in the order
// they came, back to back, without waiting for the event loop's thread between two of them.
const queue: ThreadRequest[] = []
let owner: number | undefined
let running = false

/** Whether `req` may run now: close and release always; a statement outside someone else's transaction. */
const runnable = (req: ThreadRequest) => req.op !== 'query' || owner === undefined || req.conn === owner

async function run (req: ThreadRequest): Promise<void> {
  if (req.op === 'close') {
    await db.close().catch(() => {})
    reply({ id: req.id, ok: true })
    port.close()
    return
  }
  if (req.op === 'release') {
    // A connection let go inside its transaction (kysely commits or rolls back first; this is the
    // safety net): the transaction is rolled back so that the session is free again.
    if (owner === req.conn) {
      owner = undefined
      await db.query('rollback').catch(() => {})
    }
    return
  }
  try {
    const result = await db.query(req.sql, req.params)
    if (req.tx === 'begin') owner = req.conn
    reply({ id: req.id, ok: true, rows: result.rows as unknown[], affectedRows: result.affectedRows })
  } catch (err) {
    reply({ id: req.id, ok: false, error: plainError(err) })
  } finally {
    // A commit or rollback ends the transaction even when it fails (PostgreSQL rolls back then).
    if (req.tx === 'end' && owner === req.conn) owner = undefined
  }
}

function pump (): void {
  if (running) return
  const i = queue.findIndex(runnable)
  if (i < 0) return
  const [req] = queue.splice(i, 1)
  running = true
  run(req!).finally(() => {
    running = false
    pump()
  }).catch(() => {})
}

port.on('message', (req: ThreadRequest) => {
  queue.push(req)
  pump()
})
