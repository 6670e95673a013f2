import path from 'node:path'
import type { Config } from '../config.js'
import { connectPglite, connectPostgres, type DbHandle } from './connect.js'

/** The configured database: PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR/pgdata. */
export async function openDatabase (config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolMax'>): Promise<DbHandle> {
  if (config.databaseUrl) return connectPostgres(config.databaseUrl, config.dbPoolMax)
  return connectPglite(path.join(config.dataDir, 'pgdata'))
}
