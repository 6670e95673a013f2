-- The plans of the queries issue 11 item 6 names, on a database grown by bench/growth.ts:
--   psql -h 127.0.0.1 -U postgres -d growth_1000000 -f bench/growth-plans.sql
-- The statements mirror the store's (src/store/paging.ts listPage and countFor; users.ts,
-- clients.ts, client-authorizations.ts) as kysely renders them. Deletions are rolled back.
\timing on
\set org '\'growth-org\''
-- growth.ts's client 1, which lists 50,000 users, and the id scheme of its rows
\set client1 'rtrim(translate(encode(decode(md5(\'c1\'), \'hex\'), \'base64\'), \'+/\', \'-_\'), \'=\')'
\echo '== GET /users?per_page=1000: the ids of page 1'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM users WHERE organization_id = :org ORDER BY created_at, id LIMIT 1001 OFFSET 0;
\echo '== GET /users?per_page=1000&page=500: the ids (index-only)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM users WHERE organization_id = :org ORDER BY created_at, id LIMIT 1001 OFFSET 499000;
\echo '== then the rows of those ids'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, organization_id, email, name, first_name, last_name, organization_admin, deactivated, public_key, created_at, updated_at FROM users WHERE organization_id = :org AND id IN (SELECT id FROM users WHERE organization_id = :org ORDER BY created_at, id LIMIT 1000 OFFSET 499000);
\echo '== the whole rows at OFFSET 499000 in one statement (before: no deferred ids)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, email, name, created_at FROM users WHERE organization_id = :org ORDER BY created_at, id LIMIT 1000 OFFSET 499000;
\echo '== X-Total-Count: the exact count (before)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM users WHERE organization_id = :org;
\echo '== X-Total-Count: the capped count, then the estimate (after)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) AS n FROM (SELECT 1 AS one FROM users WHERE organization_id = :org LIMIT 10001) AS capped;
EXPLAIN SELECT 1 AS one FROM users WHERE organization_id = :org;
\echo '== GET /users?q=user12345'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM users WHERE organization_id = :org AND (name ILIKE '%user12345%' OR email ILIKE '%user12345%') ORDER BY (lower(name) = lower('user12345') OR lower(email) = lower('user12345')) DESC, created_at, id LIMIT 1001;
\echo '== GET /users?q=<e-mail>'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM users WHERE organization_id = :org AND (name ILIKE '%user654321@growth.example%' OR email ILIKE '%user654321@growth.example%') ORDER BY (lower(name) = lower('user654321@growth.example') OR lower(email) = lower('user654321@growth.example')) DESC, created_at, id LIMIT 1001;
\echo '== GET /clients?q=client 4242'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM clients WHERE organization_id = :org AND name ILIKE '%client 4242%' ORDER BY (lower(name) = lower('client 4242')) DESC, created_at, id LIMIT 1001;
\echo '== GET /client_authorizations?client_id=<client 1, 50,000 rows>'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM client_authorizations WHERE organization_id = :org AND client_id = :client1 ORDER BY created_at, id LIMIT 1001;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) AS n FROM (SELECT 1 AS one FROM client_authorizations WHERE organization_id = :org AND client_id = :client1 LIMIT 10001) AS capped;
\echo '== keepAnActiveAdmin: lockActiveAdmins'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM users WHERE organization_id = :org AND organization_admin = true AND deactivated = false ORDER BY id FOR UPDATE;
ROLLBACK;
\echo '== CORS preflight: anyClientAllowsOrigin (a listed origin, then an unknown one)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM clients WHERE organization_id = :org AND origins @> '["https://app77777.growth.example"]'::jsonb LIMIT 1;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM clients WHERE organization_id = :org AND origins @> '["https://nowhere.example"]'::jsonb LIMIT 1;
\echo '== DELETE a client (cascades to authorizations, consents, codes, refresh tokens)'
BEGIN;
EXPLAIN (ANALYZE, COSTS OFF) DELETE FROM clients WHERE organization_id = :org AND id = (SELECT id FROM clients WHERE organization_id = :org AND lower(name) = 'client 4242');
ROLLBACK;
\echo '== DELETE a user (cascades to memberships, sessions, consents, codes, refresh tokens)'
BEGIN;
EXPLAIN (ANALYZE, COSTS OFF) DELETE FROM users WHERE organization_id = :org AND id = (SELECT id FROM users WHERE organization_id = :org AND lower(email) = 'user4242@growth.example');
ROLLBACK;
