// The capture behind the log scan. With TEST_LOG_CAPTURE_DIR set (scripts/test.mjs sets it for the
// whole run), every app the tests build logs at CAPTURE_LEVEL, through the app's own logger options
// (so their redaction is what the scan tests), into <dir>/<process>.log; and every credential the
// tests create or the server hands out is recorded into <dir>/<process>.values. After the run,
// log-scan.ts searches every recorded value in every captured line. Unset, nothing here does a thing
// and the apps stay silent.
import { createPrivateKey, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { pino } from 'pino'
import { SIGNING_KEY_BOX_CONTEXT } from '../../src/keys/signing-keys.js'
import { loggerOptions } from '../../src/logger.js'
import { LOG_SUFFIX, MIN_VALUE_LENGTH, VALUES_SUFFIX } from './log-scan.js'

export const CAPTURE_DIR = process.env.TEST_LOG_CAPTURE_DIR || undefined

/**
 * debug: fastify's request lines are info, and the app logs nothing at trace of its own (fastify's
 * trace line for a client error holds no request data), so trace would add volume, not coverage.
 */
export const CAPTURE_LEVEL = 'debug'

// One pair of files per test process (the pid alone could be reused within a long run).
const stem = CAPTURE_DIR ? path.join(CAPTURE_DIR, `${process.pid}-${randomBytes(3).toString('hex')}`) : ''

let stream: pino.DestinationStream | undefined
/** Synchronous appends: a test process may end (or be killed by tap's timeout) right after a line. */
function captureStream (): pino.DestinationStream {
  stream ??= pino.destination({ dest: stem + LOG_SUFFIX, sync: true, append: true, mkdir: true })
  return stream
}

/** The LOG_LEVEL a child process (server, CLI) gets: CAPTURE_LEVEL when capturing, else the test's own. */
export function captureLevel (level: string): string {
  return CAPTURE_DIR ? CAPTURE_LEVEL : level
}

/** The logger option of an app built while capturing; undefined otherwise (the config's level: silent). */
export function captureLogger (): FastifyServerOptions['logger'] | undefined {
  return CAPTURE_DIR ? { ...loggerOptions(CAPTURE_LEVEL), stream: captureStream() } : undefined
}

/** Appends log text that did not go through captureLogger (an in-memory test logger, a child's output). */
export function captureText (text: string): void {
  if (!CAPTURE_DIR || !text) return
  captureStream().write(text.endsWith('\n') ? text : text + '\n')
}

/** What a recorded value is, as the scan reports it. */
export type ValueKind = 'client_secret' | 'password' | 'private_key' | 'assertion' | 'access_token' | 'refresh_token' |
  'token' | 'code' | 'code_verifier' | 'csrf_token' | 'cookie' | 'encryption_key'

const recorded = new Set<string>()

// A password that is an e-mail address (users.test sets a user's former address as its password) is
// no secret the log could keep: addresses are logged by design, the audit trail names users by them.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** Records a credential for the scan; values shorter than MIN_VALUE_LENGTH are left out (they would match by chance). */
export function recordValue (kind: ValueKind, value: unknown): void {
  if (!CAPTURE_DIR || typeof value !== 'string' || value.length < MIN_VALUE_LENGTH || recorded.has(value)) return
  if (kind === 'password' && EMAIL.test(value)) return
  recorded.add(value)
  if (recorded.size === 1) fs.mkdirSync(CAPTURE_DIR, { recursive: true })
  fs.appendFileSync(stem + VALUES_SUFFIX, JSON.stringify({ kind, value }) + '\n')
}

const PRIVATE_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----([\s\S]*?)-----END/g

/**
 * Records the body lines of every private-key PEM in `text`: a whole PEM spans lines, which the scan
 * never matches, and any base64 of the same DER holds each 64-character line at the same offset.
 */
export function recordPemsIn (text: string): void {
  for (const m of text.matchAll(PRIVATE_PEM)) {
    for (const line of m[1]!.split(/\r?\n/)) if (!line.includes(':')) recordValue('private_key', line.trim())
  }
}

/** Records a private key as PEM (PKCS#8 and the key type's own format, whose base64 differs) and its JWK `d`. */
export function recordPrivateKey (key: KeyObject): void {
  if (!CAPTURE_DIR || key.type !== 'private') return
  recordPemsIn(key.export({ type: 'pkcs8', format: 'pem' }).toString())
  if (key.asymmetricKeyType === 'rsa') recordPemsIn(key.export({ type: 'pkcs1', format: 'pem' }).toString())
  if (key.asymmetricKeyType === 'ec') recordPemsIn(key.export({ type: 'sec1', format: 'pem' }).toString())
  recordValue('private_key', key.export({ format: 'jwk' }).d)
}

/** Request, response and URL fields that carry a credential, by kind. */
const FIELD_KINDS: Record<string, ValueKind> = {
  password: 'password',
  current_password: 'password',
  new_password: 'password',
  admin_password: 'password',
  client_secret: 'client_secret',
  secret: 'client_secret',
  assertion: 'assertion',
  client_assertion: 'assertion',
  access_token: 'access_token',
  refresh_token: 'refresh_token',
  token: 'token',
  code: 'code',
  code_verifier: 'code_verifier',
  _csrf: 'csrf_token'
}
const MAX_DEPTH = 8

/** Records the credential fields of a body, query or JSON answer at any depth, and any private-key PEM in it. */
export function recordFields (value: unknown, depth = 0): void {
  if (!CAPTURE_DIR || depth > MAX_DEPTH) return
  if (typeof value === 'string') {
    if (value.includes('PRIVATE KEY')) recordPemsIn(value)
    return
  }
  if (value === null || typeof value !== 'object') return
  for (const [k, v] of Object.entries(value)) {
    const kind = FIELD_KINDS[k.toLowerCase()]
    if (kind !== undefined) recordValue(kind, v)
    recordFields(v, depth + 1)
  }
}

/** Records what a CLI or a script printed as JSON (a created client's secret...); other text is ignored. */
export function recordJsonOutput (text: string): void {
  if (!CAPTURE_DIR) return
  try { recordFields(JSON.parse(text)) } catch {}
}

/** The bearer token, or the secret of Basic credentials (RFC 6749 §2.3.1: form-encoded before base64). */
function recordAuthorization (header: string | undefined): void {
  const [scheme, credentials] = header?.split(' ') ?? []
  if (!credentials) return
  if (/^bearer$/i.test(scheme!)) recordValue('access_token', credentials)
  if (/^basic$/i.test(scheme!)) {
    const decoded = Buffer.from(credentials, 'base64').toString()
    const secret = decoded.slice(decoded.indexOf(':') + 1)
    recordValue('client_secret', secret)
    try { recordValue('client_secret', decodeURIComponent(secret.replace(/\+/g, ' '))) } catch {}
  }
}

/** Cookie values: the browser session, the CSRF secret. */
function recordCookies (pairs: Array<string | undefined>): void {
  for (const pair of pairs) {
    const eq = pair?.indexOf('=') ?? -1
    if (eq > 0) recordValue('cookie', pair!.slice(eq + 1).split(';')[0]!.trim())
  }
}

/**
 * Records, while capturing, the credentials that pass through `app`: sent in headers, queries and
 * bodies (whatever a test sends, through any helper or none), and handed out in JSON answers,
 * redirects (codes) and cookies. When the app closes, its signing keys (generated by the app
 * itself, stored encrypted) and its encryption key are recorded too.
 */
export function watchCredentials (app: FastifyInstance): void {
  if (!CAPTURE_DIR) return
  app.addHook('onRequest', async (request) => {
    recordAuthorization(request.headers.authorization)
    recordCookies((request.headers.cookie ?? '').split(';'))
    recordFields(request.query)
  })
  app.addHook('preValidation', async (request) => { recordFields(request.body) })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (typeof payload === 'string' && payload.length < 1_000_000 && /json/.test(String(reply.getHeader('content-type')))) recordJsonOutput(payload)
    return payload
  })
  // After onSend, so the cookie plugin has written its Set-Cookie headers.
  app.addHook('onResponse', async (_request, reply) => {
    const location = reply.getHeader('location')
    if (typeof location === 'string') recordFields(Object.fromEntries(new URL(location, 'http://localhost').searchParams))
    recordCookies([reply.getHeader('set-cookie')].flat().map((c) => typeof c === 'string' ? c : undefined))
  })
  app.addHook('onClose', async () => {
    for (const key of app.ctx.config.secretEncryptionKeys ?? []) {
      for (const encoding of ['base64', 'base64url', 'hex'] as const) recordValue('encryption_key', key.toString(encoding))
    }
    try {
      const rows = await app.ctx.db.selectFrom('signing_keys').select(['kid', 'private_jwk_encrypted']).execute()
      for (const r of rows) {
        const jwk = JSON.parse(app.ctx.box.decrypt(r.private_jwk_encrypted, SIGNING_KEY_BOX_CONTEXT + r.kid)) as JsonWebKey
        recordPrivateKey(createPrivateKey({ key: jwk, format: 'jwk' }))
      }
    } catch {} // a database a test already closed: its keys cannot be read back, and the scan goes without them
  })
}
