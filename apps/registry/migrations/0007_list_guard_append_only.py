"""The list's snapshots are append-only, and its alarms are never deleted nor rewritten.

* registry_listsnapshot, registry_listsnapshotentry: UPDATE and DELETE are refused (a snapshot
  is evidence of what the list held; rewriting one would hide a drop).
* registry_listalarm: DELETE is refused; UPDATE only fills the acknowledgement in once, and
  changes nothing else.

On both databases, like the audit trail (audit migrations 0003 and 0006). TRUNCATE (Django's
flush on PostgreSQL) fires no row trigger; on SQLite a transactional test's flush deletes rows,
so no transactional test may leave rows in these tables. A table owner can still drop the
triggers: the snapshot signatures (apps/registry/snapshots.py) catch an edited snapshot.
"""

from django.db import migrations

ALARM_FIXED = [
    "kind",
    "detected_at",
    "snapshot_id",
    "previous_snapshot_id",
    "previous_count",
    "current_count",
    "dropped_count",
    "unexplained_count",
    "unexplained",
    "facility_ids",
]

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION registry_list_snapshot_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_listsnapshot_append_only BEFORE UPDATE OR DELETE ON registry_listsnapshot
    FOR EACH ROW EXECUTE FUNCTION registry_list_snapshot_append_only();
CREATE TRIGGER registry_listsnapshotentry_append_only BEFORE UPDATE OR DELETE ON registry_listsnapshotentry
    FOR EACH ROW EXECUTE FUNCTION registry_list_snapshot_append_only();

CREATE OR REPLACE FUNCTION registry_list_alarm_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'list alarm % is never deleted', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.acknowledged_at IS NOT NULL
       OR ({", ".join(f"NEW.{c}" for c in ALARM_FIXED)}) IS DISTINCT FROM
          ({", ".join(f"OLD.{c}" for c in ALARM_FIXED)}) THEN
        RAISE EXCEPTION 'list alarm %: only its acknowledgement may be filled in, once', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_listalarm_guard BEFORE UPDATE OR DELETE ON registry_listalarm
    FOR EACH ROW EXECUTE FUNCTION registry_list_alarm_guard();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS registry_listsnapshot_append_only ON registry_listsnapshot;
DROP TRIGGER IF EXISTS registry_listsnapshotentry_append_only ON registry_listsnapshotentry;
DROP FUNCTION IF EXISTS registry_list_snapshot_append_only();
DROP TRIGGER IF EXISTS registry_listalarm_guard ON registry_listalarm;
DROP FUNCTION IF EXISTS registry_list_alarm_guard();
"""

SQLITE_FORWARD = [
    *(
        f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"""
        for table in ("registry_listsnapshot", "registry_listsnapshotentry")
        for op in ("UPDATE", "DELETE")
    ),
    """CREATE TRIGGER registry_listalarm_no_delete BEFORE DELETE ON registry_listalarm
    BEGIN SELECT RAISE(ABORT, 'a list alarm is never deleted'); END""",
    f"""CREATE TRIGGER registry_listalarm_ack_only BEFORE UPDATE ON registry_listalarm
    WHEN OLD.acknowledged_at IS NOT NULL OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ALARM_FIXED)}
    BEGIN SELECT RAISE(ABORT, 'a list alarm: only its acknowledgement may be filled in, once'); END""",
]

SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "registry_listsnapshot_no_update",
        "registry_listsnapshot_no_delete",
        "registry_listsnapshotentry_no_update",
        "registry_listsnapshotentry_no_delete",
        "registry_listalarm_no_delete",
        "registry_listalarm_ack_only",
    )
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_list_guard")]

    operations = [migrations.RunPython(forward, backward)]
