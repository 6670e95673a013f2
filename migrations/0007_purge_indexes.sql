-- The purge deletes sessions whose idle deadline has passed: without an index on it, every purge
-- scanned the whole table (docs/cluster.md).
CREATE INDEX browser_sessions_idle_expires ON browser_sessions (idle_expires_at);
