"""Exposure reports (issue 11, section 4): what happened to the calls of a number before it was
known to be privileged.

A report is a signed statement (the audit checkpoint key, apps/audit/signing.py) of every call
to one number in every facility, what was stored, each playback (who, when, which byte ranges,
about how many seconds), and every export and production that held a recording of it. It is
built by apps/actions/exposure.py (it spans registry, calls, recordings, access and audit);
the model lives here because its subject is a registration.

``body`` is the canonical JSON (apps/audit/canonical.py) the signature covers, kept verbatim:
what an officer reads is exactly what was signed. Numbers in it are keyed references only
(apps/audit/references.py). Both tables are append-only (migration 0011): a report is
evidence, and a later report supersedes it by being newer, never by rewriting it.

Imported by ``apps.registry.models`` so Django registers it with the registry app.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Exists, OuterRef, Q

from apps.common.querysets import Action, RestrictedQuerySet
from apps.facilities.models import facility_ids


class ExposureTrigger(models.TextChoices):
    # A verification (or a renewal after a lapse) quarantined earlier recordings.
    VERIFICATION = "verification"
    # An officer asked for one (``exposure_report`` command).
    COMMAND = "command"


class ExposureReportQuerySet(RestrictedQuerySet["ExposureReport"]):
    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        """VIEW: a report is shown in full or not at all, so only to a user who may read the call
        records of every facility it touches (a report with calls in a facility outside the
        reader's scope would reveal them)."""
        if action != Action.VIEW:
            raise self.unsupported(action)
        outside = ExposureReportFacility.objects.filter(report=OuterRef("pk")).exclude(
            facility_id__in=facility_ids(user, Action.VIEW_CALLS)
        )
        return ~Q(Exists(outside))


class ExposureReport(models.Model):
    registration = models.ForeignKey(
        "registry.ExemptNumber", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    number_ref = models.CharField(max_length=64, db_index=True)
    trigger = models.CharField(max_length=16, choices=ExposureTrigger.choices)
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField()  # canonical JSON, the exact bytes signed (UTF-8)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    objects = ExposureReportQuerySet.as_manager()

    class Meta:
        ordering = ["-generated_at", "-id"]

    def __str__(self) -> str:
        return f"exposure report {self.pk} ({self.number_ref}, {self.trigger})"


class ExposureReportFacility(models.Model):
    """A facility a report's calls touched: what ``restrict()`` checks (see the queryset)."""

    report = models.ForeignKey(ExposureReport, on_delete=models.PROTECT, related_name="facilities")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "facility"], name="exposure_report_facility_unique")
        ]

    def __str__(self) -> str:
        return f"exposure report {self.report_id} touches facility {self.facility_id}"
