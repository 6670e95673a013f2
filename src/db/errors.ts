/** PostgreSQL SQLSTATE codes we turn into domain errors; pg and PGlite both expose `code`. */
export function isUniqueViolation (err: unknown): err is { code: string, constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505'
}

export function isForeignKeyViolation (err: unknown): err is { code: string } {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23503'
}
