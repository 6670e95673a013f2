import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, type BuildOptions } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { DbHandle } from '../../src/db/connect.js'
import { loggerOptions } from '../../src/logger.js'
import { issueAccessToken, issuerFor, type IssueInput } from '../../src/oauth/tokens.js'
import { setUpOrganization } from '../../src/services/org-setup.js'
import { createUser, type PublicUser, type UserFields } from '../../src/registry/users.js'
import { testDb } from './db.js'
import { captureLogger, captureText, recordPrivateKey, recordValue, watchCredentials } from './log-capture.js'
import { watchResponses } from './openapi-hook.js'
import type { AuditSource } from '../../src/registry/audit-events.js'

/** A test key: 32 fixed bytes, so nothing here depends on DATA_DIR. */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64')

/** The config tests build apps from; `env` overrides any variable. */
export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({
    PUBLIC_URL: 'http://localhost:3000',
    LOG_LEVEL: 'silent',
    BOOTSTRAP: 'false',
    SECRET_ENCRYPTION_KEY: TEST_SECRET_KEY,
    // The suite shares two cores with its own parallel files: a starved test process sees event-loop
    // delays of seconds that are no overload of the server's. test/plugins/overload.test.ts turns it on.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    DATA_DIR: path.join(os.tmpdir(), 'aoc-test-' + randomBytes(4).toString('hex')),
    ...env
  })
}

interface Tap { teardown: (fn: () => unknown) => void }

export interface TestApp {
  app: FastifyInstance
  handle: DbHandle
  config: Config
}

/**
 * buildApp for a test: when the log capture is on (log-capture.ts), an app given no logger logs into
 * the capture, and the credentials that pass through it are recorded for the log scan. Every
 * response it sends is checked against openapi.yaml (openapi-hook.ts).
 */
export async function buildAppForTest (opts: BuildOptions): Promise<FastifyInstance> {
  const logger = opts.logger ?? captureLogger()
  const app = await buildApp({ ...opts, ...(logger !== undefined ? { logger } : {}) })
  watchCredentials(app)
  watchResponses(app)
  return app
}

/** Builds the app on this file's database (one per file: PGlite takes seconds to start); `logger` as buildApp takes it. */
export async function buildTestApp (t: Tap, env: Record<string, string> = {}, logger?: BuildOptions['logger']): Promise<TestApp> {
  const handle = await testDb()
  const config = testConfig(env)
  const app = await buildAppForTest({ config, db: handle, ...(logger !== undefined ? { logger } : {}) })
  t.teardown(async () => {
    await app.close()
    await handle.close()
    await fs.rm(config.dataDir, { recursive: true, force: true })
  })
  return { app, handle, config }
}

/**
 * buildTestApp with the app's own logger at `level`, writing into memory: `lines` is every line logged,
 * as written (JSON text). The lines go to the log capture too, at the test's level (which its
 * assertions count on).
 */
export async function buildLoggingTestApp (t: Tap, level: string, env: Record<string, string> = {}): Promise<TestApp & { lines: string[] }> {
  const { logger, lines } = memoryLogger(level)
  return { ...await buildTestApp(t, env, logger), lines }
}

/** The app's own logger options at `level`, writing into `lines` (and into the log capture). */
export function memoryLogger (level: string): { logger: NonNullable<BuildOptions['logger']>, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      captureText(String(chunk))
      done()
    }
  })
  return { logger: { ...loggerOptions(level), stream }, lines }
}

/** A token issued straight from the key store (never through a response), recorded for the log scan. */
function recordedToken (token: string): string {
  recordValue('access_token', token)
  return token
}

/** An organization with an admin, and helpers to make users and tokens in it. */
export interface TestOrg {
  orgId: string
  orgName: string
  admin: PublicUser
  clientId: string
  clientSecret: string
  /** An admin token (scope admin:all). */
  adminToken: string
  /**
   * A token signed by the app's keys as the JWT bearer grant issues it: by default the org's admin's,
   * through the org's client, admin:all for 600 s; `fields` override any of it (tokens to refuse).
   */
  issue: (fields?: Partial<IssueInput>) => Promise<string>
  /** A token for any user of the org, with the given scope (default user:all). */
  tokenFor: (user: Pick<PublicUser, 'id' | 'email'>, scope?: string, ttl?: number) => Promise<string>
  /** A new user; returns it with a user:all token. */
  newUser: (fields?: UserFields) => Promise<{ user: PublicUser, token: string }>
}

/** A fresh organization with a random name, so test files can share a database without seeing each other. */
export async function newOrg (ta: TestApp, name = 'org-' + randomBytes(4).toString('hex')): Promise<TestOrg> {
  const { app, config } = ta
  const { org, admin, client } = await setUpOrganization(app.ctx.db, app.ctx.box, {
    orgName: name, adminEmail: `admin@${name}.example.com`, clientName: 'test client'
  }, { actor: { type: 'system' }, log: { info: () => {} } })
  const issue = async (fields: Partial<IssueInput> = {}) => recordedToken((await issueAccessToken(app.ctx.keys, {
    issuer: issuerFor(config.publicUrl, org.name),
    audience: config.accessTokenAudience,
    email: admin.email,
    userId: admin.id,
    organizationId: org.id,
    clientId: client!.id,
    scope: 'admin:all',
    ttl: 600,
    grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ...fields
  })).token)
  const tokenFor = async (user: Pick<PublicUser, 'id' | 'email'>, scope = 'user:all', ttl = 600) =>
    await issue({ email: user.email, userId: user.id, scope, ttl })
  recordValue('client_secret', client!.secret)
  let n = 0
  return {
    orgId: org.id,
    orgName: org.name,
    admin,
    clientId: client!.id,
    clientSecret: client!.secret!, // setUpOrganization registers a confidential client
    adminToken: await tokenFor(admin, 'admin:all'),
    issue,
    tokenFor,
    newUser: async (fields = {}) => {
      const user = await createUser(app.ctx.db, org.id, { email: `user${++n}-${randomBytes(3).toString('hex')}@${name}.example.com`, ...fields })
      return { user, token: await tokenFor(user) }
    }
  }
}

/**
 * Waits until a token issued now is after the user's token cut-off (set at its last deactivation):
 * `iat` has whole seconds, so until the second after the cut-off's.
 */
export async function pastCutOff (ta: TestApp, userId: string): Promise<void> {
  const { tokens_valid_after: cutOff } = await ta.app.ctx.db.selectFrom('users').select('tokens_valid_after')
    .where('id', '=', userId).executeTakeFirstOrThrow()
  if (!cutOff) throw new Error('the user has no token cut-off')
  const wait = (Math.floor(cutOff.getTime() / 1000) + 1) * 1000 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
}

/** `app.inject` with a Bearer token and a JSON body. */
export async function call (app: FastifyInstance, token: string | undefined, method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse> {
  return await app.inject({
    method,
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body !== undefined ? { payload: body as Record<string, unknown> } : {})
  })
}

/** Public keys for tests, by kind (a private key given is recorded for the log scan). */
export function pem (key: KeyObject, type: 'spki' | 'pkcs1' = 'spki'): string {
  recordPrivateKey(key)
  return key.export({ type, format: 'pem' }).toString()
}

export function rsaPublicPem (bits = 2048, type: 'spki' | 'pkcs1' = 'spki'): string {
  return pem(generateKeyPairSync('rsa', { modulusLength: bits }).publicKey, type)
}

/** Who a test's direct call to a service acts as: the system, logging nowhere. */
export function systemSource (orgId: string): AuditSource {
  return { organizationId: orgId, actor: { type: 'system' }, log: { info: () => {} } }
}
