-- The change feed (docs/cluster.md): every write to a table that an instance caches, or will, sends
-- one notification on the channel aoc_changes, in the writing transaction, so it is delivered on
-- commit and never for a rolled-back change. A trigger rather than a call in each store module:
-- the CLI, a migration or an operator's SQL are seen too. The payload names the row's keys before
-- and after the change (id, organization_id, email, name, user_id, client_id, jti), never a secret.
CREATE FUNCTION aoc_change_keys (j jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT jsonb_strip_nulls(jsonb_build_object('id', j->'id', 'organization_id', j->'organization_id', 'email', j->'email', 'name', j->'name', 'user_id', j->'user_id', 'client_id', j->'client_id', 'jti', j->'jti')) $$;
-- One line: the migration runner splits statements at line-ending semicolons (src/db/migrate.ts).
CREATE FUNCTION aoc_notify_change () RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('aoc_changes', jsonb_build_object('table', TG_TABLE_NAME, 'old', aoc_change_keys(to_jsonb(OLD)), 'new', aoc_change_keys(to_jsonb(NEW)))::text); RETURN NULL; END $$;
CREATE TRIGGER organizations_change_feed AFTER INSERT OR UPDATE OR DELETE ON organizations FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER users_change_feed AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER clients_change_feed AFTER INSERT OR UPDATE OR DELETE ON clients FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER client_authorizations_change_feed AFTER INSERT OR UPDATE OR DELETE ON client_authorizations FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER groups_change_feed AFTER INSERT OR UPDATE OR DELETE ON groups FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER group_memberships_change_feed AFTER INSERT OR UPDATE OR DELETE ON group_memberships FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER nodes_change_feed AFTER INSERT OR UPDATE OR DELETE ON nodes FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
CREATE TRIGGER signing_keys_change_feed AFTER INSERT OR UPDATE OR DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
-- A revocation is an insert; deletes are the purge of expired ones, which no cache needs to hear of.
CREATE TRIGGER revoked_tokens_change_feed AFTER INSERT ON revoked_tokens FOR EACH ROW EXECUTE FUNCTION aoc_notify_change();
