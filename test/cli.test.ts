import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { MIGRATIONS_DIR } from '../src/db/migrate.js'
import { verifyPassword } from '../src/registry/passwords.js'
import { buildAppForTest, call, rsaPublicPem, testConfig, TEST_SECRET_KEY } from './helpers/app.js'
import { cliSetup, runCliInProcess } from './helpers/cli.js'
import { seedEmbeddedDataDir } from './helpers/db.js'
import { captureLevel, recordValue } from './helpers/log-capture.js'

// A spawned CLI run opens the database afresh (PGlite takes seconds on a busy machine).
t.setTimeout(600_000)

// The commands run in this process on the file's database (helpers/cli.ts); the last tests run the
// real `aoc-auth` in processes of its own: PostgreSQL pass, a fresh, unmigrated database on the
// server; PGlite pass, DATA_DIR/pgdata.
const { dataDir, dbEnv, handle, leaveToServerPass, cli: runCli, spawnCli } = await cliSetup(t, 'aoc-cli-')
const env = { LOG_LEVEL: captureLevel('silent'), SECRET_ENCRYPTION_KEY: TEST_SECRET_KEY }
/** A CLI run; under the log capture, its log (stderr) is captured and the credentials it printed are recorded. */
const cli = async (args: string[], extraEnv: Record<string, string> = {}) => await runCli(args, { ...env, ...extraEnv })
/** The same in a process of its own. */
const spawned = async (args: string[], extraEnv: Record<string, string> = {}) => await spawnCli(args, { ...env, ...extraEnv })

const STACK = /\n\s+at /

// leaveToServerPass runs the checks that do not depend on the database kind once.

const file = async (name: string, text: string) => {
  const p = path.join(dataDir, name)
  await fs.writeFile(p, text)
  return p
}

t.test('--help describes every command and its options, and exits 0', leaveToServerPass, async (t) => {
  const top = await cli(['--help'])
  t.equal(top.code, 0)
  for (const command of ['migrate', 'org', 'user', 'client', 'keys']) t.match(top.stdout, new RegExp(`^  ${command}\\b`, 'm'), command)
  const org = await cli(['org', 'create', '--help'])
  t.equal(org.code, 0)
  t.match(org.stdout, /--admin-email <email>[\s\S]*--admin-password-file <file>[\s\S]*--admin-public-key <file>/)
  const client = await cli(['client', 'create', '--help'])
  t.match(client.stdout, /--jwt-grant[\s\S]*--redirect-uri <uri\.\.\.>[\s\S]*--public-key <file>[\s\S]*--no-explicit-authorization/)
  const rotate = await cli(['keys', 'rotate', '--help'])
  t.match(rotate.stdout, /choices:\s+"ES256",\s+"RS256",\s+"EdDSA"/, 'help lists the algorithms')
  const user = await cli(['user', 'create', '--help'])
  t.match(user.stdout, /--org <name>[\s\S]*--email <email>[\s\S]*--admin[\s\S]*--public-key <file>[\s\S]*--first-name/)
})

const password = 'correct horse battery staple'
recordValue('password', password)
const adminKey = rsaPublicPem()
const userKey = rsaPublicPem()
let created: { organization_id: string, org: string, admin_id: string }
let user: { id: string, email: string }
let client: { id: string, secret: string }

t.test('org create, user create and client create print what they made', async (t) => {
  const org = await cli(['org', 'create', 'acme', '--admin-email', 'admin@acme.example.com',
    '--admin-password-file', await file('password.txt', password + '\n'),
    '--admin-public-key', await file('admin.pem', adminKey)])
  t.equal(org.code, 0, 'org create exits 0', { stderr: org.stderr })
  created = JSON.parse(org.stdout)
  t.match(created, { organization_id: /^[A-Za-z0-9_-]+$/, org: 'acme', admin_id: /^[A-Za-z0-9_-]+$/ })
  t.same(Object.keys(created).sort(), ['admin_id', 'org', 'organization_id'])

  const u = await cli(['user', 'create', '--org', 'acme', '--email', 'bob@acme.example.com',
    '--first-name', 'Bob', '--last-name', 'Builder', '--public-key', await file('bob.pem', userKey)])
  t.equal(u.code, 0, 'user create exits 0', { stderr: u.stderr })
  user = JSON.parse(u.stdout)
  t.match(user, {
    email: 'bob@acme.example.com', name: 'Bob Builder', organization_id: created.organization_id, organization_admin: false, public_key: /BEGIN PUBLIC KEY/
  })
  t.notOk('password_hash' in user, 'the user JSON never shows a password hash')

  const c = await cli(['client', 'create', '--org', 'acme', '--name', 'cli client', '--jwt-grant',
    '--redirect-uri', 'https://app.example.com/cb', '--redirect-uri', 'https://app.example.com/cb2'], { LOG_LEVEL: captureLevel('info') })
  t.equal(c.code, 0, 'client create exits 0', { stderr: c.stderr })
  client = JSON.parse(c.stdout)
  t.match(client, {
    id: /^[A-Za-z0-9_-]+$/,
    secret: /^\S{20,}$/,
    name: 'cli client',
    organization_id: created.organization_id,
    jwt_grant_enabled: true,
    explicit_authorization_required: true,
    redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/cb2']
  })
  const audit = c.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { audit?: boolean, event?: Record<string, unknown> })
  t.match(audit, [{ audit: true, event: { event_type: 'client.created', actor_type: 'cli', target_id: client.id, organization_id: created.organization_id } }],
    'the change\'s audit line goes to stderr; stdout stays the JSON')
  t.notMatch(c.stderr, client.secret, 'without the secret')
})

t.test('client explain prints what the token endpoint would decide, and names an unknown user', async (t) => {
  const res = await cli(['client', 'explain', '--org', 'acme', '--client', client.id, '--user', 'BOB@acme.example.com'])
  t.equal(res.code, 0, 'exits 0', { stderr: res.stderr })
  t.match(JSON.parse(res.stdout), {
    client_id: client.id,
    user_id: user.id,
    listing: { required: false, listed: false },
    user_key: { decision: 'allowed', scope: 'user:all' },
    global_key: { decision: 'refused', error: 'invalid_grant', rule: 'no_global_key', fix: /PUT \/api\/v1\/clients\// }
  })
  const scoped = await cli(['client', 'explain', '--org', 'acme', '--client', client.id, '--user', user.id, '--scope', 'admin:all'])
  t.match(JSON.parse(scoped.stdout), { user_key: { decision: 'refused', error: 'invalid_scope', rule: 'admin_scope_not_admin' } })
  const unknown = await cli(['client', 'explain', '--org', 'acme', '--client', client.id, '--user', 'nobody@acme.example.com'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /user not found/)
  t.notMatch(unknown.stderr, STACK)
})

t.test('mistakes are named on stderr with exit 1 and no stack trace', leaveToServerPass, async (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a duplicate organization gets the 409 message', ['org', 'create', 'acme', '--admin-email', 'other@acme.example.com'],
      /^error: organization acme already exists \(param: name\)\n$/],
    ['an organization name the API refuses gets the 422 message', ['org', 'create', 'Bad_Name', '--admin-email', 'a@b.example.com'],
      /^error: an organization name is lowercase .*\(param: name\)\n$/],
    ['an unknown organization is named', ['user', 'create', '--org', 'nope', '--email', 'x@acme.example.com'],
      /^error: organization nope not found\n$/],
    ['a missing required option is named by commander', ['user', 'create', '--org', 'acme'],
      /^error: required option '--email <email>' not specified\n/],
    ['an unreadable file is named', ['client', 'create', '--org', 'acme', '--name', 'x', '--public-key', '/nonexistent/key.pem'],
      /^error: cannot read public key file \/nonexistent\/key\.pem: ENOENT\n$/],
    ['a file that holds no public key gets the 422 message', ['user', 'create', '--org', 'acme', '--email', 'k@acme.example.com', '--public-key', path.join(dataDir, 'password.txt')],
      /^error: public_key .*\(param: public_key\)\n$/],
    ['a malformed e-mail is refused before the database is touched', ['user', 'create', '--org', 'acme', '--email', 'not-an-email'],
      /^error: email must be an e-mail address \(param: email\)\n$/],
    ['an admin scope for a user who is not an administrator', ['token', '--org', 'acme', '--email', 'bob@acme.example.com', '--scope', 'admin:all'],
      /^error: user bob@acme.example.com is not an organization administrator; admin scopes are refused\n$/],
    ['a token for an unknown user', ['token', '--org', 'acme', '--email', 'nobody@acme.example.com'],
      /^error: no user nobody@acme.example.com in organization acme\n$/],
    ['an algorithm this server does not sign with', ['keys', 'rotate', '--alg', 'HS256'],
      /^error: option '--alg <alg>' argument 'HS256' is invalid\. Allowed choices are ES256, RS256, EdDSA\./]
  ]
  for (const [label, args, message] of cases) {
    const res = await cli(args)
    t.equal(res.code, 1, label)
    t.match(res.stderr, message, label)
    t.notMatch(res.stderr, STACK, `${label}: no stack trace`)
    t.equal(res.stdout, '', `${label}: nothing on stdout`)
  }
})

t.test('a bad environment names the variable and exits 78, as the server does', leaveToServerPass, async (t) => {
  const res = await cli(['keys', 'list'], { SIGNING_ALG: 'HS256' })
  t.equal(res.code, 78)
  t.match(res.stderr, /^Invalid configuration: SIGNING_ALG /)
  t.notMatch(res.stderr, STACK)
})

t.test('the API shows what the CLI created, on the same database', async (t) => {
  const minted = await cli(['token', '--org', created.org, '--email', 'ADMIN@acme.example.com', '--scope', 'admin:all'])
  t.equal(minted.code, 0, 'the token command prints an admin token')
  const token = minted.stdout.trim()
  recordValue('access_token', token)
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  // The app on the database the commands ran on, with the same encryption key.
  const config = testConfig({ DATA_DIR: dataDir })
  const app = await buildAppForTest({ config, db: handle })
  t.teardown(() => app.close())
  const admin = await app.ctx.db.selectFrom('users').selectAll().where('id', '=', created.admin_id).executeTakeFirstOrThrow()
  t.ok(await verifyPassword(admin.password_hash!, password), 'the admin password from the file is stored hashed, without its newline')
  const users = await call(app, token, 'GET', '/api/v1/users')
  t.equal(users.statusCode, 200)
  t.equal(users.headers['x-total-count'], '2', 'the admin and Bob; the refused commands created nobody')
  t.match(users.json(), [
    { id: created.admin_id, email: 'admin@acme.example.com', organization_admin: true, public_key: /BEGIN PUBLIC KEY/ },
    { id: user.id, email: 'bob@acme.example.com', name: 'Bob Builder', organization_admin: false }
  ])

  const clients = await call(app, token, 'GET', '/api/v1/clients')
  t.equal(clients.statusCode, 200)
  t.match(clients.json(), [{ id: client.id, name: 'cli client', jwt_grant_enabled: true }])
  t.equal(clients.json().length, 1)
  const one = await call(app, token, 'GET', `/api/v1/clients/${client.id}`)
  t.equal(one.json().secret, client.secret, 'the secret the CLI printed is the one stored (same encryption key)')
})

t.test('keys rotate adds a key that signs later; keys list shows both', leaveToServerPass, async (t) => {
  // The app above created the first key; the rotation must leave it signing for KEY_PUBLISH_DELAY (600 s).
  const before = Date.now()
  const rotated = await cli(['keys', 'rotate', '--alg', 'EdDSA'])
  t.equal(rotated.code, 0, 'keys rotate exits 0', { stderr: rotated.stderr })
  const fresh = JSON.parse(rotated.stdout)
  t.match(fresh, { kid: /^[A-Za-z0-9_-]{43}$/, alg: 'EdDSA' })
  const activates = Date.parse(fresh.activates_at)
  t.ok(activates >= before + 600_000 && activates < Date.now() + 601_000, 'activates after the publish delay')

  const list = await cli(['keys', 'list'])
  t.equal(list.code, 0, 'keys list exits 0', { stderr: list.stderr })
  const keys = JSON.parse(list.stdout)
  t.equal(keys.length, 2)
  const [old, latest] = keys
  t.same(Object.keys(latest).sort(), ['activates_at', 'alg', 'created_at', 'kid', 'retires_at', 'unpublish_at'])
  t.match(latest, { kid: fresh.kid, alg: 'EdDSA', activates_at: fresh.activates_at, retires_at: null, unpublish_at: null })
  t.ok(Date.parse(old.activates_at) < Date.parse(latest.activates_at), 'the new key activates later than the old one')
  t.equal(old.retires_at, latest.activates_at, 'the old key stops signing when the new one starts')
  // Published until the longest-lived token (USER_TOKEN_TTL 3600 s) it signed has expired, plus a minute.
  t.equal(Date.parse(old.unpublish_at) - Date.parse(old.retires_at), (3600 + 60) * 1000)
})

// The real binary, in processes of its own: what runs in-process above is the same program
// (runProgram), so these check what only a process shows: argv, the exit code, the streams.

t.test('aoc-auth in a process of its own opens the configured database: migrate, then the database as it left it', async (t) => {
  // PostgreSQL pass: the fresh database at DATABASE_URL. PGlite pass: DATA_DIR/pgdata, filled from the
  // migrated template (creating the embedded database is server.test.ts's first start, and seconds of WASM).
  const seeded = await seedEmbeddedDataDir(dataDir)
  const res = await spawned(['migrate'])
  t.equal(res.code, 0, 'exits 0 once the database is closed', { stderr: res.stderr })
  const names = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''))
  t.same(res.stdout.split('\n').filter(Boolean), seeded ? ['database is up to date; no migration applied'] : names.map((n) => `applied ${n}`),
    seeded ? 'the template is migrated' : 'one line per migration, in order')
  // The same database opened again as the command opens it (not the file's `handle`), in this process.
  const again = await runCliInProcess(['migrate'], { ...env, DATA_DIR: dataDir, ...dbEnv })
  t.equal(again.code, 0, { stderr: again.stderr })
  t.equal(again.stdout, 'database is up to date; no migration applied\n', 'the next opener finds the database as the process left it')
})

t.test('aoc-auth in a process of its own: --help exits 0, a usage error 1, a bad environment 78', leaveToServerPass, async (t) => {
  const help = await spawned(['--help'])
  t.equal(help.code, 0)
  for (const command of ['migrate', 'org', 'user', 'client', 'keys']) t.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), command)
  t.equal(help.stderr, '')
  const usage = await spawned(['user', 'create', '--org', 'acme'])
  t.equal(usage.code, 1)
  t.match(usage.stderr, /^error: required option '--email <email>' not specified\n/)
  t.notMatch(usage.stderr, STACK)
  t.equal(usage.stdout, '')
  const badEnv = await spawned(['keys', 'list'], { SIGNING_ALG: 'HS256' })
  t.equal(badEnv.code, 78)
  t.match(badEnv.stderr, /^Invalid configuration: SIGNING_ALG /)
  t.notMatch(badEnv.stderr, STACK)
  t.equal(badEnv.stdout, '')
})
