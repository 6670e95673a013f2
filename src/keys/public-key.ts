import { createPublicKey, type KeyObject } from 'node:crypto'
import { InvalidParameterError } from '../errors.js'

/** Why a PEM was refused; the REST layer turns it into a 422 naming the field. */
export class PublicKeyError extends Error {
  readonly code = 'ERR_PUBLIC_KEY'
}

const PEM = /^-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----\s*$/

/**
 * Parses a user's or a client's public key: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 RSA
 * (`BEGIN RSA PUBLIC KEY`) PEM, holding RSA of 2048 bits or more, EC P-256 or P-384, or Ed25519.
 * A private key is refused even though Node could derive a public key from it: it must never be stored.
 */
export function parsePublicKeyPem (pem: string): KeyObject {
  const text = pem.trim() + '\n'
  const match = PEM.exec(text)
  if (!match) throw new PublicKeyError('must be a PEM public key (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)')
  let key: KeyObject
  try {
    key = createPublicKey({ key: text, format: 'pem' })
  } catch {
    throw new PublicKeyError('is not a readable PEM public key')
  }
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details.modulusLength ?? 0) < 2048) throw new PublicKeyError('RSA keys must have 2048 bits or more')
      return key
    case 'ec':
      if (details.namedCurve !== 'prime256v1' && details.namedCurve !== 'secp384r1') throw new PublicKeyError('EC keys must be on P-256 or P-384')
      return key
    case 'ed25519':
      return key
    default:
      throw new PublicKeyError('must be an RSA, EC (P-256, P-384) or Ed25519 public key')
  }
}

/** The stored form: trimmed, with one trailing newline, line endings normalised. */
export function normalisePem (pem: string): string {
  return pem.replace(/\r\n/g, '\n').trim() + '\n'
}

/**
 * A user's or a client's `public_key` as given to the API, checked: undefined when not given, null
 * to clear it (null or an empty string), otherwise a usable public key, normalised. A key that is
 * not one is a 422 naming `param`.
 */
export function checkedPublicKey (value: string | null | undefined, param = 'public_key'): string | null | undefined {
  if (value === undefined) return undefined
  if (value === null || value.trim() === '') return null
  try {
    parsePublicKeyPem(value)
  } catch (err) {
    if (err instanceof PublicKeyError) throw new InvalidParameterError(param, `${param} ${err.message}`)
    throw err
  }
  return normalisePem(value)
}
