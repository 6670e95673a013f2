import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/** A timestamp column: read as Date, written as Date or ISO string, defaulted by the database. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type Json<T> = ColumnType<T, string, string>

export interface OrganizationsTable {
  id: string
  name: string
  created_at: Timestamp
}

export interface UsersTable {
  id: string
  organization_id: string
  email: string
  name: Generated<string>
  first_name: Generated<string>
  last_name: Generated<string>
  organization_admin: Generated<boolean>
  deactivated: Generated<boolean>
  public_key: string | null
  password_hash: string | null
  /** set at deactivation: access tokens issued at or before it are refused, also after a reactivation */
  tokens_valid_after: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface GroupsTable {
  id: string
  organization_id: string
  name: string
  description: Generated<string>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface GroupMembershipsTable {
  id: string
  organization_id: string
  group_id: string
  member_type: 'user'
  member_id: string
  created_at: Timestamp
}

export interface NodesTable {
  id: string
  organization_id: string
  name: string
  url: string
  access_key: string
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ClientsTable {
  id: string
  organization_id: string
  name: string
  redirect_uris: Json<string[]>
  origins: Json<string[]>
  explicit_authorization_required: Generated<boolean>
  jwt_grant_enabled: Generated<boolean>
  admin_node_token_retrieval_enabled: Generated<boolean>
  public_key: string | null
  whitelist_enabled: Generated<boolean>
  /** null for a public client (token_endpoint_auth_method 'none') */
  secret_encrypted: string | null
  secret_hash: string | null
  token_endpoint_auth_method: Generated<'client_secret_basic' | 'client_secret_post' | 'none'>
  creator_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ClientAuthorizationsTable {
  id: string
  organization_id: string
  client_id: string
  entity_type: 'user' | 'group'
  entity_id: string
  created_at: Timestamp
}

export interface SigningKeysTable {
  kid: string
  alg: string
  public_jwk: Json<Record<string, unknown>>
  private_jwk_encrypted: string
  created_at: Timestamp
  activates_at: ColumnType<Date, Date | string, Date | string>
  retires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  unpublish_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export interface RevokedTokensTable {
  jti: string
  expires_at: ColumnType<Date, Date | string, Date | string>
  revoked_at: Timestamp
}

export interface AssertionJtisTable {
  client_id: string
  jti: string
  expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface BrowserSessionsTable {
  id_hash: string
  organization_id: string
  user_id: string
  created_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  idle_expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface LoginFailuresTable {
  key: string
  failures: number
  window_start: ColumnType<Date, Date | string, Date | string>
  expires_at: ColumnType<Date, Date | string, Date | string>
}

export interface ConsentsTable {
  id: string
  organization_id: string
  user_id: string
  client_id: string
  scopes: Json<string[]>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface AuthorizationCodesTable {
  code_hash: string
  organization_id: string
  client_id: string
  user_id: string
  redirect_uri: string
  redirect_uri_given: boolean
  scope: string
  code_challenge: string | null
  created_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  reused_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  access_token_jti: string | null
  access_token_expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  refresh_family_id: string | null
}

export interface RefreshTokensTable {
  token_hash: string
  family_id: string
  organization_id: string
  client_id: string
  user_id: string
  scope: string
  created_at: Timestamp
  expires_at: ColumnType<Date, Date | string, Date | string>
  idle_expires_at: ColumnType<Date, Date | string, Date | string>
  used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  access_token_jti: string
  access_token_expires_at: ColumnType<Date, Date | string, Date | string>
}

/** One change or security event (migrations/0005_audit_events.sql). */
export interface AuditEventsTable {
  id: string
  organization_id: string | null
  event_type: string
  created_at: Timestamp
  actor_type: 'user' | 'client' | 'cli' | 'system'
  actor_id: string | null
  actor_email: string | null
  target_type: string | null
  target_id: string | null
  target_name: string | null
  request_id: string | null
  ip_address: string | null
  user_agent: string | null
  changes: ColumnType<AuditChange[], string | undefined, string>
  reason: string | null
  count: ColumnType<number, number | undefined, number>
  count_key: string | null
  minute: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** A changed field of an audit event; the values are left out for a secret (a password). */
export interface AuditChange {
  field: string
  old_value?: unknown
  new_value?: unknown
}

/** The database as kysely sees it. Table names match migrations/. */
export interface Database {
  organizations: OrganizationsTable
  users: UsersTable
  groups: GroupsTable
  group_memberships: GroupMembershipsTable
  nodes: NodesTable
  clients: ClientsTable
  client_authorizations: ClientAuthorizationsTable
  signing_keys: SigningKeysTable
  revoked_tokens: RevokedTokensTable
  assertion_jtis: AssertionJtisTable
  browser_sessions: BrowserSessionsTable
  login_failures: LoginFailuresTable
  consents: ConsentsTable
  authorization_codes: AuthorizationCodesTable
  refresh_tokens: RefreshTokensTable
  audit_events: AuditEventsTable
}

export type Organization = Selectable<OrganizationsTable>
export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
export type Group = Selectable<GroupsTable>
export type GroupMembership = Selectable<GroupMembershipsTable>
export type Node = Selectable<NodesTable>
export type Client = Selectable<ClientsTable>
export type NewClient = Insertable<ClientsTable>
export type ClientUpdate = Updateable<ClientsTable>
export type ClientAuthorization = Selectable<ClientAuthorizationsTable>
export type SigningKey = Selectable<SigningKeysTable>
export type BrowserSession = Selectable<BrowserSessionsTable>
export type Consent = Selectable<ConsentsTable>
export type AuthorizationCode = Selectable<AuthorizationCodesTable>
export type RefreshToken = Selectable<RefreshTokensTable>
export type AuditEvent = Selectable<AuditEventsTable>
