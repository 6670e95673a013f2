import { sql, type Kysely } from 'kysely'
import type { Database } from './schema.js'

/** Resolves when the database answers a trivial statement within `timeoutMs`; rejects otherwise. */
export async function pingDatabase (db: Kysely<Database>, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      sql`select 1`.execute(db),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('database timeout')), timeoutMs) })
    ])
  } finally {
    clearTimeout(timer)
  }
}
