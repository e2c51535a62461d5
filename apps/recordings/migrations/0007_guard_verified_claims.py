"""Extend the I1 backstop trigger to verified inmate claims (issue 5): a number a clerk has
verified on an inmate's claim is privileged for that facility, so the database refuses a
stored recording of a call to it, exactly as for a verified attorney registration."""

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
    IF NEW.state = 'stored' AND EXISTS (
        SELECT 1
        FROM calls_call c
        JOIN registry_inmateclaim cl ON cl.number = c.dialed_number AND cl.facility_id = c.facility_id
        WHERE c.id = NEW.call_id AND cl.status = 'verified'
    ) THEN
        RAISE EXCEPTION 'call % is to a number verified on an inmate claim: its audio cannot be stored',
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
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0006_tombstone_reviewdecision"),
        ("registry", "0002_claims_evidence_flags_renewal"),
    ]
    # Reverse keeps the function (0002's reverse drops it); the extra clause is harmless.
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
