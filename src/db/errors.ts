/** PostgreSQL SQLSTATE codes we turn into domain errors; pg and PGlite both expose `code`. */
export function isUniqueViolation (err: unknown): err is { code: string, constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505'
}

export function isForeignKeyViolation (err: unknown): err is { code: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23503'
}

/**
 * Text PostgreSQL refuses to store: 22021 (a NUL byte in text) and 22P05 (`\u0000` in jsonb).
 * The caller sent it, so it is the caller's error, not the server's.
 */
export function isUnstorableText (err: unknown): err is { code: string } {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  return code === '22021' || code === '22P05'
}

/**
 * The statement ran past statement_timeout (SQLSTATE 57014 with the server's own message). 57014 is
 * also a cancel someone asked for (pg_cancel_backend, a client's cancel request), which is no sign
 * of a slow database and stays a 500; a shutdown is 57P01, which isDatabaseUnavailable covers.
 */
export function isStatementTimeout (err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown, message?: unknown }
  return code === '57014' && typeof message === 'string' && /statement timeout/.test(message)
}

// Socket errors of a server that is down, restarting or unreachable.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
// pg's own messages for a connection that ended, or a pool that found none in time; PGlite's for an
// embedded database closed or closing, and kysely's for a handle whose pool or PGlite was closed
// (DbHandle.close): the process is stopping, and another instance may answer the retry.
const DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|PGlite is clos(ed|ing)$|driver has already been destroyed$)/

/**
 * The database is not there, rather than the statement being wrong: a refused or broken
 * connection, SQLSTATE class 08 (connection exception), 57P01-57P03 (the server shutting down,
 * crashed or starting up), 53300 (too many connections), or a database handle that is closed. Such
 * a request may succeed when retried.
 */
export function isDatabaseUnavailable (err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown, message?: unknown }
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300')) return true
    if (typeof message === 'string' && DRIVER_MESSAGES.test(message)) return true
  }
  return false
}
