"""Registrations are never deleted (issue 9, finding 7): a verified row deleted by any path
(the admin, a shell, a script) would make the number's next call recorded, and every status
(pending, rejected, revoked, expired) is evidence that a number was once registered. The
services revoke or expire; the database refuses a DELETE. PostgreSQL only: the embedded
default's test flush deletes rows one table at a time, and PostgreSQL's flush is TRUNCATE,
which row triggers do not see."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION registry_refuse_exemptnumber_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'registration % is never deleted: revoke it through the registry service',
        OLD.id USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_exemptnumber_no_delete BEFORE DELETE ON registry_exemptnumber
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_exemptnumber_delete();
"""
DROP = """
DROP TRIGGER IF EXISTS registry_exemptnumber_no_delete ON registry_exemptnumber;
DROP FUNCTION IF EXISTS registry_refuse_exemptnumber_delete();
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_flag_requests_flags")]
    operations = [migrations.RunPython(create, drop)]
