"""The append-only triggers of 0003, for the embedded default (SQLite).

Same rules as on PostgreSQL: audit_auditevent rows are never deleted; an update must seal an
unsealed row once (sequence, hashes and sealed_at set) without changing anything captured; a
sealed row never changes; audit_checkpoint rows never change nor go. SQLite has no TRUNCATE, so
Django's test flush (DELETE FROM every table) meets these triggers too: the test suite drops and
re-creates them around a flush (tests/conftest.py), as a table owner could. Anyone who can write
the database file can do the same; that is what the hash chain and the signed checkpoints are for.
"""

from django.db import migrations

# Null-safe comparison: SQLite's IS NOT is PostgreSQL's IS DISTINCT FROM.
CAPTURED = [
    "id",
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "facility_id",
    "client_ip",
    "request_id",
    "details",
]

# An update that is not a complete seal (the three conditions below are mutually exclusive, so
# the message names the rule broken whatever order SQLite fires the triggers in).
INCOMPLETE_SEAL = "NEW.sequence IS NULL OR NEW.hash = '' OR NEW.prev_hash = '' OR NEW.sealed_at IS NULL"

FORWARD = [
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_event_sealed_is_final BEFORE UPDATE ON audit_auditevent
    WHEN OLD.sequence IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: a sealed event cannot change'); END""",
    f"""CREATE TRIGGER audit_event_update_must_seal BEFORE UPDATE ON audit_auditevent
    WHEN OLD.sequence IS NULL AND ({INCOMPLETE_SEAL})
    BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: an update must seal the event'); END""",
    f"""CREATE TRIGGER audit_event_seal_keeps_content BEFORE UPDATE ON audit_auditevent
    WHEN OLD.sequence IS NULL AND NOT ({INCOMPLETE_SEAL})
     AND ({" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CAPTURED)})
    BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: sealing may not change the event'); END""",
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only: DELETE refused'); END""",
]

BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "audit_event_no_delete",
        "audit_event_sealed_is_final",
        "audit_event_update_must_seal",
        "audit_event_seal_keeps_content",
        "audit_checkpoint_no_update",
        "audit_checkpoint_no_delete",
    )
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_audit_masking_floods")]

    operations = [migrations.RunPython(forward, backward)]
