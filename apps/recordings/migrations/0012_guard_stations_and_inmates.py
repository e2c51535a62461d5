"""The I1 backstop trigger follows the most restrictive rule (issue 11, section 6): the database
also refuses a stored recording of a call placed from a live privileged station of its facility
(apps.registry.privilege.STATION_LIVE_SQL), on insert and on release alike (registering a
station quarantines what was stored from it), and a *new* recording of an inmate set "do not
record" (INMATE_DO_NOT_RECORD_SQL; insert only: the setting looks forward, audio stored before
it stays as it was). A test compares the installed function with both expressions.

PostgreSQL only, like 0002/0007/0009: on SQLite (the embedded default) the storage gate, under
its locks, is the check."""

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
    IF NEW.state = 'stored' AND EXISTS (
        SELECT 1
        FROM calls_call c
        JOIN facilities_privilegedstation s ON s.facility_id = c.facility_id AND s.station_id = c.station
        WHERE c.id = NEW.call_id AND s.retired_at IS NULL
    ) THEN
        RAISE EXCEPTION 'call % was placed from a privileged station: its audio cannot be stored',
            NEW.call_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.state = 'stored' AND EXISTS (
        SELECT 1
        FROM calls_call c
        JOIN inmates_inmate i ON i.id = c.inmate_id
        WHERE c.id = NEW.call_id AND i.do_not_record_since IS NOT NULL
    ) THEN
        RAISE EXCEPTION 'call % is of an inmate set "do not record": its audio cannot be stored',
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
        ("recordings", "0011_stop_button"),
        ("calls", "0005_call_station"),
        ("facilities", "0003_privilegedstation"),
        ("inmates", "0003_inmate_do_not_record"),
    ]
    # Reverse keeps the function (0002's reverse drops it); the wider clauses only refuse more.
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
