"""The compliance report, twice a year (issue 11, section 8).

One ``ComplianceReport`` per facility and period (unique): the figures it states, and where its
signed bundle (PDF, CSV, manifest and manifest signature) is kept. A report is evidence, so it
is issued once and never regenerated: asking again for the same facility and period returns
the report already issued (the schedule relies on this to be idempotent). A report whose build
failed is the exception: it is built again in the same row, since nothing was ever issued.
A correction, if one were ever needed, is a report for another period, never a rewrite.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q

from apps.common.querysets import Action
from apps.facilities.models import FacilityScopedQuerySet

# The model permission that makes a user an auditor (apps/accounts/roles.py): reports are for
# auditors only, and only of the facilities they were given (view_facility).
AUDITOR_PERMISSION = "audit.view_auditevent"


class ReportStatus(models.TextChoices):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ComplianceReportQuerySet(FacilityScopedQuerySet["ComplianceReport"]):
    actions = frozenset({Action.VIEW})

    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        """VIEW: auditors, for the facilities they hold view_facility on; nobody else."""
        if action not in self.actions:
            raise self.unsupported(action)
        if not user.has_perm(AUDITOR_PERMISSION):
            return Q(pk__in=[])
        return self.in_facilities(user, action)


class ComplianceReport(models.Model):
    """Figures of one facility for [period_start, period_end] (dates, inclusive, read in the
    facility's timezone), and the signed bundle that states them.

    ``figures`` is exactly what the signed manifest holds; ``manifest`` is the manifest's bytes
    (UTF-8 JSON) as signed, so the row alone can be checked against its signature.
    """

    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.RUNNING)
    progress = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    generated_at = models.DateTimeField(null=True, blank=True)
    # None: produced by the schedule (beat).
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    figures = models.JSONField(default=dict, blank=True)
    pdf_key = models.CharField(max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_bytes = models.PositiveIntegerField(default=0)
    csv_key = models.CharField(max_length=200, blank=True)
    csv_sha256 = models.CharField(max_length=64, blank=True)
    csv_bytes = models.PositiveIntegerField(default=0)
    manifest_key = models.CharField(max_length=200, blank=True)
    manifest = models.TextField(blank=True)
    signature = models.CharField(max_length=128, blank=True)
    key_id = models.CharField(max_length=16, blank=True)
    error = models.TextField(blank=True)

    objects = ComplianceReportQuerySet.as_manager()

    class Meta:
        ordering = ["-period_end", "facility_id", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "period_start", "period_end"], name="compliance_report_one_per_period"
            ),
            models.CheckConstraint(
                name="compliance_report_period_in_order",
                condition=Q(period_end__gte=models.F("period_start")),
            ),
            models.CheckConstraint(
                name="compliance_report_done_is_signed",
                condition=~Q(status="done") | (~Q(signature="") & ~Q(pdf_sha256="") & ~Q(csv_sha256="")),
            ),
        ]

    def __str__(self) -> str:
        return f"compliance report {self.facility_id} {self.period_start}..{self.period_end} ({self.status})"
