import argon2 from 'argon2'

/** argon2id with the library's defaults (64 MiB, t=3, p=4): OWASP's recommended range. */
export async function hashPassword (password: string): Promise<string> {
  return await argon2.hash(password, { type: argon2.argon2id })
}

/** False for a wrong password or an unreadable hash; never throws for bad input. */
export async function verifyPassword (hash: string, password: string): Promise<boolean> {
  try { return await argon2.verify(hash, password) } catch { return false }
}
