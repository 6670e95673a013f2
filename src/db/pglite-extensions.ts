import { pg_trgm as pgTrgm } from '@electric-sql/pglite/contrib/pg_trgm'

/**
 * The extensions the migrations create (pg_trgm: 0008's trigram indexes for `?q=`). PGlite loads an
 * extension only when it is named at creation, so every PGlite.create passes these, a loaded
 * data directory included. A file of its own so that the database's thread (pglite-worker.ts)
 * loads no more than PGlite.
 */
export const PGLITE_EXTENSIONS = { pg_trgm: pgTrgm }
