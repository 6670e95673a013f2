import { readFileSync } from 'node:fs'
import t from 'tap'
import {
  ADMIN_SCOPES, decide, DEFAULT_SCOPE, nodeAccessKeysIn, SUBJECT_REFUSED,
  type PolicyClient, type PolicyDecision, type PolicyInput, type PolicyUser, type VerifiedBy
} from '../../src/oauth/policy.js'

const TTL = { admin: 1800, user: 3600 }
const AK = 'ak1'

interface Over {
  grant?: PolicyInput['grant']
  client?: Partial<PolicyClient>
  user?: Partial<PolicyUser>
  verifiedBy?: VerifiedBy
  requestedScope?: string | undefined
  ownerAccess?: boolean
  knownNodeAccessKeys?: ReadonlySet<string>
  ttl?: PolicyInput['ttl']
}

/** A request that passes every rule (a plain user, own key, default scope) unless a row says otherwise. */
function input (over: Over = {}): PolicyInput {
  return {
    grant: over.grant ?? 'jwt-bearer',
    client: { jwtGrantEnabled: true, whitelistEnabled: false, hasGlobalKey: false, adminNodeTokenRetrievalEnabled: false, ...over.client },
    user: { isAdmin: false, deactivated: false, listed: false, hasOwnKey: true, ...over.user },
    verifiedBy: over.verifiedBy ?? 'user',
    requestedScope: 'requestedScope' in over ? over.requestedScope : undefined,
    ownerAccess: over.ownerAccess ?? false,
    knownNodeAccessKeys: over.knownNodeAccessKeys ?? new Set([AK]),
    ttl: over.ttl ?? TTL
  }
}

/** Every subject refusal seen in this file, to check they all read the same. */
const subjectRefusals: PolicyDecision[] = []
function run (i: PolicyInput): PolicyDecision {
  const d = decide(i)
  if (!d.ok && d.error === 'invalid_grant') subjectRefusals.push(d)
  return d
}

t.test('the module is pure: its source imports nothing', async (t) => {
  const src = readFileSync(new URL('../../src/oauth/policy.ts', import.meta.url), 'utf8')
  t.notMatch(src, /^\s*import\b/m, 'no import statement')
  t.notMatch(src, /\bimport\s*\(/, 'no dynamic import')
  t.notMatch(src, /\brequire\s*\(/, 'no require')
  t.notMatch(src, /^\s*export\b[^\n]*\bfrom\s*['"]/m, 'no re-export from another module')
})

t.test('§7 users × keys matrix: every cell × signing key × listed/unlisted', async (t) => {
  // [whitelist_enabled, global key set, user listed, key that verified, granted?]
  // A refusal is always invalid_grant with the one shared description.
  const G = true
  const R = false
  const rows: Array<[boolean, boolean, boolean, VerifiedBy, boolean]> = [
    // all users, user-specific key only: any user, own key only
    [false, false, true, 'user', G], [false, false, true, 'global', R], [false, false, true, 'none', R],
    [false, false, false, 'user', G], [false, false, false, 'global', R], [false, false, false, 'none', R],
    // all users, user key and global key: any user, own key or global key
    [false, true, true, 'user', G], [false, true, true, 'global', G], [false, true, true, 'none', R],
    [false, true, false, 'user', G], [false, true, false, 'global', G], [false, true, false, 'none', R],
    // only listed users, user-specific key only: listed users, own key only
    [true, false, true, 'user', G], [true, false, true, 'global', R], [true, false, true, 'none', R],
    [true, false, false, 'user', R], [true, false, false, 'global', R], [true, false, false, 'none', R],
    // only listed users, user key and global key: listed users, own key or global key
    [true, true, true, 'user', G], [true, true, true, 'global', G], [true, true, true, 'none', R],
    [true, true, false, 'user', R], [true, true, false, 'global', R], [true, true, false, 'none', R]
  ]
  for (const [whitelistEnabled, hasGlobalKey, listed, verifiedBy, granted] of rows) {
    const label = `whitelist=${whitelistEnabled} globalKey=${hasGlobalKey} listed=${listed} signedWith=${verifiedBy}`
    const d = run(input({ client: { whitelistEnabled, hasGlobalKey }, user: { listed }, verifiedBy }))
    if (granted) {
      t.same(d, { ok: true, scopes: ['user:all'], scope: 'user:all', ttl: 3600, admin: false }, `${label}: granted user:all for 3600 s`)
    } else {
      t.match(d, { ok: false, error: 'invalid_grant', description: SUBJECT_REFUSED }, `${label}: invalid_grant`)
    }
  }
})

t.test('full cross product of client and user flags, key and grant', async (t) => {
  // The oracle restates §7 and the rule order in the brief's words, independently of the module.
  const bools = [false, true]
  const grants: Array<PolicyInput['grant']> = ['jwt-bearer', 'authorization_code', 'refresh_token']
  const keys: VerifiedBy[] = ['user', 'global', 'none']
  let rows = 0
  for (const grant of grants) {
    for (const jwtGrantEnabled of bools) {
      for (const whitelistEnabled of bools) {
        for (const hasGlobalKey of bools) {
          for (const verifiedBy of keys) {
            for (const listed of bools) {
              for (const isAdmin of bools) {
                for (const hasOwnKey of bools) {
                  for (const deactivated of bools) {
                    const jwt = grant === 'jwt-bearer'
                    const userAllowed = !deactivated && (!whitelistEnabled || listed)
                    const keyAccepted = !jwt || (verifiedBy === 'user' && hasOwnKey) || (verifiedBy === 'global' && hasGlobalKey)
                    const expected = jwt && !jwtGrantEnabled ? 'unauthorized_client' : userAllowed && keyAccepted ? 'ok' : 'invalid_grant'
                    const scope = isAdmin ? 'admin:all' : undefined
                    const d = run(input({ grant, client: { jwtGrantEnabled, whitelistEnabled, hasGlobalKey }, user: { listed, isAdmin, hasOwnKey, deactivated }, verifiedBy, requestedScope: scope }))
                    const label = JSON.stringify({ grant, jwtGrantEnabled, whitelistEnabled, hasGlobalKey, verifiedBy, listed, isAdmin, hasOwnKey, deactivated })
                    if (expected === 'ok') {
                      t.match(d, { ok: true, scope: isAdmin ? 'admin:all' : 'user:all', ttl: isAdmin ? 1800 : 3600, admin: isAdmin }, label)
                    } else {
                      t.match(d, { ok: false, error: expected }, label)
                    }
                    rows++
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  t.equal(rows, 3 * 3 * 2 ** 7, 'every combination was tried')
})

type Expect =
  | { ok: true, scopes: string[], ttl: number, admin: boolean }
  | { error: 'invalid_scope', description: RegExp }

const admin = { user: { isAdmin: true } }
const nodeAdmin = { user: { isAdmin: true }, client: { adminNodeTokenRetrievalEnabled: true }, ownerAccess: true }
const aks = (n: number) => Array.from({ length: n }, (_, i) => `ak${i}`)

t.test('§4 scope rules', async (t) => {
  const rows: Array<[string, Over, Expect]> = [
    // the default
    ['no scope: the default user:all', { requestedScope: undefined }, { ok: true, scopes: [DEFAULT_SCOPE], ttl: 3600, admin: false }],
    ['empty scope: the default', { requestedScope: '' }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    ['only spaces: the default', { requestedScope: '   ' }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    ['user:all explicitly', { requestedScope: 'user:all' }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    ['self for a plain user', { requestedScope: 'self' }, { ok: true, scopes: ['self'], ttl: 3600, admin: false }],
    // dedupe and splitting
    ['duplicates dropped, order kept', { requestedScope: 'self user:all self user:all' }, { ok: true, scopes: ['self', 'user:all'], ttl: 3600, admin: false }],
    ['runs of spaces are one separator', { requestedScope: ' self   user:all ' }, { ok: true, scopes: ['self', 'user:all'], ttl: 3600, admin: false }],
    // admin scopes
    ...[...ADMIN_SCOPES].flatMap((s): Array<[string, Over, Expect]> => [
      [`${s} for an admin: 1800 s`, { ...admin, requestedScope: s }, { ok: true, scopes: [s], ttl: 1800, admin: true }],
      [`${s} for a non-admin: invalid_scope`, { requestedScope: s }, { error: 'invalid_scope', description: /administrators only/ }]
    ]),
    ['admin scope among user scopes makes an admin token', { ...admin, requestedScope: 'user:all admin:all' }, { ok: true, scopes: ['user:all', 'admin:all'], ttl: 1800, admin: true }],
    ['a non-admin asking user:all and admin:all gets nothing', { requestedScope: 'user:all admin:all' }, { error: 'invalid_scope', description: /'admin:all' is for organization administrators only/ }],
    ['an admin asking only user:all gets a user token', { ...admin, requestedScope: 'user:all' }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    // node user scope
    ['node user scope, known key', { requestedScope: `node.${AK}:user:all` }, { ok: true, scopes: [`node.${AK}:user:all`], ttl: 3600, admin: false }],
    ['node user scope, unknown key', { requestedScope: 'node.nope:user:all' }, { error: 'invalid_scope', description: /no node of this organization has that access key/ }],
    ['node user scope with owner_access is harmless', { requestedScope: `node.${AK}:user:all`, ownerAccess: true }, { ok: true, scopes: [`node.${AK}:user:all`], ttl: 3600, admin: false }],
    ['node key of 128 characters', { requestedScope: `node.${'a'.repeat(128)}:user:all`, knownNodeAccessKeys: new Set(['a'.repeat(128)]) }, { ok: true, scopes: [`node.${'a'.repeat(128)}:user:all`], ttl: 3600, admin: false }],
    ['node key with dots, dashes, underscores', { requestedScope: 'node.a.b-c_D9:user:all', knownNodeAccessKeys: new Set(['a.b-c_D9']) }, { ok: true, scopes: ['node.a.b-c_D9:user:all'], ttl: 3600, admin: false }],
    // node admin scope: all four conditions, then each missing
    ['node admin scope, all conditions met: 1800 s', { ...nodeAdmin, requestedScope: `node.${AK}:admin:all` }, { ok: true, scopes: [`node.${AK}:admin:all`], ttl: 1800, admin: true }],
    ['node admin scope without owner_access', { ...nodeAdmin, ownerAccess: false, requestedScope: `node.${AK}:admin:all` }, { error: 'invalid_scope', description: /requires owner_access=true/ }],
    ['node admin scope for a non-admin', { ...nodeAdmin, user: { isAdmin: false }, requestedScope: `node.${AK}:admin:all` }, { error: 'invalid_scope', description: /administrators only/ }],
    ['node admin scope through a client without admin_node_token_retrieval_enabled', { ...nodeAdmin, client: { adminNodeTokenRetrievalEnabled: false }, requestedScope: `node.${AK}:admin:all` }, { error: 'invalid_scope', description: /may not retrieve admin node tokens/ }],
    ['node admin scope for an unknown node', { ...nodeAdmin, requestedScope: 'node.nope:admin:all' }, { error: 'invalid_scope', description: /no node of this organization has that access key/ }],
    ['node admin scope with nothing met: owner_access named first', { requestedScope: 'node.nope:admin:all' }, { error: 'invalid_scope', description: /owner_access=true/ }],
    ['owner_access with a plain scope is harmless', { ownerAccess: true, requestedScope: 'user:all' }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    ['owner_access with an admin scope is harmless', { ...admin, ownerAccess: true, requestedScope: 'admin:all' }, { ok: true, scopes: ['admin:all'], ttl: 1800, admin: true }],
    ['node admin scope beside a node user scope', { ...nodeAdmin, requestedScope: `node.${AK}:user:all node.${AK}:admin:all` }, { ok: true, scopes: [`node.${AK}:user:all`, `node.${AK}:admin:all`], ttl: 1800, admin: true }],
    // unknown and malformed scopes
    ['unknown scope named in the description', { requestedScope: 'files:all' }, { error: 'invalid_scope', description: /unknown scope 'files:all'/ }],
    ['unknown scope beside good ones', { ...admin, requestedScope: 'admin:all files:all' }, { error: 'invalid_scope', description: /unknown scope 'files:all'/ }],
    ['scopes are case-sensitive', { requestedScope: 'User:all' }, { error: 'invalid_scope', description: /unknown scope 'User:all'/ }],
    ['tab is not a separator', { requestedScope: 'user:all\tself' }, { error: 'invalid_scope', description: /unknown scope 'user:all\?self'/ }],
    ['node scope without a key', { requestedScope: 'node.:user:all' }, { error: 'invalid_scope', description: /unknown scope/ }],
    ['node scope without :all', { requestedScope: `node.${AK}:user` }, { error: 'invalid_scope', description: /unknown scope/ }],
    ['node scope with a trailing part', { requestedScope: `node.${AK}:user:all:x` }, { error: 'invalid_scope', description: /unknown scope/ }],
    ['node scope with an unknown role', { ...nodeAdmin, requestedScope: `node.${AK}:owner:all` }, { error: 'invalid_scope', description: /unknown scope/ }],
    ['node key with a slash', { requestedScope: 'node.a/b:user:all', knownNodeAccessKeys: new Set(['a/b']) }, { error: 'invalid_scope', description: /unknown scope/ }],
    ['node key of 129 characters', { requestedScope: `node.${'a'.repeat(129)}:user:all`, knownNodeAccessKeys: new Set(['a'.repeat(129)]) }, { error: 'invalid_scope', description: /unknown scope 'node\.a+\.\.\.'/ }],
    ['upper-case NODE prefix', { requestedScope: `NODE.${AK}:user:all` }, { error: 'invalid_scope', description: /unknown scope/ }],
    // size limits
    ['1024 characters is accepted', { requestedScope: 'user:all' + ' '.repeat(1016) }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    ['1025 characters is refused', { requestedScope: 'user:all' + ' '.repeat(1017) }, { error: 'invalid_scope', description: /longer than 1024/ }],
    ['20 distinct scopes are accepted', { requestedScope: aks(20).map((k) => `node.${k}:user:all`).join(' '), knownNodeAccessKeys: new Set(aks(20)) }, { ok: true, scopes: aks(20).map((k) => `node.${k}:user:all`), ttl: 3600, admin: false }],
    ['21 distinct scopes are refused', { requestedScope: aks(21).map((k) => `node.${k}:user:all`).join(' '), knownNodeAccessKeys: new Set(aks(21)) }, { error: 'invalid_scope', description: /more than 20 scopes/ }],
    ['21 names with duplicates count once each', { requestedScope: Array(21).fill('user:all').join(' ') }, { ok: true, scopes: ['user:all'], ttl: 3600, admin: false }],
    // lifetimes are the caller's configuration
    ['configured user ttl', { requestedScope: 'self', ttl: { admin: 60, user: 120 } }, { ok: true, scopes: ['self'], ttl: 120, admin: false }],
    ['configured admin ttl', { ...admin, requestedScope: 'admin-user:all', ttl: { admin: 60, user: 120 } }, { ok: true, scopes: ['admin-user:all'], ttl: 60, admin: true }],
    ['configured admin ttl for a node admin scope', { ...nodeAdmin, requestedScope: `node.${AK}:admin:all`, ttl: { admin: 60, user: 120 } }, { ok: true, scopes: [`node.${AK}:admin:all`], ttl: 60, admin: true }]
  ]
  for (const [label, over, want] of rows) {
    const d = run(input(over))
    if ('ok' in want) {
      t.same(d, { ok: true, scopes: want.scopes, scope: want.scopes.join(' '), ttl: want.ttl, admin: want.admin }, label)
    } else {
      t.match(d, { ok: false, error: want.error, description: want.description, reason: String }, label)
    }
  }
})

t.test('an invalid_scope description is safe for error_description (no quote, no backslash, short)', async (t) => {
  const d = decide(input({ requestedScope: 'a"b\\c' + 'x'.repeat(500) }))
  t.match(d, { ok: false, error: 'invalid_scope' })
  if (!d.ok) {
    t.notMatch(d.description, /["\\]/, 'RFC 6749 §5.2 excludes " and \\ from error_description')
    t.match(d.description, /^unknown scope 'a\?b\?cx{59}\.\.\.': the scopes are /, 'a long scope is shortened in the description')
    t.ok(d.description.length < 250, 'and the description, with the list of scopes, stays short')
  }
})

t.test('rule order: the first failing rule decides', async (t) => {
  const everythingWrong: Over = {
    client: { jwtGrantEnabled: false, whitelistEnabled: true },
    user: { deactivated: true, listed: false, hasOwnKey: false },
    verifiedBy: 'none',
    requestedScope: 'admin:all bogus'
  }
  t.match(run(input(everythingWrong)), { ok: false, error: 'unauthorized_client', description: 'this client may not use the JWT bearer grant' },
    'jwt grant disabled beats everything')
  t.match(run(input({ ...everythingWrong, client: { whitelistEnabled: true } })), { ok: false, error: 'invalid_grant', reason: /deactivated/ },
    'then a deactivated user')
  t.match(run(input({ ...everythingWrong, client: { whitelistEnabled: true }, user: { listed: false } })), { ok: false, error: 'invalid_grant', reason: /not listed/ },
    'then an unlisted user')
  t.match(run(input({ ...everythingWrong, client: { whitelistEnabled: true }, user: { listed: true } })), { ok: false, error: 'invalid_grant', reason: /no accepted key/ },
    'then the signing key')
  t.match(run(input({ verifiedBy: 'global', requestedScope: 'bogus' })), { ok: false, error: 'invalid_grant', reason: /global key/ },
    'a global-key signature without a global key is refused before the scope is read')
  t.match(run(input({ verifiedBy: 'user', user: { hasOwnKey: false }, requestedScope: 'bogus' })), { ok: false, error: 'invalid_grant', reason: /user key/ },
    'a user-key signature for a user without a key is refused (defensive)')
  t.match(run(input({ requestedScope: 'admin:all bogus' })), { ok: false, error: 'invalid_scope', description: /unknown scope 'bogus'/ },
    'an unknown scope is named before a forbidden one')
})

t.test('authorization_code and refresh_token skip the key rules but not the user rules', async (t) => {
  for (const grant of ['authorization_code', 'refresh_token'] as const) {
    const noKeys: Over = { grant, client: { jwtGrantEnabled: false }, user: { hasOwnKey: false }, verifiedBy: 'none' }
    t.same(run(input(noKeys)), { ok: true, scopes: ['user:all'], scope: 'user:all', ttl: 3600, admin: false },
      `${grant}: jwt_grant_enabled false and no verifying key do not matter`)
    t.match(run(input({ ...noKeys, verifiedBy: 'global' })), { ok: true }, `${grant}: verifiedBy global without a global key is ignored`)
    t.match(run(input({ ...noKeys, user: { deactivated: true } })), { ok: false, error: 'invalid_grant', description: SUBJECT_REFUSED },
      `${grant}: a deactivated user gets invalid_grant`)
    t.match(run(input({ ...noKeys, client: { whitelistEnabled: true }, user: { listed: false } })), { ok: false, error: 'invalid_grant', description: SUBJECT_REFUSED },
      `${grant}: an unlisted user of a whitelist client gets invalid_grant`)
    t.match(run(input({ ...noKeys, client: { whitelistEnabled: true }, user: { listed: true } })), { ok: true }, `${grant}: a listed user gets a token`)
    t.match(run(input({ ...noKeys, requestedScope: 'admin:all' })), { ok: false, error: 'invalid_scope' }, `${grant}: scope rules still apply`)
  }
})

t.test('every refusal of rules 2–4 has the same description; only the reason differs', async (t) => {
  t.ok(subjectRefusals.length > 100, `collected ${subjectRefusals.length} refusals from the rows above`)
  const descriptions = new Set(subjectRefusals.map((d) => !d.ok && d.description))
  t.same([...descriptions], [SUBJECT_REFUSED], 'one description for every cause')
  t.match(SUBJECT_REFUSED, /check your public key/, 'carries the hint ascli shows on invalid_grant')
  const reasons = new Set(subjectRefusals.map((d) => !d.ok && d.reason))
  t.equal(reasons.size, 5, 'deactivated, unlisted, no key, no global key, no user key: five reasons for the log')
})

t.test('nodeAccessKeysIn lists the access keys to look up', async (t) => {
  t.same(nodeAccessKeysIn(undefined), [], 'no scope: none')
  t.same(nodeAccessKeysIn(''), [], 'empty: none')
  t.same(nodeAccessKeysIn('user:all admin:all self'), [], 'plain scopes: none')
  t.same(nodeAccessKeysIn('node.b:user:all user:all node.a:admin:all node.b:admin:all'), ['b', 'a'], 'user and admin node scopes, deduplicated in order')
  t.same(nodeAccessKeysIn('node.:user:all node.a/b:user:all node.x:owner:all node.ok:user:all'), ['ok'], 'malformed node scopes are skipped')
  t.same(nodeAccessKeysIn('node.a:user:all' + ' '.repeat(1010)), [], 'over 1024 characters: none (decide refuses it)')
  t.same(nodeAccessKeysIn(aks(21).map((k) => `node.${k}:user:all`).join(' ')), [], 'over 20 scopes: none (decide refuses it)')
  t.same(nodeAccessKeysIn(aks(20).map((k) => `node.${k}:user:all`).join(' ')), aks(20), '20 scopes: all listed')
})

t.test('decide does not change its input and answers the same twice', async (t) => {
  const i = input({ ...nodeAdmin, requestedScope: `node.${AK}:admin:all user:all` })
  const before = JSON.stringify({ ...i, knownNodeAccessKeys: [...i.knownNodeAccessKeys] })
  const a = decide(i)
  const b = decide(i)
  t.same(a, b)
  t.equal(JSON.stringify({ ...i, knownNodeAccessKeys: [...i.knownNodeAccessKeys] }), before)
  t.equal(ADMIN_SCOPES.size, 3)
})

t.test('each refusal names its rule with a stable code (the explain route answers with it)', async (t) => {
  const nodeAdmin: Over = { user: { isAdmin: true }, ownerAccess: true, client: { adminNodeTokenRetrievalEnabled: true } }
  const rows: Array<[string, Over, string]> = [
    ['jwt grant off', { client: { jwtGrantEnabled: false } }, 'jwt_grant_disabled'],
    ['deactivated', { user: { deactivated: true } }, 'user_deactivated'],
    ['not listed', { client: { whitelistEnabled: true }, user: { listed: false } }, 'user_not_listed'],
    ['no key verified', { verifiedBy: 'none' }, 'no_key_verified'],
    ['global key the client lacks', { verifiedBy: 'global' }, 'no_global_key'],
    ['user key the user lacks', { user: { hasOwnKey: false } }, 'no_user_key'],
    ['scope too long', { requestedScope: 'user:all' + ' '.repeat(1017) }, 'scope_too_long'],
    ['too many scopes', { requestedScope: Array.from({ length: 21 }, (_, i) => `node.k${i}:user:all`).join(' ') }, 'too_many_scopes'],
    ['unknown scope', { requestedScope: 'files:all' }, 'unknown_scope'],
    ['admin scope, not an admin', { requestedScope: 'admin:all' }, 'admin_scope_not_admin'],
    ['node admin scope, not an admin', { ...nodeAdmin, user: { isAdmin: false }, requestedScope: `node.${AK}:admin:all` }, 'admin_scope_not_admin'],
    ['unknown node', { requestedScope: 'node.nope:user:all' }, 'unknown_node'],
    ['unknown node, admin scope', { ...nodeAdmin, requestedScope: 'node.nope:admin:all' }, 'unknown_node'],
    ['owner_access missing', { ...nodeAdmin, ownerAccess: false, requestedScope: `node.${AK}:admin:all` }, 'owner_access_required'],
    ['admin node tokens off', { ...nodeAdmin, client: { adminNodeTokenRetrievalEnabled: false }, requestedScope: `node.${AK}:admin:all` }, 'admin_node_tokens_disabled']
  ]
  for (const [label, over, rule] of rows) t.match(decide(input(over)), { ok: false, rule }, label)
})
