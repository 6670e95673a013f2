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
