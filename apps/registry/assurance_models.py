"""The nightly assurance run's record (issue 11, section 3).

``AssuranceRun`` says what one run proved: how many verified numbers went through the real
decision path (a synthetic call setup) and the real storage gate (a synthetic upload that must
be refused), how many failed, and how long it took. Failures are held as keyed references
(apps/audit/references.py), never clear numbers: the clear number stays in the registry's own
table. The run itself is driven from apps/actions/assurance.py (it spans registry, calls and
recordings); the model lives here because the alarm it raises is the registry's ``ListAlarm``.

Imported by ``apps.registry.models`` so Django registers it with the registry app.
"""

from __future__ import annotations

from django.db import models


class AssuranceStatus(models.TextChoices):
    RUNNING = "running"
    # Every number was decided exempt and every synthetic upload refused.
    PASSED = "passed"
    # At least one number failed: the alarm was raised.
    FAILED = "failed"


class AssuranceRun(models.Model):
    """One run of the nightly assurance job: shown on the clerk dashboard
    (``apps.registry.selectors.last_assurance_run``), counted by the compliance report."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=AssuranceStatus.choices, default=AssuranceStatus.RUNNING)
    trigger = models.CharField(max_length=16, default="beat")  # "beat" or "command"
    # Where global registrations were checked (once each): see apps/actions/assurance.py.
    global_facility = models.ForeignKey(
        "facilities.Facility", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    numbers_checked = models.PositiveIntegerField(default=0)
    global_checked = models.PositiveIntegerField(default=0)
    scoped_checked = models.PositiveIntegerField(default=0)
    uploads_refused = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    duration_seconds = models.FloatField(null=True, blank=True)
    # [{"registration_id", "number_ref", "facility_id", "stage", "reason"}], at most
    # ASSURANCE_FAILURE_DETAILS_MAX of them (``failures`` is the full count).
    failure_details = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-finished_at"], name="assurance_run_finished_idx")]

    def __str__(self) -> str:
        return (
            f"assurance run {self.pk} ({self.status}, {self.numbers_checked} checked, {self.failures} failed)"
        )
