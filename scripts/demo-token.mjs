#!/usr/bin/env node
// Gets an access token the way ascli does (JWT bearer grant, RFC 7523), with the bootstrapped admin's
// key from DATA_DIR/bootstrap.json. Usage: node scripts/demo-token.mjs [scope]   (default admin:all)
// Prints the token only, so that TOKEN=$(node scripts/demo-token.mjs) works.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { importPKCS8, SignJWT } from 'jose'

const dataDir = path.resolve(process.env.DATA_DIR ?? './data')
const boot = JSON.parse(fs.readFileSync(path.join(dataDir, 'bootstrap.json'), 'utf8'))
const keyFile = path.resolve(dataDir, boot.admin_private_key_file)
const key = await importPKCS8(fs.readFileSync(keyFile, 'utf8'), 'RS256')
const now = Math.floor(Date.now() / 1000)
const assertion = await new SignJWT({
  iss: boot.client_id,
  sub: boot.admin_email,
  aud: boot.token_url,
  org: boot.org,
  iat: now,
  nbf: now - 60,
  exp: now + 300,
  jti: randomUUID()
}).setProtectedHeader({ alg: 'RS256' }).sign(key)

const res = await fetch(boot.token_url, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: boot.client_id, scope: process.argv[2] ?? 'admin:all', assertion })
})
const body = await res.json()
if (!res.ok) {
  process.stderr.write(`token request refused: ${res.status} ${body.error}: ${body.error_description}\n`)
  process.exit(1)
}
process.stdout.write(body.access_token + '\n')
