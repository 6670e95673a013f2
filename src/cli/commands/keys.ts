import { Option, type Command } from 'commander'
import { maxAccessTokenTtl } from '../../config.js'
import { SIGNING_ALGS, type SigningAlg } from '../../keys/signing-keys.js'
import { rotateSigningKey } from '../../services/signing-keys.js'
import { listSigningKeyDates } from '../../store/signing-keys.js'
import { printJson, withContext } from '../context.js'

/** `keys rotate` and `keys list`: the server's token-signing keys. */
export function registerKeys (program: Command): void {
  const keys = program.command('keys').description('manage the token-signing keys')
  keys.command('rotate')
    .description('create a new signing key: published now, signing after KEY_PUBLISH_DELAY; older keys retire then')
    .addOption(new Option('--alg <alg>', 'algorithm of the new key (default: SIGNING_ALG)').choices(SIGNING_ALGS))
    .action(async (opts: { alg?: SigningAlg }) => {
      const rotated = await withContext(async ({ config, db, box, audit }) => {
        const alg = opts.alg ?? config.signingAlg
        // Old keys stay published until the longest-lived token they may have signed has expired.
        return { alg, ...await rotateSigningKey(db, box, audit(null), alg, config.keyPublishDelay, maxAccessTokenTtl(config)) }
      })
      printJson({ kid: rotated.kid, alg: rotated.alg, activates_at: rotated.activatesAt })
    })
  keys.command('list')
    .description('list the signing keys, oldest activation first, as JSON')
    .action(async () => {
      const rows = await withContext(async ({ db }) => await listSigningKeyDates(db))
      printJson(rows)
    })
}
