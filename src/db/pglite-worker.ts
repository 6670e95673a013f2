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

// One statement at a time, in the order sent: PGlite is one session, and the sender
// (db/pglite-thread.ts, through kysely-pglite-dialect's driver) already keeps a transaction's
// statements together. PGlite queues concurrent calls itself; awaiting keeps the replies in order.
let chain: Promise<void> = Promise.resolve()
port.on('message', (req: ThreadRequest) => {
  chain = chain.then(async () => {
    if (req.op === 'close') {
      await db.close().catch(() => {})
      reply({ id: req.id, ok: true })
      port.close()
      return
    }
    try {
      const result = await db.query(req.sql, req.params)
      reply({ id: req.id, ok: true, rows: result.rows as unknown[], affectedRows: result.affectedRows })
    } catch (err) {
      reply({ id: req.id, ok: false, error: plainError(err) })
    }
  })
})
