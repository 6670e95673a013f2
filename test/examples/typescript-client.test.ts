// The typed example client (examples/typescript-client/) against a live server: the app on a real
// port, the example in a process of its own, as an integrator runs it. `npm run check:example`
// type-checks it against openapi.yaml in CI; this checks that what it does really happens.
import { generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { captureText, recordPrivateKey } from '../helpers/log-capture.js'
import { freePort, ROOT, run } from '../helpers/process.js'

const EXAMPLE = path.join(ROOT, 'examples', 'typescript-client', 'src', 'main.ts')

const port = await freePort()
const base = `http://127.0.0.1:${port}`
const ta = await buildTestApp(t, { PUBLIC_URL: base })
await ta.app.listen({ port, host: '127.0.0.1' })
const org = await newOrg(ta)

// An admin with a key of its own (the one the example signs with), and users enough for three pages of two.
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
recordPrivateKey(privateKey)
const { user: admin } = await org.newUser({ organization_admin: true, public_key: pem(publicKey) })
for (let i = 0; i < 3; i++) await org.newUser()
const userCount = 5 // the org's first admin, this admin, three users

async function runExample (args: string[], env: Record<string, string> = {}) {
  const result = await run(process.execPath, ['--import', 'tsx', EXAMPLE, ...args], env)
  captureText(result.stdout + result.stderr)
  return result
}

t.test('the example gets a token, creates a client, pages through the users, lists the admin on the client and deletes it', async (t) => {
  const keyFile = path.join(t.testdir(), 'admin.pem')
  await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  // Flags and environment variables mixed, as the example's header says either works.
  const { code, stdout, stderr } = await runExample(
    ['--base-url', base, '--org', org.orgName, '--per-page', '2'],
    { AOC_ADMIN_EMAIL: admin.email, AOC_PRIVATE_KEY: keyFile, AOC_CLIENT_ID: org.clientId }
  )
  t.equal(code, 0, `exits 0 ${stderr}`)
  t.equal(stderr, '')
  t.match(stdout, /^token: scope admin:all, expires in \d+ s$/m)
  const clientId = /^client created: ([A-Za-z0-9_-]+) /m.exec(stdout)?.[1]
  t.ok(clientId, 'names the client it created')
  t.match(stdout, /^users page 1: 2 \(X-Total-Count 5\)$/m)
  t.match(stdout, /^users page 3: 1 \(X-Total-Count 5\)$/m)
  t.match(stdout, new RegExp(`^users listed: ${userCount} of ${userCount} in 3 pages of 2$`, 'm'))
  const authzId = new RegExp(`^client authorization set: ([A-Za-z0-9_-]+) \\(client ${clientId}, user ${admin.id}\\)$`, 'm').exec(stdout)?.[1]
  t.ok(authzId, 'names the authorization it set, for this client and the admin')
  t.match(stdout, new RegExp(`^client deleted: ${clientId} \\(GET answers 404\\)$`, 'm'))
  t.notMatch(stdout, /secret|eyJ/i, 'prints no secret and no token')

  // What the server saw: the client is gone with its authorization, and the audit trail has each step, by this admin.
  t.equal((await call(ta.app, org.adminToken, 'GET', `/api/v1/clients/${clientId}`)).statusCode, 404, 'the client is gone')
  const left = await call(ta.app, org.adminToken, 'GET', `/api/v1/client_authorizations?client_id=${clientId}`)
  t.same(left.json(), [], 'its authorization went with it')
  const events = await call(ta.app, org.adminToken, 'GET', `/analytics/v2/organizations/${org.orgId}/application_events?actor_id=${admin.id}`)
  const steps = (events.json().application_events as Array<{ event_type: string, target_id: string | null }>)
    .filter((e) => e.target_id === clientId || e.target_id === authzId)
    .map((e) => e.event_type).reverse()
  t.same(steps, ['client.created', 'client_authorization.created', 'client.deleted'], 'created, authorized, deleted, in that order')
})

t.test('a refusal is printed with the server\'s error, and exits 1', async (t) => {
  const keyFile = path.join(t.testdir(), 'other.pem')
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  recordPrivateKey(other)
  await fs.writeFile(keyFile, other.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  const { code, stdout, stderr } = await runExample(
    ['--base-url', base, '--org', org.orgName, '--email', admin.email, '--key', keyFile, '--client-id', org.clientId]
  )
  t.equal(code, 1)
  t.equal(stdout, '')
  t.match(stderr, /^error: token: 400 invalid_grant: /, 'a key the server does not know: the token request is refused')
})

t.test('a missing input is named', async (t) => {
  const { code, stderr } = await runExample(['--base-url', base, '--org', org.orgName])
  t.equal(code, 1)
  t.match(stderr, /^error: give --email or AOC_ADMIN_EMAIL/)
})
