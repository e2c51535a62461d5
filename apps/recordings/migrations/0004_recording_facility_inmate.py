import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
UPDATE recordings_recording AS r
SET facility_id = c.facility_id, inmate_id = c.inmate_id
FROM calls_call AS c
WHERE c.id = r.call_id AND r.facility_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0001_initial"),
        ("inmates", "0002_inmateuserobjectpermission_case_reference_and_more"),
        ("recordings", "0003_alter_recording_options_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="recording",
            name="facility",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="facilities.facility",
            ),
        ),
        migrations.AddField(
            model_name="recording",
            name="inmate",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inmates.inmate",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="recording",
            name="facility",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="facilities.facility",
            ),
        ),
        migrations.AlterField(
            model_name="recording",
            name="inmate",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="inmates.inmate",
            ),
        ),
        migrations.AddIndex(
            model_name="recording",
            index=models.Index(fields=["facility", "-id"], name="recording_facility_id_idx"),
        ),
        migrations.AddIndex(
            model_name="recording",
            index=models.Index(fields=["inmate", "-id"], name="recording_inmate_id_idx"),
        ),
    ]
