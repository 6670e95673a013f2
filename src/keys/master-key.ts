import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

/**
 * The keys that encrypt secrets at rest, the first encrypting: SECRET_ENCRYPTION_KEY's list, or,
 * for the embedded default only, one key generated once into DATA_DIR/secret.key with mode 0600 so a
 * restart reads the same one. The file holds one key: to rotate it, SECRET_ENCRYPTION_KEY lists the
 * new key and the file's (docs/operations.md), and the file is no longer read.
 */
export async function resolveSecretKeys (configured: readonly Buffer[] | undefined, dataDir: string): Promise<Buffer[]> {
  if (configured && configured.length > 0) return [...configured]
  return [await fileKey(dataDir)]
}

async function fileKey (dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'secret.key')
  try {
    const key = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64')
    if (key.length !== 32) throw new Error(`${file} does not hold 32 base64 bytes`)
    return key
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  try {
    // 'wx': two processes starting at once must not overwrite each other's key.
    await fs.writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
    return key
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return await fileKey(dataDir)
    throw err
  }
}
