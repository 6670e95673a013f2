import { randomBytes } from 'node:crypto'

/**
 * A new opaque id: 16 random bytes as base64url (22 characters). Safe in a URL path unencoded, as
 * ascli puts ids in paths as they are (docs/aoc-compatibility.md §9).
 */
export function newId (): string {
  return randomBytes(16).toString('base64url')
}

/** A client secret: 32 random bytes (256 bits) as base64url, so HTTP Basic reads it the same form-encoded or not. */
export function newClientSecret (): string {
  return randomBytes(32).toString('base64url')
}

/** What any id given to us may look like (the REST schemas use these too): URL-safe, at most 64 characters. */
export const ID_PATTERN = '^[A-Za-z0-9_-]+$'
export const ID_MAX_LENGTH = 64

const ID_SHAPE = new RegExp(ID_PATTERN)

/**
 * Whether `value` could be an id of ours. A caller-given id of any other shape names nothing, so it
 * can be refused before a lookup: a NUL byte, for one, would otherwise reach PostgreSQL and fail
 * the statement.
 */
export function isIdShaped (value: string): boolean {
  return value.length <= ID_MAX_LENGTH && ID_SHAPE.test(value)
}
