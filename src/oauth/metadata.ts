import type { Config } from '../config.js'
import { GRANTS } from './grants/index.js'
import { issuerFor } from './tokens.js'

/** RFC 8414 authorization server metadata for one organization. */
export function authorizationServerMetadata (config: Config, orgName: string) {
  const issuer = issuerFor(config.publicUrl, orgName)
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    grant_types_supported: GRANTS.map((g) => g.grantType),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    // RFC 9207: authorization responses carry `iss`, so a client talking to several servers can tell them apart.
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    scopes_supported: ['user:all', 'admin:all', 'admin-user:all', 'admin-user:all+user:all', 'self']
  }
}
