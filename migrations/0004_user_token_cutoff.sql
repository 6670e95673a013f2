-- Access tokens are self-contained JWTs, and the revocation list names only those a refresh token
-- issued. A user's deactivation sets tokens_valid_after; a token whose iat is not after it stays
-- refused once the user is reactivated, so nothing issued before comes back with it.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;
-- Users deactivated before this migration get a cut-off too, so reactivating them revives nothing.
UPDATE users SET tokens_valid_after = now() WHERE deactivated;
