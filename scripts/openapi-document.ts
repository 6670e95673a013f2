// Builds the OpenAPI document the way the service serves it, for `npm run openapi` and the drift test.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { stringify } from 'yaml'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { connectPglite, type DbHandle } from '../src/db/connect.js'

/** Where the committed copy of the document lives: the repository root. */
export const OPENAPI_YAML = path.join(path.dirname(path.dirname(new URL(import.meta.url).pathname)), 'openapi.yaml')

/** An app built only to describe itself, and how to dispose of it. */
export interface DocumentApp {
  app: FastifyInstance
  close: () => Promise<void>
}

/**
 * Builds the app on an in-memory database (or `db`, which the caller closes) with a fixed config,
 * so the document depends on neither the machine nor PUBLIC_URL. buildApp migrates the database.
 */
export async function buildDocumentApp (db?: DbHandle): Promise<DocumentApp> {
  const dataDir = path.join(os.tmpdir(), 'aoc-openapi-' + randomBytes(4).toString('hex'))
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    BOOTSTRAP: 'false',
    SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    DATA_DIR: dataDir,
    // An app that only describes itself, often on a busy machine: no overload guard to answer 503.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0'
  })
  const handle = db ?? await connectPglite()
  try {
    const app = await buildApp({ config, db: handle })
    await app.ready()
    return {
      app,
      close: async () => {
        await app.close()
        if (!db) await handle.close()
        await fs.rm(dataDir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    if (!db) await handle.close().catch(() => {})
    await fs.rm(dataDir, { recursive: true, force: true })
    throw err
  }
}

/** The document as YAML, exactly as `openapi.yaml` holds it. */
export function documentYaml (doc: unknown): string {
  // A plain JSON round trip drops undefined fields, so YAML and the served JSON say the same thing.
  return stringify(JSON.parse(JSON.stringify(doc)), { lineWidth: 0, aliasDuplicateObjects: false })
}

/** Builds an app, takes its document and closes the app. */
export async function openApiDocument (db?: DbHandle): Promise<Record<string, unknown>> {
  const { app, close } = await buildDocumentApp(db)
  try {
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>
  } finally {
    await close()
  }
}
