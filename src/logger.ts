import { stdSerializers, type LoggerOptions } from 'pino'
import { OAUTH_BASE } from './paths.js'

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g

/** Field names whose values never reach the log, wherever they appear. */
export const REDACTED_FIELDS = ['client_secret', 'assertion', 'password', 'current_password', 'new_password', 'secret', 'refresh_token', 'access_token', 'private_key', 'admin_password', 'code_verifier', '_csrf']

// Header names too, for a handler that logs a raw headers object.
const CENSORED = new Set([...REDACTED_FIELDS, 'authorization', 'cookie', 'set-cookie'])
const MAX_DEPTH = 8

/**
 * Censors credential fields and PEM blocks at any depth. pino's own `redact` only reaches the
 * paths it is given, so a secret two objects down would slip past it.
 */
function scrub (value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('-----BEGIN') ? value.replace(PEM_BLOCK, '[PEM redacted]') : value
  if (value === null || typeof value !== 'object' || value instanceof Error) return value
  // Deeper than any log line of ours: drop it rather than walk it unchecked (or loop on a cycle).
  if (depth >= MAX_DEPTH) return '[truncated]'
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (CENSORED.has(k.toLowerCase())) out[k] = '[redacted]'
    // req, res and err have pino serializers of their own, which must see the original objects.
    else if (depth === 0 && (k === 'req' || k === 'res' || k === 'err')) out[k] = v
    else out[k] = scrub(v, depth + 1)
  }
  return out
}

/** Paths whose whole query is kept from the log: the OAuth endpoints and pages (codes, states, challenges). */
const OAUTH_PATH = new RegExp(`^(?:${OAUTH_BASE}/|/\\.well-known/oauth-authorization-server)`)
const CREDENTIAL_PARAM = new Set([...REDACTED_FIELDS, 'code', 'token', 'client_assertion'])

/**
 * A request URL as it may be logged: under the OAuth paths every query value is replaced, elsewhere
 * the values of credential parameters; the names stay, for debugging. A client that puts a secret
 * in a URL (which the token endpoint then refuses) must not get it written to the log first.
 */
export function loggableUrl (url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const path = url.slice(0, q)
  const all = OAUTH_PATH.test(path)
  const parts = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    if (eq < 0) return pair
    let name = pair.slice(0, eq)
    try { name = decodeURIComponent(name.replace(/\+/g, ' ')) } catch {}
    return all || CREDENTIAL_PARAM.has(name.toLowerCase()) ? `${pair.slice(0, eq)}=[redacted]` : pair
  })
  return `${path}?${parts.join('&')}`
}

interface LoggedRequest { method: string, url: string, host?: string, ip?: string, socket?: { remotePort?: number } }

/** fastify's request serializer, with the URL made loggable. */
function serializeRequest (req: LoggedRequest): Record<string, unknown> {
  return { method: req.method, url: loggableUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }
}

// What an error may show in the log. Database errors carry the statement's `params` (PGlite) and a
// `detail` that quotes the offending values ("Key (secret_hash)=(...)"): an insert that fails would
// otherwise log a password hash or a client secret's ciphertext. So only these fields pass.
const ERROR_FIELDS = ['type', 'message', 'stack', 'code', 'statusCode', 'name', 'severity', 'constraint', 'table', 'column', 'routine']

type SerializedError = Record<string, unknown>

/** pino's error serializer, kept to ERROR_FIELDS, for the error and its causes. */
export function serializeError (err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return scrub(err)
  const full = stdSerializers.err(err) as unknown as SerializedError
  const out: SerializedError = {}
  for (const field of ERROR_FIELDS) {
    const v = full[field]
    if (v !== undefined) out[field] = typeof v === 'string' ? scrub(v) : v
  }
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1)
  return out
}

/**
 * pino options: the level, request ids (from Fastify), and redaction of credentials and PEMs (`scrub`).
 * `fields` adds fields to every line (the trace ids, when tracing is on: src/tracing.ts); they
 * pass through the same redaction as the rest of the line.
 */
export function loggerOptions (level: string, fields?: () => Record<string, unknown>): LoggerOptions {
  return {
    level,
    ...(fields !== undefined ? { mixin: fields } : {}),
    // No pino `redact`: `scrub` below already censors these names at every depth, and pino's path
    // redaction cost 5 % of the server's CPU at the token endpoint's rate (issue 14's profile).
    // The request serializer logs no headers at all.
    serializers: { err: (err: unknown) => serializeError(err), req: serializeRequest },
    formatters: { log: (obj) => scrub(obj) as Record<string, unknown> }
  }
}

interface WarnLog { warn: (obj: object, msg: string) => void }

/**
 * A condition that every request meets while it lasts (the database down) is logged at warn level
 * at most once a `periodMs`, with the number of occurrences left out since the last line, rather
 * than once per request: an outage under load must not flood the log (docs/operations.md).
 */
export class ThrottledWarning {
  private last = -Infinity
  private skipped = 0

  constructor (private readonly periodMs = 1000, private readonly now: () => number = () => performance.now()) {}

  warn (log: WarnLog, obj: object, msg: string): void {
    const t = this.now()
    if (t - this.last < this.periodMs) {
      this.skipped++
      return
    }
    this.last = t
    log.warn({ ...obj, left_out: this.skipped }, msg)
    this.skipped = 0
  }
}
