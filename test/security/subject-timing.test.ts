// Issue 9, finding 2: an assertion that no key verifies is refused before any lookup that depends
// on its subject, so a known e-mail and an unknown one cost the same. A benchmark-style check with a
// wide margin, not a timed test: it compares two medians from the same run, interleaved, and fails
// only when one path is 1.5 times the other.
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import t from 'tap'
import { buildTestApp, newOrg, pem, systemSource } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { FORM } from '../helpers/oauth.js'
import { createClient } from '../../src/registry/clients.js'
import { createNode } from '../../src/registry/nodes.js'
import { createClientAuthorization } from '../../src/services/client-authorizations.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app } = ta
const org = await newOrg(ta)
const SAMPLES = 300
const MARGIN = 1.5
// One unknown e-mail throughout, as a prober repeats it: both subjects then come from the row cache alike.
const NOBODY = 'nobody@nowhere.example'

const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })
await createNode(app.ctx.db, org.orgId, { name: 'node x', url: 'https://node.example.com', access_key: 'timing-node' })
const listed = await createClient(app.ctx.db, app.ctx.box, org.orgId, { name: 'listed only', jwt_grant_enabled: true, whitelist_enabled: true }, null)
await createClientAuthorization(app.ctx.db, systemSource(org.orgId), { client_id: listed.id, entity_type: 'user', entity_id: user.id })

async function refusalTime (clientId: string, email: string, scope: string): Promise<number> {
  // A fresh jti each time: the refusal comes before the jti is recorded, but nothing may depend on that here.
  const assertion = await ascliAssertion(forger.privateKey, clientId, email, org.orgName, { jti: randomUUID() })
  const started = process.hrtime.bigint()
  const res = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/token`, headers: FORM, payload: ascliForm(clientId, assertion, scope) })
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (res.statusCode !== 400 || res.json().error !== 'invalid_grant') throw new Error(`expected invalid_grant, got ${res.statusCode} ${res.body}`)
  return elapsed
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! }

const cases: Array<[string, string, string]> = [
  ['scope node.<access_key>:user:all', org.clientId, 'node.timing-node:user:all'],
  ['a client for listed users only', listed.id, 'user:all'],
  ['plain user:all', org.clientId, 'user:all']
]

for (const [name, clientId, scope] of cases) {
  t.test(`a bad signature costs the same for a known and an unknown subject: ${name}`, async (t) => {
    const known: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 30; i++) { await refusalTime(clientId, user.email, scope); await refusalTime(clientId, NOBODY, scope) }
    for (let i = 0; i < SAMPLES; i++) {
      // Interleaved, and alternating which goes first, so that drift in the machine's speed hits both.
      if (i % 2 === 0) {
        known.push(await refusalTime(clientId, user.email, scope))
        unknown.push(await refusalTime(clientId, NOBODY, scope))
      } else {
        unknown.push(await refusalTime(clientId, NOBODY, scope))
        known.push(await refusalTime(clientId, user.email, scope))
      }
    }
    const [k, u] = [median(known), median(unknown)]
    t.comment(`${name}: median ${k.toFixed(3)} ms known, ${u.toFixed(3)} ms unknown (${SAMPLES} each)`)
    t.ok(k / u < MARGIN && u / k < MARGIN, `the medians are within ${MARGIN}x of each other (${(k / u).toFixed(2)})`)
  })
}
