/**
 * A typed client of the server's API: openapi-fetch, with the types openapi-typescript makes from
 * the repository's openapi.yaml (`npm run gen:example` writes them to src/api.d.ts). It does what an
 * integrator's first script does:
 *
 *   1. gets an admin token by the JWT bearer grant (RFC 7523), as ascli does;
 *   2. registers a client;
 *   3. lists the users a page at a time (`per_page`, `page`, `X-Total-Count`);
 *   4. lists the admin on the new client (a client authorization);
 *   5. deletes the client, and checks that it is gone (even when a step before failed).
 *
 * Inputs, as flags or environment variables (README, "A typed client"):
 *   --base-url   AOC_BASE_URL          the server's PUBLIC_URL (default http://localhost:3000)
 *   --org        AOC_ORG               the organization (default demo)
 *   --email      AOC_ADMIN_EMAIL       an organization administrator's e-mail
 *   --key        AOC_PRIVATE_KEY       path of that admin's PEM private key
 *   --client-id  AOC_CLIENT_ID         a client with jwt_grant_enabled
 *   --audience   AOC_AUDIENCE          the assertion's aud (default <base-url>/api/v1/oauth2/<org>/token)
 *   --per-page   AOC_PER_PAGE          page size of the user list (default 100)
 *
 * It prints one line a step and never a credential; on a refusal it prints the server's error and
 * exits 1.
 */
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from './api.js'
import { signAssertion } from './assertion.js'

type Api = Client<paths>
type User = components['schemas']['User']

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

interface Options {
  baseUrl: string
  org: string
  email: string
  keyFile: string
  clientId: string
  audience: string
  perPage: number
}

/** Flags first, then the environment, then the defaults; a missing input stops with its name. */
function readOptions (argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      org: { type: 'string' },
      email: { type: 'string' },
      key: { type: 'string' },
      'client-id': { type: 'string' },
      audience: { type: 'string' },
      'per-page': { type: 'string' }
    }
  })
  const need = (flag: string, variable: string, fallback?: string): string => {
    const value = (values as Record<string, string | undefined>)[flag] ?? env[variable] ?? fallback
    if (value === undefined || value === '') throw new Error(`give --${flag} or ${variable}`)
    return value
  }
  const baseUrl = need('base-url', 'AOC_BASE_URL', 'http://localhost:3000').replace(/\/+$/, '')
  const org = need('org', 'AOC_ORG', 'demo')
  const perPage = Number(need('per-page', 'AOC_PER_PAGE', '100'))
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) throw new Error('--per-page must be an integer from 1 to 1000')
  return {
    baseUrl,
    org,
    email: need('email', 'AOC_ADMIN_EMAIL'),
    keyFile: need('key', 'AOC_PRIVATE_KEY'),
    clientId: need('client-id', 'AOC_CLIENT_ID'),
    audience: need('audience', 'AOC_AUDIENCE', `${baseUrl}/api/v1/oauth2/${org}/token`),
    perPage
  }
}

/** A refusal from the server: a REST error (`code`, `message`, `param`) or an OAuth one (`error`, `error_description`). */
class ApiError extends Error {
  constructor (step: string, response: Response, body: unknown) {
    const b = (body ?? {}) as Record<string, unknown>
    const what = b.error !== undefined
      ? `${String(b.error)}: ${String(b.error_description ?? '')}`
      : `${String(b.code ?? 'error')}: ${String(b.message ?? '')}${b.param !== undefined ? ` (param ${String(b.param)})` : ''}`
    super(`${step}: ${response.status} ${what}`)
    this.name = 'ApiError'
  }
}

/** Step 1: an admin:all token for the admin, through the client, by the JWT bearer grant. */
async function adminToken (api: Api, o: Options): Promise<string> {
  const key = createPrivateKey(readFileSync(o.keyFile))
  const assertion = signAssertion(key, { clientId: o.clientId, email: o.email, audience: o.audience, org: o.org })
  const { data, error, response } = await api.POST('/api/v1/oauth2/{org}/token', {
    params: { path: { org: o.org } },
    // The token endpoint takes a form, never JSON (RFC 6749 §4.1.3); openapi-fetch encodes the body so.
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: { grant_type: JWT_BEARER, client_id: o.clientId, scope: 'admin:all', assertion }
  })
  if (error !== undefined) throw new ApiError('token', response, error)
  console.log(`token: scope ${data.scope}, expires in ${data.expires_in} s`)
  return data.access_token
}

/** Step 3: every user, `perPage` at a time, until X-Total-Count are read or a page comes back empty. */
async function listAllUsers (api: Api, perPage: number): Promise<{ users: User[], total: number, pages: number }> {
  const users: User[] = []
  let total = 0
  let page = 1
  for (;; page++) {
    const { data, error, response } = await api.GET('/api/v1/users', { params: { query: { page, per_page: perPage } } })
    if (error !== undefined) throw new ApiError(`users page ${page}`, response, error)
    total = Number(response.headers.get('X-Total-Count'))
    users.push(...data)
    console.log(`users page ${page}: ${data.length} (X-Total-Count ${total})`)
    if (data.length === 0 || users.length >= total) break
  }
  return { users, total, pages: page }
}

async function main (): Promise<void> {
  const o = readOptions(process.argv.slice(2), process.env)
  const token = await adminToken(createClient<paths>({ baseUrl: o.baseUrl }), o)
  const api = createClient<paths>({ baseUrl: o.baseUrl, headers: { Authorization: `Bearer ${token}` } })

  const me = await api.GET('/api/v1/self')
  if (me.error !== undefined) throw new ApiError('self', me.response, me.error)

  // Step 2. Only the admin listed below may use it (whitelist_enabled); its secret is never printed.
  const name = `typed example ${new Date().toISOString()}`
  const created = await api.POST('/api/v1/clients', { body: { name, jwt_grant_enabled: true, whitelist_enabled: true } })
  if (created.error !== undefined) throw new ApiError('create client', created.response, created.error)
  const client = created.data
  console.log(`client created: ${client.id} ${JSON.stringify(client.name)}`)

  try {
    const { users, total, pages } = await listAllUsers(api, o.perPage)
    console.log(`users listed: ${users.length} of ${total} in ${pages} pages of ${o.perPage}`)

    // Step 4.
    const authz = await api.POST('/api/v1/client_authorizations', {
      body: { client_id: client.id, entity_type: 'user', entity_id: me.data.id }
    })
    if (authz.error !== undefined) throw new ApiError('client authorization', authz.response, authz.error)
    console.log(`client authorization set: ${authz.data.id} (client ${authz.data.client_id}, ${authz.data.entity_type} ${authz.data.entity_id})`)
  } finally {
    // Even when a step above failed: the example leaves no client behind.
    await deleteClient(api, client.id)
  }
}

/** Step 5: deletes the client and checks that it is gone. A failure is printed, without hiding one from the steps before. */
async function deleteClient (api: Api, id: string): Promise<void> {
  const deleted = await api.DELETE('/api/v1/clients/{id}', { params: { path: { id } } })
  if (deleted.error !== undefined) {
    console.error(`error: ${new ApiError('delete client', deleted.response, deleted.error).message}`)
    process.exitCode = 1
    return
  }
  const gone = await api.GET('/api/v1/clients/{id}', { params: { path: { id } } })
  console.log(`client deleted: ${id} (GET answers ${gone.response.status})`)
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
