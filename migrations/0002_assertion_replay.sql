-- Assertion ids (jti) already used, per issuing client, kept until the assertion expires: one
-- insert that fails on a duplicate catches a replay on every instance.
CREATE TABLE assertion_jtis (
  client_id   text NOT NULL,
  jti         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jtis_expires ON assertion_jtis (expires_at);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);
