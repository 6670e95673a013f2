// GET /api/v1/clients/{id}/access (issue 13, item 4): "why can't this user get a token through this
// client?". Its answer must be the token endpoint's: every cell of the users × keys matrix and every
// scope rule is asked both ways, explain against a real JWT-bearer request, and they must agree on
// allowed or refused, the OAuth error, the scope and the lifetime.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import t from 'tap'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion } from '../helpers/assertions.js'
import { FORM } from '../helpers/oauth.js'
import { checkAdminOnly } from '../helpers/rest.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app } = ta
const org = await newOrg(ta)
const other = await newOrg(ta)

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 })
const userKey = rsa()
const globalKey = rsa()
/** Signs for a subject whose key is missing: no key of the server's verifies it. */
const strangerKey = rsa()

async function ok<T> (res: { statusCode: number, body: string, json: () => unknown }, status: number, what: string): Promise<T> {
  if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} ${res.body}`)
  return (status === 204 ? undefined : res.json()) as T
}
const admin = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => await call(app, org.adminToken, method, url, body)

let n = 0
async function newClient (fields: Record<string, unknown>): Promise<{ id: string }> {
  return await ok(await admin('POST', '/api/v1/clients', { name: `explain ${++n}`, ...fields }), 201, 'client')
}
async function newGroup (): Promise<{ id: string, name: string }> {
  return await ok(await admin('POST', '/api/v1/groups', { name: `explain group ${++n}` }), 201, 'group')
}
async function list (clientId: string, entityType: 'user' | 'group', entityId: string): Promise<void> {
  await ok(await admin('POST', '/api/v1/client_authorizations', { client_id: clientId, entity_type: entityType, entity_id: entityId }), 201, 'listing')
}

interface Explained {
  listing: { required: boolean, listed: boolean, directly: boolean, groups: Array<{ id: string, name: string }> }
  user_key: KeyAnswer
  global_key: KeyAnswer
}
type KeyAnswer = { decision: 'allowed', scope: string, scopes: string[], expires_in: number } | { decision: 'refused', error: string, rule: string, description: string, fix: string }

async function explain (clientId: string, query: Record<string, string>): Promise<Explained> {
  return await ok(await admin('GET', `/api/v1/clients/${clientId}/access?${new URLSearchParams(query)}`), 200, 'explain')
}

/** A real token request: the answer, reduced to what explain must agree with. */
async function tokenRequest (clientId: string, email: string, key: KeyObject, scope?: string, ownerAccess?: boolean): Promise<KeyAnswer | { decision: 'refused', error: string }> {
  const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: clientId })
  form.set('assertion', await ascliAssertion(key, clientId, email, org.orgName))
  if (scope !== undefined) form.set('scope', scope)
  if (ownerAccess) form.set('owner_access', 'true')
  const res = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/token`, headers: FORM, payload: form.toString() })
  const body = res.json()
  if (res.statusCode === 200) return { decision: 'allowed', scope: body.scope, scopes: body.scope.split(' '), expires_in: body.expires_in }
  return { decision: 'refused', error: body.error }
}

/** The parts both must agree on. */
function comparable (a: KeyAnswer | { decision: 'refused', error: string }): Record<string, unknown> {
  return a.decision === 'allowed' ? { decision: 'allowed', scope: a.scope, expires_in: a.expires_in } : { decision: 'refused', error: a.error }
}

t.test('every cell of the users × keys matrix: explain agrees with the token endpoint', async (t) => {
  const counts = { cells: 0, allowed: 0, refused: 0 }
  const rules = new Set<string>()
  for (const jwt of [true, false]) {
    for (const whitelist of [false, true]) {
      for (const global of [false, true]) {
        const client = await newClient({ jwt_grant_enabled: jwt, whitelist_enabled: whitelist, ...(global && { public_key: pem(globalKey.publicKey) }) })
        const group = await newGroup()
        let groupListed = false
        for (const ownKey of [true, false]) {
          for (const listed of ['no', 'directly', 'group'] as const) {
            for (const deactivated of [false, true]) {
              const { user } = await org.newUser(ownKey ? { public_key: pem(userKey.publicKey) } : {})
              if (listed === 'directly') await list(client.id, 'user', user.id)
              if (listed === 'group') {
                await ok(await admin('POST', '/api/v1/group_memberships', { group_id: group.id, member_type: 'user', member_id: user.id }), 201, 'membership')
                if (!groupListed) await list(client.id, 'group', group.id)
                groupListed = true
              }
              const label = `jwt ${jwt}, whitelist ${whitelist}, global key ${global}, own key ${ownKey}, listed ${listed}, deactivated ${deactivated}`
              if (deactivated) await ok(await admin('PUT', `/api/v1/users/${user.id}`, { deactivated: true }), 204, 'deactivate')
              const explained = await explain(client.id, { user_id: user.id })
              t.same(explained.listing, {
                required: whitelist,
                listed: listed !== 'no',
                directly: listed === 'directly',
                groups: listed === 'group' ? [{ id: group.id, name: group.name }] : []
              }, `${label}: listing`)
              const byUser = await tokenRequest(client.id, user.email, ownKey ? userKey.privateKey : strangerKey.privateKey)
              const byGlobal = await tokenRequest(client.id, user.email, global ? globalKey.privateKey : strangerKey.privateKey)
              t.same(comparable(explained.user_key), comparable(byUser), `${label}: signed with the user's key`)
              t.same(comparable(explained.global_key), comparable(byGlobal), `${label}: signed with the global key`)
              for (const a of [explained.user_key, explained.global_key]) {
                counts.cells++
                if (a.decision === 'allowed') counts.allowed++
                else { counts.refused++; rules.add(a.rule); t.ok(a.fix.length > 20, `${label}: a fix is given for ${a.rule}`) }
              }
            }
          }
        }
      }
    }
  }
  t.same([...rules].sort(), ['jwt_grant_disabled', 'no_global_key', 'no_user_key', 'user_deactivated', 'user_not_listed'], 'the matrix meets each subject rule')
  t.comment(`matrix: ${counts.cells} cells, ${counts.allowed} allowed and ${counts.refused} refused, each the same as a real token request`)
})

t.test('every scope rule: explain agrees with the token endpoint', async (t) => {
  const AK = 'ak-' + randomBytes(4).toString('hex')
  await ok(await admin('POST', '/api/v1/nodes', { name: `node ${AK}`, url: 'https://node.example.com', access_key: AK }), 201, 'node')
  const plain = await newClient({ jwt_grant_enabled: true })
  const nodeAdmin = await newClient({ jwt_grant_enabled: true, admin_node_token_retrieval_enabled: true })
  const { user: member } = await org.newUser({ public_key: pem(userKey.publicKey) })
  const { user: orgAdmin } = await org.newUser({ public_key: pem(userKey.publicKey), organization_admin: true })
  const scopes: Array<string | undefined> = [
    undefined, 'user:all', 'self', 'admin:all', 'admin-user:all', 'admin-user:all+user:all', `node.${AK}:user:all`, 'node.nope:user:all',
    `node.${AK}:admin:all`, 'node.nope:admin:all', 'files:all', 'user:all files:all', `user:all node.${AK}:user:all`,
    Array.from({ length: 21 }, (_, i) => `node.k${i}:user:all`).join(' '), 'user:all' + ' '.repeat(1017)
  ]
  const rules = new Set<string>()
  let cells = 0
  for (const client of [plain, nodeAdmin]) {
    for (const user of [member, orgAdmin]) {
      for (const scope of scopes) {
        for (const ownerAccess of [false, true]) {
          const label = `${client === plain ? 'plain client' : 'admin node tokens allowed'}, ${user === orgAdmin ? 'admin' : 'member'}, scope ${JSON.stringify(scope?.slice(0, 40))}, owner_access ${ownerAccess}`
          const explained = await explain(client.id, { email: user.email.toUpperCase(), ...(scope !== undefined && { scope }), ...(ownerAccess && { owner_access: 'true' }) })
          const real = await tokenRequest(client.id, user.email, userKey.privateKey, scope, ownerAccess)
          t.same(comparable(explained.user_key), comparable(real), label)
          if (explained.user_key.decision === 'refused') rules.add(explained.user_key.rule)
          cells++
        }
      }
    }
  }
  t.same([...rules].sort(), ['admin_node_tokens_disabled', 'admin_scope_not_admin', 'owner_access_required', 'scope_too_long', 'too_many_scopes', 'unknown_node', 'unknown_scope'],
    'every scope rule is met')
  t.comment(`scope rules: ${cells} requests, each the same as a real token request`)
})

t.test('an allowed answer and a refused one, in full', async (t) => {
  const client = await newClient({ jwt_grant_enabled: true, whitelist_enabled: true })
  const group = await newGroup()
  const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })
  await ok(await admin('POST', '/api/v1/group_memberships', { group_id: group.id, member_type: 'user', member_id: user.id }), 201, 'membership')
  await list(client.id, 'group', group.id)
  const res = await admin('GET', `/api/v1/clients/${client.id}/access?email=${encodeURIComponent(user.email)}`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), {
    client_id: client.id,
    user_id: user.id,
    email: user.email,
    scope: null,
    owner_access: false,
    listing: { required: true, listed: true, directly: false, groups: [{ id: group.id, name: group.name }] },
    user_key: { decision: 'allowed', scope: 'user:all', scopes: ['user:all'], expires_in: ta.config.userTokenTtl },
    global_key: {
      decision: 'refused',
      error: 'invalid_grant',
      rule: 'no_global_key',
      description: "the assertion's subject is unknown, not allowed for this client, or not signed with an accepted key " +
        '(an organization administrator can see why with GET /api/v1/clients/{id}/access); check your public key in your user profile',
      fix: `The client has no global key: set one (PUT /api/v1/clients/${client.id} with "public_key"), or sign with the user's own key.`
    }
  })
})

t.test('each call is an audit event naming the client, the user and the outcome', async (t) => {
  const client = await newClient({ jwt_grant_enabled: false })
  const { user } = await org.newUser()
  await explain(client.id, { user_id: user.id })
  const events = await app.ctx.db.selectFrom('audit_events').selectAll()
    .where('organization_id', '=', org.orgId).where('event_type', '=', 'client.access_explained').where('target_id', '=', client.id).execute()
  t.equal(events.length, 1)
  t.match(events[0], { actor_type: 'user', actor_id: org.admin.id, reason: 'jwt_grant_disabled / jwt_grant_disabled', changes: [{ field: 'user_id', new_value: user.id }] })
})

t.test('what each bad request gets', async (t) => {
  const client = await newClient({})
  const { user, token } = await org.newUser()
  const url = (q: string) => `/api/v1/clients/${client.id}/access?${q}`
  const cases: Array<[string, string, number, Record<string, unknown>]> = [
    ['neither user_id nor email', url(''), 422, { code: 'parameter_missing', param: 'user_id' }],
    ['both user_id and email', url(`user_id=${user.id}&email=${encodeURIComponent(user.email)}`), 422, { code: 'invalid_parameter', param: 'email' }],
    ['an unknown query parameter', url(`user_id=${user.id}&bogus=1`), 422, { code: 'invalid_parameter' }],
    ['owner_access not a boolean', url(`user_id=${user.id}&owner_access=maybe`), 422, { code: 'invalid_parameter', param: 'owner_access' }],
    ['a user id with a slash', url('user_id=a%2Fb'), 422, { code: 'invalid_parameter', param: 'user_id' }],
    ['an unknown user', url('user_id=nobody'), 404, { code: 'not_found', message: 'user not found' }],
    ['an unknown e-mail', url('email=nobody%40example.com'), 404, { code: 'not_found', message: 'user not found' }],
    ['an unknown client', `/api/v1/clients/nope/access?user_id=${user.id}`, 404, { code: 'not_found', message: 'client not found' }],
    ["another organization's client", `/api/v1/clients/${other.clientId}/access?user_id=${user.id}`, 404, { code: 'not_found', message: 'client not found' }],
    ["another organization's user", url(`user_id=${other.admin.id}`), 404, { code: 'not_found', message: 'user not found' }]
  ]
  for (const [label, u, status, body] of cases) {
    const res = await admin('GET', u)
    t.equal(res.statusCode, status, label)
    t.match(res.json(), { ...body, request_id: String }, label)
  }
  await checkAdminOnly(t, app, [['GET', url(`user_id=${user.id}`)]], { user: token })
})
