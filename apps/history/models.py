"""What a vendor migration leaves behind: one row per import run, one per imported call.

The calls themselves are ordinary ``calls.Call`` rows (``switch_call_id`` = ``hist-`` + the
vendor's call id, unique per facility, which makes a re-run insert nothing). ``ImportedCall``
keeps what only the migration knows: the file line, the vendor's recording reference and what
became of that recording.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportStatus(models.TextChoices):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class HistoryImport(models.Model):
    """One run of ``import_history`` over one file; its report is signed with the audit key."""

    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_bytes = models.BigIntegerField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    rows_read = models.BigIntegerField(default=0)
    # The signed migration report (figures, file hash, duration) and its signature.
    report = models.JSONField(default=dict)
    signature = models.TextField(blank=True)
    key_id = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"history import {self.pk} ({self.status})"


class RecordingFate(models.TextChoices):
    """What the migration does with the vendor's recording of one call."""

    NONE = "none"  # the vendor had no recording
    NOT_COPIED = "not_copied"  # privileged now: never copied, listed in the report
    TO_COPY = "to_copy"  # to be copied through the storage gate
    TO_QUARANTINE = "to_quarantine"  # a pending claim on the number: copied straight into quarantine
    COPIED = "copied"  # stored through the gate
    COPIED_TO_QUARANTINE = "copied_to_quarantine"  # stored, quarantined on arrival
    REFUSED = "refused"  # the gate refused it: privileged by the time it was copied
    FAILED = "failed"  # not stored (source missing, checksum, type, size): see copy_error


class ImportedCall(models.Model):
    call = models.OneToOneField("calls.Call", on_delete=models.PROTECT, related_name="+")
    history_import = models.ForeignKey(HistoryImport, on_delete=models.PROTECT, related_name="calls")
    line_number = models.BigIntegerField()
    recording_ref = models.CharField(max_length=512, blank=True)
    recording_fate = models.CharField(max_length=24, choices=RecordingFate.choices)
    # From the vendor's manifest, when given: checked by the gate like an upload's headers.
    source_size = models.BigIntegerField(null=True, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True, db_default="")
    copy_error = models.CharField(max_length=200, blank=True, db_default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="imported_call_ref_matches_fate",
                condition=models.Q(recording_fate="none", recording_ref="")
                | (~models.Q(recording_fate="none") & ~models.Q(recording_ref="")),
            ),
        ]
        indexes = [
            models.Index(fields=["history_import", "recording_fate"]),
            models.Index(fields=["recording_ref"], name="imported_call_ref_idx"),  # the manifest's join
        ]

    def __str__(self) -> str:
        return f"imported call {self.call_id} (line {self.line_number})"
