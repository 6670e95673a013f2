// The rule on which tokens may set credentials (docs/security.md), one row per case.
import t from 'tap'
import { credentialChangeRefusal } from '../../src/oauth/credential-rule.js'

const rows: Array<[string, boolean, string[], 'allowed' | RegExp]> = [
  ['a JWT-bearer or first-party user:all token', false, ['user:all'], 'allowed'],
  ['an admin token', false, ['admin:all'], 'allowed'],
  ['admin-user:all', false, ['admin-user:all'], 'allowed'],
  ['self and user:all together', false, ['self', 'user:all'], 'allowed'],
  ['a self token', false, ['self'], /user:all or an admin scope/],
  ['a node token', false, ['node.ak:user:all'], /user:all or an admin scope/],
  ['a delegated user:all token', true, ['user:all'], /third-party/],
  ['a delegated admin:all token', true, ['admin:all'], /third-party/],
  ['a delegated self token', true, ['self'], /third-party/]
]

for (const [name, delegated, scopes, expected] of rows) {
  t.test(name, async (t) => {
    const refusal = credentialChangeRefusal({ delegated, scopes })
    if (expected === 'allowed') t.equal(refusal, undefined)
    else t.match(refusal, expected)
  })
}
