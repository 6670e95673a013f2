import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

// The format of what the box stores. A ciphertext is `v2.<key id>.<iv>.<ciphertext>.<tag>` and a
// keyed hash `v2.<key id>.<mac>`, base64url parts; the key id names the key of SECRET_ENCRYPTION_KEY
// that made it. Naming the key, rather than trying each key in turn until one opens the box:
// - a read costs one decryption (one HMAC for a hash) however many keys the list holds while a
//   rotation is under way;
// - `aoc-auth keys reencrypt` finds the rows still to rewrite in SQL, by the first key's prefix,
//   without reading and decrypting every row: a second run reads nothing, and "how many rows are
//   left under other keys" is one count (services/secret-encryption.ts);
// - a failure says which it is: a key that the list no longer holds (its id), or a box that was
//   altered or copied to another row (the tag does not match under the key it names).
// The id is 6 bytes of HKDF output under its own label: it tells nothing of the key or of the two
// sub-keys, and every instance derives the same id from the same key with nothing stored.
// The boxes made before the key could rotate (`v1.<iv>.<ciphertext>.<tag>`, a bare `<mac>`) name no
// key; they are opened by trying each key in list order until `keys reencrypt` rewrites them.
const FORMAT = 'v2'
const LEGACY_FORMAT = 'v1'

/** Why a box did not open; `code` is stable, and the message never holds the box or what it seals. */
export type SecretBoxErrorCode =
  /** not something this box makes: truncated, or another format */
  | 'ERR_SECRET_BOX_FORMAT'
  /** made under a key that the list does not hold (removed before `keys reencrypt` ran) */
  | 'ERR_SECRET_BOX_UNKNOWN_KEY'
  /** the tag does not match: altered, moved to another context, or (a v1 box) made under none of the keys */
  | 'ERR_SECRET_BOX_OPEN'

/** A box that does not open. */
export class SecretBoxError extends Error {
  constructor (readonly code: SecretBoxErrorCode, message: string) {
    super(message)
    this.name = 'SecretBoxError'
  }
}

interface BoxKey {
  id: string
  enc: Buffer
  mac: Buffer
}

function boxKey (masterKey: Buffer): BoxKey {
  if (masterKey.length !== 32) throw new Error('the secret encryption key must be 32 bytes')
  const derive = (label: string, bytes: number) => Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, bytes))
  return {
    id: derive('aoc-auth secret key id', 6).toString('base64url'),
    enc: derive('aoc-auth secret encryption', 32),
    mac: derive('aoc-auth secret hash', 32)
  }
}

const IV_BYTES = 12
const TAG_BYTES = 16

function seal (key: BoxKey, plaintext: string, context: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key.enc, iv)
  cipher.setAAD(Buffer.from(context))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [FORMAT, key.id, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
}

/** The plaintext, or undefined when the tag does not match under `key`. */
function open (key: BoxKey, iv: Buffer, ct: Buffer, tag: Buffer, context: string): string | undefined {
  try {
    // authTagLength: a truncated tag is refused, not checked on its fewer bytes.
    const decipher = createDecipheriv('aes-256-gcm', key.enc, iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(context))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

function mac (key: BoxKey, secret: string): Buffer {
  return createHmac('sha256', key.mac).update(secret, 'utf8').digest()
}

/** Whether `storedMac` (base64url) is the MAC of `presented` under `key`, in constant time. */
function macMatches (key: BoxKey, presented: string, storedMac: string): boolean {
  const a = mac(key, presented)
  const b = Buffer.from(storedMac, 'base64url')
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Encrypts secrets at rest with AES-256-GCM and computes keyed hashes for constant-time checks,
 * under a list of keys (SECRET_ENCRYPTION_KEY): the first encrypts and hashes, every one opens what
 * it made. Both sub-keys of a key are derived from it with HKDF, so one key serves both and neither
 * use can be turned against the other.
 */
export class SecretBox {
  private readonly keys: readonly BoxKey[]
  private readonly byId: ReadonlyMap<string, BoxKey>
  /** The id of the first key, which every new box and hash names. */
  readonly keyId: string
  /** How a box or a hash made under the first key begins; `keys reencrypt` rewrites the rows whose value does not. */
  readonly currentPrefix: string

  constructor (keys: Buffer | readonly Buffer[]) {
    const list = Buffer.isBuffer(keys) ? [keys] : keys
    if (list.length === 0) throw new Error('the secret box needs at least one key')
    this.keys = list.map(boxKey)
    this.byId = new Map(this.keys.map((k) => [k.id, k]))
    // 48-bit ids of distinct random keys do not collide in practice; the same key twice does, and is refused.
    if (this.byId.size !== this.keys.length) throw new Error('the secret encryption keys must differ from each other')
    this.keyId = this.keys[0]!.id
    this.currentPrefix = `${FORMAT}.${this.keyId}.`
  }

  /** `v2.<key id>.<iv>.<ciphertext>.<tag>` under the first key; `context` is bound as additional data. */
  encrypt (plaintext: string, context: string): string {
    return seal(this.keys[0]!, plaintext, context)
  }

  /** Throws a SecretBoxError when the box was altered, moved to another context, or made under a key the list lacks. */
  decrypt (box: string, context: string): string {
    const parts = box.split('.')
    const [version] = parts
    if (!parts.every((p) => BASE64URL.test(p))) throw new SecretBoxError('ERR_SECRET_BOX_FORMAT', 'unrecognised secret box')
    let candidates: readonly BoxKey[]
    if (version === FORMAT && parts.length === 5) {
      const key = this.byId.get(parts[1]!)
      if (!key) throw new SecretBoxError('ERR_SECRET_BOX_UNKNOWN_KEY', `the secret was encrypted under key id ${parts[1]!}, which SECRET_ENCRYPTION_KEY does not list`)
      candidates = [key]
    } else if (version === LEGACY_FORMAT && parts.length === 4) {
      candidates = this.keys
    } else {
      throw new SecretBoxError('ERR_SECRET_BOX_FORMAT', 'unrecognised secret box')
    }
    const [iv, ct, tag] = parts.slice(-3).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer]
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('ERR_SECRET_BOX_FORMAT', 'unrecognised secret box')
    for (const key of candidates) {
      const plaintext = open(key, iv, ct, tag, context)
      if (plaintext !== undefined) return plaintext
    }
    throw new SecretBoxError('ERR_SECRET_BOX_OPEN', version === FORMAT
      ? `the secret does not open under its key (id ${parts[1]!}): it was altered, or belongs to another row`
      : 'the secret opens under none of the keys of SECRET_ENCRYPTION_KEY (made before key ids, it names none): ' +
        'it was made under another key, altered, or belongs to another row')
  }

  /** `v2.<key id>.<mac>`: HMAC-SHA256 of the secret under the first key, base64url. */
  hash (secret: string): string {
    return `${this.currentPrefix}${mac(this.keys[0]!, secret).toString('base64url')}`
  }

  /** Compares a presented secret with a stored hash in constant time; false for a hash under a key the list lacks. */
  verify (presented: string, storedHash: string): boolean {
    const parts = storedHash.split('.')
    if (parts.length === 3 && parts[0] === FORMAT) {
      const key = this.byId.get(parts[1]!)
      return key !== undefined && macMatches(key, presented, parts[2]!)
    }
    if (parts.length !== 1) return false
    // A hash from before key ids: every key is tried, all of them, so the time does not say which matched.
    let matched = false
    for (const key of this.keys) matched = macMatches(key, presented, storedHash) || matched
    return matched
  }

  /** Whether a stored box or hash was made under the first key, in the current format: `keys reencrypt` leaves it alone. */
  isCurrent (stored: string): boolean {
    return stored.startsWith(this.currentPrefix)
  }
}
