"""PostgreSQL: every update or delete of an agent token or an agent notifies channel ``bp_auth`` at commit, so web
processes drop what their token caches hold of it (``economy.token_cache``). Nothing on SQLite (no cache there)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION bp_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'economy_agenttoken' THEN
        PERFORM pg_notify('bp_auth', 'token:' || OLD.key_hash);
    ELSE
        PERFORM pg_notify('bp_auth', 'agent:' || OLD.id);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS bp_auth_token_changed ON economy_agenttoken;
DROP TRIGGER IF EXISTS bp_auth_agent_changed ON economy_agent;
CREATE TRIGGER bp_auth_token_changed AFTER UPDATE OR DELETE ON economy_agenttoken
    FOR EACH ROW EXECUTE FUNCTION bp_auth_changed();
CREATE TRIGGER bp_auth_agent_changed AFTER UPDATE OR DELETE ON economy_agent
    FOR EACH ROW EXECUTE FUNCTION bp_auth_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS bp_auth_token_changed ON economy_agenttoken;
DROP TRIGGER IF EXISTS bp_auth_agent_changed ON economy_agent;
DROP FUNCTION IF EXISTS bp_auth_changed();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("economy", "0001_squashed_0009_economy_seed")]

    operations = [migrations.RunPython(forward, backward)]
