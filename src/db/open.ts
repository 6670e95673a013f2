import path from 'node:path'
import type { Config } from '../config.js'
import { connectPglite, connectPgliteWorker, connectPostgres, type DbHandle } from './connect.js'

/**
 * The configured database: PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR/pgdata, in a
 * thread of its own unless EMBEDDED_DB_THREAD=main.
 */
export async function openDatabase (config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolMax' | 'embeddedDbThread'>): Promise<DbHandle> {
  if (config.databaseUrl) return connectPostgres(config.databaseUrl, config.dbPoolMax)
  const dataDir = path.join(config.dataDir, 'pgdata')
  return config.embeddedDbThread === 'main' ? await connectPglite(dataDir) : await connectPgliteWorker({ dataDir })
}
