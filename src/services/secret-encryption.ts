// `aoc-auth keys reencrypt` (docs/operations.md, "Rotating the secret-encryption key"): every client
// secret and private signing key rewritten under the first key of SECRET_ENCRYPTION_KEY, while
// instances serve. Each table's owner finds the rows whose value does not carry the first key's id
// (keys/secret-box.ts), and replaces them conditionally: a row a server changed between the read
// and the write is read again, never overwritten with what was read. So a second run finds nothing,
// and two runs at once only make each other re-read.
import { resealClientSecret } from '../registry/clients.js'
import { resealPrivateKey } from '../keys/signing-keys.js'
import { SecretBoxError, type SecretBox } from '../keys/secret-box.js'
import type { AuditSource } from '../registry/audit-events.js'
import * as clients from '../store/clients.js'
import type { Db } from '../store/db.js'
import * as signingKeys from '../store/signing-keys.js'
import { audited } from './audit.js'

/** Rows per transaction: short locks on the rows a server may be changing, and few round trips. */
export const REENCRYPT_BATCH = 500

/** Times a row that keeps changing under the command is read again, in one batch, before it gives up. */
const MAX_REREADS = 5

/** The two kinds of rows that hold ciphertext, by the name the report gives them. */
export type SealedKindName = 'client_secrets' | 'signing_keys'

/** What one kind's owners do for the command, with the row's id as an error names it. */
export interface SealedKind<Row> {
  name: SealedKindName
  /** The row as a message names it: its kind and id, never its content. */
  describe: (id: string) => string
  idOf: (row: Row) => string
  /** Whether every sealed value of the row is under the box's first key. */
  isCurrent: (box: SecretBox, row: Row) => boolean
  next: (db: Db, prefix: string, afterId: string, limit: number) => Promise<Row[]>
  reread: (db: Db, ids: readonly string[]) => Promise<Row[]>
  reseal: (box: SecretBox, row: Row) => Row
  /** Writes `next` where the row still is `read`; answers the ids written. */
  replace: (db: Db, rows: ReadonlyArray<{ read: Row, next: Row }>) => Promise<Set<string>>
  remaining: (db: Db, prefix: string) => Promise<number>
}

/** Client secrets: the ciphertext and the keyed hash, rewritten together. */
export const CLIENT_SECRETS: SealedKind<clients.SealedClientSecret> = {
  name: 'client_secrets',
  describe: (id) => `the secret of client ${id}`,
  idOf: (row) => row.id,
  isCurrent: (box, row) => box.isCurrent(row.secret_encrypted) && box.isCurrent(row.secret_hash),
  next: clients.listClientSecretsNotUnder,
  reread: clients.findClientSecrets,
  reseal: resealClientSecret,
  replace: clients.replaceClientSecrets,
  remaining: clients.countClientSecretsNotUnder
}

/** The private halves of the server's signing keys. */
export const SIGNING_KEYS: SealedKind<signingKeys.SealedSigningKey> = {
  name: 'signing_keys',
  describe: (kid) => `the private key of signing key ${kid}`,
  idOf: (row) => row.kid,
  isCurrent: (box, row) => box.isCurrent(row.private_jwk_encrypted),
  next: signingKeys.listSigningKeysNotUnder,
  reread: signingKeys.findSealedSigningKeys,
  reseal: resealPrivateKey,
  replace: signingKeys.replaceSealedSigningKeys,
  remaining: signingKeys.countSigningKeysNotUnder
}

/** A stored ciphertext that no configured key opens; the message names the row and the box's reason, never a secret. */
export class UnreadableSecretError extends Error {
  readonly code = 'ERR_SECRET_UNREADABLE'
  constructor (readonly kind: SealedKindName, readonly rowId: string, description: string, reason: SecretBoxError) {
    super(`cannot re-encrypt ${description}: ${reason.message}. ` +
      'Add the key it was made under to SECRET_ENCRYPTION_KEY (after the first), or delete the row, then run the command again')
    this.name = 'UnreadableSecretError'
  }
}

/** Rows left under other keys after a full pass: written meanwhile by an instance whose first key is another one. */
export class ReencryptIncompleteError extends Error {
  readonly code = 'ERR_REENCRYPT_INCOMPLETE'
  constructor (message: string) {
    super(message)
    this.name = 'ReencryptIncompleteError'
  }
}

/** What one kind's pass did. */
export interface KindCounts {
  /** rows rewritten under the first key */
  rewritten: number
  /** rows a server changed between the command's read and its write: read again (and rewritten when still needed) */
  reread: number
}

/** The command's report, printed as JSON. */
export interface ReencryptReport {
  /** the first key's id, which every client secret and private key now names */
  key_id: string
  client_secrets: KindCounts
  signing_keys: KindCounts
}

function resealed<Row> (box: SecretBox, kind: SealedKind<Row>, row: Row): Row {
  try {
    return kind.reseal(box, row)
  } catch (err) {
    if (err instanceof SecretBoxError) throw new UnreadableSecretError(kind.name, kind.idOf(row), kind.describe(kind.idOf(row)), err)
    throw err
  }
}

/**
 * Rewrites `rows` (as read in this transaction) under the box's first key, each only where it is
 * still what was read. A row that changed meanwhile is read again: under the first key already (a
 * server rotated the secret), it is left; otherwise it is rewritten from what it holds now.
 */
export async function rewriteBatch<Row> (trx: Db, box: SecretBox, kind: SealedKind<Row>, rows: readonly Row[]): Promise<KindCounts> {
  const counts: KindCounts = { rewritten: 0, reread: 0 }
  let pending = rows.filter((row) => !kind.isCurrent(box, row))
  for (let reads = 0; pending.length > 0; reads++) {
    if (reads > MAX_REREADS) {
      throw new ReencryptIncompleteError(`${kind.describe(kind.idOf(pending[0]!))} changed ${MAX_REREADS} times while it was being rewritten; run the command again`)
    }
    const writes = pending.map((read) => ({ read, next: resealed(box, kind, read) }))
    const written = await kind.replace(trx, writes)
    counts.rewritten += written.size
    const missed = writes.map((w) => kind.idOf(w.read)).filter((id) => !written.has(id))
    counts.reread += missed.length
    // Read committed: this statement sees what the other transaction committed.
    pending = (await kind.reread(trx, missed)).filter((row) => !kind.isCurrent(box, row))
  }
  return counts
}

/** One kind, in batches of `batchSize` rows in id order, one transaction each; then a count of what is left. */
async function reencryptKind<Row> (db: Db, box: SecretBox, kind: SealedKind<Row>, batchSize: number): Promise<KindCounts> {
  const total: KindCounts = { rewritten: 0, reread: 0 }
  let after = ''
  for (;;) {
    const { read, last, counts } = await db.transaction().execute(async (trx) => {
      const rows = await kind.next(trx, box.currentPrefix, after, batchSize)
      return { read: rows.length, last: rows.at(-1), counts: await rewriteBatch(trx, box, kind, rows) }
    })
    total.rewritten += counts.rewritten
    total.reread += counts.reread
    if (last === undefined || read < batchSize) break
    after = kind.idOf(last)
  }
  const left = await kind.remaining(db, box.currentPrefix)
  if (left > 0) {
    throw new ReencryptIncompleteError(`${left} of the ${kind.name.replace('_', ' ')} are not under key ${box.keyId} after the pass: ` +
      'an instance whose SECRET_ENCRYPTION_KEY lists another key first wrote them meanwhile. Put the new key first on every instance, then run the command again')
  }
  return total
}

/**
 * Rewrites every client secret (and its hash) and every private signing key that was not made under
 * the box's first key, in batches of `batchSize` rows per transaction, safe while instances serve.
 * Records `secret_encryption.reencrypted`, an event of the whole server, with the counts.
 * Throws UnreadableSecretError, naming the row, on a ciphertext that no key of the box opens.
 */
export async function reencryptSecrets (db: Db, box: SecretBox, src: AuditSource, batchSize = REENCRYPT_BATCH): Promise<ReencryptReport> {
  const report: ReencryptReport = {
    key_id: box.keyId,
    client_secrets: await reencryptKind(db, box, CLIENT_SECRETS, batchSize),
    signing_keys: await reencryptKind(db, box, SIGNING_KEYS, batchSize)
  }
  await audited(db, src, async (_trx, audit) => {
    await audit({
      eventType: 'secret_encryption.reencrypted',
      target: { type: 'secret_encryption_key', id: box.keyId },
      changes: [
        { field: 'client_secrets', new_value: report.client_secrets.rewritten },
        { field: 'signing_keys', new_value: report.signing_keys.rewritten }
      ]
    })
  })
  return report
}
