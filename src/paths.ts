// The URL paths that more than one module builds (docs/aoc-compatibility.md §1).

/** An organization's name: a DNS label, its subdomain and its path segment (docs/aoc-compatibility.md §1). */
export const ORG_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** Under this prefix, each organization has its OAuth endpoints and pages: `<OAUTH_BASE>/<org>/…`. */
export const OAUTH_BASE = '/api/v1/oauth2'

/** The route prefix of an organization's OAuth endpoints, the org as a path parameter. */
export const OAUTH_ORG_ROUTE = `${OAUTH_BASE}/:org`

/** The RFC 8414 metadata route of an organization. */
export const METADATA_ROUTE = `/.well-known/oauth-authorization-server${OAUTH_ORG_ROUTE}`

/** The OAuth base path of an org, where its pages and its session cookie live. */
export function oauthBasePath (orgName: string): string {
  return `${OAUTH_BASE}/${orgName}`
}

/** The issuer of an organization's tokens: its OAuth base URL. */
export function issuerFor (publicUrl: string, orgName: string): string {
  return publicUrl + oauthBasePath(orgName)
}
