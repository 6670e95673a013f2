-- The registry: organizations and what they own. Ids are opaque URL-safe strings made by the app.
CREATE TABLE organizations (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id                  text PRIMARY KEY,
  organization_id     text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email               text NOT NULL,
  name                text NOT NULL DEFAULT '',
  first_name          text NOT NULL DEFAULT '',
  last_name           text NOT NULL DEFAULT '',
  organization_admin  boolean NOT NULL DEFAULT false,
  deactivated         boolean NOT NULL DEFAULT false,
  public_key          text,
  password_hash       text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_org_email ON users (organization_id, lower(email));

CREATE TABLE groups (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name             text NOT NULL,
  description      text NOT NULL DEFAULT '',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_org_name ON groups (organization_id, lower(name));

CREATE TABLE group_memberships (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  group_id         text NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  member_type      text NOT NULL CHECK (member_type = 'user'),
  member_id        text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (group_id, member_type, member_id)
);
CREATE INDEX group_memberships_member ON group_memberships (member_id);

CREATE TABLE nodes (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name             text NOT NULL,
  url              text NOT NULL,
  access_key       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX nodes_org_access_key ON nodes (organization_id, access_key);

CREATE TABLE clients (
  id                                  text PRIMARY KEY,
  organization_id                     text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name                                text NOT NULL,
  redirect_uris                       jsonb NOT NULL DEFAULT '[]',
  origins                             jsonb NOT NULL DEFAULT '[]',
  explicit_authorization_required     boolean NOT NULL DEFAULT true,
  jwt_grant_enabled                   boolean NOT NULL DEFAULT false,
  admin_node_token_retrieval_enabled  boolean NOT NULL DEFAULT false,
  public_key                          text,
  whitelist_enabled                   boolean NOT NULL DEFAULT false,
  -- AES-256-GCM ciphertext (so admins can read the secret again) and an HMAC for constant-time checks.
  secret_encrypted                    text NOT NULL,
  secret_hash                         text NOT NULL,
  creator_id                          text,
  created_at                          timestamptz NOT NULL DEFAULT now(),
  updated_at                          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clients_org_name ON clients (organization_id, lower(name));

CREATE TABLE client_authorizations (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  client_id        text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  entity_type      text NOT NULL CHECK (entity_type IN ('user', 'group')),
  entity_id        text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, entity_type, entity_id)
);
CREATE INDEX client_authorizations_entity ON client_authorizations (entity_type, entity_id);

-- The server's own signing keys, shared by every instance. A key is published from created_at,
-- signs from activates_at, stops signing at retires_at and leaves the JWKS at unpublish_at.
CREATE TABLE signing_keys (
  kid                    text PRIMARY KEY,
  alg                    text NOT NULL,
  public_jwk             jsonb NOT NULL,
  private_jwk_encrypted  text NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  activates_at           timestamptz NOT NULL,
  retires_at             timestamptz,
  unpublish_at           timestamptz
);

-- Access tokens revoked before their expiry; rows may be purged once expires_at has passed.
CREATE TABLE revoked_tokens (
  jti         text PRIMARY KEY,
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz NOT NULL DEFAULT now()
);
