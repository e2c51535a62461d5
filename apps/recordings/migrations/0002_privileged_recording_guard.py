"""Database backstop for I1: PostgreSQL refuses a stored recording of a privileged call.

The storage gate in apps.recordings.services is the real check (it runs before any byte is
written); this trigger makes the rule hold even for code that bypasses the service.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION recordings_refuse_privileged() RETURNS trigger AS $$
BEGIN
    IF NEW.state = 'stored' AND EXISTS (
        SELECT 1
        FROM calls_call c
        JOIN registry_exemptnumber e ON e.number = c.dialed_number
        WHERE c.id = NEW.call_id
          AND e.status = 'verified'
          AND e.effective_from <= now()
          AND (e.effective_until IS NULL OR e.effective_until > now())
          AND (e.facility_id IS NULL OR e.facility_id = c.facility_id)
    ) THEN
        RAISE EXCEPTION 'call % is to a verified attorney number: its audio cannot be stored',
            NEW.call_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.state = 'stored' AND EXISTS (
        SELECT 1 FROM calls_call c WHERE c.id = NEW.call_id AND c.privileged
    ) THEN
        RAISE EXCEPTION 'call % is privileged: its audio cannot be stored', NEW.call_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS recordings_refuse_privileged ON recordings_recording;
CREATE TRIGGER recordings_refuse_privileged
    BEFORE INSERT OR UPDATE OF state ON recordings_recording
    FOR EACH ROW EXECUTE FUNCTION recordings_refuse_privileged();
"""

DROP = """
DROP TRIGGER IF EXISTS recordings_refuse_privileged ON recordings_recording;
DROP FUNCTION IF EXISTS recordings_refuse_privileged();
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0001_initial"),
        ("registry", "0001_initial"),
        ("calls", "0001_initial"),
    ]
    operations = [migrations.RunPython(create, drop)]
