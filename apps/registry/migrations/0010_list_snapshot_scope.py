"""Snapshot entries record the scope of the registration that covered each number.

A registration narrowed from every facility to one (a raw UPDATE of its ``facility_id``) keeps
its number and its registration id, so entries keyed by number only saw no drop. Each entry now
carries the facility (NULL = every facility), and ``ListSnapshot.entries_version`` (2 from now
on, 1 for the snapshots taken before) says whether it does; the signature covers the scope of a
version 2 snapshot (apps/registry/snapshots.py).

The tables stay append-only (migration 0007). Adding a column with a default rebuilds the
table on SQLite, which drops its triggers, so they are put back here on SQLite (as migration
0008 does for the alarm guard); PostgreSQL's ADD COLUMN keeps them and fires no row trigger.
"""

from django.db import migrations, models

TABLES = ("registry_listsnapshot", "registry_listsnapshotentry")


def _sqlite_triggers() -> list[str]:
    return [
        statement
        for table in TABLES
        for op in ("UPDATE", "DELETE")
        for statement in (
            f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}",
            f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END""",
        )
    ]


def reinstall_sqlite_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in _sqlite_triggers():
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("registry", "0009_switch_decision_list")]

    operations = [
        # Unapplying removes the columns, which rebuilds the tables on SQLite too: this runs last.
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_triggers),
        migrations.AddField(
            model_name="listsnapshot",
            name="entries_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="listsnapshotentry",
            name="facility_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(reinstall_sqlite_triggers, migrations.RunPython.noop),
    ]
