import { Worker } from 'node:worker_threads'

/** What the database's thread opens: a folder, or (tests) an in-memory copy of a dumped one. */
export interface ThreadStart {
  dataDir?: string
  /** A dump (PGlite's dumpDataDir) to load into memory; copied to the thread, not shared. */
  loadDataDir?: Uint8Array
}

/** A message to the thread: one statement, or close. */
export type ThreadRequest =
  | { id: number, op: 'query', sql: string, params: unknown[] }
  | { id: number, op: 'close' }

/** The thread's answer to request `id` (0: the start); an error comes as its plain fields. */
export type ThreadReply =
  | { id: number, ok: true, rows?: unknown[], affectedRows?: number }
  | { id: number, ok: false, error: Record<string, unknown> }

interface Pending { resolve: (reply: ThreadReply) => void, reject: (err: Error) => void }

/**
 * The worker's file beside this one, as a Worker takes it. Built, it is pglite-worker.js. From the
 * sources (tsx: tests, `npm run dev`), Node 20 loads a worker's entry file before tsx's hooks apply
 * in that thread, so a two-line entry registers tsx there first, then imports the .ts file.
 */
function workerEntry (): { entry: string | URL, eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { entry: new URL('./pglite-worker.js', import.meta.url), eval: false }
  const file = JSON.stringify(new URL('./pglite-worker.ts', import.meta.url).href)
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  return { entry: `import(${tsx}).then((api) => { api.register(); return import(${file}) })`, eval: true }
}

/** The message of a closed PGlite, which db/errors.ts reads as "database unavailable". */
const CLOSED = 'PGlite is closed'

/** An error from the thread, rebuilt with the fields callers switch on (code, constraint…). */
function rebuilt (fields: Record<string, unknown>): Error {
  const err = new Error(typeof fields.message === 'string' ? fields.message : 'database error')
  return Object.assign(err, fields)
}

/**
 * PGlite in a worker thread (pglite-worker.ts), with the two methods kysely-pglite-dialect's driver
 * calls: `query` and `close`. The driver still hands out one connection at a time, so transactions
 * are serialized exactly as with PGlite on the main thread; this class only carries each statement
 * across and its rows back (structured clone keeps Date, Uint8Array and bigint as PGlite made them).
 */
export class PgliteThread {
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private closed = false
  private exited: Promise<void>

  private constructor (private readonly worker: Worker) {
    worker.on('message', (reply: ThreadReply) => {
      const p = this.pending.get(reply.id)
      if (!p) return
      this.pending.delete(reply.id)
      this.idle()
      p.resolve(reply)
    })
    this.exited = new Promise((resolve) => {
      worker.once('exit', () => {
        this.closed = true
        for (const p of this.pending.values()) p.reject(new Error(CLOSED))
        this.pending.clear()
        resolve()
      })
    })
    // An error the thread did not catch ends it; 'exit' follows and fails what was waiting.
    worker.on('error', () => {})
  }

  /** Starts the thread and opens the database in it; rejects with PGlite's error if it cannot. */
  static async start (start: ThreadStart): Promise<PgliteThread> {
    const { entry, eval: isCode } = workerEntry()
    const worker = new Worker(entry, { eval: isCode, workerData: start })
    const thread = new PgliteThread(worker)
    const opened = await thread.reply(0)
    if (!opened.ok) {
      await worker.terminate()
      throw rebuilt(opened.error)
    }
    return thread
  }

  /** Runs one statement in the thread; PGlite's result shape (rows, affectedRows). */
  async query (sql: string, params: unknown[] = []): Promise<{ rows: unknown[], affectedRows?: number }> {
    if (this.closed) throw new Error(CLOSED)
    const reply = await this.send({ id: this.nextId++, op: 'query', sql, params })
    if (!reply.ok) throw rebuilt(reply.error)
    return { rows: reply.rows ?? [], ...(reply.affectedRows !== undefined ? { affectedRows: reply.affectedRows } : {}) }
  }

  /** Closes the database (after the statements already sent) and ends the thread. */
  async close (): Promise<void> {
    if (!this.closed) {
      this.closed = true
      await this.send({ id: this.nextId++, op: 'close' }).catch(() => {})
    }
    // Held until the thread has ended: a caller that closes before exiting means to see it done.
    this.worker.ref()
    await this.exited
  }

  private async send (req: ThreadRequest): Promise<ThreadReply> {
    const answered = this.reply(req.id)
    this.worker.postMessage(req)
    return await answered
  }

  // Waits for reply `id` (the start's is 0, sent unasked). While a reply is awaited the thread keeps
  // the process alive, as a statement in progress on the main thread would; idle, it does not, so a
  // process that forgets to close exits as it did with PGlite on the main thread.
  private async reply (id: number): Promise<ThreadReply> {
    return await new Promise<ThreadReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.ref()
    })
  }

  private idle (): void {
    if (this.pending.size === 0) this.worker.unref()
  }
}
