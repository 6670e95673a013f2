-- An organization of a million users (issue 11, item 6; figures in README.md "A million users").
-- Every plan was checked with EXPLAIN (ANALYZE) on bench/growth.ts data (bench/growth-plans.sql).

-- Substring search (`?q=`: name or e-mail ILIKE '%…%') through trigram indexes; a term of fewer
-- than three characters has no trigram and still scans (bounded by ADMIN_STATEMENT_TIMEOUT_MS).
-- pg_trgm is a trusted extension: the database's owner may create it. PGlite loads it too
-- (src/db/connect.ts PGLITE_EXTENSIONS).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_name_trgm ON users USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
-- A term with an '@' searches the e-mail's local part (src/store/users.ts listUsers): the domain's
-- trigrams are in every row, and reading them all cost 300 ms at a million users.
CREATE INDEX users_email_local_trgm ON users USING gin (split_part(email, '@', 1) gin_trgm_ops);
CREATE INDEX clients_name_trgm ON clients USING gin (name gin_trgm_ops);

-- Lists page in (created_at, id) order within the organization: an ordered index scan instead of a
-- sort of every row, and an index-only scan of the ids for deep pages (src/store/paging.ts).
CREATE INDEX users_org_created ON users (organization_id, created_at, id);
CREATE INDEX clients_org_created ON clients (organization_id, created_at, id);
CREATE INDEX groups_org_created ON groups (organization_id, created_at, id);
CREATE INDEX client_authorizations_org_created ON client_authorizations (organization_id, created_at, id);
CREATE INDEX client_authorizations_client_created ON client_authorizations (client_id, created_at, id);

-- keepAnActiveAdmin locks the active administrators: a handful of rows among a million.
CREATE INDEX users_active_admins ON users (organization_id, id) WHERE organization_admin AND NOT deactivated;

-- A CORS preflight asks whether any client of the organization lists the origin (origins @> '["…"]').
CREATE INDEX clients_origins ON clients USING gin (origins jsonb_path_ops);

-- Deleting a client or a user cascades to these rows: without an index on the referencing column,
-- each cascade scanned its whole table. (consents (user_id, …) and refresh_tokens (user_id, …)
-- already lead with user_id.)
CREATE INDEX consents_client ON consents (client_id);
CREATE INDEX authorization_codes_client ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
