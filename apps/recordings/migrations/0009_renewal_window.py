"""The I1 backstop trigger follows the renewal window (issue 9, High 1): a verified registration
still covers its number past the end of its window while a renewal is pending or before its
attorney was reminded, exactly as apps.registry.privilege.REGISTRATION_COVERS_SQL says (a test
compares the installed function with it)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION recordings_refuse_privileged() RETURNS trigger AS $$
BEGIN
    IF NEW.state = 'stored' AND EXISTS (
        SELECT 1
        FROM calls_call c
        JOIN registry_exemptnumber e ON e.number = c.dialed_number
        WHERE c.id = NEW.call_id
          AND e.status = 'verified' AND e.effective_from <= now()
            AND (e.effective_until IS NULL OR e.effective_until > now()
                 OR e.renewal_requested_at IS NOT NULL OR e.reminder_sent_at IS NULL)
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
        ("recordings", "0008_quarantine_holds_flags"),
        ("registry", "0003_flag_requests_flags"),
    ]
    # Reverse keeps the function (0002's reverse drops it); the wider clause only refuses more.
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
