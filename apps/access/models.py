from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import F, Q

QUOTA_LIMITS_CACHE_KEY = "access:quota-limits"


class QuotaKind(models.TextChoices):
    PLAYBACK = "playback", "playback links"
    PLAYBACK_BYTES = "playback_bytes", "bytes of audio"
    CALL_ROWS = "call_rows", "call records returned"
    EXPORT_REQUEST = "export_request", "export requests"
    # Presses of "This sounds privileged - stop" that quarantined something: a user pressing
    # it on many recordings is a signal (a refusal is audited as quota.exceeded).
    STOP_PRESS = "stop_press", "privilege stops"


class QuotaAccount(models.Model):
    """One row per user: the row lock that serialises every quota check of that user, so a
    check and its count are one atomic step and concurrent requests cannot slip past."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota_account"
    )

    def __str__(self) -> str:
        return f"quota account of {self.user_id}"


class QuotaUsage(models.Model):
    """What a user consumed and when; rolling windows are sums over ``at``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=QuotaKind.choices)
    amount = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "kind", "at"])]
        constraints = [models.CheckConstraint(name="quota_usage_positive", condition=Q(amount__gt=0))]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} by {self.user_id} at {self.at:%Y-%m-%d %H:%M}"


class QuotaLimit(models.Model):
    """An override of the default limits (settings.ACCESS_QUOTAS) for a role and/or facility.

    The most specific matching row wins (role and facility > facility > role)."""

    kind = models.CharField(max_length=16, choices=QuotaKind.choices)
    window_seconds = models.PositiveIntegerField()
    limit = models.PositiveBigIntegerField()
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, help_text="role; empty for every role"
    )
    facility = models.ForeignKey(
        "facilities.Facility",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="empty for every facility",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "window_seconds", "group", "facility"],
                name="quota_limit_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(name="quota_window_positive", condition=Q(window_seconds__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.limit} per {self.window_seconds}s"

    # The quota check caches overrides per process for a few seconds; a change made here is
    # seen at once by this process and within LIMITS_CACHE_SECONDS by the others.
    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        cache.delete(QUOTA_LIMITS_CACHE_KEY)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        cache.delete(QUOTA_LIMITS_CACHE_KEY)
        return result


class ExportStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    BUILDING = "building"
    READY = "ready"
    DOWNLOADED = "downloaded"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"
    # The requester lost access (grant revoked or expired, left the staff, suspended, a recording
    # quarantined) while the package was ready: the package and its key were destroyed.
    REVOKED = "revoked"


class ExportRequest(models.Model):
    """A request to take recordings out of the platform. Needs a second person's approval
    (the database refuses an approver equal to the requester) and is downloadable once."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_requests"
    )
    case_reference = models.CharField(max_length=64)
    justification = models.TextField(max_length=2000)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    # When the current build started: a build older than EXPORT_BUILD_STALE_SECONDS lost its
    # worker (killed, or failed without a word) and may be started again.
    build_started_at = models.DateTimeField(null=True, blank=True)
    build_attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    package_name = models.CharField(max_length=64, blank=True)
    package_sha256 = models.CharField(max_length=64, blank=True)
    package_size = models.BigIntegerField(null=True, blank=True)
    wrapped_key = models.BinaryField(null=True, blank=True)
    download_expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="export_second_person",
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
            ),
            models.CheckConstraint(name="export_case_reference_required", condition=~Q(case_reference="")),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"


class ExportItem(models.Model):
    export = models.ForeignKey(ExportRequest, on_delete=models.CASCADE, related_name="items")
    recording = models.ForeignKey("recordings.Recording", on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.PROTECT, related_name="+")
    # Whether the build put this recording into the package (False: withheld at build time).
    # NULL for packages built before this was recorded: treated as packaged, the safe reading
    # for the download's re-check of scope.
    packaged = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "recording"], name="export_item_unique")]

    def __str__(self) -> str:
        return f"recording {self.recording_id} in export {self.export_id}"


class Suspension(models.Model):
    """An account stopped by anomaly analysis (or by hand). Lifting needs a written reason
    from an administrator who is not the suspended user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="suspensions")
    rule = models.CharField(max_length=64)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("lift_suspension", "Can lift a suspension")]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(lifted_at__isnull=True), name="one_open_suspension_per_user"
            ),
            models.CheckConstraint(
                name="suspension_lift_needs_reason_and_other_person",
                condition=Q(lifted_at__isnull=True)
                | (~Q(lift_reason="") & Q(lifted_by__isnull=False) & ~Q(lifted_by=F("user"))),
            ),
        ]

    def __str__(self) -> str:
        return f"suspension of {self.user_id} ({self.rule})"


class Canary(models.Model):
    """A planted record no legitimate workflow touches: any access to it is an anomaly."""

    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target_type", "target_id"], name="canary_unique")]

    def __str__(self) -> str:
        return f"canary {self.target_type}:{self.target_id}"


class AnalysisCursor(models.Model):
    """How far anomaly analysis has read the audit trail (a singleton row, also its lock)."""

    last_event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"analysed up to event {self.last_event_id}"
