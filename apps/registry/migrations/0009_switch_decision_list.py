"""The switches' decision list (issue 11, section 2), and drift alarms in ListAlarm.

ListAlarm gains the drift fields, and its one check constraint names what each of the three kinds
must carry. SQLite rebuilds the table to do that, which drops its triggers, so the alarm guard
(0007, as 0008 widened it) is taken down first and put back last, now also fixing the drift
columns (an alarm is never rewritten, whatever kind).
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GUARD = importlib.import_module("apps.registry.migrations.0008_assurance_run")
ALARM_FIXED = [*GUARD.ALARM_FIXED, "switch_id", "held_version", "current_version", "stale_since"]


def _alarm_guard_sql(fixed: list[str]) -> tuple[str, list[str]]:
    """(PostgreSQL, SQLite) statements that put the alarm guard of 0007 up with ``fixed``."""
    pg = f"""
CREATE OR REPLACE FUNCTION registry_list_alarm_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'list alarm % is never deleted', OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.acknowledged_at IS NOT NULL
       OR ({", ".join(f"NEW.{c}" for c in fixed)}) IS DISTINCT FROM
          ({", ".join(f"OLD.{c}" for c in fixed)}) THEN
        RAISE EXCEPTION 'list alarm %: only its acknowledgement may be filled in, once', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS registry_listalarm_guard ON registry_listalarm;
CREATE TRIGGER registry_listalarm_guard BEFORE UPDATE OR DELETE ON registry_listalarm
    FOR EACH ROW EXECUTE FUNCTION registry_list_alarm_guard();
"""
    sqlite = [
        """CREATE TRIGGER registry_listalarm_no_delete BEFORE DELETE ON registry_listalarm
        BEGIN SELECT RAISE(ABORT, 'a list alarm is never deleted'); END""",
        f"""CREATE TRIGGER registry_listalarm_ack_only BEFORE UPDATE ON registry_listalarm
        WHEN OLD.acknowledged_at IS NOT NULL OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed)}
        BEGIN SELECT RAISE(ABORT, 'a list alarm: only its acknowledgement may be filled in, once'); END""",
    ]
    return pg, sqlite


def _guard_down(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS registry_listalarm_guard ON registry_listalarm", params=None
        )
    elif schema_editor.connection.vendor == "sqlite":
        for name in ("registry_listalarm_no_delete", "registry_listalarm_ack_only"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", params=None)


def _guard_up(fixed: list[str]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        pg, sqlite = _alarm_guard_sql(fixed)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(pg, params=None)
        elif schema_editor.connection.vendor == "sqlite":
            for statement in sqlite:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0001_initial"),
        ("registry", "0008_assurance_run"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_guard_down, _guard_up(GUARD.ALARM_FIXED)),
        migrations.CreateModel(
            name="DecisionListEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.CharField(max_length=20)),
                ("added_in", models.PositiveIntegerField()),
                ("removed_in", models.PositiveIntegerField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="DecisionListVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField(unique=True)),
                ("created_at", models.DateTimeField()),
                ("count", models.PositiveIntegerField()),
                ("added", models.PositiveIntegerField()),
                ("removed", models.PositiveIntegerField()),
            ],
            options={
                "ordering": ["-number"],
            },
        ),
        migrations.CreateModel(
            name="SwitchListHolding",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("held_version", models.PositiveIntegerField(blank=True, null=True)),
                ("held_reported_at", models.DateTimeField(blank=True, null=True)),
                ("fetched_version", models.PositiveIntegerField(blank=True, null=True)),
                ("fetched_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name="listalarm",
            name="current_version",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="listalarm",
            name="held_version",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="listalarm",
            name="stale_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="listalarm",
            name="switch",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="facilities.switchaccount",
            ),
        ),
        migrations.AlterField(
            model_name="listalarm",
            name="current_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="listalarm",
            name="dropped_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="listalarm",
            name="kind",
            field=models.CharField(
                choices=[
                    ("unexplained_drop", "Unexplained Drop"),
                    ("assurance_failure", "Assurance Failure"),
                    ("switch_drift", "Switch Drift"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="listalarm",
            name="previous_count",
            field=models.PositiveIntegerField(default=0),
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
        migrations.AlterField(
            model_name="listalarm",
            name="unexplained_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="listalarm",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "switch_drift")),
                fields=("switch", "stale_since"),
                name="list_alarm_one_per_drift_episode",
            ),
        ),
        migrations.RemoveConstraint(model_name="listalarm", name="list_alarm_names_its_source"),
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
                    models.Q(
                        ("kind", "switch_drift"), ("stale_since__isnull", False), ("switch__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="list_alarm_kind_has_its_fields",
            ),
        ),
        migrations.AddField(
            model_name="decisionlistentry",
            name="facility",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="facilities.facility",
            ),
        ),
        migrations.AddField(
            model_name="switchlistholding",
            name="drift_alarm",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.listalarm",
            ),
        ),
        migrations.AddField(
            model_name="switchlistholding",
            name="switch",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="decision_list",
                to="facilities.switchaccount",
            ),
        ),
        migrations.AddIndex(
            model_name="decisionlistentry",
            index=models.Index(fields=["added_in"], name="decision_entry_added_idx"),
        ),
        migrations.AddIndex(
            model_name="decisionlistentry",
            index=models.Index(fields=["removed_in"], name="decision_entry_removed_idx"),
        ),
        migrations.AddIndex(
            model_name="decisionlistentry",
            index=models.Index(fields=["number"], name="decision_entry_number_idx"),
        ),
        migrations.AddConstraint(
            model_name="decisionlistentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("facility__isnull", True), ("removed_in__isnull", True)),
                fields=("number",),
                name="decision_entry_one_live_global",
            ),
        ),
        migrations.AddConstraint(
            model_name="decisionlistentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("facility__isnull", False), ("removed_in__isnull", True)),
                fields=("number", "facility"),
                name="decision_entry_one_live_per_facility",
            ),
        ),
        migrations.AddConstraint(
            model_name="decisionlistentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("removed_in__isnull", True), ("removed_in__gt", models.F("added_in")), _connector="OR"
                ),
                name="decision_entry_removed_after_added",
            ),
        ),
        migrations.RunPython(_guard_up(ALARM_FIXED), _guard_down),
    ]
