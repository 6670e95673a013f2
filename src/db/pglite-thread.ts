import { Worker } from 'node:worker_threads'
import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult, type TransactionSettings
} from 'kysely'

/** What the database's thread opens: a folder, or (tests) an in-memory copy of a dumped one. */
export interface ThreadStart {
  dataDir?: string
  /** A dump (PGlite's dumpDataDir) to load into memory; copied to the thread, not shared. */
  loadDataDir?: Uint8Array
}

/**
 * A message to the thread: a statement of connection `conn` (`tx` marks the statements that open and
 * end its transaction), a connection let go (no reply), or close.
 */
export type ThreadRequest =
  | { id: number, op: 'query', conn: number, sql: string, params: unknown[], tx?: 'begin' | 'end' }
  | { id: number, op: 'release', conn: number }
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
 * PGlite in a worker thread (pglite-worker.ts): carries each statement across and its rows back
 * (structured clone keeps Date, Uint8Array and bigint as PGlite made them), and PGlite's errors
 * with their fields.
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

  /** Runs one statement of connection `conn` in the thread; PGlite's result shape (rows, affectedRows). */
  async query (conn: number, sql: string, params: readonly unknown[], tx?: 'begin' | 'end'): Promise<{ rows: unknown[], affectedRows?: number }> {
    if (this.closed) throw new Error(CLOSED)
    const reply = await this.send({ id: this.nextId++, op: 'query', conn, sql, params: [...params], ...(tx ? { tx } : {}) })
    if (!reply.ok) throw rebuilt(reply.error)
    return { rows: reply.rows ?? [], ...(reply.affectedRows !== undefined ? { affectedRows: reply.affectedRows } : {}) }
  }

  /** Tells the thread that connection `conn` is let go; nothing to wait for. */
  release (conn: number): void {
    if (!this.closed) this.worker.postMessage({ id: this.nextId++, op: 'release', conn } satisfies ThreadRequest)
  }

  /**
   * Closes the database and ends the thread: after the statements already sent that may run; one
   * that waits for a transaction still open then fails as "PGlite is closed".
   */
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

/** One kysely connection: a number the thread tells statements apart by, nothing held. */
class ThreadConnection implements DatabaseConnection {
  constructor (private readonly thread: PgliteThread, readonly id: number) {}

  async executeQuery<R> (query: CompiledQuery, tx?: 'begin' | 'end'): Promise<QueryResult<R>> {
    const result = await this.thread.query(this.id, query.sql, query.parameters, tx)
    // As kysely-pglite-dialect reports it: a count only when PGlite gives a non-zero one.
    return { rows: result.rows as R[], ...(result.affectedRows ? { numAffectedRows: BigInt(result.affectedRows) } : {}) }
  }

  async * streamQuery<R> (): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on the embedded database')
  }
}

/**
 * kysely's driver for PgliteThread. kysely-pglite-dialect's driver lends its one connection to one
 * caller at a time, so every statement waits for the event loop to hand the connection on: with
 * the database in another thread, that thread then idles while the event loop is busy (signing a
 * token). Here a connection costs nothing, every statement is sent at once, and the thread itself
 * gives a transaction the session to itself (pglite-worker.ts). What callers see is what they saw:
 * a transaction's statements are never interleaved with another's, and one statement runs at a time.
 */
class ThreadDriver implements Driver {
  private nextConn = 1
  constructor (private readonly thread: PgliteThread) {}

  async init (): Promise<void> {}

  async acquireConnection (): Promise<DatabaseConnection> {
    return new ThreadConnection(this.thread, this.nextConn++)
  }

  async beginTransaction (conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const begin = settings.isolationLevel ? `start transaction isolation level ${settings.isolationLevel}` : 'begin'
    await (conn as ThreadConnection).executeQuery(CompiledQuery.raw(begin), 'begin')
  }

  async commitTransaction (conn: DatabaseConnection): Promise<void> {
    await (conn as ThreadConnection).executeQuery(CompiledQuery.raw('commit'), 'end')
  }

  async rollbackTransaction (conn: DatabaseConnection): Promise<void> {
    await (conn as ThreadConnection).executeQuery(CompiledQuery.raw('rollback'), 'end')
  }

  async releaseConnection (conn: DatabaseConnection): Promise<void> {
    this.thread.release((conn as ThreadConnection).id)
  }

  async destroy (): Promise<void> {
    await this.thread.close()
  }
}

/** The kysely dialect of the embedded database in its thread: PostgreSQL's SQL, ThreadDriver. */
export class PgliteThreadDialect implements Dialect {
  constructor (private readonly thread: PgliteThread) {}
  createAdapter () { return new PostgresAdapter() }
  createDriver (): Driver { return new ThreadDriver(this.thread) }
  createQueryCompiler () { return new PostgresQueryCompiler() }
  createIntrospector (db: Kysely<unknown>) { return new PostgresIntrospector(db) }
}
