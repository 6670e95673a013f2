-- Browser sign-in (authorization code grant). Every secret a browser or client holds (session
-- cookie, code, refresh token) is stored only as its SHA-256, so a database read leaks none.

-- Public clients (RFC 7591 token_endpoint_auth_method 'none') have no secret.
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method text NOT NULL DEFAULT 'client_secret_basic'
  CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none'));
ALTER TABLE clients ALTER COLUMN secret_encrypted DROP NOT NULL;
ALTER TABLE clients ALTER COLUMN secret_hash DROP NOT NULL;

-- A signed-in browser: the cookie holds the random id, the table its hash. Ends at expires_at, or
-- after idle_expires_at passes without use, or at logout.
CREATE TABLE browser_sessions (
  id_hash          text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id          text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  idle_expires_at  timestamptz NOT NULL
);
CREATE INDEX browser_sessions_expires ON browser_sessions (expires_at);
CREATE INDEX browser_sessions_user ON browser_sessions (user_id);

-- Failed sign-ins per account and per source address, in fixed windows, shared by every instance.
CREATE TABLE login_failures (
  key           text PRIMARY KEY,
  failures      integer NOT NULL,
  window_start  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX login_failures_expires ON login_failures (expires_at);

-- What a user allowed a client: remembered so the consent page is not shown again for these scopes.
CREATE TABLE consents (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id          text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id        text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  scopes           jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, client_id)
);

-- Authorization codes: single use, short-lived, bound to client, redirect URI, scopes, user and
-- PKCE challenge. used_at marks the exchange; what it issued is kept to revoke on a second use.
CREATE TABLE authorization_codes (
  code_hash              text PRIMARY KEY,
  organization_id        text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  client_id              text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  user_id                text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri           text NOT NULL,
  -- RFC 6749 §4.1.3: the token request must repeat redirect_uri when the authorize request named it.
  redirect_uri_given     boolean NOT NULL,
  scope                  text NOT NULL,
  code_challenge         text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  expires_at             timestamptz NOT NULL,
  used_at                timestamptz,
  -- set by a second exchange, so that a first exchange still in flight revokes what it issues
  reused_at              timestamptz,
  access_token_jti       text,
  access_token_expires_at timestamptz,
  refresh_family_id      text
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

-- Refresh tokens: rotated on each use; a family is every token descended from one code exchange.
-- A rotated token used again revokes its family, and the access tokens it issued.
CREATE TABLE refresh_tokens (
  token_hash              text PRIMARY KEY,
  family_id               text NOT NULL,
  organization_id         text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  client_id               text NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  user_id                 text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  scope                   text NOT NULL,
  created_at              timestamptz NOT NULL DEFAULT now(),
  expires_at              timestamptz NOT NULL,
  idle_expires_at         timestamptz NOT NULL,
  used_at                 timestamptz,
  revoked_at              timestamptz,
  access_token_jti        text NOT NULL,
  access_token_expires_at timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_client ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
