import { randomBytes } from 'node:crypto'

/**
 * A new opaque id: 16 random bytes as base64url (22 characters). Safe in a URL path unencoded, as
 * ascli puts ids in paths as they are (reference §9).
 */
export function newId (): string {
  return randomBytes(16).toString('base64url')
}

/** A client secret: 32 random bytes (256 bits) as base64url, so HTTP Basic reads it the same form-encoded or not. */
export function newClientSecret (): string {
  return randomBytes(32).toString('base64url')
}

const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Whether `value` could be an id of ours (the REST routes' id pattern). A caller-given id of any
 * other shape names nothing, so it can be refused before a lookup: a NUL byte, for one, would
 * otherwise reach PostgreSQL and fail the statement.
 */
export function isIdShaped (value: string): boolean {
  return ID_SHAPE.test(value)
}
