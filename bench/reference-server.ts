/**
 * The reference of `npm run bench` (issue 14): node-oidc-provider issuing ES256 JWT access tokens
 * by the `client_credentials` grant, in memory, as its own process so that it is measured as ours
 * is. It does less per token than our JWT-bearer grant (no assertion to verify, no database write):
 * the bench prints our tokens/s over its tokens/s from the same run.
 *
 * Environment: PORT (required), REF_CLIENT_ID, REF_CLIENT_SECRET. Prints "ready <port>" when it
 * listens.
 */
import { generateKeyPairSync } from 'node:crypto'
import { Provider } from 'oidc-provider'

const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) {
  console.error('reference server: PORT must be a port number')
  process.exit(2)
}
const clientId = process.env.REF_CLIENT_ID ?? 'bench'
const clientSecret = process.env.REF_CLIENT_SECRET ?? 'bench-secret-bench-secret-bench-secret'
const resource = 'https://api.bench.example'

const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256'
  }],
  jwks: { keys: [{ ...key, alg: 'ES256', use: 'sig', kid: 'bench' }] },
  features: {
    clientCredentials: { enabled: true },
    // A JWT access token signed with ES256, as ours are (RFC 9068), for one resource server.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'user:all', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'ES256' } } })
    },
    devInteractions: { enabled: false }
  },
  scopes: ['user:all']
})
// The bench measures the server, not its error log: nothing is printed per request.
provider.on('server_error', (_ctx: unknown, err: Error) => { console.error(`reference server error: ${err.message}`) })
provider.listen(port, '127.0.0.1')
console.log(`ready ${port}`)
