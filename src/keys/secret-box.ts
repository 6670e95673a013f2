import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

const VERSION = 'v1'

/**
 * Encrypts secrets at rest with AES-256-GCM and computes keyed hashes for constant-time checks.
 * Both sub-keys are derived from the one configured key with HKDF, so one variable serves both
 * and neither use can be turned against the other.
 */
export class SecretBox {
  private readonly encKey: Buffer
  private readonly macKey: Buffer

  constructor (masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the secret encryption key must be 32 bytes')
    this.encKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'aoc-auth secret encryption', 32))
    this.macKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'aoc-auth secret hash', 32))
  }

  /** `v1.<iv>.<ciphertext>.<tag>`, base64url parts; `context` is bound as additional data. */
  encrypt (plaintext: string, context: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv)
    cipher.setAAD(Buffer.from(context))
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [VERSION, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
  }

  /** Throws when the ciphertext was altered, moved to another context, or made under another key. */
  decrypt (box: string, context: string): string {
    const [version, iv, ct, tag] = box.split('.')
    if (version !== VERSION || iv === undefined || ct === undefined || tag === undefined) throw new Error('unrecognised secret box')
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64url'))
    decipher.setAAD(Buffer.from(context))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8')
  }

  /** HMAC-SHA256 of the secret, base64url. */
  hash (secret: string): string {
    return createHmac('sha256', this.macKey).update(secret, 'utf8').digest('base64url')
  }

  /** Compares a presented secret with a stored hash in constant time. */
  verify (presented: string, storedHash: string): boolean {
    const a = createHmac('sha256', this.macKey).update(presented, 'utf8').digest()
    const b = Buffer.from(storedHash, 'base64url')
    return a.length === b.length && timingSafeEqual(a, b)
  }
}
