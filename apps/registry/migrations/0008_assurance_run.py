"""The nightly assurance run (issue 11, section 3) and its alarm kind.

A ``ListAlarm`` may now name an ``AssuranceRun`` instead of two snapshots. Its guard (migration
0007: never deleted, only the acknowledgement filled in once) is written again to cover the new
column, and on SQLite put back outright: altering the snapshot columns rebuilds the table there,
which drops its triggers.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ALARM_FIXED = [
    "kind",
    "detected_at",
    "snapshot_id",
    "previous_snapshot_id",
    "assurance_run_id",
    "previous_count",
    "current_count",
    "dropped_count",
    "unexplained_count",
    "unexplained",
    "facility_ids",
]


def _pg_guard(columns: list[str]) -> str:
    return f"""
CREATE OR REPLACE FUNCTION registry_list_alarm_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'list alarm % is never deleted', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.acknowledged_at IS NOT NULL
       OR ({", ".join(f"NEW.{c}" for c in columns)}) IS DISTINCT FROM
          ({", ".join(f"OLD.{c}" for c in columns)}) THEN
        RAISE EXCEPTION 'list alarm %: only its acknowledgement may be filled in, once', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite_guard(columns: list[str]) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS registry_listalarm_no_delete",
        "DROP TRIGGER IF EXISTS registry_listalarm_ack_only",
        """CREATE TRIGGER registry_listalarm_no_delete BEFORE DELETE ON registry_listalarm
        BEGIN SELECT RAISE(ABORT, 'a list alarm is never deleted'); END""",
        f"""CREATE TRIGGER registry_listalarm_ack_only BEFORE UPDATE ON registry_listalarm
        WHEN OLD.acknowledged_at IS NOT NULL OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)}
        BEGIN SELECT RAISE(ABORT, 'a list alarm: only its acknowledgement may be filled in, once'); END""",
    ]


def _install(schema_editor, columns: list[str]) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_pg_guard(columns), params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in _sqlite_guard(columns):
            schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _install(schema_editor, ALARM_FIXED)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _install(schema_editor, [c for c in ALARM_FIXED if c != "assurance_run_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0001_initial"),
        ("registry", "0007_list_guard_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="listalarm",
            name="kind",
            field=models.CharField(
                choices=[
                    ("unexplained_drop", "Unexplained Drop"),
                    ("assurance_failure", "Assurance Failure"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="listalarm",
            name="previous_snapshot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.listsnapshot",
            ),
        ),
        migrations.AlterField(
            model_name="listalarm",
            name="snapshot",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alarms",
                to="registry.listsnapshot",
            ),
        ),
        migrations.CreateModel(
            name="AssuranceRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("passed", "Passed"), ("failed", "Failed")],
                        default="running",
                        max_length=16,
                    ),
                ),
                ("trigger", models.CharField(default="beat", max_length=16)),
                ("numbers_checked", models.PositiveIntegerField(default=0)),
                ("global_checked", models.PositiveIntegerField(default=0)),
                ("scoped_checked", models.PositiveIntegerField(default=0)),
                ("uploads_refused", models.PositiveIntegerField(default=0)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("duration_seconds", models.FloatField(blank=True, null=True)),
                ("failure_details", models.JSONField(blank=True, default=list)),
                (
                    "global_facility",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="facilities.facility",
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="listalarm",
            name="assurance_run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alarms",
                to="registry.assurancerun",
            ),
        ),
        migrations.AddConstraint(
            model_name="listalarm",
            constraint=models.UniqueConstraint(
                fields=("assurance_run",), name="list_alarm_one_per_assurance_run"
            ),
        ),
        migrations.AddConstraint(
            model_name="listalarm",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind", "unexplained_drop"),
                        ("previous_snapshot__isnull", False),
                        ("snapshot__isnull", False),
                    ),
                    models.Q(("assurance_run__isnull", False), ("kind", "assurance_failure")),
                    _connector="OR",
                ),
                name="list_alarm_names_its_source",
            ),
        ),
        migrations.AddIndex(
            model_name="assurancerun",
            index=models.Index(fields=["-finished_at"], name="assurance_run_finished_idx"),
        ),
        migrations.RunPython(forward, backward),
    ]
