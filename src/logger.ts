import type { LoggerOptions } from 'pino'

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g

/** Replaces any PEM block inside strings, however deep, so no key reaches the log. */
function scrubPem (value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('-----BEGIN') ? value.replace(PEM_BLOCK, '[PEM redacted]') : value
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => scrubPem(v, depth + 1))
  if (value instanceof Error) return value
  const out: Record<string, unknown> = {}
  // req, res and err have pino serializers of their own, which must see the original objects.
  for (const [k, v] of Object.entries(value)) out[k] = depth === 0 && (k === 'req' || k === 'res' || k === 'err') ? v : scrubPem(v, depth + 1)
  return out
}

/** Field names whose values never reach the log, wherever they appear. */
export const REDACTED_FIELDS = ['client_secret', 'assertion', 'password', 'secret', 'refresh_token', 'access_token', 'private_key', 'admin_password']

/** pino options: the level, request ids (from Fastify), and redaction of credentials and PEMs. */
export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
        ...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`)
      ],
      censor: '[redacted]'
    },
    formatters: { log: (obj) => scrubPem(obj) as Record<string, unknown> }
  }
}
