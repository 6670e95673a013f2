import { createHash, randomBytes } from 'node:crypto'

/**
 * Opaque secrets handed to a browser or a client (session cookies, authorization codes, refresh
 * tokens): 32 random bytes as base64url. Only their SHA-256 is stored, so reading the database
 * gives nothing that can be presented back; 256 random bits need no salt or slow hash.
 */
export function newOpaqueSecret (): string {
  return randomBytes(32).toString('base64url')
}

/** The stored form of an opaque secret. */
export function hashOpaque (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/** An opaque secret as this server makes them: 43 base64url characters. Anything else is not ours. */
export function looksOpaque (value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value)
}
