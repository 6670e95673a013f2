import type { Config } from '../config.js'
import { JWT_BEARER } from './grants/jwt-bearer.js'
import { issuerFor } from './tokens.js'

/** RFC 8414 authorization server metadata for one organization. */
export function authorizationServerMetadata (config: Config, orgName: string) {
  const issuer = issuerFor(config.publicUrl, orgName)
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    grant_types_supported: [JWT_BEARER],
    response_types_supported: [] as string[],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['user:all', 'admin:all', 'admin-user:all', 'admin-user:all+user:all', 'self']
  }
}
