// The one list of the token endpoint's grants. A new grant is a module exporting a GrantDefinition
// and one line here; the endpoint, the RFC 8414 metadata and the OpenAPI token form follow.
import { authorizationCode } from './authorization-code.js'
import { jwtBearer } from './jwt-bearer.js'
import { refreshToken } from './refresh-token.js'
import type { GrantDefinition } from './types.js'

/** Every grant, in the order the metadata and the OpenAPI document list them. */
export const GRANTS: readonly GrantDefinition[] = [
  jwtBearer,
  authorizationCode,
  refreshToken
]

/** The grants by `grant_type`. A Map, so that 'constructor' or '__proto__' find nothing. */
export const grantTable: Map<string, GrantDefinition> = new Map(GRANTS.map((g) => [g.grantType, g]))
