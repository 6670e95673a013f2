import { InvalidArgumentError, Option, type Command } from 'commander'
import { maxAccessTokenTtl } from '../../config.js'
import { SIGNING_ALGS, type SigningAlg } from '../../keys/signing-keys.js'
import { REENCRYPT_BATCH, reencryptSecrets } from '../../services/secret-encryption.js'
import { rotateSigningKey } from '../../services/signing-keys.js'
import { listSigningKeyDates } from '../../store/signing-keys.js'
import { printJson, withContext, type CliIo } from '../context.js'

/** A --batch-size: a whole number of rows, 1 to 10000. */
function batchSize (value: string): number {
  const n = Number(value)
  if (!/^[0-9]+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError('a whole number from 1 to 10000')
  return n
}

/**
 * `keys rotate` and `keys list`: the server's token-signing keys. `keys reencrypt`: every stored
 * secret rewritten under the first key of SECRET_ENCRYPTION_KEY (docs/operations.md).
 */
export function registerKeys (program: Command, io: CliIo): void {
  const keys = program.command('keys').description('manage the token-signing keys, and re-encrypt secrets under a new SECRET_ENCRYPTION_KEY')
  keys.command('rotate')
    .description('create a new signing key: published now, signing after KEY_PUBLISH_DELAY; older keys retire then')
    .addOption(new Option('--alg <alg>', 'algorithm of the new key (default: SIGNING_ALG)').choices(SIGNING_ALGS))
    .action(async (opts: { alg?: SigningAlg }) => {
      const rotated = await withContext(io, async ({ config, db, box, audit }) => {
        const alg = opts.alg ?? config.signingAlg
        // Old keys stay published until the longest-lived token they may have signed has expired.
        return { alg, ...await rotateSigningKey(db, box, audit(null), alg, config.keyPublishDelay, maxAccessTokenTtl(config)) }
      })
      printJson(io, { kid: rotated.kid, alg: rotated.alg, activates_at: rotated.activatesAt })
    })
  keys.command('list')
    .description('list the signing keys, oldest activation first, as JSON')
    .action(async () => {
      const rows = await withContext(io, async ({ db }) => await listSigningKeyDates(db))
      printJson(io, rows)
    })
  keys.command('reencrypt')
    .description('rewrite every client secret and private signing key under the first key of SECRET_ENCRYPTION_KEY, ' +
      'in batches, while instances serve; prints the counts as JSON. A second run rewrites nothing')
    .addOption(new Option('--batch-size <rows>', 'rows per transaction').argParser(batchSize).default(REENCRYPT_BATCH))
    .action(async (opts: { batchSize: number }) => {
      const report = await withContext(io, async ({ db, box, audit }) => await reencryptSecrets(db, box, audit(null), opts.batchSize))
      printJson(io, report)
    })
}
