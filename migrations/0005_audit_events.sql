-- The audit trail: an append-only record of who changed what, and of security events, per
-- organization (docs/audit-events.md). Rows are written in the transaction of the change they
-- record. Security events that an attacker could repeat at will (refused tokens, replayed jtis,
-- throttled sign-ins) are counted, one row per minute, organization, event type, target and reason:
-- count_key is set on those rows only, and the unique index makes their insert an upsert.
CREATE TABLE audit_events (
  id               text PRIMARY KEY,
  -- null for an event of the whole server (a signing key rotated), which no organization sees
  organization_id  text,
  event_type       text NOT NULL,
  -- whole milliseconds, as JavaScript reads them: the list's cursor names a row by (created_at, id)
  created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  actor_type       text NOT NULL CHECK (actor_type IN ('user', 'client', 'cli', 'system')),
  actor_id         text,
  actor_email      text,
  target_type      text,
  target_id        text,
  target_name      text,
  request_id       text,
  ip_address       text,
  user_agent       text,
  -- [{"field": …, "old_value"?: …, "new_value"?: …}]; never a secret, hash or private key
  changes          jsonb NOT NULL DEFAULT '[]'::jsonb,
  reason           text,
  count            integer NOT NULL DEFAULT 1,
  count_key        text,
  minute           timestamptz
);
CREATE INDEX audit_events_org_newest ON audit_events (organization_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX audit_events_counted ON audit_events (organization_id, count_key, minute);
CREATE INDEX audit_events_created ON audit_events (created_at);
