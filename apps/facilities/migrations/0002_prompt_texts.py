"""Versioned prompt texts (issue 11, section 7): append-only, and version 1 of each kind for
every facility from the moment it exists.

* facilities_prompttext: UPDATE and DELETE are refused on both databases, like the audit trail
  (audit migrations 0003 and 0006): a call names the version it was told, so a version's words
  never change. A change is a new version (apps.facilities.prompts.prompt_text_publish).
* facilities_facility: an AFTER INSERT trigger writes the two default texts, whatever path
  created the facility (admin, seed, a factory, raw SQL), so call setup always finds a prompt
  in the same statement that decides the call. Existing facilities get them below.

SQLite has no TRUNCATE: the test suite drops and re-creates the append-only triggers around a
flush (tests/conftest.py), as a table owner could.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DEFAULTS = {
    "recording_notice": (
        "This call is from a correctional facility. It is subject to recording and monitoring."
    ),
    "private_call_notice": (
        "This call is to a registered privileged number. It will not be recorded or monitored."
    ),
}


def _defaults_sql(facility_id: str, now: str) -> str:
    rows = ", ".join(
        f"({facility_id}, '{kind}', 1, '{text}', NULL, {now})" for kind, text in DEFAULTS.items()
    )
    columns = "facility_id, kind, version, text, created_by_id, created_at"
    return f"INSERT INTO facilities_prompttext ({columns}) VALUES {rows}"  # noqa: S608 - constants


PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION facilities_prompttext_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER facilities_prompttext_append_only BEFORE UPDATE OR DELETE ON facilities_prompttext
    FOR EACH ROW EXECUTE FUNCTION facilities_prompttext_append_only();

CREATE OR REPLACE FUNCTION facilities_default_prompts() RETURNS trigger AS $$
BEGIN
    {_defaults_sql("NEW.id", "now()")};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER facilities_default_prompts AFTER INSERT ON facilities_facility
    FOR EACH ROW EXECUTE FUNCTION facilities_default_prompts();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS facilities_prompttext_append_only ON facilities_prompttext;
DROP FUNCTION IF EXISTS facilities_prompttext_append_only();
DROP TRIGGER IF EXISTS facilities_default_prompts ON facilities_facility;
DROP FUNCTION IF EXISTS facilities_default_prompts();
"""

# Kept apart (tests/conftest.py drops and re-creates these around SQLite's flush).
SQLITE_APPEND_ONLY = [
    f"""CREATE TRIGGER facilities_prompttext_no_{op.lower()} BEFORE {op} ON facilities_prompttext
    BEGIN SELECT RAISE(ABORT, 'facilities_prompttext is append-only: {op} refused'); END"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_APPEND_ONLY_DROP = [
    f"DROP TRIGGER IF EXISTS facilities_prompttext_no_{op}" for op in ("update", "delete")
]
SQLITE_FORWARD = [
    *SQLITE_APPEND_ONLY,
    f"""CREATE TRIGGER facilities_default_prompts AFTER INSERT ON facilities_facility
    BEGIN {_defaults_sql("NEW.id", "strftime('%Y-%m-%d %H:%M:%f', 'now')")}; END""",
]
SQLITE_BACKWARD = [*SQLITE_APPEND_ONLY_DROP, "DROP TRIGGER IF EXISTS facilities_default_prompts"]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    PromptText = apps.get_model("facilities", "PromptText")
    Facility = apps.get_model("facilities", "Facility")
    PromptText.objects.bulk_create(
        PromptText(facility=facility, kind=kind, version=1, text=text)
        for facility in Facility.objects.all()
        for kind, text in DEFAULTS.items()
    )
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
    dependencies = [
        ("facilities", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PromptText",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("recording_notice", "Recording Notice"),
                            ("private_call_notice", "Private Call Notice"),
                        ],
                        max_length=24,
                    ),
                ),
                ("version", models.PositiveIntegerField()),
                ("text", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "facility",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="prompt_texts",
                        to="facilities.facility",
                    ),
                ),
            ],
            options={
                "ordering": ["facility", "kind", "-version"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("facility", "kind", "version"), name="prompt_text_version_unique"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("version__gte", 1)), name="prompt_text_version_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("kind__in", ["recording_notice", "private_call_notice"])),
                        name="prompt_text_kind_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("text", ""), _negated=True), name="prompt_text_not_blank"
                    ),
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
