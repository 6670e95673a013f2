import { generateKeyPairSync, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { AppContext } from '../context.js'
import { countOrganizations } from '../registry/organizations.js'
import { setUpOrganization } from './org-setup.js'
import { hashPassword } from '../registry/passwords.js'
import { issuerFor } from '../paths.js'

/** What bootstrap.json holds, for a newcomer's first token. */
export interface BootstrapFile {
  org: string
  admin_email: string
  admin_password: string
  /** Relative to DATA_DIR. */
  admin_private_key_file: string
  client_id: string
  client_secret: string
  token_url: string
}

/** Whether this start should bootstrap: `true` always (on an empty database), `auto` only on the embedded default. */
export function bootstrapWanted (ctx: Pick<AppContext, 'config'>): boolean {
  const { bootstrap, databaseUrl } = ctx.config
  return bootstrap === 'true' || (bootstrap === 'auto' && !databaseUrl)
}

/**
 * On the first start against an empty database: an organization, an admin with a password and an
 * RSA-2048 key pair, and a client with the JWT grant enabled. The credentials go to
 * DATA_DIR/bootstrap.json and the private key beside it, both 0600; the log gets the path only.
 */
export async function runBootstrapIfDue (ctx: AppContext, log: FastifyBaseLogger): Promise<BootstrapFile | undefined> {
  if (!bootstrapWanted(ctx)) return undefined
  if (await countOrganizations(ctx.db) > 0) return undefined
  const { config } = ctx
  const password = randomBytes(18).toString('base64url')
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const setup = await setUpOrganization(ctx.db, ctx.box, {
    orgName: config.bootstrapOrg,
    adminEmail: config.bootstrapAdminEmail,
    adminPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    adminPasswordHash: await hashPassword(password),
    clientName: 'bootstrap client'
  }, { actor: { type: 'system', id: 'bootstrap' }, log })
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const keyFile = 'admin_private_key.pem'
  await fs.writeFile(path.join(config.dataDir, keyFile), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 })
  const file: BootstrapFile = {
    org: setup.org.name,
    admin_email: setup.admin.email,
    admin_password: password,
    admin_private_key_file: keyFile,
    client_id: setup.client!.id,
    client_secret: setup.client!.secret!, // setUpOrganization registers a confidential client
    token_url: `${issuerFor(config.publicUrl, setup.org.name)}/token`
  }
  const out = path.join(config.dataDir, 'bootstrap.json')
  await fs.writeFile(out, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 })
  log.info({ file: out }, 'bootstrapped a first organization; credentials are in this file')
  return file
}
